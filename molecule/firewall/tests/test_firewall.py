"""Firewall scenario: who reaches which etcd port, how the table survives nftables.service and changes of its own,
and preflight failures before any change.

Members etcd-fw-1..3; etcd-fw-4 is an allowed client (etcd_firewall_client_networks) and an outsider to the peer
port; etcd-fw-5 is the monitoring host (etcd_firewall_monitoring_networks). Probes run inside the containers through
podman; the controller (10.89.82.1) is allowed on the client port as the host Ansible connects from.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from quorum_lab import INVENTORY, PODMAN_ENV, REPO, lab_env

MEMBERS = {"etcd-fw-1": "10.89.82.11", "etcd-fw-2": "10.89.82.12", "etcd-fw-3": "10.89.82.13"}
CLIENT, MONITOR = "etcd-fw-4", "etcd-fw-5"


def reaches(src, ip, port):
    """True when a TCP connection from container src to ip:port is accepted within 2 s."""
    proc = subprocess.run(
        ["podman", "exec", src, "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/%s/%d" % (ip, port)],
        capture_output=True, text=True, env=PODMAN_ENV, check=False)
    return proc.returncode == 0


def podman_exec(name, *cmd):
    return subprocess.run(["podman", "exec", name] + list(cmd), capture_output=True, text=True, env=PODMAN_ENV, check=False)


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_table_is_ours_and_loaded_at_boot(member):
    out = podman_exec(member, "nft", "list", "tables").stdout
    assert "table inet quorum_etcd" in out
    assert podman_exec(member, "systemctl", "is-enabled", "quorum-etcd-firewall.service").stdout.strip() == "enabled"


def test_outsider_cannot_reach_peer_port():
    for ip in MEMBERS.values():
        assert not reaches(CLIENT, ip, 2380), "etcd-fw-4 reached %s:2380" % ip
        assert not reaches(MONITOR, ip, 2380), "etcd-fw-5 reached %s:2380" % ip


def test_members_reach_each_others_peer_port():
    assert reaches("etcd-fw-1", MEMBERS["etcd-fw-2"], 2380)
    assert reaches("etcd-fw-3", MEMBERS["etcd-fw-1"], 2380)


def test_allowed_client_reaches_client_port():
    for ip in MEMBERS.values():
        assert reaches(CLIENT, ip, 2379)


def test_monitoring_host_only_reaches_metrics():
    ip = MEMBERS["etcd-fw-1"]
    assert reaches(MONITOR, ip, 2381)
    assert not reaches(CLIENT, ip, 2381), "the client network reached the metrics port"
    assert not reaches(MONITOR, ip, 2379), "the monitoring network reached the client port"


def test_other_tables_left_alone():
    """A table of someone else's survives a ruleset change of ours."""
    m = "etcd-fw-1"
    assert podman_exec(m, "nft", "add", "table", "inet", "someone_else").returncode == 0
    try:
        assert podman_exec(m, "systemctl", "restart", "quorum-etcd-firewall.service").returncode == 0
        tables = podman_exec(m, "nft", "list", "tables").stdout
        assert "someone_else" in tables and "quorum_etcd" in tables
    finally:
        podman_exec(m, "nft", "delete", "table", "inet", "someone_else")


def site(*extra):
    """Run playbooks/site.yml against the scenario's inventory; returns the process (output in stdout/stderr)."""
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(REPO, "playbooks", "site.yml")] + list(extra),
        capture_output=True, text=True, env=lab_env(), cwd=REPO, timeout=300, check=False)


def test_ipv6_networks_are_loaded():
    out = podman_exec("etcd-fw-1", "nft", "list", "table", "inet", "quorum_etcd").stdout
    assert re.search(r"set clients6 \{[^}]*elements = \{ fd89:82::/64", out), out
    assert re.search(r"set monitoring6 \{[^}]*elements = \{ fd89:82::15", out), out


def test_converge_loads_a_table_removed_behind_its_back():
    """The unit stays active when someone deletes the table: the next site.yml run loads it again, on that member only."""
    m = "etcd-fw-2"
    assert podman_exec(m, "nft", "delete", "table", "inet", "quorum_etcd").returncode == 0
    assert "quorum_etcd" not in podman_exec(m, "nft", "list", "tables").stdout
    proc = site()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "table inet quorum_etcd" in podman_exec(m, "nft", "list", "tables").stdout
    assert re.search(r"%s\s*:.*changed=1 " % m, out), out[-2000:]
    for other in set(MEMBERS) - {m}:
        assert re.search(r"%s\s*:.*changed=0 " % other, out), out[-2000:]
    assert not reaches(CLIENT, MEMBERS[m], 2380), "the reloaded table let etcd-fw-4 reach the peer port"


def test_preflight_failure_stops_the_play_before_any_change():
    """Thresholds the lab cannot meet: the play fails in preflight, every figure is in the message, nothing changes."""
    proc = site("-e", '{"etcd_preflight_rtt_max_ms": 0.0001, "etcd_preflight_min_cpus": 512, '
                      '"etcd_preflight_resources_action": "fail", "etcd_preflight_min_free_bytes": 1125899906842624, '
                      '"etcd_log_level": "debug"}')
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Preflight failed" in out, out[-3000:]
    for needle in ("round-trip time to", "etcd_preflight_rtt_max_ms", "CPUs; recommended at least 512",
                   "etcd_preflight_min_cpus", "MiB free; expected at least", "etcd_preflight_min_free_bytes"):
        assert needle in out, needle
    assert re.search(r"measured [0-9.]+ ms at best of 5", out)
    for member in MEMBERS:
        assert re.search(r"%s\s*:.*changed=0 " % member, out), "changes on %s:\n%s" % (member, out[-2000:])
        conf = podman_exec(member, "cat", "/etc/etcd/etcd.conf.yml").stdout
        assert "debug" not in conf


def table(member):
    """The loaded etcd table as nft lists it, counters left out (they change with traffic)."""
    out = podman_exec(member, "nft", "list", "table", "inet", "quorum_etcd").stdout
    return re.sub(r"counter packets \d+ bytes \d+ ", "", out)


def etcd_serves_through(member, via="etcd-fw-1"):
    """A linearizable write through member's client port, from another member (needs member's peers and quorum)."""
    env = "ETCDCTL_ENDPOINTS=https://%s:2379" % MEMBERS[member]
    proc = podman_exec(via, "bash", "-lc", "%s etcdctl put /molecule/fw/%s ok && %s etcdctl endpoint health"
                       % (env, member, env))
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_nftables_service_start_reload_restart_keep_the_table():
    """Debian's nftables.service loads /etc/nftables.conf, which starts with "flush ruleset", on start, reload and
    restart: each time the etcd table is back when the command returns, and etcd serves through that member."""
    m = "etcd-fw-3"
    before = table(m)
    assert "chain input" in before
    try:
        for action in (["enable", "--now"], ["reload"], ["restart"], ["reload"]):
            proc = podman_exec(m, "systemctl", *action, "nftables.service")
            assert proc.returncode == 0, (action, proc.stderr)
            tables = podman_exec(m, "nft", "list", "tables").stdout
            assert "table inet filter" in tables, (action, tables)  # nftables.conf's own table is loaded too
            assert table(m) == before, "after systemctl %s nftables: %s" % (" ".join(action), tables)
            assert podman_exec(m, "systemctl", "is-failed", "--quiet", "nftables.service").returncode != 0
            ok, out = etcd_serves_through(m)
            assert ok, out
            assert not reaches(CLIENT, MEMBERS[m], 2380), "etcd-fw-4 reached the peer port after " + " ".join(action)
    finally:
        # Debian's ExecStop flushes the whole ruleset: load the etcd table again as the role's reload does.
        podman_exec(m, "systemctl", "disable", "--now", "nftables.service")
        podman_exec(m, "systemctl", "reload-or-restart", "quorum-etcd-firewall.service")
    assert table(m) == before


# Connects to each HOST:PORT given after the stop file's path, about 20 times a second each, until the stop file
# exists; prints the outcomes in order per target: ok, refused, dropped (no answer within 0.5 s) or error.
PROBE = r"""
import json, os, socket, sys, threading, time
stop, targets = sys.argv[1], sys.argv[2:]
seen = {t: [] for t in targets}
def probe(target):
    host, port = target.rsplit(":", 1)
    while not os.path.exists(stop):
        began = time.monotonic()
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect((host, int(port)))
            seen[target].append("ok")
        except ConnectionRefusedError:
            seen[target].append("refused")
        except socket.timeout:
            seen[target].append("dropped")
        except OSError as e:
            seen[target].append("error %s" % e)
        finally:
            s.close()
        time.sleep(max(0.0, 0.05 - (time.monotonic() - began)))
threads = [threading.Thread(target=probe, args=(t,)) for t in targets]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(seen))
"""


def runs(outcomes):
    """Consecutive equal outcomes collapsed: ["ok", "ok", "dropped", "ok"] -> ["ok", "dropped", "ok"]."""
    return [o for i, o in enumerate(outcomes) if i == 0 or outcomes[i - 1] != o]


def test_rule_change_is_one_transaction_under_probes():
    """Two rule changes through site.yml on etcd-fw-2 (take the client host etcd-fw-4 out of the client networks,
    then put it back) while other hosts connect to its ports about 20 times a second: the members are never refused
    or dropped, etcd-fw-4 never reaches the peer port and loses and regains the client port exactly once each. nft
    monitor on etcd-fw-2 sees the table changed in place, one transaction (generation) per change, never deleted."""
    m, ip = "etcd-fw-2", MEMBERS["etcd-fw-2"]
    stop = "/tmp/quorum-etcd-probe.stop"
    for h in ("etcd-fw-1", CLIENT):
        podman_exec(h, "rm", "-f", stop)
    podman_exec(m, "rm", "-f", "/tmp/quorum-etcd-monitor.log", "/tmp/quorum-etcd-monitor.pid")
    monitor = subprocess.Popen(
        ["podman", "exec", m, "bash", "-c",
         "echo $$ > /tmp/quorum-etcd-monitor.pid; exec timeout 600 nft monitor > /tmp/quorum-etcd-monitor.log"],
        env=PODMAN_ENV)
    probes = {
        "etcd-fw-1": ["%s:2379" % ip, "%s:2380" % ip],
        CLIENT: ["%s:2379" % ip, "%s:2380" % ip],
    }
    procs = {h: subprocess.Popen(["podman", "exec", h, "python3", "-c", PROBE, stop] + t, stdout=subprocess.PIPE,
                                 text=True, env=PODMAN_ENV) for h, t in probes.items()}
    try:
        deadline = time.monotonic() + 60
        while podman_exec(m, "test", "-s", "/tmp/quorum-etcd-monitor.pid").returncode != 0:
            assert time.monotonic() < deadline, "nft monitor did not start on " + m
            time.sleep(0.5)
        time.sleep(2)
        without_client = site("--limit", "localhost,%s" % m, "-e",
                              json.dumps({"etcd_firewall_client_networks": ["fd89:82::/64"]}))
        out = without_client.stdout + without_client.stderr
        assert without_client.returncode == 0, out[-3000:]
        assert "10.89.82.14" not in table(m)
        time.sleep(2)
        back = site("--limit", "localhost,%s" % m)
        out = back.stdout + back.stderr
        assert back.returncode == 0, out[-3000:]
        assert "10.89.82.14" in table(m)
        time.sleep(2)
    finally:
        for h in probes:
            podman_exec(h, "touch", stop)
        seen = {h: json.loads(p.communicate(timeout=30)[0]) for h, p in procs.items()}
        podman_exec(m, "bash", "-c", "kill $(cat /tmp/quorum-etcd-monitor.pid)")
        monitor.wait(timeout=30)
    events = podman_exec(m, "cat", "/tmp/quorum-etcd-monitor.log").stdout
    for target, outcomes in seen["etcd-fw-1"].items():
        assert len(outcomes) > 100, (target, len(outcomes))
        assert runs(outcomes) == ["ok"], "etcd-fw-1 -> %s: %s" % (target, runs(outcomes))
    assert runs(seen[CLIENT]["%s:2380" % ip]) == ["dropped"], seen[CLIENT]["%s:2380" % ip]
    assert runs(seen[CLIENT]["%s:2379" % ip]) == ["ok", "dropped", "ok"], runs(seen[CLIENT]["%s:2379" % ip])
    ours = [line for line in events.splitlines() if "quorum_etcd" in line]
    assert ours, events
    assert not [line for line in ours if line.startswith("delete table") or line.startswith("delete chain")], events
    # Each change is one nft transaction: the monitor prints one "new generation" line per transaction.
    generations = re.findall(r"^# new generation \d+ by process \d+ \((\S+)\)", events, re.M)
    assert len(generations) == 2, events
