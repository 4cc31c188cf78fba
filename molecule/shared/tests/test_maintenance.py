"""Maintenance on a real cluster (issue 14): defrag.yml under load, and recover_nospace.yml after the database really
ran out of space.

Needs a scenario deployed with a tiny quota (etcd_quota_backend_bytes: 16 MiB, the debian13 scenario), so that the
NOSPACE alarm is reached in seconds. Runs after test_cluster.py (alphabetical order in the shared directory).
"""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
import time

import pytest
import quorum_lab
import yaml

MEMBERS = quorum_lab.inventory_members("etcd")
IPS = {m: quorum_lab.podman_ip(m) for m in MEMBERS}
ENDPOINTS = ["https://%s:2379" % ip for ip in IPS.values()]
QUOTA = 16 * 1024 * 1024
MiB = 1024 * 1024


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def statuses():
    out = quorum_lab.etcdctl("endpoint", "status", "-w", "json", endpoints=ENDPOINTS)
    return {s["Endpoint"]: s["Status"] for s in json.loads(out.stdout)}


def leader_host():
    for ep, st in statuses().items():
        if st["header"]["member_id"] == st["leader"]:
            return [m for m, ip in IPS.items() if ep == "https://%s:2379" % ip][0]
    raise AssertionError("no leader")


def alarms():
    out = quorum_lab.etcdctl("alarm", "list", endpoints=ENDPOINTS)
    return [line for line in out.stdout.splitlines() if line.strip()]


def defrag_log(host, since):
    """(start, end) UNIX times of the defragmentations etcd logged on HOST since SINCE (its own log lines)."""
    out = quorum_lab.sh(host, "journalctl -u etcd -o cat --no-pager --since @%d" % int(since)).stdout
    starts, ends = [], []
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        msg = entry.get("msg", "")
        ts = datetime.datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
        if msg == "defragmenting":
            starts.append(ts)
        elif msg == "finished defragmenting directory":
            ends.append(ts)
    return list(zip(starts, ends))


@pytest.fixture(scope="module")
def client():
    """A JSON-gateway client with the scenario's admin certificate (the Writer's, without its thread)."""
    return quorum_lab.Writer(IPS.values())


def put(client, key, value):
    last = None
    for ip in IPS.values():
        try:
            return client.call(ip, "/v3/kv/put", {"key": b64(key), "value": b64(value)})
        except Exception as e:  # pylint: disable=broad-except
            last = e
    raise last


def test_the_scenario_runs_with_a_tiny_quota():
    config = yaml.safe_load(quorum_lab.sh(MEMBERS[0], "cat /etc/etcd/etcd.conf.yml").stdout)
    assert config["quota-backend-bytes"] == QUOTA


def test_defrag_one_member_at_a_time_leader_last_under_load(client):
    fragment(client)
    before = {ep: (int(s["dbSize"]), int(s["dbSizeInUse"])) for ep, s in statuses().items()}
    leader = leader_host()
    since = time.time() - 1

    writer = quorum_lab.Writer(IPS.values(), prefix="/writer-defrag/")
    writer.start()
    try:
        time.sleep(2)
        # Forced: every member in turn (a member's in-use figure may lag, and the rule is unit-tested).
        run = quorum_lab.run_playbook("defrag.yml", "etcd_defrag_force=true")
        time.sleep(2)
    finally:
        writer.finish()
    assert writer.failed == 0, writer.errors[:5]
    writer.assert_readable()

    assert "Defragmenting " in run.stdout
    spans = {h: defrag_log(h, since) for h in MEMBERS}
    assert all(len(s) == 1 for s in spans.values()), spans
    order = sorted(MEMBERS, key=lambda h: spans[h][0][0])
    assert order[-1] == leader, (order, leader)
    for a, b in zip(order, order[1:]):
        assert spans[a][0][1] <= spans[b][0][0], "two members defragmented at the same time: %s" % spans
    after = {ep: (int(s["dbSize"]), int(s["dbSizeInUse"])) for ep, s in statuses().items()}
    assert all(after[ep][0] <= before[ep][0] for ep in before), (before, after)
    assert sum(b[0] for b in before.values()) - sum(a[0] for a in after.values()) > 4 * MiB, (before, after)
    # A second run finds nothing due and changes nothing.
    again = quorum_lab.run_playbook("defrag.yml", "etcd_defrag_min_reclaimable_bytes=%d" % (2 * MiB))
    assert "No member is due" in again.stdout
    assert all(c["changed"] == 0 for c in quorum_lab.recap(again.stdout).values())


def fragment(client, reclaimable=4 * MiB):
    """6 MiB of values written and deleted, history compacted: the files keep their size, in use drops (by more than
    RECLAIMABLE bytes on at least one member: a member's in-use figure can lag the compaction by a minute)."""
    for i in range(6):
        put(client, "/frag/%d" % i, "x" * MiB)
    quorum_lab.etcdctl("del", "--prefix", "/frag/", endpoints=ENDPOINTS)
    rev = max(int(s["header"]["revision"]) for s in statuses().values())
    quorum_lab.etcdctl("compact", str(rev), "--physical", endpoints=ENDPOINTS, timeout="30s")
    # --physical waits for the member that answered; the others apply the compaction a moment later.
    sizes = {}

    def applied():
        sizes.update((ep, (int(s["dbSize"]), int(s["dbSizeInUse"]))) for ep, s in statuses().items())
        return any(size - in_use > reclaimable for size, in_use in sizes.values())
    try:
        quorum_lab.wait_for("the compaction applied on every member", applied, timeout=60)
    except AssertionError:
        raise AssertionError("no member with %d reclaimable bytes (size, in use): %s" % (reclaimable, sizes))


def install_timer():
    """site.yml --tags maintenance with the timer switched on (and a rule any free page passes)."""
    cmd = quorum_lab.playbook_cmd(quorum_lab.INVENTORY, "site.yml", "etcd_defrag_timer_enabled=true",
                                  "etcd_defrag_min_free_ratio=0.0", "etcd_defrag_min_reclaimable_bytes=1")
    proc = subprocess.run(cmd + ["--tags", "maintenance"], capture_output=True, text=True, env=quorum_lab.lab_env(),
                          cwd=quorum_lab.REPO, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def test_the_timer_never_defragments_two_members_at_once(client):
    run = install_timer()
    counts = quorum_lab.recap(run.stdout)
    assert all(c["changed"] > 0 for h, c in counts.items() if h in MEMBERS), counts  # the timer's files, each member
    for h in MEMBERS:
        assert quorum_lab.sh(h, "systemctl is-enabled etcd-defrag.timer").stdout.strip() == "enabled"
    fragment(client, reclaimable=MiB)  # the timer's rule here: any free page
    leader = leader_host()
    since = time.time() - 1
    # Every member's service at the same moment, as if the timers fired together.
    for h in MEMBERS:
        quorum_lab.sh(h, "systemctl start --no-block etcd-defrag.service")
    quorum_lab.wait_for("the defragmentation services to finish", lambda: all(
        quorum_lab.sh(h, "systemctl is-active etcd-defrag.service", check=False).stdout.strip() in ("inactive", "failed")
        for h in MEMBERS), timeout=120)
    for h in MEMBERS:
        assert quorum_lab.sh(h, "systemctl show -p Result --value etcd-defrag.service").stdout.strip() == "success"
    spans = {h: defrag_log(h, since) for h in MEMBERS}
    assert spans[leader] == [], "the leader defragmented itself: %s" % spans
    ran = sorted((s for h in MEMBERS for s in spans[h]))
    assert ran, "no member defragmented: %s" % spans
    for a, b in zip(ran, ran[1:]):
        assert a[1] <= b[0], "two members defragmented at the same time: %s" % spans
    metrics = quorum_lab.sh(MEMBERS[0], "cat /var/lib/prometheus/node-exporter/etcd_defrag.prom").stdout
    assert "etcd_defrag_last_run_success" in metrics
    # A second run with the same settings changes nothing.
    again = install_timer()
    assert all(c["changed"] == 0 for c in quorum_lab.recap(again.stdout).values())


def test_recover_nospace_is_refused_without_an_alarm():
    run = quorum_lab.run_playbook("recover_nospace.yml", check=False)
    assert run.returncode != 0 and "No NOSPACE alarm is raised" in run.stdout


def test_recover_from_a_full_database(client):
    # Overwrite one key with 1 MiB values until etcd refuses: the history fills the 16 MiB quota.
    refused = None
    for i in range(40):
        try:
            put(client, "/fill/one", "%06d" % i + "y" * MiB)
        except Exception as e:  # pylint: disable=broad-except
            refused = str(e)
            break
    assert refused is not None, "the quota was never reached"
    quorum_lab.wait_for("the NOSPACE alarm", lambda: any("NOSPACE" in a for a in alarms()), timeout=30)
    with pytest.raises(Exception):
        put(client, "/after-nospace", "refused")
    full = max(int(s["dbSize"]) for s in statuses().values())

    run = quorum_lab.run_playbook("recover_nospace.yml")
    assert "Compact the key space" in run.stdout
    assert alarms() == []
    put(client, "/after-recovery", "ok")
    assert max(int(s["dbSize"]) for s in statuses().values()) < full / 2
    health = json.loads(quorum_lab.etcdctl("endpoint", "health", "-w", "json", endpoints=ENDPOINTS).stdout)
    assert all(h["health"] for h in health), health
    quorum_lab.etcdctl("del", "--prefix", "/fill/", endpoints=ENDPOINTS)


def test_a_stopped_member_is_defragmented_offline_while_the_others_serve(client):
    """defrag.yml with etcd_defrag_offline_members: refused while the member runs; once it is stopped, etcdutl
    rewrites its database in place (as the etcd account), the member stays stopped, starts again and catches up; a
    writer against all three endpoints sees no failed write."""
    host = MEMBERS[-1]
    offline = json.dumps({"etcd_defrag_offline_members": [host]})
    refused = quorum_lab.run_playbook("defrag.yml", offline, check=False)
    assert refused.returncode != 0 and "etcd runs on %s" % host in refused.stdout, refused.stdout[-3000:]

    fragment(client)
    writer = quorum_lab.Writer(IPS.values(), prefix="/writer-offline/")
    writer.start()
    try:
        quorum_lab.sh(host, "systemctl stop etcd")
        before = int(quorum_lab.sh(host, "stat -c %s /var/lib/etcd/member/snap/db").stdout)
        run = quorum_lab.run_playbook("defrag.yml", offline)
        assert "database %d bytes before" % before in run.stdout, run.stdout[-3000:]
        assert quorum_lab.sh(host, "systemctl is-active etcd", check=False).stdout.strip() != "active"
        after = quorum_lab.sh(host, "stat -c '%s %U' /var/lib/etcd/member/snap/db").stdout.split()
        assert int(after[0]) < before and after[1] == "etcd", (before, after)
        quorum_lab.sh(host, "systemctl start etcd")

        def healthy():
            out = quorum_lab.etcdctl("endpoint", "health", "-w", "json", endpoints=ENDPOINTS, check=False).stdout
            try:
                return all(h["health"] for h in json.loads(out))
            except ValueError:
                return False
        quorum_lab.wait_for("every member healthy again", healthy, timeout=60)
        time.sleep(2)
    finally:
        writer.finish()
    assert writer.failed == 0, writer.errors[:5]
    writer.assert_readable()
