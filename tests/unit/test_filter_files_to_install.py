"""files_to_install: one find result on the member decides which files are copied."""

from __future__ import annotations

import hashlib

from ansible_collections.quorum.etcd.plugins.filter.files_to_install import files_to_install


def test_only_missing_or_different_files_are_returned(tmp_path):
    a = tmp_path / "a.crt"
    b = tmp_path / "b.key"
    a.write_text("A\n")
    b.write_text("B\n")
    files = [{"src": str(a), "dest": "a.crt", "mode": "0644"}, {"src": str(b), "dest": "b.key", "mode": "0600"}]
    sha = {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in (a, b)}
    good = [
        {"path": "/etc/etcd/pki/a.crt", "checksum": sha[a], "mode": "0644", "pw_name": "etcd", "gr_name": "etcd"},
        {"path": "/etc/etcd/pki/b.key", "checksum": sha[b], "mode": "0600", "pw_name": "etcd", "gr_name": "etcd"},
    ]
    assert files_to_install(files, "/etc/etcd/pki", good, "etcd", "etcd") == []
    assert files_to_install(files, "/etc/etcd/pki", good[:1], "etcd", "etcd") == files[1:]
    drift = [dict(good[0], mode="0600"), dict(good[1], pw_name="root")]
    assert files_to_install(files, "/etc/etcd/pki", drift, "etcd", "etcd") == files
    changed = [dict(good[0], checksum="0" * 40), good[1]]
    assert files_to_install(files, "/etc/etcd/pki", changed, "etcd", "etcd") == files[:1]
