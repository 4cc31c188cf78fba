"""Unit tests of the backup script (roles/backup/files/etcd_backup.py): a whole run against fake etcdctl/etcdutl
binaries, the casts of templated numbers, failures that still write state and metrics, the lock wait of backup_now,
the free-space floor beside etcd's data, and the dr_restore helpers (manifest choice, "snapshot corrupted")."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "roles", "backup", "files", "etcd_backup.py")


def load_script():
    spec = importlib.util.spec_from_file_location("etcd_backup_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def eb():
    return load_script()


FAKE_ETCDCTL = r'''
import json, sys
args = sys.argv[1:]
i = args.index("--dial-timeout") + 2
cmd = args[i:]
if cmd[:2] == ["endpoint", "status"]:
    print(json.dumps([{"Endpoint": "x", "Status": {"header": {"cluster_id": 1234, "member_id": 99, "revision": 42},
                       "version": "3.5.30", "dbSize": 4096, "leader": 99}}]))
elif cmd[:2] == ["snapshot", "save"]:
    with open(cmd[2], "wb") as f:
        f.write(b"snapshot-bytes" * 100)
elif cmd[0] == "get":
    print(json.dumps({"count": 7}))
else:
    sys.exit("unexpected etcdctl call %r" % cmd)
'''

FAKE_ETCDUTL = r'''
import json, sys
print(json.dumps({"hash": 1, "revision": 42, "totalKey": 9, "totalSize": 1400, "version": "3.5.0"}))
'''


def fake_binary(path, body):
    with open(path, "w") as f:
        f.write("#!%s\n%s" % (sys.executable, body))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def settings(tmp_path):
    """The settings as ansible-core 2.16-2.18 render them: every number a string."""
    for d in ("backups", "state", "metrics", "data"):
        (tmp_path / d).mkdir()
    (tmp_path / "etcd.conf.yml").write_text("name: m1\nquota-backend-bytes: 8192\n")
    return {
        "member": "m1", "cluster": "prod", "backup_dir": str(tmp_path / "backups"), "state_dir": str(tmp_path / "state"),
        "etcdctl": fake_binary(tmp_path / "etcdctl", FAKE_ETCDCTL), "etcdutl": fake_binary(tmp_path / "etcdutl", FAKE_ETCDUTL),
        "endpoint": "https://127.0.0.1:2379", "cacert": "/nonexistent/ca.crt", "cert": "/nonexistent/backup.crt",
        "key": "/nonexistent/backup.key", "snapshot_timeout": "60", "retention_days": "30", "retention_count": "3",
        "min_free_bytes": "1024", "offhost_mode": "none", "offhost_target": "", "offhost_ssh_key": "",
        "offhost_ssh_options": ["-o", "BatchMode=yes"], "offhost_command": "", "offhost_timeout": "60",
        "textfile_dir": str(tmp_path / "metrics"), "shared_filesystem": "reserve", "data_dir": str(tmp_path / "data"),
        "wal_dir": "", "etcd_config": str(tmp_path / "etcd.conf.yml"), "wal_headroom_bytes": "2048",
    }


def metrics(settings):
    with open(os.path.join(settings["textfile_dir"], "etcd_backup.prom")) as f:
        return {ln.split("{")[0]: float(ln.split()[-1]) for ln in f if ln.strip() and not ln.startswith("#")}


def state(settings):
    with open(os.path.join(settings["state_dir"], "state.json")) as f:
        return json.load(f)


def test_numbers_rendered_as_strings_are_cast(eb, settings):
    cfg = eb.load_config(json.dumps(settings))
    for k in ("snapshot_timeout", "retention_days", "retention_count", "min_free_bytes", "offhost_timeout",
              "wal_headroom_bytes"):
        assert isinstance(cfg[k], int), k
    assert cfg["min_free_bytes"] == 1024 and cfg["retention_count"] == 3


@pytest.mark.parametrize("bad", ["ten", "-1", "1.5"])
def test_a_setting_that_is_not_a_number_is_refused_by_name(eb, settings, bad):
    with pytest.raises(eb.Failure, match="retention_days"):
        eb.load_config(dict(settings, retention_days=bad))


def test_a_run_with_string_numbers_takes_a_snapshot_and_writes_metrics(eb, settings, capsys):
    rc = eb.main(["--print-manifest"], config=json.dumps(settings))
    out, err = capsys.readouterr()
    assert rc == 0, err
    manifest = json.loads(out)
    assert manifest["cluster"] == "prod" and manifest["revision"] == 42 and manifest["keys"] == 7
    names = sorted(os.listdir(settings["backup_dir"]))
    assert [n for n in names if n.endswith(".db")] == [manifest["file"]]
    assert {manifest["file"] + ".sha256", manifest["file"] + ".json"} <= set(names)
    m = metrics(settings)
    assert m["etcd_backup_last_run_success"] == 1 and m["etcd_backup_failures_total"] == 0
    assert m["etcd_backup_last_keys"] == 7 and m["etcd_backup_snapshots"] == 1


def test_an_unexpected_exception_still_writes_state_and_the_failure_metric(eb, settings, monkeypatch, capsys):
    def broken(now):
        return None + 1  # a TypeError, as string settings gave before the casts

    monkeypatch.setattr(eb, "backup", broken)
    assert eb.main([], config=settings) == 1
    err = capsys.readouterr().err
    assert "<3>etcd backup of member m1 failed: unexpected TypeError" in err
    st = state(settings)
    assert st["last_result"] == "failure" and st["failures_total"] == 1 and st["last_attempt"] > 0
    m = metrics(settings)
    assert m["etcd_backup_last_run_success"] == 0 and m["etcd_backup_failures_total"] == 1
    # and the next failure counts on
    assert eb.main([], config=settings) == 1
    assert metrics(settings)["etcd_backup_failures_total"] == 2


def test_a_failing_etcdctl_is_counted(eb, settings, tmp_path, capsys):
    settings["etcdctl"] = fake_binary(tmp_path / "etcdctl-down", "import sys\nsys.exit('connection refused')\n")
    assert eb.main([], config=settings) == 1
    assert "connection refused" in capsys.readouterr().err
    assert metrics(settings)["etcd_backup_failures_total"] == 1
    assert not [n for n in os.listdir(settings["backup_dir"]) if ".tmp" in n]


def hold_lock(path, seconds):
    """Holds the run lock from another process (as the timer's run would) for `seconds`."""
    proc = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\n"
                             "fcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(float(sys.argv[2]))\n",
                             path, str(seconds)], stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_held_lock_fails_at_once_without_wait(eb, settings, capsys):
    holder = hold_lock(os.path.join(settings["state_dir"], "lock"), 5)
    try:
        assert eb.main([], config=settings) == 1
        assert "another etcd-backup run holds" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_backup_now_waits_for_a_running_backup(eb, settings, capsys):
    holder = hold_lock(os.path.join(settings["state_dir"], "lock"), 1.5)
    started = time.monotonic()
    try:
        rc = eb.main(["--print-manifest", "--wait", "30"], config=settings)
    finally:
        holder.wait()
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "waiting up to 30s" in err
    assert time.monotonic() - started >= 1.0
    assert json.loads(out)["revision"] == 42


def test_the_wait_has_a_limit(eb, settings, capsys):
    holder = hold_lock(os.path.join(settings["state_dir"], "lock"), 10)
    try:
        assert eb.main(["--wait", "1"], config=settings) == 1
        assert "giving up after 1s" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_space_beside_etcd_data_keeps_room_for_the_quota_and_the_wal(eb, settings):
    cfg = eb.load_config(settings)  # backups and data share tmp_path's filesystem
    need, parts = eb.space_needed(1000, cfg["backup_dir"], cfg)
    assert dict(parts) == {"snapshot": 1000, "floor": 1024, "database growth to its quota": 8192 - 1000,
                           "WAL headroom": 2048}
    assert need == 1000 + 1024 + 7192 + 2048


def test_space_on_a_filesystem_of_its_own_needs_only_snapshot_and_floor(eb, settings, monkeypatch):
    cfg = eb.load_config(settings)
    monkeypatch.setattr(eb, "same_filesystem", lambda a, b: False)
    assert eb.space_needed(1000, cfg["backup_dir"], cfg) == (2024, [("snapshot", 1000), ("floor", 1024)])


def test_shared_filesystem_refused_when_asked(eb, settings):
    cfg = eb.load_config(dict(settings, shared_filesystem="refuse"))
    with pytest.raises(eb.Failure, match="same filesystem as etcd's data directory.*refuse"):
        eb.space_needed(1000, cfg["backup_dir"], cfg)


def test_a_run_without_room_for_etcd_fails_before_writing(eb, settings, monkeypatch, capsys):
    class Fs:
        f_bavail, f_frsize = 10, 1024  # 10 KiB free: the snapshot and floor fit, the quota reserve does not

    monkeypatch.setattr(eb.os, "statvfs", lambda path: Fs)
    assert eb.main([], config=settings) == 1
    err = capsys.readouterr().err
    assert "not enough free space" in err and "database growth to its quota" in err and "nothing written" in err
    assert os.listdir(settings["backup_dir"]) == []
    assert metrics(settings)["etcd_backup_failures_total"] == 1


def test_quota_comes_from_etcds_configuration(eb, tmp_path):
    conf = tmp_path / "etcd.conf.yml"
    conf.write_text("quota-backend-bytes: 8589934592\n")
    assert eb.quota_bytes(str(conf)) == 8589934592
    conf.write_text("name: x\n")
    assert eb.quota_bytes(str(conf)) == eb.ETCD_DEFAULT_QUOTA
    assert eb.quota_bytes(str(tmp_path / "missing")) == eb.ETCD_DEFAULT_QUOTA


def test_filesystems_checks_the_parent_of_a_missing_backup_directory(eb, tmp_path):
    (tmp_path / "data").mkdir()
    out = eb.filesystems(str(tmp_path / "not" / "yet"), str(tmp_path / "data"), "")
    assert out["checked"] == str(tmp_path) and out["shares_data"] and out["shares_wal"]


def write_manifest(directory, member, ts, cluster, **extra):
    name = "etcd-%s-%s.db" % (member, ts)
    (directory / name).write_bytes(b"x")
    when = "%s-%s-%sT%s:%s:%sZ" % (ts[:4], ts[4:6], ts[6:8], ts[9:11], ts[11:13], ts[13:15])
    body = dict({"file": name, "member": member, "time": when, "revision": 5, "keys": 3}, **extra)
    if cluster is not None:
        body["cluster"] = cluster
    (directory / (name + ".json")).write_text(json.dumps(body))
    return name


def test_latest_takes_the_newest_manifest_of_this_cluster_only(eb, tmp_path):
    own_old = write_manifest(tmp_path, "m1", "20250101T000000Z", "prod")
    own_new = write_manifest(tmp_path, "m1", "20250102T000000Z", "prod")
    foreign = write_manifest(tmp_path, "m1", "20250301T000000Z", "staging")
    unnamed = write_manifest(tmp_path, "m1", "20250302T000000Z", None)
    (tmp_path / "etcd-m1-20250303T000000Z.db.json").write_text("{not json")
    out = eb.read_manifests(str(tmp_path), "prod")
    assert out["newest"]["file"] == own_new and out["newest"]["path"] == str(tmp_path / own_new)
    assert out["matched"] == 2 and own_old != own_new
    assert {f["file"]: f["cluster"] for f in out["foreign"]} == {foreign + ".json": "staging", unnamed + ".json": None}
    assert [u["file"] for u in out["unreadable"]] == ["etcd-m1-20250303T000000Z.db.json"]


def test_latest_finds_nothing_when_only_other_clusters_have_snapshots(eb, tmp_path):
    write_manifest(tmp_path, "m1", "20250301T000000Z", "staging")
    out = eb.read_manifests(str(tmp_path), "prod")
    assert out["newest"] is None and len(out["foreign"]) == 1
    assert eb.read_manifests(str(tmp_path / "missing"), "prod")["newest"] is None


RESTORE_HASH_ERROR = ("Error: expected sha256 [53 89 28 12 166 63 43 101 187 34 212 57 44 137 174 120 42 2 125 52 136 3 "
                      "49 191 1 209 16 142 10 151 155 145], got [227 176 196 66 152 252 28 20 154 251 244 200 153 111 185 "
                      "36 39 174 65 228 100 155 147 76 164 149 153 27 120 82 184 85]")
STATUS_PANIC = ("panic: assertion failed: Page expected to be: 23, but self identifies as 0\n\ngoroutine 1 [running]:\n"
                "\tgo.etcd.io/bbolt._assert(...)\n\t/go/pkg/mod/go.etcd.io/bbolt@v1.3.10/db.go:1387\n")


FAULT = ("unexpected fault address 0x7f2c1a5e3000\nfatal error: fault\n[signal SIGBUS: bus error code=0x2 addr=0x7f2c1a5e3000 "
         "pc=0x8f1b2a]\n\ngoroutine 113 [running]:\nruntime.throw({0x10a5a4f?, 0x0?})\n\t/usr/local/go/src/runtime/panic.go:1047\n"
         "created by go.etcd.io/bbolt.(*DB).freepages in goroutine 113\n\t/go/pkg/mod/go.etcd.io/bbolt@v1.3.11/db.go:1206\n")


def test_a_runtime_fault_is_summed_up_without_its_stacks(eb):
    """A truncated snapshot read through mmap faults (SIGBUS) rather than panics: the summary must not be a stack
    line such as "created by ... in goroutine 113" (the backup_restore scenario saw that)."""
    msg = eb.summarize_etcdutl_error(FAULT)
    assert msg == "etcdutl crashed reading it (fault)", msg
    assert "goroutine" not in eb.summarize_etcdutl_error(FAULT.replace("fatal error: fault\n", ""))
    only_frames = "goroutine 1 [running]:\nmain.main()\ncreated by go.etcd.io/bbolt.(*DB).freepages in goroutine 1\n"
    assert "goroutine" not in eb.summarize_etcdutl_error(only_frames)
    segv = "SIGSEGV: segmentation violation\nPC=0x46b2a1 m=0 sigcode=1\n\ngoroutine 1 [running]:\nmain.main()\n"
    assert eb.summarize_etcdutl_error(segv) == "etcdutl crashed reading it (SIGSEGV: segmentation violation)"


def test_etcdutl_failures_are_summed_up_in_one_line(eb):
    assert "integrity hash does not match" in eb.summarize_etcdutl_error(RESTORE_HASH_ERROR)
    assert "[" not in eb.summarize_etcdutl_error(RESTORE_HASH_ERROR)
    msg = eb.summarize_etcdutl_error(STATUS_PANIC)
    assert msg.startswith("etcdutl crashed reading it (assertion failed: Page expected to be: 23")
    assert "goroutine" not in msg
    assert eb.summarize_etcdutl_error("some noise\nError: snapshot file has no data\n") == "Error: snapshot file has no data"


@pytest.mark.parametrize("action,stderr", [("snapshot-status", STATUS_PANIC), ("snapshot-restore", RESTORE_HASH_ERROR)])
def test_a_damaged_snapshot_is_reported_as_corrupted(eb, tmp_path, capsys, action, stderr):
    etcdutl = fake_binary(tmp_path / "etcdutl", "import sys\nsys.stderr.write(%r)\nsys.exit(2)\n" % stderr)
    assert eb.main([action, etcdutl, "/backups/s.db", "--data-dir", "/x"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["corrupted"] is True
    assert out["msg"].startswith("snapshot corrupted: /backups/s.db: ")


def test_a_good_snapshot_status_is_passed_on(eb, tmp_path, capsys):
    etcdutl = fake_binary(tmp_path / "etcdutl", FAKE_ETCDUTL)
    assert eb.main(["snapshot-status", etcdutl, "/backups/s.db"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "status": {"hash": 1, "revision": 42, "totalKey": 9,
                                                                          "totalSize": 1400, "version": "3.5.0"}}


def test_credentials_from_systemd_are_preferred(eb, tmp_path, monkeypatch):
    (tmp_path / "backup.key").write_text("k")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert eb.credential("/etc/etcd/pki/backup.key") == str(tmp_path / "backup.key")
    assert eb.credential("/etc/etcd/pki/ca.crt") == "/etc/etcd/pki/ca.crt"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert eb.credential("/etc/etcd/pki/backup.key") == "/etc/etcd/pki/backup.key"


def test_the_template_puts_the_settings_in_place(eb):
    """templates/etcd-backup.py.j2 replaces this exact line; the script must keep it."""
    with open(SCRIPT) as f:
        assert "\nSETTINGS = None\n" in f.read()
    with open(os.path.join(REPO, "roles", "backup", "templates", "etcd-backup.py.j2")) as f:
        assert "replace('\\nSETTINGS = None\\n'" in f.read()
