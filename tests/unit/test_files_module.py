"""quorum.etcd.files, the remote half: compare, write only what differs, atomically; check and diff modes; secrets."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _files
from ansible_collections.quorum.etcd.plugins.module_utils._files import FilesError, apply, parse_mode
from ansible_collections.quorum.etcd.plugins.modules import files as files_module

ME = str(os.getuid())
MY_GROUP = str(os.getgid())


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _items(d, **over):
    items = [
        {"dest": str(d / "conf"), "state": "directory", "mode": "0750"},
        {"dest": str(d / "conf" / "a.conf"), "content": b"a=1\n", "mode": "0644"},
        {"dest": str(d / "conf" / "key"), "content": b"SECRET-KEY\n", "mode": "0600", "secret": True},
        {"dest": str(d / "conf" / "current"), "state": "link", "src": "a.conf"},
    ]
    for item in items:
        item.update(over)
    return items


def test_parse_mode():
    assert parse_mode("0644") == 0o644
    assert parse_mode("644") == 0o644
    assert parse_mode("2750") == 0o2750
    assert parse_mode(0o600) == 0o600
    assert parse_mode(None) is None
    for bad in ("u+rw", "0999", "12345", True):
        with pytest.raises(FilesError):
            parse_mode(bad)


def test_first_run_writes_second_changes_nothing(tmp_path):
    results, changed, _diff, _warnings = apply(_items(tmp_path))
    assert changed == [r["dest"] for r in results]
    assert all(r["reasons"] == ["missing"] for r in results)
    assert (tmp_path / "conf" / "a.conf").read_bytes() == b"a=1\n"
    assert _mode(tmp_path / "conf") == 0o750
    assert _mode(tmp_path / "conf" / "key") == 0o600
    assert os.readlink(tmp_path / "conf" / "current") == "a.conf"
    results, changed, diff, _warnings = apply(_items(tmp_path), diff_mode=True)
    assert changed == [] and diff == []
    assert not any(r["changed"] for r in results)
    assert [r["before_state"] for r in results] == ["directory", "file", "file", "link"]


def test_check_mode_writes_nothing(tmp_path):
    results, changed, diff, _warnings = apply(_items(tmp_path), check_mode=True, diff_mode=True)
    assert len(changed) == 4
    assert not (tmp_path / "conf").exists()
    assert {"before_header": str(tmp_path / "conf" / "a.conf"), "after_header": str(tmp_path / "conf" / "a.conf"),
            "before": "", "after": "a=1\n"} in diff


def test_only_what_differs_is_written(tmp_path):
    apply(_items(tmp_path))
    a = tmp_path / "conf" / "a.conf"
    inode = os.stat(a).st_ino
    items = _items(tmp_path)
    items[2]["content"] = b"OTHER-KEY\n"
    results, changed, diff, _warnings = apply(items, diff_mode=True)
    assert changed == [str(tmp_path / "conf" / "key")]
    assert os.stat(a).st_ino == inode, "an unchanged file is not rewritten"
    assert (tmp_path / "conf" / "key").read_bytes() == b"OTHER-KEY\n"
    assert results[2]["reasons"] == ["content differs"]


def test_content_change_is_a_rename(tmp_path):
    apply(_items(tmp_path))
    a = tmp_path / "conf" / "a.conf"
    before = os.stat(a).st_ino
    items = _items(tmp_path)
    items[1]["content"] = b"a=2\n"
    _results, changed, diff, _warnings = apply(items, diff_mode=True)
    assert changed == [str(a)]
    assert os.stat(a).st_ino != before, "written to a temporary file and renamed"
    assert a.read_bytes() == b"a=2\n"
    assert _mode(a) == 0o644
    assert diff == [{"before_header": str(a), "after_header": str(a), "before": "a=1\n", "after": "a=2\n"}]
    assert [p for p in os.listdir(tmp_path / "conf") if p.endswith(".tmp")] == []


def test_mode_and_owner_drift_fixed_in_place(tmp_path):
    apply(_items(tmp_path, owner=ME, group=MY_GROUP))
    a = tmp_path / "conf" / "a.conf"
    os.chmod(a, 0o666)
    ino = os.stat(a).st_ino
    results, changed, diff, _warnings = apply(_items(tmp_path, owner=ME, group=MY_GROUP), diff_mode=True)
    assert changed == [str(a)]
    assert results[1]["reasons"] == ["mode is 0666, wanted 0644"]
    assert _mode(a) == 0o644 and os.stat(a).st_ino == ino
    assert diff[0]["before_header"].endswith("(attributes)")
    assert "mode: 0666" in diff[0]["before"] and "mode: 0644" in diff[0]["after"]


def test_owner_compared(tmp_path, monkeypatch):
    apply(_items(tmp_path))
    monkeypatch.setattr(_files, "uid_of", lambda owner: None if owner is None else int(owner))
    items = _items(tmp_path)
    items[1]["owner"] = str(os.getuid() + 4242)
    results, changed, _diff, _warnings = apply(items, check_mode=True)
    assert changed == [items[1]["dest"]]
    assert results[1]["reasons"][0].startswith("owner is ")


def test_unknown_owner_fails_before_any_write_but_not_in_check_mode(tmp_path):
    items = _items(tmp_path)
    items[2]["owner"] = "no-such-user-quorum"
    with pytest.raises(FilesError, match="no-such-user-quorum does not exist"):
        apply(items)
    assert not (tmp_path / "conf").exists(), "nothing is written when an item cannot be done"
    results, changed, _diff, _warnings = apply(items, check_mode=True)
    assert "owner no-such-user-quorum does not exist yet" in results[2]["reasons"]


def test_secret_content_never_in_diff_or_results(tmp_path):
    apply(_items(tmp_path))
    items = _items(tmp_path)
    items[2]["content"] = b"NEW-SECRET\n"
    results, _changed, diff, _warnings = apply(items, diff_mode=True, check_mode=True)
    text = repr(results) + repr(diff)
    assert "SECRET" not in text
    assert any("secret content" in d["before"] for d in diff)


def test_link_replaces_a_file_but_never_a_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    results, changed, _diff, _warnings = apply([{"dest": str(tmp_path / "f"), "state": "link", "src": "target"}])
    assert os.readlink(tmp_path / "f") == "target"
    assert results[0]["reasons"] == ["is a file, wanted a link"]
    with pytest.raises(FilesError, match="not replaced"):
        apply([{"dest": str(tmp_path / "d"), "state": "link", "src": "target"}])
    results, changed, _diff, _warnings = apply([{"dest": str(tmp_path / "f"), "state": "link", "src": "other"}])
    assert os.readlink(tmp_path / "f") == "other" and results[0]["reasons"] == ["points to target, wanted other"]


def test_file_never_replaces_a_directory(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(FilesError, match="is a directory"):
        apply([{"dest": str(tmp_path / "d"), "content": b"x"}])


def test_link_to_a_directory_serves_as_the_directory(tmp_path):
    (tmp_path / "real").mkdir(mode=0o750)
    os.chmod(tmp_path / "real", 0o750)
    os.symlink("real", tmp_path / "data")
    _results, changed, _diff, _warnings = apply([{"dest": str(tmp_path / "data"), "state": "directory", "mode": "0750"}])
    assert changed == [] and os.path.islink(tmp_path / "data")


def test_file_without_content_must_exist(tmp_path):
    there = tmp_path / "etcdutl"
    with pytest.raises(FilesError, match="is missing"):
        apply([{"dest": str(there), "content": None}])
    results, changed, _diff, warnings = apply([{"dest": str(there), "content": None}], check_mode=True)
    assert changed == [] and "is missing" in warnings[0], "check mode warns, it does not create it"
    real = tmp_path / "etcd-v3.5.16-etcdutl"
    real.write_text("bin")
    os.chmod(real, 0o700)
    os.symlink(real.name, there)
    _results, changed, _diff, _warnings = apply([{"dest": str(there), "content": None, "mode": "0755"}])
    assert changed == [str(there)] and _mode(real) == 0o755 and real.read_text() == "bin"
    assert os.path.islink(there), "a link to the file is followed, not replaced"


def test_force_false_creates_only_when_missing(tmp_path):
    d = tmp_path / "textfile"
    _results, changed, _diff, _warnings = apply([{"dest": str(d), "state": "directory", "mode": "0755", "force": False}])
    assert changed == [str(d)] and _mode(d) == 0o755
    os.chmod(d, 0o775)
    _results, changed, _diff, _warnings = apply([{"dest": str(d), "state": "directory", "mode": "0755", "force": False}])
    assert changed == [] and _mode(d) == 0o775


def test_validate_runs_on_the_temporary_file_and_refuses(tmp_path):
    seen = []

    def run(argv):
        seen.append(argv)
        with open(argv[-1], "rb") as f:
            ok = f.read() == b"good\n"
        return (0, "", "") if ok else (1, "", "bad line 1")

    dest = tmp_path / "rules.nft"
    apply([{"dest": str(dest), "content": b"good\n", "validate": "/usr/sbin/nft -c -f %s"}], run_command=run)
    assert dest.read_bytes() == b"good\n"
    assert seen[0][:3] == ["/usr/sbin/nft", "-c", "-f"] and seen[0][3] != str(dest)
    with pytest.raises(FilesError, match="validation failed.*bad line 1"):
        apply([{"dest": str(dest), "content": b"bad\n", "validate": "/usr/sbin/nft -c -f %s"}], run_command=run)
    assert dest.read_bytes() == b"good\n"
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_failure_reports_what_was_written(tmp_path):
    items = [{"dest": str(tmp_path / "one"), "content": b"1\n"},
             {"dest": str(tmp_path / "missing-dir" / "two"), "content": b"2\n"}]
    with pytest.raises(FilesError, match="does not exist") as e:
        apply(items)
    assert e.value.written == [str(tmp_path / "one")]


def test_in_place_write(tmp_path):
    target = tmp_path / "swappiness"
    target.write_text("60\n")
    ino = os.stat(target).st_ino
    _results, changed, diff, _warnings = apply([{"dest": str(target), "content": b"1\n", "atomic": False}], diff_mode=True)
    assert changed == [str(target)] and target.read_text() == "1\n" and os.stat(target).st_ino == ino
    assert diff == [{"before_header": str(target), "after_header": str(target), "before": "60\n", "after": "1\n"}]


def test_in_place_write_sets_no_owner_or_mode_it_was_not_asked_for(tmp_path, monkeypatch):
    """/proc/sys files refuse chown and chmod even to root (EPERM): an in-place item without owner, group or mode
    writes the value only (the vm scenario found a chown to the file's own owner there)."""
    target = tmp_path / "swappiness"
    target.write_text("60\n")

    def refuse(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    monkeypatch.setattr(os, "chmod", refuse)
    _results, changed, _diff, _warnings = apply([{"dest": str(target), "content": b"1\n", "atomic": False}])
    assert changed == [str(target)] and target.read_text() == "1\n"


def test_binary_content_has_no_text_diff(tmp_path):
    _results, _changed, diff, _warnings = apply([{"dest": str(tmp_path / "b"), "content": b"\x00\x01"}], check_mode=True, diff_mode=True)
    assert "binary" in diff[0]["after"]


def test_module_main(tmp_path, run_module):
    def args(content):
        return {"group": MY_GROUP, "items": [
            {"dest": str(tmp_path / "x.conf"), "content_base64": base64.b64encode(content).decode(), "mode": "0640"},
            {"dest": str(tmp_path / "y"), "content": "plain\n", "secret": True}]}

    out = run_module(files_module, args(b"x=1\n"), check=True, diff=True)
    assert out["changed"] and not (tmp_path / "x.conf").exists()
    out = run_module(files_module, args(b"x=1\n"), diff=True)
    assert out["changed_paths"] == [str(tmp_path / "x.conf"), str(tmp_path / "y")]
    assert (tmp_path / "x.conf").read_bytes() == b"x=1\n" and _mode(tmp_path / "x.conf") == 0o640
    assert "plain" not in repr(out["diff"])
    out = run_module(files_module, args(b"x=1\n"))
    assert out["changed"] is False and out["changed_paths"] == []
    out = run_module(files_module, {"items": [{"dest": str(tmp_path / "l"), "state": "link"}]})
    assert out["failed"] and "needs src" in out["msg"]
    out = run_module(files_module, {"items": [{"dest": str(tmp_path / "t"), "template": "t.j2"}]})
    assert out["failed"] and "action plugin" in out["msg"]
