"""CA rotation and revocation on a running cluster (issue 12, sections 3 and 4): playbooks/rotate_ca.yml in its
three phases under a writer, then playbooks/revoke_cert.yml.

The writer's client starts with the old CA and the old admin certificate, trusts the bundle after phase add and
uses the admin certificate re-issued by the new CA after phase reissue: 0 failed writes, every acknowledged write
readable. After phase drop a client that trusts only the old CA fails, and a client certificate of the old CA is
refused. Then a revoked client certificate is refused while the others keep working, without a restart.

Runs in the debian13 scenario (molecule/shared/tests). Costs four rotate_ca runs (two refused in their first play),
one site.yml --tags pki run in the middle of the rotation and one revoke_cert run; leaves the
cluster on the new CA, which the controller's PKI directory then holds (the other shared tests read it from there).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import urllib.request

import pytest
from cryptography import x509
from quorum_lab import INVENTORY, PKI, REPO, Writer, lab_env, playbook_cmd, recap, run_playbook, sh

HOSTS = ["etcd-d13-1", "etcd-d13-2", "etcd-d13-3"]
IPS = ["10.89.79.11", "10.89.79.12", "10.89.79.13"]
CLUSTER = "molecule-d13"


def context(ca, cert, key):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert, key)
    return ctx


def put(ctx, ip=IPS[0]):
    """One put through the gateway with a new TLS connection: None when served, else the error."""
    req = urllib.request.Request("https://%s:2379/v3/kv/put" % ip, data=b'{"key": "cm90YXRpb24=", "value": "eA=="}',
                                 method="POST")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            r.read()
        return None
    except Exception as e:  # pylint: disable=broad-except
        return e


def said(proc):
    """The run's output with white space collapsed (the YAML result format folds long messages)."""
    return " ".join((proc.stdout + proc.stderr).split())


def pids():
    return dict((h, sh(h, "systemctl show -p MainPID --value etcd").stdout.strip()) for h in HOSTS)


def certs(path):
    with open(path, "rb") as f:
        data = f.read()
    return [x509.load_pem_x509_certificate(b"-----BEGIN" + c) for c in data.split(b"-----BEGIN")[1:]]


def served_issuer(ip):
    ctx = context(os.path.join(PKI, "ca-bundle.crt") if os.path.exists(os.path.join(PKI, "ca-bundle.crt"))
                  else os.path.join(PKI, "ca.crt"), os.path.join(PKI, "clients", "admin.crt"),
                  os.path.join(PKI, "clients", "admin.key"))
    with socket.create_connection((ip, 2379), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            return x509.load_der_x509_certificate(t.getpeercert(binary_form=True)).issuer


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    """The old CA and the old admin certificate, as a client that never updated keeps them."""
    d = tmp_path_factory.mktemp("old-pki")
    for src, dest in (("ca.crt", "ca.crt"), ("clients/admin.crt", "admin.crt"), ("clients/admin.key", "admin.key")):
        shutil.copy(os.path.join(PKI, src), str(d / dest))
    return dict((n, str(d / n)) for n in ("ca.crt", "admin.crt", "admin.key"))


def test_the_ca_is_rotated_in_three_phases_without_a_failed_write(old):
    old_ca = certs(old["ca.crt"])[0]
    w = Writer(IPS, old["ca.crt"], old["admin.crt"], old["admin.key"], prefix="/rotation-writer/")
    w.start()
    try:
        # A phase out of order is refused before anything changes.
        proc = run_playbook("rotate_ca.yml", "etcd_pki_rotate_phase=reissue", check=False)
        assert proc.returncode != 0 and "run phase add before reissue" in said(proc), said(proc)[-3000:]

        # add: every member trusts old + new and was restarted to load it; the bundle is where clients fetch it.
        before = pids()
        proc = run_playbook("rotate_ca.yml", "etcd_pki_rotate_phase=add")
        assert "Give clients the bundle %s/ca-bundle.crt" % PKI in said(proc), said(proc)[-3000:]
        bundle = os.path.join(PKI, "ca-bundle.crt")
        subjects = [c.subject for c in certs(bundle)]
        assert len(subjects) == 2 and subjects[0] == old_ca.subject
        with open(bundle) as f:
            text = f.read()
        after = pids()
        for h in HOSTS:
            assert sh(h, "cat /etc/etcd/pki/ca.crt").stdout == text
            assert after[h] != before[h], "%s was not restarted to load the bundle" % h
        assert all(served_issuer(ip) == old_ca.subject for ip in IPS), "leaves changed in phase add"
        w.ctx = context(bundle, old["admin.crt"], old["admin.key"])  # the client fetched the bundle

        # reissue: every leaf from the new CA, no restart; the writer switches to its new client certificate.
        proc = run_playbook("rotate_ca.yml", "etcd_pki_rotate_phase=reissue")
        assert pids() == after, "a member restarted in phase reissue"
        new_ca = certs(os.path.join(PKI, "ca-next.crt"))[0]
        assert all(served_issuer(ip) == new_ca.subject for ip in IPS)
        assert certs(os.path.join(PKI, "clients", "admin.crt"))[0].issuer == new_ca.subject
        w.ctx = context(bundle, os.path.join(PKI, "clients", "admin.crt"), os.path.join(PKI, "clients", "admin.key"))

        # site.yml in the middle of the rotation (its certificate part: --tags pki runs the validation, the guard and
        # the pki role) keeps it where it stands: it says so, changes no member, the bundle stays trusted.
        served = dict((ip, served_issuer(ip)) for ip in IPS)
        proc = subprocess.run(playbook_cmd(INVENTORY, "site.yml") + ["--tags", "pki"], capture_output=True, text=True,
                              env=lab_env(), cwd=REPO, timeout=900, check=False)
        assert proc.returncode == 0, said(proc)[-4000:]
        assert "CA rotation in progress: phase reissue done" in said(proc), said(proc)[-3000:]
        assert all(recap(proc.stdout)[h]["changed"] == 0 for h in HOSTS), recap(proc.stdout)
        for h in HOSTS:
            assert sh(h, "cat /etc/etcd/pki/ca.crt").stdout == text
        assert dict((ip, served_issuer(ip)) for ip in IPS) == served

        # drop: refused without the confirmation, then the old CA leaves the bundle; rolling restart.
        proc = run_playbook("rotate_ca.yml", "etcd_pki_rotate_phase=drop", check=False)
        assert proc.returncode != 0 and "etcd_pki_drop_old_ca=%s" % CLUSTER in said(proc), said(proc)[-3000:]
        proc = run_playbook("rotate_ca.yml", "etcd_pki_rotate_phase=all", "etcd_pki_drop_old_ca=" + CLUSTER)
        assert "No CA rotation in progress." in said(proc), said(proc)[-3000:]
    finally:
        w.finish()
    assert w.failed == 0, w.errors[:5]
    w.assert_readable()
    ca = os.path.join(PKI, "ca.crt")
    assert [c.subject for c in certs(ca)] == [new_ca.subject] and not os.path.exists(bundle)
    with open(ca) as f:
        text = f.read()
    final = pids()
    for h in HOSTS:
        assert sh(h, "cat /etc/etcd/pki/ca.crt").stdout == text
        assert final[h] != after[h], "%s was not restarted to drop the old CA" % h
    admin = (os.path.join(PKI, "clients", "admin.crt"), os.path.join(PKI, "clients", "admin.key"))
    assert put(context(ca, *admin)) is None
    # A client that trusts only the old CA no longer trusts the members.
    err = put(context(old["ca.crt"], *admin))
    assert isinstance(getattr(err, "reason", err), ssl.SSLCertVerificationError), err
    # A client certificate of the old CA is refused.
    assert put(context(ca, old["admin.crt"], old["admin.key"])) is not None


def test_a_revoked_client_certificate_is_refused_and_the_others_keep_working(tmp_path):
    ca = os.path.join(PKI, "ca.crt")
    revoked = (str(tmp_path / "admin.crt"), str(tmp_path / "admin.key"))
    shutil.copy(os.path.join(PKI, "clients", "admin.crt"), revoked[0])
    shutil.copy(os.path.join(PKI, "clients", "admin.key"), revoked[1])
    assert put(context(ca, *revoked)) is None
    before = pids()
    run_playbook("revoke_cert.yml", "etcd_pki_revoke=admin")
    assert pids() == before, "revoking restarted a member"
    for ip in IPS:
        assert put(context(ca, *revoked), ip) is not None, "the revoked certificate is still served by %s" % ip
    # admin is still wanted (etcd_pki_clients): issued again, served; the members' own clients too.
    fresh = (os.path.join(PKI, "clients", "admin.crt"), os.path.join(PKI, "clients", "admin.key"))
    assert put(context(ca, *fresh)) is None
    for h in HOSTS:
        proc = sh(h, "set -a; . /etc/etcd/etcdctl.env; /usr/local/bin/etcdctl endpoint health", check=False)
        assert proc.returncode == 0, (h, proc.stdout, proc.stderr)
