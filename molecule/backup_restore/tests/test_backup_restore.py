"""Backups through the systemd unit, then a full disaster recovery with the dr_restore playbook.

Runs as molecule's testinfra verifier, in file order (later tests use what earlier ones made). Commands in the
members go through podman; cluster traffic goes from the controller to the members with etcdctl; playbooks run
with ansible-playbook against the scenario's inventory.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import quorum_lab
from quorum_lab import EPHEMERAL, ETCDCTL, INVENTORY, PKI, PODMAN_ENV, REPO

CLUSTER = "molecule-br"
BACKUP_DIR = "/var/backups/etcd"
N_KEYS = 10000
BUMP = 1000000000  # etcd_dr_bump_revision's default
STATE: dict = {}
MEMBERS = quorum_lab.inventory_members("etcd")
IPS = {m: quorum_lab.podman_ip(m) for m in MEMBERS}


def sh(member, script, check=True):
    proc = subprocess.run(["podman", "exec", member, "bash", "-c", script], capture_output=True, text=True,
                          env=PODMAN_ENV, check=False)
    if check:
        assert proc.returncode == 0, "%s: %s\n%s%s" % (member, script, proc.stdout, proc.stderr)
    return proc


def etcdctl(*args, check=True, stdin=None, timeout="10s"):
    cmd = [ETCDCTL, "--endpoints", ",".join("https://%s:2379" % ip for ip in IPS.values()),
           "--cacert", os.path.join(PKI, "ca.crt"), "--cert", os.path.join(PKI, "clients", "admin.crt"),
           "--key", os.path.join(PKI, "clients", "admin.key"), "--dial-timeout", "3s", "--command-timeout", timeout]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, input=stdin, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def playbook(name, *extra, path=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    cfg = os.path.join(EPHEMERAL, "ansible.cfg")
    env["ANSIBLE_CONFIG"] = cfg if os.path.exists(cfg) else os.path.join(REPO, "ansible.cfg")
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, path or os.path.join(REPO, "playbooks", name)] + list(extra),
                          capture_output=True, text=True, env=env, cwd=REPO, check=False)
    # Messages are wrapped by the YAML callback and failures go to stderr: search one whitespace-normalized text.
    proc.out = " ".join((proc.stdout + " " + proc.stderr).split())
    return proc


def recap(proc):
    return quorum_lab.recap(proc.stdout)


def key(i):
    return "/br/key-%05d" % i


def value(i):
    return "value-%05d-%s" % (i, hashlib.sha1(str(i).encode()).hexdigest()[:24])


def etcd_started_at(member):
    return sh(member, "systemctl show etcd -p ActiveEnterTimestamp --value").stdout.strip()


def all_keys():
    out = json.loads(etcdctl("get", "/br/", "--prefix", "-w", "json", timeout="60s").stdout)
    import base64
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in out.get("kvs", [])}


def ts(delta):
    return (datetime.datetime.now(datetime.timezone.utc) - delta).strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture(scope="module", autouse=True)
def offhost_scp_key():
    """etcd-br-2 copies its snapshots over scp to etcd-br-3 (molecule.yml host_vars): its key and the target directory
    are in place before any test, since backup_now may take its snapshot on etcd-br-2."""
    subprocess.run(["podman", "cp", os.path.join(REPO, ".lab", "ssh", "id_ed25519"), "etcd-br-2:/etc/etcd/offhost_ed25519"],
                   check=True, env=PODMAN_ENV)
    sh("etcd-br-2", "chown root:root /etc/etcd/offhost_ed25519 && chmod 600 /etc/etcd/offhost_ed25519")
    sh("etcd-br-3", "mkdir -p /srv/etcd-offhost-scp")


def test_timer_is_installed_and_scheduled():
    for m in MEMBERS:
        assert sh(m, "systemctl is-enabled etcd-backup.timer").stdout.strip() == "enabled"
        assert sh(m, "systemctl is-active etcd-backup.timer").stdout.strip() == "active"
        timer = sh(m, "cat /etc/systemd/system/etcd-backup.timer").stdout
        assert "OnCalendar=hourly" in timer and "RandomizedDelaySec=900" in timer and "Persistent=true" in timer
        assert sh(m, "systemctl show etcd-backup.timer -p NextElapseUSecRealtime --value").stdout.strip()
        assert sh(m, "stat -c '%U %a' /var/backups/etcd").stdout.split() == ["root", "700"]
        assert sh(m, "stat -L -c '%U %a' /etc/etcd/pki/backup.key").stdout.split() == ["etcd", "600"]  # -L: may be a link


def test_backup_service_is_sandboxed():
    """Root without any capability, the TLS files handed over by systemd (LoadCredential=), paths quoted; systemd's
    own exposure score at most 2.0 (it was 5.3 as plain root; etcd's unit scores 1.4)."""
    for m in MEMBERS:
        unit = sh(m, "cat /etc/systemd/system/etcd-backup.service").stdout
        assert 'ExecStart="/usr/local/sbin/etcd-backup"' in unit
        assert "CapabilityBoundingSet=\n" in unit and "LoadCredential=backup.key:/etc/etcd/pki/backup.key" in unit
        assert re.search(r'^ReadWritePaths="-/var/backups/etcd" "-/var/lib/prometheus/node-exporter"', unit, re.M), unit
        out = sh(m, "systemd-analyze security etcd-backup.service --no-pager").stdout
        score = re.search(r"Overall exposure level for etcd-backup.service: ([0-9.]+)", out)
        assert score and float(score.group(1)) <= 2.0, out[-3000:]


def test_backups_beside_etcds_data_refused_when_asked():
    """etcd_backup_shared_filesystem=refuse: /var/backups/etcd and /var/lib/etcd share the container's filesystem, so
    the role stops before it changes anything (the default, reserve, keeps room for etcd instead: unit tests)."""
    before = {m: sh(m, "stat -c %Y /etc/systemd/system/etcd-backup.service /usr/local/sbin/etcd-backup").stdout for m in MEMBERS}
    proc = playbook(None, "-e", "etcd_backup_shared_filesystem=refuse",
                    path=os.path.join(REPO, "molecule", "backup_restore", "backup_role.yml"))
    assert proc.returncode != 0, proc.stdout[-3000:]
    for m in MEMBERS:
        assert ("%s: etcd_backup_dir /var/backups/etcd is on the same filesystem as etcd's data directory /var/lib/etcd "
                "and etcd_backup_shared_filesystem is refuse" % m) in proc.out, proc.out[-3000:]
    counts = recap(proc)
    assert counts and all(counts[m]["changed"] == 0 and counts[m]["failed"] == 1 for m in MEMBERS), counts
    assert {m: sh(m, "stat -c %Y /etc/systemd/system/etcd-backup.service /usr/local/sbin/etcd-backup").stdout
            for m in MEMBERS} == before


def test_backup_service_takes_a_verified_snapshot_and_applies_retention():
    # 10,000 keys, 100 per transaction.
    for start in range(0, N_KEYS, 100):
        ops = "".join("put %s %s\n" % (key(i), value(i)) for i in range(start, min(start + 100, N_KEYS)))
        etcdctl("txn", stdin="\n" + ops + "\n\n")
    m = MEMBERS[0]
    # Old snapshots placed beforehand: 40 and 400 days old (age limit 30 days), and 1, 2 and 3 days old
    # (the count limit of 3 keeps the new snapshot and the two newest of these).
    planted = {name: "etcd-%s-%s.db" % (m, ts(datetime.timedelta(days=d)))
               for name, d in (("d1", 1), ("d2", 2), ("d3", 3), ("d40", 40), ("d400", 400))}
    for f in planted.values():
        sh(m, "cd %s && head -c 4096 /dev/urandom > %s && sha256sum %s > %s.sha256 && "
              "echo '{\"time\": \"2000-01-01T00:00:00Z\", \"revision\": 1}' > %s.json" % (BACKUP_DIR, f, f, f, f))
    before = set(sh(m, "ls %s" % BACKUP_DIR).stdout.split())

    proc = sh(m, "systemctl start etcd-backup.service", check=False)
    assert proc.returncode == 0, sh(m, "journalctl -u etcd-backup --no-pager -n 30").stdout
    assert sh(m, "systemctl show etcd-backup.service -p Result --value").stdout.strip() == "success"

    files = set(sh(m, "ls %s" % BACKUP_DIR).stdout.split())
    new = sorted(f for f in files - before if f.endswith(".db"))
    assert len(new) == 1, files
    snap = new[0]
    assert {snap + ".sha256", snap + ".json"} <= files
    assert not [f for f in files if ".tmp" in f]
    path = "%s/%s" % (BACKUP_DIR, snap)
    assert sh(m, "cd %s && sha256sum -c %s.sha256" % (BACKUP_DIR, snap)).returncode == 0
    assert sh(m, "stat -c '%%U %%a' %s" % path).stdout.split() == ["root", "600"]
    manifest = json.loads(sh(m, "cat %s.json" % path).stdout)
    status = json.loads(sh(m, "etcdutl snapshot status %s -w json" % path).stdout)
    assert manifest["member"] == m and manifest["file"] == snap and manifest["cluster"] == CLUSTER
    assert manifest["revision"] == status["revision"] >= N_KEYS // 100
    assert manifest["hash"] == status["hash"] and manifest["total_keys"] == status["totalKey"]
    assert manifest["keys"] == N_KEYS
    assert manifest["size"] == int(sh(m, "stat -c %%s %s" % path).stdout)
    assert manifest["sha256"] == sh(m, "sha256sum %s" % path).stdout.split()[0]
    assert manifest["etcd_version"] == "3.5.30" and manifest["time"]

    # Retention: by age and by count; the snapshot just taken is kept.
    for gone in ("d3", "d40", "d400"):
        assert not {planted[gone], planted[gone] + ".sha256", planted[gone] + ".json"} & files, gone
    for kept in ("d1", "d2"):
        assert planted[kept] in files, kept

    # Metrics for node_exporter's textfile collector.
    prom = sh(m, "cat /var/lib/prometheus/node-exporter/etcd_backup.prom").stdout
    metrics = {l.split("{")[0]: float(l.split()[-1]) for l in prom.splitlines() if l and not l.startswith("#")}
    assert metrics["etcd_backup_last_run_success"] == 1
    assert metrics["etcd_backup_last_size_bytes"] == manifest["size"]
    assert metrics["etcd_backup_last_keys"] == N_KEYS
    assert metrics["etcd_backup_last_success_timestamp_seconds"] > 0
    assert 0 < metrics["etcd_backup_last_duration_seconds"] < 120
    assert metrics["etcd_backup_failures_total"] == 0
    assert metrics["etcd_backup_snapshots"] == 3

    # The off-host copy (a command in this scenario), its result in the journal.
    assert set(sh(m, "ls /srv/etcd-offhost").stdout.split()) == {snap, snap + ".sha256", snap + ".json"}
    journal = sh(m, "journalctl -u etcd-backup.service --no-pager -o cat").stdout
    assert "off-host copy (command) of %s succeeded" % snap in journal
    STATE.update(snapshot=path, manifest=manifest, member=m)


def test_failed_run_exits_non_zero_and_is_counted():
    m = MEMBERS[2]
    sh(m, "systemctl stop etcd")
    try:
        proc = sh(m, "systemctl start etcd-backup.service", check=False)
        assert proc.returncode != 0
        assert sh(m, "systemctl show etcd-backup.service -p Result --value").stdout.strip() == "exit-code"
        journal = sh(m, "journalctl -u etcd-backup.service -p err --no-pager -o cat").stdout
        assert "etcd backup of member %s failed" % m in journal
        prom = sh(m, "cat /var/lib/prometheus/node-exporter/etcd_backup.prom").stdout
        assert 'etcd_backup_failures_total{member="%s"} 1' % m in prom
        assert 'etcd_backup_last_run_success{member="%s"} 0' % m in prom
        assert not [f for f in sh(m, "ls -A %s" % BACKUP_DIR).stdout.split() if ".tmp" in f]
    finally:
        sh(m, "systemctl start etcd")


def test_dr_restore_requires_confirmation():
    started = {m: etcd_started_at(m) for m in MEMBERS}
    proc = playbook("dr_restore.yml")
    assert proc.returncode != 0
    assert "etcd_dr_confirm is not set" in proc.out and "-e etcd_dr_confirm=%s" % CLUSTER in proc.out, proc.out[-2000:]
    proc = playbook("dr_restore.yml", "-e", "etcd_dr_confirm=wrong-cluster")
    assert proc.returncode != 0 and "got etcd_dr_confirm=wrong-cluster" in proc.out
    assert {m: etcd_started_at(m) for m in MEMBERS} == started


@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_dr_restore_refuses_a_bad_snapshot_in_preflight(damage, tmp_path):
    src = STATE["snapshot"]
    local = tmp_path / os.path.basename(src)
    subprocess.run(["podman", "cp", "%s:%s" % (STATE["member"], src), str(local)], check=True, env=PODMAN_ENV)
    subprocess.run(["podman", "cp", "%s:%s.sha256" % (STATE["member"], src), str(local) + ".sha256"], check=True,
                   env=PODMAN_ENV)
    data = local.read_bytes()
    extra = []
    if damage == "truncated":
        # Checksum file made for the truncated file: only etcd's own checks can catch it. No manifest either, so it
        # passes only with etcd_dr_allow_foreign_snapshot (its cluster cannot be told).
        data = data[: len(data) // 2]
        local.write_bytes(data)
        (tmp_path / (local.name + ".sha256")).write_text("%s  %s\n" % (hashlib.sha256(data).hexdigest(), local.name))
        extra = ["-e", "etcd_dr_allow_foreign_snapshot=true"]
    else:
        subprocess.run(["podman", "cp", "%s:%s.json" % (STATE["member"], src), str(local) + ".json"], check=True,
                       env=PODMAN_ENV)
        mid = len(data) // 2
        local.write_bytes(data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 64]) + data[mid + 64:])
    started = {m: etcd_started_at(m) for m in MEMBERS}

    proc = playbook("dr_restore.yml", "-e", "etcd_dr_confirm=%s" % CLUSTER, "-e", "etcd_dr_snapshot=%s" % local, *extra)
    assert proc.returncode != 0, proc.stdout
    if damage == "truncated":
        # etcdutl refuses it ("snapshot status": bbolt page checks, or "snapshot restore": integrity hash), and the
        # play says so in one line: no Go stack dump, no lists of hash bytes.
        assert "WARNING: not a snapshot of %s" % CLUSTER in proc.out, proc.out[-3000:]
        assert "Preflight failed" in proc.out and "snapshot corrupted: /var/lib/etcd/restore-" in proc.out, proc.out[-3000:]
        assert "goroutine" not in proc.out and not re.search(r"\[\d+ \d+ \d+ \d+", proc.out), proc.out[-3000:]
    else:
        assert "CHECKSUM MISMATCH" in proc.out, proc.out[-3000:]
    assert "Stop etcd on every member" not in proc.out

    # The cluster was not touched and keeps serving writes.
    assert {m: etcd_started_at(m) for m in MEMBERS} == started
    etcdctl("put", "/br/after-%s" % damage, "written-after-a-refused-restore")
    assert etcdctl("get", "/br/after-%s" % damage, "--print-value-only").stdout.strip() == "written-after-a-refused-restore"
    for m in MEMBERS:
        listing = sh(m, "ls -A /var/lib/etcd").stdout.split()
        assert listing == ["member"], listing


FOREIGN = "%s/etcd-stranger-1-%s.db" % (BACKUP_DIR, ts(-datetime.timedelta(days=1)))


def test_dr_restore_refuses_a_snapshot_of_another_cluster():
    """A newer snapshot of another cluster on a member (its manifest says so): given explicitly, it is refused."""
    m = MEMBERS[2]
    src = STATE["snapshot"]
    manifest = dict(STATE["manifest"], cluster="other-cluster", member="stranger-1", file=os.path.basename(FOREIGN),
                    time=(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with tempfile.TemporaryDirectory() as d:
        for suffix in ("", ".sha256"):
            subprocess.run(["podman", "cp", "%s:%s%s" % (STATE["member"], src, suffix), os.path.join(d, "f" + suffix)],
                           check=True, env=PODMAN_ENV)
            subprocess.run(["podman", "cp", os.path.join(d, "f" + suffix), "%s:%s%s" % (m, FOREIGN, suffix)], check=True,
                           env=PODMAN_ENV)
    sh(m, "cat > %s.json <<'EOF'\n%s\nEOF" % (FOREIGN, json.dumps(manifest)))
    started = {x: etcd_started_at(x) for x in MEMBERS}

    proc = playbook("dr_restore.yml", "-e", "etcd_dr_confirm=%s" % CLUSTER, "-e", "etcd_dr_snapshot_host=%s" % m,
                    "-e", "etcd_dr_snapshot=%s" % FOREIGN)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "%s:%s is a snapshot of cluster other-cluster, not of %s" % (m, FOREIGN, CLUSTER) in proc.out, proc.out[-3000:]
    assert "etcd_dr_allow_foreign_snapshot=true" in proc.out
    assert "Stop etcd on every member" not in proc.out
    assert {x: etcd_started_at(x) for x in MEMBERS} == started


def test_dr_restore_check_mode_changes_nothing():
    """latest skips the newer snapshot of the other cluster, and the preflight names the snapshot it chose."""
    started = {m: etcd_started_at(m) for m in MEMBERS}
    proc = playbook("dr_restore.yml", "--check", "-e", "etcd_dr_confirm=%s" % CLUSTER)
    assert proc.returncode == 0, proc.stdout[-3000:]
    man = STATE["manifest"]
    assert "Snapshot to restore: %s:%s" % (STATE["member"], STATE["snapshot"]) in proc.out, proc.out[-3000:]
    chosen = "cluster %s, member %s, taken %s, revision %d, %d keys" % (
        CLUSTER, man["member"], man["time"], man["revision"], man["keys"])
    assert chosen in proc.out, proc.out[-3000:]
    # the other cluster's, and the two retention fixtures of the first test (their manifests name no cluster)
    assert "3 snapshot(s) of other clusters (or whose manifest names none) skipped by latest" in proc.out, proc.out[-3000:]
    assert "Check mode: the snapshot %s:%s passed its checksum" % (STATE["member"], STATE["snapshot"]) in proc.out, proc.out[-3000:]
    assert {m: etcd_started_at(m) for m in MEMBERS} == started


def test_dr_restore_brings_back_a_destroyed_cluster():
    # Two members lose their data (etcd stopped, so that no restart creates an empty member directory); the third
    # keeps it (etcd killed): only its data is moved aside.
    kept = MEMBERS[2]
    for m in MEMBERS:
        sh(m, "systemctl kill -s KILL etcd" if m == kept else "systemctl stop etcd; rm -rf /var/lib/etcd/member")
    assert etcdctl("endpoint", "health", check=False, timeout="3s").returncode != 0

    # etcd_dr_snapshot=latest (the newer snapshot of another cluster is skipped); the revision bumped and compacted
    # by default, as etcd's recovery guide recommends for Kubernetes
    proc = playbook("dr_restore.yml", "-e", "etcd_dr_confirm=%s" % CLUSTER)
    assert proc.returncode == 0, proc.stdout[-5000:]
    out = proc.out
    assert "restored from %s:%s" % (STATE["member"], STATE["snapshot"]) in out
    aside = re.search(r"previous data moved aside to (/var/lib/etcd/member\.pre-restore-\d{8}T\d{6}Z) on (\S+) \(", out)
    assert aside and aside.group(2) == kept, out[-3000:]
    assert "no previous data on %s (nothing moved aside there)" % ", ".join(m for m in MEMBERS if m != kept) in out
    for m in MEMBERS:
        listing = sh(m, "ls -A /var/lib/etcd").stdout.split()
        assert (os.path.basename(aside.group(1)) in listing) == (m == kept), (m, listing)
    took = re.search(r"took ([0-9.]+)s from the start of the playbook, etcd was down for ([0-9.]+)s", out)
    assert took, out[-3000:]
    print("dr_restore: %ss in all, etcd down for %ss" % took.groups())

    health = json.loads(etcdctl("endpoint", "health", "-w", "json").stdout)
    assert len(health) == len(MEMBERS) and all(h["health"] for h in health)
    members = json.loads(etcdctl("member", "list", "-w", "json").stdout)["members"]
    assert sorted(x["name"] for x in members) == MEMBERS
    keys = all_keys()
    assert len(keys) == N_KEYS and all(keys[key(i)] == value(i) for i in range(N_KEYS))
    assert "/br/after-truncated" not in keys  # written after the snapshot: the restore went back to it
    for m in MEMBERS:
        assert sh(m, "stat -c '%U %G %a' /var/lib/etcd /var/lib/etcd/member").stdout.split() == ["etcd", "etcd", "700"] * 2
        assert sh(m, "find /var/lib/etcd/member ! -user etcd | wc -l").stdout.strip() == "0"
        assert not [d for d in sh(m, "ls -A /var/lib/etcd").stdout.split() if d.startswith("restore-")]
    # Every member's revision is past the snapshot's plus the bump, and the revisions in between are compacted:
    # a watcher resuming from an old revision gets "compacted" instead of silently missing events.
    status = json.loads(etcdctl("endpoint", "status", "-w", "json").stdout)
    assert min(st["Status"]["header"]["revision"] for st in status) >= STATE["manifest"]["revision"] + BUMP, status
    old = etcdctl("get", key(0), "--rev", str(STATE["manifest"]["revision"]), check=False)
    assert old.returncode != 0 and "compacted" in old.stderr, old.stderr
    # Writes work again.
    etcdctl("put", "/br/after-restore", "ok")


def test_site_playbook_is_idempotent_after_the_restore():
    started = {m: etcd_started_at(m) for m in MEMBERS}
    proc = playbook("site.yml")
    assert proc.returncode == 0, proc.out[-3000:]  # failures go to stderr
    counts = recap(proc)
    assert counts and all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    assert {m: etcd_started_at(m) for m in MEMBERS} == started


def test_backup_now_fetches_a_verified_snapshot():
    """A run of the timer holds the lock on every member (as a long snapshot would): backup_now waits for it, then
    takes its own snapshot."""
    dest = tempfile.mkdtemp(prefix="backup-now-", dir=EPHEMERAL or None)
    hold = 15
    for m in MEMBERS:
        sh(m, "systemd-run --unit=br-hold-backup-lock --collect flock /var/lib/etcd-backup/lock sleep %d" % hold)
    held_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        proc = playbook("backup_now.yml", "-e", "etcd_backup_now_dir=%s" % dest)
        assert proc.returncode == 0, proc.stdout[-3000:]
        dbs = [f for f in os.listdir(dest) if f.endswith(".db")]
        assert len(dbs) == 1
        snap = os.path.join(dest, dbs[0])
        manifest = json.loads(open(snap + ".json").read())
        with open(snap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        assert open(snap + ".sha256").read().split()[0] == digest == manifest["sha256"]
        assert manifest["keys"] == N_KEYS + 1  # the restored keys and /br/after-restore
        taken = datetime.datetime.strptime(manifest["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        assert taken >= held_at + datetime.timedelta(seconds=hold - 3), (manifest["time"], held_at)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
        for m in MEMBERS:
            sh(m, "systemctl stop br-hold-backup-lock", check=False)


def test_offhost_copy_over_scp():
    """etcd-br-2 copies its snapshots with scp to etcd-br-3 (molecule.yml host_vars); run last, so the DR tests
    above restore the snapshot they expect."""
    src, dst = "etcd-br-2", "etcd-br-3"  # key and target directory: the offhost_scp_key fixture
    proc = sh(src, "systemctl start etcd-backup.service", check=False)
    assert proc.returncode == 0, sh(src, "journalctl -u etcd-backup --no-pager -n 30").stdout
    snap = sorted(f for f in sh(src, "ls %s" % BACKUP_DIR).stdout.split() if f.endswith(".db"))[-1]
    copied = set(sh(dst, "ls /srv/etcd-offhost-scp").stdout.split())
    assert {snap, snap + ".sha256", snap + ".json"} <= copied, copied
    assert sh(dst, "cd /srv/etcd-offhost-scp && sha256sum -c %s.sha256" % snap).returncode == 0
    journal = sh(src, "journalctl -u etcd-backup.service --no-pager -o cat").stdout
    assert "off-host copy (scp) of %s succeeded" % snap in journal
    prom = sh(src, "cat /var/lib/prometheus/node-exporter/etcd_backup.prom").stdout
    assert re.search(r'etcd_backup_offhost_last_success_timestamp_seconds\{member="%s"\} [1-9]' % src, prom), prom
