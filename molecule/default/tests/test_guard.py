"""The guard before any change, certificate generations and a moved certificate directory (issue 9, items 1 and 4).

The per-member release switch is proven by test_upgrade.py (upgrade.yml runs under a writer).

Runs after converge/idempotence in the default scenario, on its three members (the shared checks in test_cluster.py
run beside these). Refusals are checked to change nothing on the members: files under the managed paths (inode and
change time) and etcd's PID are compared before and after. Operations that do change the cluster run under a
writer (about 20 puts/s with failover) that must lose nothing.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
import yaml
from quorum_lab import REPO, Writer, lab_env, playbook_cmd

SCENARIO_INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
HOSTS = ["etcd-d12-1", "etcd-d12-2", "etcd-d12-3"]
IPS = ["10.89.78.11", "10.89.78.12", "10.89.78.13"]
ENV = lab_env()
WATCHED = "/etc/etcd /etc/nftables.d /etc/systemd/system/etcd.service /opt/etcd"
# The data directory itself and its member directory only: etcd appends to its WAL on its own.
DATA = "/var/lib/etcd -maxdepth 1"


def sh(host, script):
    return subprocess.run(["podman", "exec", host, "sh", "-c", script], capture_output=True, text=True, env=ENV,
                          check=True).stdout


def site(*extra, inventory=None):
    cmd = playbook_cmd(inventory or os.path.dirname(SCENARIO_INVENTORY), "site.yml", *extra)
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, check=False)


def state():
    """What a refused run must leave as it was: every managed path's inode and change time, and etcd's PID."""
    out = {}
    for h in HOSTS:
        script = ("(find %s -printf '%%p %%i %%C@\\n'; find %s -printf '%%p %%i %%C@\\n') 2>/dev/null | sort; "
                  "systemctl show -p MainPID etcd" % (WATCHED, DATA))
        out[h] = sh(h, script)
    return out


@pytest.fixture(scope="module")
def writer():
    w = Writer(IPS, os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
               os.path.join(PKI, "clients", "admin.key"), prefix="/guard-writer/")
    w.start()
    yield w
    w.finish()
    assert w.failed == 0, w.errors[:5]
    w.assert_readable()


def test_certificates_live_in_one_generation():
    for h in HOSTS:
        live = sh(h, "readlink /etc/etcd/pki/live").strip()
        assert live.startswith("generations/")
        assert sh(h, "ls /etc/etcd/pki/generations").split() == [live.split("/")[1]]
        for name in ("ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"):
            assert sh(h, "readlink /etc/etcd/pki/%s" % name).strip() == "live/" + name
        # The live pair matches: the certificate's public key is the key's.
        assert sh(h, "openssl x509 -noout -pubkey -in /etc/etcd/pki/server.crt") == \
            sh(h, "openssl pkey -pubout -in /etc/etcd/pki/server.key")


def test_a_controller_without_its_ca_is_refused_before_any_change(tmp_path):
    before = state()
    proc = site("etcd_pki_controller_dir=%s" % (tmp_path / "pki"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "The controller has no CA at %s/ca.crt" % (tmp_path / "pki") in out, out[-3000:]
    assert "CN=molecule-d12-etcd-ca" in out and "restore the controller PKI directory" in out
    assert not (tmp_path / "pki").exists(), "the refused run created a PKI directory on the controller"
    assert state() == before


def test_another_ca_on_the_controller_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(other / "ca.key"), "-out", str(other / "ca.crt"), "-days", "30",
                    "-subj", "/CN=someone-elses-ca"], check=True, capture_output=True)
    before = state()
    proc = site("etcd_pki_controller_dir=%s" % other)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "is not the CA trusted by members" in out and "CN=someone-elses-ca" in out, out[-3000:]
    assert state() == before


def test_a_running_member_missing_from_the_inventory_is_refused(tmp_path):
    with open(SCENARIO_INVENTORY) as f:
        inv = yaml.safe_load(f)
    for group in inv.values():
        if isinstance(group, dict) and "etcd-d12-3" in (group.get("hosts") or {}):
            del group["hosts"]["etcd-d12-3"]
    for group in inv.values():
        for child in (group.get("children") or {}).values() if isinstance(group, dict) else []:
            if isinstance(child, dict) and "etcd-d12-3" in (child.get("hosts") or {}):
                del child["hosts"]["etcd-d12-3"]
    path = tmp_path / "inventory"
    path.mkdir()
    (path / "hosts.yml").write_text(yaml.safe_dump(inv))
    for sub in ("group_vars", "host_vars"):
        src = os.path.join(os.path.dirname(SCENARIO_INVENTORY), sub)
        if os.path.isdir(src):
            os.symlink(src, path / sub)
    before = state()
    proc = site(inventory=str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "The running cluster has members the inventory does not list: etcd-d12-3" in out, out[-3000:]
    assert state() == before


def _serial(ip, port):
    proc = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (ip, port), "-CAfile",
                           os.path.join(PKI, "ca.crt"), "-cert", os.path.join(PKI, "clients", "admin.crt"),
                           "-key", os.path.join(PKI, "clients", "admin.key")],
                          input="", capture_output=True, text=True, timeout=20, check=False)
    pem = proc.stdout[proc.stdout.index("-----BEGIN CERTIFICATE-----"):proc.stdout.index("-----END CERTIFICATE-----") + 25]
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_reissued_certificate_goes_out_as_a_new_generation(writer):
    old_gen = sh(HOSTS[0], "readlink /etc/etcd/pki/live").strip()
    old_serial = _serial(IPS[0], 2379)
    os.remove(os.path.join(PKI, "members", HOSTS[0], "server.crt"))
    proc = site()
    assert proc.returncode == 0, proc.stdout[-5000:]
    new_gen = sh(HOSTS[0], "readlink /etc/etcd/pki/live").strip()
    assert new_gen != old_gen
    assert sh(HOSTS[0], "ls /etc/etcd/pki/generations").split() == [new_gen.split("/")[1]], "old keys left behind"
    assert _serial(IPS[0], 2379) != old_serial
    assert sh(HOSTS[0], "openssl x509 -noout -pubkey -in /etc/etcd/pki/server.crt") == \
        sh(HOSTS[0], "openssl pkey -pubout -in /etc/etcd/pki/server.key")
    # The other members kept their generation.
    for h in HOSTS[1:]:
        assert len(sh(h, "ls /etc/etcd/pki/generations").split()) == 1


class Sampler(threading.Thread):
    """Samples every member's etcd PID about twice a second."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.samples = []

    def run(self):
        while not self.stop.is_set():
            row = {}
            for h in HOSTS:
                try:
                    row[h] = sh(h, "systemctl show -p MainPID --value etcd").strip()
                except subprocess.CalledProcessError:
                    continue
            if len(row) == len(HOSTS):
                self.samples.append(row)
            time.sleep(0.3)


def _move_pki_dir(pki_dir, writer):
    before = dict((h, sh(h, "systemctl show -p MainPID --value etcd").strip()) for h in HOSTS)
    old_dir = sh(HOSTS[0], "sed -n 's/^ *trusted-ca-file: *//p' /etc/etcd/etcd.conf.yml | head -1").strip().rsplit("/", 1)[0]
    sampler = Sampler()
    sampler.start()
    proc = site("etcd_pki_dir=%s" % pki_dir)
    sampler.stop.set()
    sampler.join(10)
    assert proc.returncode == 0, proc.stdout[-5000:]
    # Members restarted one at a time: never two members stopped at once in a sample (no PID), and the restart of
    # each came as a new PID.
    for row in sampler.samples:
        assert sum(1 for pid in row.values() if pid in ("", "0")) <= 1, row
    for h in HOSTS:
        assert sh(h, "systemctl show -p MainPID --value etcd").strip() != before[h]
        # The certificate directory moved: the member uses the new one, no key is left in the old one.
        assert "trusted-ca-file: %s/ca.crt" % pki_dir in sh(h, "cat /etc/etcd/etcd.conf.yml")
        assert sh(h, "find %s -name '*.key' 2>/dev/null; true" % old_dir).strip() == ""
    assert writer.failed == 0, writer.errors[:5]


def test_a_moved_certificate_directory_is_used_and_the_old_keys_removed(writer):
    """etcd_pki_dir moved and back, each a rolling restart under the writer; the old directory's keys removed. (The
    release switch of this roll moved to test_upgrade.py: upgrade.yml, the playbook that changes releases.)"""
    _move_pki_dir("/etc/etcd/tls", writer)
    _move_pki_dir("/etc/etcd/pki", writer)
