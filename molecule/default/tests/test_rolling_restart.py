"""playbooks/rolling_restart.yml (issue 11, section 1) under a writer: the etcd role's one restart path.

One walk over the three members while a writer puts about 20 keys/s with failover across the endpoints: no write
fails, every acknowledged write is readable, every member restarts (new MainPID, started after it was last ready),
strictly one at a time (a member's process starts only after the previous one reported ready again, systemd's
monotonic timestamps, one clock for all containers), the leader last, with its leadership moved to a member already
restarted before its own restart. Nothing else changes (the run reports changes only on the restarts themselves).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from quorum_lab import REPO, Writer, lab_env, playbook_cmd

SCENARIO_INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
HOSTS = ["etcd-d12-1", "etcd-d12-2", "etcd-d12-3"]
IPS = {"etcd-d12-1": "10.89.78.11", "etcd-d12-2": "10.89.78.12", "etcd-d12-3": "10.89.78.13"}
ENV = lab_env()


def unit(host):
    """MainPID, and the monotonic µs when etcd's main process started and when it reported ready."""
    out = subprocess.run(["podman", "exec", host, "systemctl", "show", "etcd", "-p", "MainPID",
                          "-p", "ExecMainStartTimestampMonotonic", "-p", "ActiveEnterTimestampMonotonic"],
                         capture_output=True, text=True, env=ENV, check=True).stdout
    props = dict(line.split("=", 1) for line in out.split())
    return (int(props["MainPID"]), int(props["ExecMainStartTimestampMonotonic"]),
            int(props["ActiveEnterTimestampMonotonic"]))


def leader(writer):
    """The host of the member the cluster names as leader."""
    ids = {}
    for host, ip in IPS.items():
        status = writer.call(ip, "/v3/maintenance/status", {})
        ids[status["header"]["member_id"]] = host
    return ids[status["leader"]]


def test_rolling_restart_under_a_writer():
    writer = Writer(list(IPS.values()), os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
                    os.path.join(PKI, "clients", "admin.key"), prefix="/rolling-restart-writer/")
    lead = leader(writer)
    before = {h: unit(h) for h in HOSTS}
    writer.start()
    try:
        time.sleep(1)
        started = time.monotonic()
        proc = subprocess.run(playbook_cmd(os.path.dirname(SCENARIO_INVENTORY), "rolling_restart.yml"),
                              capture_output=True, text=True, env=ENV, cwd=REPO, check=False)
        took = time.monotonic() - started
        time.sleep(1)
    finally:
        writer.finish()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    print("rolling restart of 3 members: %.1f s, %d writes acknowledged" % (took, len(writer.acked)))

    order = re.findall(r"TASK \[quorum\.etcd\.etcd : Restart etcd on (\S+)\]", proc.stdout)
    assert sorted(order) == HOSTS, proc.stdout[-4000:]
    assert order[-1] == lead, "leader %s was not restarted last: %s" % (lead, order)
    # The leadership moved (changed) before the leader's restart, and only then.
    moves = [m.start() for m in re.finditer(r"TASK \[quorum\.etcd\.etcd : Move the leadership to a member already "
                                            r"restarted before restarting (\S+)\][ *]*\nchanged:", proc.stdout)]
    assert len(moves) == 1, proc.stdout[-4000:]
    assert moves[0] < proc.stdout.index("Restart etcd on %s]" % lead)
    assert re.search(r"Restart etcd on %s\][ *]*\nchanged:" % re.escape(lead), proc.stdout)

    after = {h: unit(h) for h in HOSTS}
    for h in HOSTS:
        assert after[h][0] != before[h][0] and after[h][1] > before[h][2], "%s was not restarted" % h
    for prev, nxt in zip(order, order[1:]):
        assert after[prev][2] < after[nxt][1], "%s restarted before %s was ready again" % (nxt, prev)

    assert writer.failed == 0, writer.errors[:5]
    writer.assert_readable()
