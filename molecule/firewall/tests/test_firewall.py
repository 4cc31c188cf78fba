"""Firewall scenario: who reaches which etcd port, and preflight failures before any change.

Members etcd-fw-1..3; etcd-fw-4 is an allowed client (etcd_firewall_client_networks) and an outsider to the peer
port; etcd-fw-5 is the monitoring host (etcd_firewall_monitoring_networks). Probes run inside the containers through
podman; the controller (10.89.82.1) is allowed on the client port as the host Ansible connects from.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
PODMAN_ENV = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"))
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
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"))
    return subprocess.run(
        ["ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", "site.yml")] + list(extra),
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)


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
