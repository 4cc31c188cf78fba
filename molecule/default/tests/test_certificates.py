"""Certificates over the cluster's life (issue 12, sections 1 and 2): expiry metrics on every member, every leaf
renewed without a restart under a writer, and the certificate report read from the members.

Runs in the default scenario after converge/idempotence. Costs two cert_report runs and one renew_certs run.
"""

from __future__ import annotations

import calendar
import os
import re
import subprocess
import time

import pytest
from quorum_lab import REPO, Writer, lab_env, playbook_cmd

INVENTORY = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", ""))
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
HOSTS = ["etcd-d12-1", "etcd-d12-2", "etcd-d12-3"]
IPS = dict(zip(HOSTS, ["10.89.78.11", "10.89.78.12", "10.89.78.13"]))
ENV = lab_env()
PROM = "/var/lib/prometheus/node-exporter/etcd_certificates.prom"
CERTS = [("ca", "ca"), ("server", "server"), ("peer", "peer"), ("client", "healthcheck-client"), ("client", "backup")]


def sh(host, script):
    return subprocess.run(["podman", "exec", host, "sh", "-c", script], capture_output=True, text=True, env=ENV,
                          check=True).stdout


def run(name, *extra):
    return subprocess.run(playbook_cmd(INVENTORY, name, *extra), capture_output=True, text=True, env=ENV, cwd=REPO,
                          check=False)


def pid(host):
    return sh(host, "systemctl show -p MainPID --value etcd").strip()


def served_serial(host, port):
    """The serial of the certificate a new TLS connection to HOST:PORT is shown (openssl s_client), as an int. The
    client port is asked from the controller with the admin client certificate; the peer port, which the firewall
    opens to members only, from the next member with its own peer certificate."""
    if port == 2379:
        proc = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (IPS[host], port), "-CAfile",
                               os.path.join(PKI, "ca.crt"), "-cert", os.path.join(PKI, "clients", "admin.crt"),
                               "-key", os.path.join(PKI, "clients", "admin.key")],
                              input="", capture_output=True, text=True, timeout=20, check=False)
        pem = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", proc.stdout, re.S).group(0)
        out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True,
                             check=True).stdout
    else:
        other = HOSTS[(HOSTS.index(host) + 1) % len(HOSTS)]
        out = sh(other, "openssl s_client -connect %s:%d -CAfile /etc/etcd/pki/ca.crt -cert /etc/etcd/pki/peer.crt "
                        "-key /etc/etcd/pki/peer.key </dev/null 2>/dev/null | openssl x509 -noout -serial"
                 % (IPS[host], port))
    return int(out.strip().split("=", 1)[1], 16)


def metrics(host):
    """{(metric, usage, name): value} of the member's expiry metrics file."""
    out = {}
    for m, usage, name, path, value in re.findall(
            r'^(etcd_certificate_\w+)\{usage="(\w+)",name="([^"]+)",path="([^"]+)"\} (\S+)$', sh(host, "cat " + PROM),
            re.M):
        assert path == "/etc/etcd/pki/%s.crt" % name
        out[(m, usage, name)] = float(value)
    return out


@pytest.fixture(scope="module")
def writer():
    w = Writer(list(IPS.values()), os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
               os.path.join(PKI, "clients", "admin.key"), prefix="/cert-writer/")
    w.start()
    yield w
    w.finish()
    assert w.failed == 0, w.errors[:5]
    w.assert_readable()


def test_every_member_exports_the_expiry_of_each_certificate():
    for h in HOSTS:
        found = metrics(h)
        for usage, name in CERTS:
            assert ("etcd_certificate_not_after_timestamp_seconds", usage, name) in found, (h, sorted(found))
            assert ("etcd_certificate_days_left", usage, name) in found
        enddate = sh(h, "openssl x509 -noout -enddate -in /etc/etcd/pki/server.crt").strip().split("=", 1)[1]
        not_after = calendar.timegm(time.strptime(enddate, "%b %d %H:%M:%S %Y %Z"))
        assert found[("etcd_certificate_not_after_timestamp_seconds", "server", "server")] == not_after
        assert 364 < found[("etcd_certificate_days_left", "server", "server")] <= 365
        assert 3640 < found[("etcd_certificate_days_left", "ca", "ca")] <= 3650
        assert sh(h, "systemctl is-enabled etcd-cert-expiry.timer; systemctl is-active etcd-cert-expiry.timer").split() \
            == ["enabled", "active"]


def test_every_leaf_is_renewed_under_load_without_a_restart(writer):
    pids = dict((h, pid(h)) for h in HOSTS)
    serials = dict(((h, p), served_serial(h, p)) for h in HOSTS for p in (2379, 2380))
    gens = dict((h, sh(h, "readlink /etc/etcd/pki/live").strip()) for h in HOSTS)
    ca = sh(HOSTS[0], "cat /etc/etcd/pki/ca.crt")
    not_after = dict((h, metrics(h)[("etcd_certificate_not_after_timestamp_seconds", "server", "server")]) for h in HOSTS)
    time.sleep(1)  # the new certificates' not-after must differ from the old ones
    proc = run("renew_certs.yml", "etcd_pki_renew_all=true")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    for h in HOSTS:
        assert pid(h) == pids[h], "etcd restarted on %s" % h
        for port in (2379, 2380):
            assert served_serial(h, port) != serials[(h, port)], "%s:%d still shows the old certificate" % (h, port)
        live = sh(h, "readlink /etc/etcd/pki/live").strip()
        assert live != gens[h] and sh(h, "ls /etc/etcd/pki/generations").split() == [live.split("/")[1]]
        for name in ("server", "peer", "healthcheck-client", "backup"):
            assert sh(h, "openssl x509 -noout -pubkey -in /etc/etcd/pki/%s.crt" % name) == \
                sh(h, "openssl pkey -pubout -in /etc/etcd/pki/%s.key" % name)
        assert sh(h, "cat /etc/etcd/pki/ca.crt") == ca, "the CA changed"
        # The metrics were refreshed with the new certificates.
        assert metrics(h)[("etcd_certificate_not_after_timestamp_seconds", "server", "server")] > not_after[h]
    assert writer.failed == 0, writer.errors[:5]


def test_the_report_lists_every_members_certificates_and_fails_inside_the_threshold():
    proc = run("cert_report.yml")
    out = proc.stdout
    assert proc.returncode == 0, out[-5000:]
    rows = re.findall(r"^\s*(etcd-d12-\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([0-9A-F]+)\s+(\S+)\s+(\S+)\s*$", out,
                      re.M)
    for h in HOSTS:
        mine = dict((r[1], r) for r in rows if r[0] == h)
        assert sorted(mine) == sorted(n for dummy, n in CERTS), rows
        assert mine["server"][2] == "CN=%s" % h and "IP:%s" % IPS[h] in mine["server"][3].split(",")
        assert int(mine["server"][5], 16) == served_serial(h, 2379)
        assert mine["ca"][4] == mine["ca"][2] == mine["server"][4]
    proc = run("cert_report.yml", "etcd_pki_fail_days=400")
    assert proc.returncode != 0
    assert "certificate(s) expire within 400 days" in proc.stdout, proc.stdout[-3000:]
