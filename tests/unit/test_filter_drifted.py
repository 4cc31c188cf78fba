"""drifted: one find result on the member decides which files and directories are (re)written."""

from __future__ import annotations

import hashlib

from ansible_collections.quorum.etcd.plugins.filter.drifted import drifted


def _found(path, **kw):
    entry = {"path": path, "isreg": True, "isdir": False, "mode": "0644", "pw_name": "etcd", "gr_name": "etcd"}
    entry.update(kw)
    return entry


def test_files_from_src_and_content(tmp_path):
    src = tmp_path / "a.crt"
    src.write_text("A\n")
    wanted = [
        {"path": "/p/a.crt", "src": str(src), "mode": "0644", "owner": "etcd", "group": "etcd"},
        {"path": "/p/b.conf", "content": "B\n", "mode": "0640", "owner": "root", "group": "etcd"},
    ]
    good = [
        _found("/p/a.crt", checksum=hashlib.sha1(b"A\n").hexdigest()),
        _found("/p/b.conf", checksum=hashlib.sha1(b"B\n").hexdigest(), mode="0640", pw_name="root"),
    ]
    assert drifted(wanted, good) == []
    assert [d["reason"] for d in drifted(wanted, good[:1])] == ["missing"]
    assert drifted(wanted, [dict(good[0], mode="0600"), good[1]])[0]["reason"] == "mode is 0600, wanted 0644"
    assert drifted(wanted, [good[0], dict(good[1], pw_name="etcd")])[0]["reason"].startswith("owner")
    out = drifted(wanted, [good[0], dict(good[1], checksum="0" * 40)])
    assert [d["reason"] for d in out] == ["content differs"]
    assert "content" not in out[0], "rendered content must not leak into loop labels"


def test_directories():
    wanted = [{"path": "/var/lib/etcd", "state": "directory", "mode": "0700", "owner": "etcd", "group": "etcd"}]
    assert drifted(wanted, [_found("/var/lib/etcd", isdir=True, isreg=False, mode="0700")]) == []
    assert drifted(wanted, [_found("/var/lib/etcd", isdir=True, isreg=False, mode="0755")])[0]["reason"].startswith("mode")
    assert drifted(wanted, [_found("/var/lib/etcd")])[0]["reason"] == "not a directory"
