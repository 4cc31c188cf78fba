"""playbooks/upgrade.yml (issue 11) on the default scenario's three members, under one writer for the whole module.

Only 3.5.16 and 3.5.30 exist on the lab machines, so the moves are patch moves (the 3.6/3.7 paths are unit-tested):
a patch downgrade 3.5.30 -> 3.5.16 (a plain rolling switch), an upgrade to 3.5.30 interrupted after its first member,
the rollback of that member with the old release (only it is switched back), the upgrade again. After each complete
run: every member's link and reported version is the target, members restarted strictly one at a time (systemd's
monotonic timestamps: one clock for all containers), the leader last with its leadership moved first, equal hashkv at
one revision on every member. At the end: 0 failed writes, every acknowledged write readable.

Moved here from test_guard.py: the per-member release switch (a member's link switched only at its own restart).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest
from quorum_lab import REPO, Writer, lab_env, playbook_cmd

SCENARIO_INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
# The scenario's members; UPGRADE_TEST_HOSTS="name=ip,..." points the module at another lab (a private one).
IPS = dict(item.split("=") for item in os.environ.get(
    "UPGRADE_TEST_HOSTS", "etcd-d12-1=10.89.78.11,etcd-d12-2=10.89.78.12,etcd-d12-3=10.89.78.13").split(","))
HOSTS = sorted(IPS)
ENV = lab_env()


def sh(host, script):
    return subprocess.run(["podman", "exec", host, "sh", "-c", script], capture_output=True, text=True, env=ENV,
                          check=True).stdout


def unit(host):
    """MainPID, and the monotonic µs when etcd's main process started and when it reported ready."""
    out = sh(host, "systemctl show etcd -p MainPID -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic")
    props = dict(line.split("=", 1) for line in out.split())
    return (int(props["MainPID"]), int(props["ExecMainStartTimestampMonotonic"]),
            int(props["ActiveEnterTimestampMonotonic"]))


def link(host):
    return sh(host, "readlink /opt/etcd/current").strip()


def statuses(writer):
    """Host -> the member's status (version, leader, header)."""
    return dict((h, writer.call(ip, "/v3/maintenance/status", {})) for h, ip in IPS.items())


def leader(writer):
    st = statuses(writer)
    ids = dict((s["header"]["member_id"], h) for h, s in st.items())
    return ids[next(iter(st.values()))["leader"]]


def hashkv_equal(writer):
    """hashkv of every member at one revision (the writer keeps writing: the latest revision moves)."""
    rev = int(writer.call(IPS[HOSTS[0]], "/v3/kv/range", {"key": Writer.b64("/"), "limit": 1})["header"]["revision"])
    hashes = dict((h, writer.call(ip, "/v3/maintenance/hashkv", {"revision": rev}).get("hash")) for h, ip in IPS.items())
    assert len(set(hashes.values())) == 1, (rev, hashes)


@pytest.fixture(scope="module")
def writer():
    w = Writer(list(IPS.values()), os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
               os.path.join(PKI, "clients", "admin.key"), prefix="/upgrade-writer/")
    w.start()
    yield w
    w.finish()
    assert w.failed == 0, w.errors[:5]
    w.assert_readable()


def upgrade(version):
    return subprocess.run(playbook_cmd(os.path.dirname(SCENARIO_INVENTORY), "upgrade.yml", "etcd_version=%s" % version),
                          capture_output=True, text=True, env=ENV, cwd=REPO, check=False)


def walked(proc, before, lead, version, hosts=None):
    """The run ended well and walked HOSTS: one at a time, the leader (when among them) last after its leadership
    moved; each switched and reporting VERSION; the others untouched."""
    hosts = sorted(hosts or HOSTS)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"Snapshot \S+\.db", out), "the snapshot's path was not printed"
    order = re.findall(r"TASK \[quorum\.etcd\.etcd : Restart etcd on (\S+)\]", proc.stdout)
    assert sorted(order) == hosts, (order, proc.stdout[-4000:])
    after = dict((h, unit(h)) for h in HOSTS)
    for h in HOSTS:
        if h in hosts:
            assert after[h][0] != before[h][0] and after[h][1] > before[h][2], "%s was not restarted" % h
        else:
            assert after[h] == before[h], "%s was restarted although it ran %s already" % (h, version)
    for prev, nxt in zip(order, order[1:]):
        assert after[prev][2] < after[nxt][1], "%s restarted before %s was ready again" % (nxt, prev)
    # The leader as the walk's first gate saw it (under load the leadership may change between the test's own
    # reading and the walk): its leadership was moved (changed) before its restart, and it restarted last.
    moved = r"TASK \[quorum\.etcd\.etcd : Move the leadership[^\]]* (\S+)\][ *]*\nchanged:"
    moves = re.findall(moved, proc.stdout)
    if len(hosts) > 1:
        assert len(moves) == 1 and moves[0] == order[-1], (moves, order, lead, proc.stdout[-4000:])
        assert re.search(moved, proc.stdout).start() < proc.stdout.index("Restart etcd on %s]" % order[-1])
    for h in HOSTS:
        assert link(h) == "etcd-v%s" % version
    return order


def test_a_patch_downgrade_is_a_rolling_switch(writer):
    before = dict((h, unit(h)) for h in HOSTS)
    lead = leader(writer)
    started = time.monotonic()
    proc = upgrade("3.5.16")
    print("upgrade.yml 3.5.30 -> 3.5.16 (3 members): %.1f s" % (time.monotonic() - started))
    walked(proc, before, lead, "3.5.16")
    assert "patch move to etcd 3.5.16: switching %s" % ", ".join(HOSTS) in " ".join(proc.stdout.split())
    assert set(s["version"] for s in statuses(writer).values()) == {"3.5.16"}
    hashkv_equal(writer)
    assert writer.failed == 0, writer.errors[:5]


def test_an_upgrade_interrupted_after_its_first_member_is_rolled_back_then_done(writer, tmp_path):
    before = dict((h, unit(h)) for h in HOSTS)
    log = tmp_path / "upgrade.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(playbook_cmd(os.path.dirname(SCENARIO_INVENTORY), "upgrade.yml", "etcd_version=3.5.30"),
                                stdout=f, stderr=subprocess.STDOUT, env=ENV, cwd=REPO, start_new_session=True)
        # Interrupted once the first member runs 3.5.30 and passed its gate (the version check after its restart).
        # The next member's link switch follows within a few tenths of a second, so the interruption may land
        # after it, before that member's restart: both cases are a mixed cluster the rollback must put back.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text()
            if re.search(r"TASK \[quorum\.etcd\.etcd : Check that the restarted member runs etcd 3\.5\.30\][ *]*\nok:", text):
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the upgrade ended before it could be interrupted:\n" + log.read_text()[-4000:]
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    first = re.findall(r"TASK \[quorum\.etcd\.etcd : Restart etcd on (\S+)\]", log.read_text())[0]
    links = dict((h, link(h)) for h in HOSTS)
    moved = sorted(h for h, v in links.items() if v == "etcd-v3.5.30")
    assert first in moved and 1 <= len(moved) <= 2, (first, links)
    versions = dict((h, s["version"]) for h, s in statuses(writer).items())
    assert versions[first] == "3.5.30" and "3.5.16" in versions.values(), versions
    assert all(h in moved for h, v in versions.items() if v == "3.5.30"), (versions, links)

    # The rollback: upgrade.yml with the old release switches back the members whose link moved (restarted or
    # not: a link left on the new release would start it at the member's next start), and nothing more.
    mid = dict((h, unit(h)) for h in HOSTS)
    proc = upgrade("3.5.16")
    walked(proc, mid, leader(writer), "3.5.16", hosts=moved)
    assert "switching %s, one at a time" % ", ".join(moved) in " ".join(proc.stdout.split())
    assert set(s["version"] for s in statuses(writer).values()) == {"3.5.16"}

    # Forward again: the whole upgrade.
    again = dict((h, unit(h)) for h in HOSTS)
    lead = leader(writer)
    started = time.monotonic()
    proc = upgrade("3.5.30")
    print("upgrade.yml 3.5.16 -> 3.5.30 (3 members): %.1f s" % (time.monotonic() - started))
    walked(proc, again, lead, "3.5.30")
    assert set(s["version"] for s in statuses(writer).values()) == {"3.5.30"}
    with urllib.request.urlopen("https://%s:2379/version" % IPS[HOSTS[0]], context=writer.ctx, timeout=5) as r:
        version = json.loads(r.read())
    assert version["etcdserver"] == "3.5.30" and version["etcdcluster"] == "3.5.0", version
    hashkv_equal(writer)
    assert writer.failed == 0, writer.errors[:5]
    assert before[HOSTS[0]][0] != unit(HOSTS[0])[0]


def test_a_second_run_changes_nothing():
    proc = upgrade("3.5.30")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "nothing to do" in proc.stdout
    changed = re.findall(r"changed=(\d+)", proc.stdout)
    assert changed and set(changed) == {"0"}, proc.stdout[-3000:]
