"""Verify a deployed cluster: mTLS only, data replicated, hardened files, and survival of a full restart.

Runs as molecule's testinfra verifier. Hosts are the scenario's `etcd` group; commands inside them go through
podman (fast), cluster traffic goes from the controller to the members' addresses with etcdctl.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import ssl
import subprocess
import time

import pytest
import quorum_lab
import testinfra
import yaml
from quorum_lab import PKI, PODMAN_ENV

MEMBERS = quorum_lab.inventory_members("etcd")
IPS = {m: quorum_lab.podman_ip(m) for m in MEMBERS}


def etcdctl(*args, endpoints=None, cert=True, check=True):
    """etcdctl against every member (or ENDPOINTS)."""
    return quorum_lab.etcdctl(*args, endpoints=endpoints or ["https://%s:2379" % ip for ip in IPS.values()],
                              cert=cert, check=check)


def host(name):
    return testinfra.get_host("podman://" + name)


def test_cluster_healthy_over_mtls():
    out = etcdctl("endpoint", "health", "-w", "json")
    health = json.loads(out.stdout)
    assert len(health) == len(MEMBERS) and all(h["health"] for h in health)
    members = json.loads(etcdctl("member", "list", "-w", "json").stdout)["members"]
    assert sorted(m["name"] for m in members) == sorted(MEMBERS)
    assert not any(m.get("isLearner") for m in members)


def test_client_without_certificate_is_refused():
    proc = etcdctl("get", "anything", cert=False, check=False)
    assert proc.returncode != 0
    # and at the TLS level: a handshake without a client certificate gets no HTTP answer
    ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.crt"))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(IPS[MEMBERS[0]], 2379, context=ctx, timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        conn.request("GET", "/version")
        conn.getresponse()


@pytest.mark.parametrize("port", [2379, 2380])
def test_plain_http_is_refused(port):
    conn = http.client.HTTPConnection(IPS[MEMBERS[0]], port, timeout=5)
    try:
        conn.request("GET", "/version")
        status = conn.getresponse().status
    except (ConnectionError, socket.timeout, http.client.HTTPException, OSError):
        return
    assert status == 400, "plain HTTP got %s on %s" % (status, port)


def test_write_through_one_member_read_through_another():
    first, second = ["https://%s:2379" % IPS[m] for m in MEMBERS[:2]]
    etcdctl("put", "/molecule/replicated", "value-1", endpoints=[first])
    out = etcdctl("get", "/molecule/replicated", "--print-value-only", endpoints=[second])
    assert out.stdout.strip() == "value-1"


@pytest.mark.parametrize("name", MEMBERS)
def test_etcd_runs_as_etcd_with_hardened_files(name):
    h = host(name)
    svc = h.service("etcd")
    assert svc.is_running and svc.is_enabled
    users = h.check_output("ps -o user= -C etcd").split()
    assert users and set(users) == {"etcd"}
    expect = {
        "/etc/etcd/pki/ca.crt": ("etcd", 0o644),
        "/etc/etcd/pki/server.crt": ("etcd", 0o644),
        "/etc/etcd/pki/server.key": ("etcd", 0o600),
        "/etc/etcd/pki/peer.key": ("etcd", 0o600),
        "/etc/etcd/pki/healthcheck-client.key": ("etcd", 0o600),
        "/var/lib/etcd": ("etcd", 0o700),
        "/etc/etcd/etcd.conf.yml": ("root", 0o640),
        "/etc/etcd/etcdctl.env": ("root", 0o600),
    }
    for path, (owner, mode) in expect.items():
        f = h.file(path)
        assert f.exists, path
        assert f.user == owner, path
        assert f.mode == mode, "%s has mode %o" % (path, f.mode)
    unit = h.file("/etc/systemd/system/etcd.service").content_string
    for line in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n"):
        assert line in unit


@pytest.mark.parametrize("name", MEMBERS)
def test_no_ca_key_on_members(name):
    h = host(name)
    with open(os.path.join(PKI, "ca.key")) as f:
        ca_key_line = [ln for ln in f.read().splitlines() if ln and not ln.startswith("-----")][0]
    assert h.run("find / -xdev -name 'ca.key' -print -quit").stdout.strip() == ""
    found = h.run("grep -rlF -- %s /etc /root /var /tmp /opt /usr/local 2>/dev/null" % ca_key_line[:40])
    assert found.stdout.strip() == ""


def test_root_etcdctl_on_a_member():
    out = host(MEMBERS[0]).check_output("bash -lc 'etcdctl member list -w json'")
    assert len(json.loads(out)["members"]) == len(MEMBERS)


def test_cluster_survives_restart_of_all_hosts():
    etcdctl("put", "/molecule/survivor", "still-here")
    subprocess.run(["podman", "restart", "-t", "10"] + MEMBERS, check=True, capture_output=True, env=PODMAN_ENV)
    deadline = time.monotonic() + 120
    while True:
        proc = etcdctl("endpoint", "health", check=False)
        if proc.returncode == 0:
            break
        assert time.monotonic() < deadline, "cluster not healthy 120 s after restarting all hosts: " + proc.stderr
        time.sleep(2)
    out = etcdctl("get", "/molecule/survivor", "--print-value-only")
    assert out.stdout.strip() == "still-here"
    assert etcdctl("get", "/molecule/replicated", "--print-value-only").stdout.strip() == "value-1"


# The firewall lets only members reach the peer port: these handshakes run on the first member, with its files.
_TLS_PROBE = r"""
import http.client, json, ssl, sys
host, port, cert, ciphers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations("/etc/etcd/pki/ca.crt")
ctx.check_hostname = False
ctx.load_cert_chain("/etc/etcd/pki/%s.crt" % cert, "/etc/etcd/pki/%s.key" % cert)
if ciphers:
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
try:
    conn.request("GET", "/members" if port == 2380 else "/version")
    resp = conn.getresponse()
    print(json.dumps({"status": resp.status, "cipher": conn.sock.cipher()[0]}))
except (ssl.SSLError, OSError, http.client.HTTPException) as e:
    print(json.dumps({"error": "%s: %s" % (e.__class__.__name__, e)}))
"""


def _tls_from_member(port, cert, ciphers=""):
    """A TLS request from the first member to the second one's PORT with the certificate CERT (in etcd_pki_dir)."""
    out = host(MEMBERS[0]).check_output(
        "python3 -c %s %s %d %s %s" % (shlex.quote(_TLS_PROBE), IPS[MEMBERS[1]], port, cert, shlex.quote(ciphers)))
    return json.loads(out)


def test_peer_port_refuses_client_certificates():
    """Only peer certificates on 2380 (peer-transport-security allowed-hostname): a client certificate signed by the
    same CA (healthcheck-client, backup) is refused; the member's peer certificate is accepted."""
    assert _tls_from_member(2380, "peer").get("status") == 200
    for client in ("healthcheck-client", "backup"):
        result = _tls_from_member(2380, client)
        assert "error" in result, "%s was accepted on the peer port: %s" % (client, result)
        # the same certificate is fine on the client port
        assert _tls_from_member(2379, client).get("status") == 200
    cfg = yaml.safe_load(host(MEMBERS[1]).file("/etc/etcd/etcd.conf.yml").content_string)
    assert cfg["peer-transport-security"]["allowed-hostname"] == ["localhost"]


@pytest.mark.parametrize("port", [2379, 2380])
def test_tls12_offers_only_aead_cipher_suites(port):
    """etcd_cipher_suites: TLS 1.2 handshakes with a CBC suite fail, with an AEAD (GCM) suite succeed."""
    ok = _tls_from_member(port, "peer", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    assert ok.get("status") == 200 and "GCM" in ok["cipher"], ok
    cbc = _tls_from_member(port, "peer", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
                                         "ECDHE-RSA-AES256-SHA")
    assert "error" in cbc, "a CBC suite was accepted: %s" % cbc
    cfg = yaml.safe_load(host(MEMBERS[1]).file("/etc/etcd/etcd.conf.yml").content_string)
    assert cfg["cipher-suites"] and all("GCM" in c or "CHACHA20" in c for c in cfg["cipher-suites"])
