"""A member whose address changes (issue 9, item 6): renumbered by site.yml under a writer, then moved back.

etcd-d12-3 leaves 10.89.78.13 for 10.89.78.23 (podman network disconnect/connect --ip, as a host whose address is
changed), the inventory says so (a temporary copy with the new ansible_host), and site.yml runs under a writer that
uses the two members that keep their address: the guard plans the change, the member's certificates hold both
addresses, its peer URL is updated through another member before it restarts, and it restarts with its new address.
No acknowledged write may be lost, no write may fail, every member must answer at its address, and the members that
kept theirs are not restarted. Then it moves back the same way, a later run drops the address it no longer has from
its certificates, and the run after that changes nothing; later tests and the scenario's destroy see the original
addresses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml
from quorum_lab import REPO, Writer, lab_env, playbook_cmd

SCENARIO_INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
NET = "quorum-etcd-m12"
HOSTS = ["etcd-d12-1", "etcd-d12-2", "etcd-d12-3"]
IPS = {"etcd-d12-1": "10.89.78.11", "etcd-d12-2": "10.89.78.12", "etcd-d12-3": "10.89.78.13"}
MOVED, OLD, NEW = "etcd-d12-3", "10.89.78.13", "10.89.78.23"
STAYING = [h for h in HOSTS if h != MOVED]
ENV = lab_env()


def sh(host, script):
    return subprocess.run(["podman", "exec", host, "sh", "-c", script], capture_output=True, text=True, env=ENV,
                          check=True).stdout


def address_of(host):
    out = subprocess.run(["podman", "inspect", host, "--format", "{{json .NetworkSettings.Networks}}"],
                         capture_output=True, text=True, env=ENV, check=True).stdout
    return json.loads(out)[NET]["IPAddress"]


def move(host, ip):
    """The host's address changes: off the network, back on with another address (its name still resolves)."""
    subprocess.run(["podman", "network", "disconnect", NET, host], env=ENV, check=True, capture_output=True)
    subprocess.run(["podman", "network", "connect", "--ip", ip, "--alias", host, NET, host], env=ENV, check=True,
                   capture_output=True)
    assert address_of(host) == ip


def inventory_with(path, host, ip):
    """A copy of the scenario's inventory in which ``host`` has the address ``ip``."""
    path.mkdir()
    with open(SCENARIO_INVENTORY) as f:
        inv = yaml.safe_load(f)
    for group in inv.values():
        if isinstance(group, dict) and isinstance((group.get("hosts") or {}).get(host), dict):
            group["hosts"][host]["ansible_host"] = ip
    (path / "hosts.yml").write_text(yaml.safe_dump(inv))
    src = os.path.dirname(SCENARIO_INVENTORY)
    if os.path.isdir(os.path.join(src, "group_vars")):
        os.symlink(os.path.join(src, "group_vars"), path / "group_vars")
    if os.path.isdir(os.path.join(src, "host_vars")):
        shutil.copytree(os.path.join(src, "host_vars"), path / "host_vars")
        for name in (host, host + ".yml"):
            f = path / "host_vars" / name
            if f.is_file():
                hv = yaml.safe_load(f.read_text()) or {}
                hv["ansible_host"] = ip
                f.write_text(yaml.safe_dump(hv))
    return str(path)


def site(inventory=None):
    cmd = playbook_cmd(inventory or os.path.dirname(SCENARIO_INVENTORY), "site.yml")
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, check=False)


def recap(proc):
    """changed= per host from the play recap."""
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in HOSTS and "changed=" in line:
            out[parts[0]] = int([p for p in parts if p.startswith("changed=")][0].split("=")[1])
    return out


def pid(host):
    return sh(host, "systemctl show -p MainPID --value etcd").strip()


def sans(host):
    return sh(host, "openssl x509 -noout -ext subjectAltName -in /etc/etcd/pki/server.crt; "
                    "openssl x509 -noout -ext subjectAltName -in /etc/etcd/pki/peer.crt")


@pytest.fixture(scope="module")
def writer():
    w = Writer([IPS[h] for h in STAYING], os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
               os.path.join(PKI, "clients", "admin.key"), prefix="/renumber-writer/")
    w.start()
    yield w
    w.finish()
    # Whatever happened, the member goes back to its address for the tests after this one and for destroy.
    if address_of(MOVED) != OLD:
        move(MOVED, OLD)
    assert w.failed == 0, w.errors[:5]
    w.assert_readable()


def members(writer):
    out = writer.call(IPS[STAYING[0]], "/v3/cluster/member/list", {"linearizable": True})
    return dict((m["name"], m) for m in out["members"])


def assert_healthy(writer, addresses):
    """Every member answers at its address: a leader in sight, a linearizable read."""
    for ip in addresses:
        status = writer.call(ip, "/v3/maintenance/status", {})
        assert status.get("leader"), (ip, status)
        writer.call(ip, "/v3/kv/range", {"key": writer.b64("health")})


def test_a_member_whose_address_changed_is_renumbered_under_load(tmp_path, writer):
    before = dict((h, pid(h)) for h in HOSTS)
    move(MOVED, NEW)
    proc = site(inventory_with(tmp_path / "inventory", MOVED, NEW))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "changes its peer URL from https://%s:2380 to https://%s:2380" % (OLD, NEW) in " ".join(out.split())
    table = members(writer)
    assert table[MOVED]["peerURLs"] == ["https://%s:2380" % NEW], table
    assert table[MOVED]["clientURLs"] == ["https://%s:2379" % NEW], table
    assert not any(m.get("isLearner") for m in table.values())
    assert_healthy(writer, [IPS[h] for h in STAYING] + [NEW])
    # Both addresses in its certificates while the change was under way; the others were not restarted.
    assert "IP Address:%s" % OLD in sans(MOVED) and "IP Address:%s" % NEW in sans(MOVED)
    assert pid(MOVED) != before[MOVED]
    assert [pid(h) for h in STAYING] == [before[h] for h in STAYING]
    # The other members' firewall lets the new address in (and no longer the old one).
    for h in STAYING:
        rules = sh(h, "nft list table inet quorum_etcd 2>/dev/null || nft list ruleset")
        assert NEW in rules and OLD not in rules, rules[-2000:]
    assert writer.failed == 0, writer.errors[:5]


def test_the_member_moves_back_and_a_later_run_drops_the_address_it_left(writer):
    move(MOVED, OLD)
    proc = site()
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert members(writer)[MOVED]["peerURLs"] == ["https://%s:2380" % OLD]
    assert "IP Address:%s" % NEW in sans(MOVED)
    proc = site()
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert "IP Address:%s" % NEW not in sans(MOVED) and "IP Address:%s" % OLD in sans(MOVED)
    assert_healthy(writer, list(IPS.values()))
    # And the run after that changes nothing.
    proc = site()
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert recap(proc) == dict((h, 0) for h in HOSTS), proc.stdout[-3000:]
    assert writer.failed == 0, writer.errors[:5]
