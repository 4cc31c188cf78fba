"""The pki role's plan and issuing on the controller (plugins/module_utils/_pki.py) and the action plugin
quorum.etcd.etcd_pki_issue: what is issued (subjects, SANs, usages, extensions, validity, key types), that keys are
written 0600, that check mode writes nothing, that a rerun issues nothing, and that no key material is returned."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.quorum.etcd.plugins.action.etcd_pki_issue import ActionModule
from ansible_collections.quorum.etcd.plugins.filter import certs_to_issue as filters
from ansible_collections.quorum.etcd.plugins.module_utils import _pki


def _load(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


# --- the file lists ----------------------------------------------------------------------------------------------

def test_member_sans_names_first_then_addresses_each_once():
    hosts = ["localhost", "etcd-1", "etcd-1", "", "etcd-1.example.org", "127.0.0.1", "10.0.0.11", "10.0.0.21",
             "fd00::0:11"]
    assert _pki.member_sans(hosts, ["DNS:etcd.example.org", "IP:10.0.0.11"]) == [
        "DNS:localhost", "DNS:etcd-1", "DNS:etcd-1.example.org", "IP:127.0.0.1", "IP:10.0.0.11", "IP:10.0.0.21",
        "IP:fd00::11", "DNS:etcd.example.org"]


def test_a_member_is_addressed_by_name():
    assert _pki.member_sans(["localhost", "127.0.0.1", "etcd-1.example.org"]) == [
        "DNS:localhost", "DNS:etcd-1.example.org", "IP:127.0.0.1"]


def test_member_certificates_and_files():
    wanted = filters.pki_member_certificates("m1", ["localhost", "10.0.0.11"], [], ["healthcheck-client", "backup"],
                                             "/c/members/h1")
    assert [(w["name"], w["cn"], w["kind"], w["usage"]) for w in wanted] == [
        ("server", "m1", "server", ["serverAuth", "clientAuth"]), ("peer", "m1", "peer", ["serverAuth", "clientAuth"]),
        ("healthcheck-client", "healthcheck-client", "client", ["clientAuth"]),
        ("backup", "backup", "client", ["clientAuth"])]
    assert wanted[0]["sans"] == wanted[1]["sans"] == ["DNS:localhost", "IP:10.0.0.11"]
    assert wanted[2]["sans"] == []
    assert (wanted[3]["cert"], wanted[3]["key"]) == ("/c/members/h1/backup.crt", "/c/members/h1/backup.key")
    files = filters.pki_member_files(wanted, "/c/ca.crt", "/etc/etcd/pki")
    assert files[0] == {"src": "/c/ca.crt", "dest": "ca.crt", "path": "/etc/etcd/pki/ca.crt", "mode": "0644"}
    assert [(f["dest"], f["mode"]) for f in files[1:3]] == [("server.crt", "0644"), ("server.key", "0600")]
    assert files[2] == {"src": "/c/members/h1/server.key", "dest": "server.key", "path": "/etc/etcd/pki/server.key",
                        "mode": "0600"}
    assert len(files) == 1 + 2 * 4
    clients = filters.pki_client_certificates(["admin"], "/c/clients")
    assert clients == [{"name": "admin", "cn": "admin", "sans": [], "usage": ["clientAuth"], "kind": "client",
                        "cert": "/c/clients/admin.crt", "key": "/c/clients/admin.key"}]


def test_generation_id_is_the_earlier_jinja_digest(tmp_path):
    """The same id as the earlier `query('file', ...) | join('\\n') | hash('sha256')` (lookup strips trailing white
    space; missing files ignored): members installed by an earlier release keep their generation."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("AAA\n")
    b.write_text("BBB\n\n")
    files = [{"src": str(a)}, {"src": str(tmp_path / "missing")}, {"src": str(b)}]
    assert filters.pki_generation(files) == hashlib.sha256(b"AAA\nBBB").hexdigest()[:16]
    b.write_text("CCC\n")
    assert filters.pki_generation(files) != hashlib.sha256(b"AAA\nBBB").hexdigest()[:16]


# --- issuing -------------------------------------------------------------------------------------------------------

@pytest.fixture()
def ca(tmp_path):
    serial = _pki.create_ca(str(tmp_path / "ca.crt"), str(tmp_path / "ca.key"), "test-etcd-ca", 3650)
    return tmp_path, serial


def test_the_ca(ca):
    d, serial = ca
    cert = _load(str(d / "ca.crt"))
    assert "%X" % cert.serial_number == serial
    assert cert.subject.rfc4514_string() == "CN=test-etcd-ca" == cert.issuer.rfc4514_string()
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and ku.value.digital_signature
    assert not ku.value.key_encipherment
    _ext(cert, x509.SubjectKeyIdentifier)
    days = (_pki.not_after(cert) - datetime.datetime.now(datetime.timezone.utc)).days
    assert 3648 <= days <= 3650
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    assert stat.S_IMODE(os.stat(d / "ca.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d / "ca.crt").st_mode) == 0o644
    assert (d / "ca.key").read_text().startswith("-----BEGIN EC PRIVATE KEY-----")


def test_a_member_certificate_is_what_community_crypto_issued(ca):
    d, dummy = ca
    ca_cert, ca_key = _pki.load_ca(str(d / "ca.crt"), str(d / "ca.key"))
    item = _pki.member_certificates("m1", ["localhost", "127.0.0.1", "10.0.0.11"], [], ["backup"], str(d / "m"))[0]
    serial = _pki.issue_one(item, ca_cert, ca_key, 365)
    cert = _load(item["cert"])
    assert "%X" % cert.serial_number == serial
    assert cert.subject.rfc4514_string() == "CN=m1" and cert.issuer == ca_cert.subject
    assert _pki.sans_of(cert) == ["DNS:localhost", "IP:127.0.0.1", "IP:10.0.0.11"]
    assert not _ext(cert, x509.SubjectAlternativeName).critical
    ku = _ext(cert, x509.KeyUsage)
    assert not ku.critical and ku.value.digital_signature and ku.value.key_encipherment and not ku.value.key_cert_sign
    eku = _ext(cert, x509.ExtendedKeyUsage)
    assert not eku.critical and list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    bc = _ext(cert, x509.BasicConstraints)
    assert not bc.critical and not bc.value.ca
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == \
        _ext(ca_cert, x509.SubjectKeyIdentifier).value.digest
    _ext(cert, x509.SubjectKeyIdentifier)
    assert 364 <= (_pki.not_after(cert) - datetime.datetime.now(datetime.timezone.utc)).days <= 365
    assert _pki.signed_by(cert, ca_cert) and _pki.key_matches(cert, item["key"])
    assert stat.S_IMODE(os.stat(item["key"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(item["cert"]).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(os.path.dirname(item["key"])).st_mode) == 0o700
    assert _pki.plan([item], str(d / "ca.crt")) == []
    # A client certificate: no SANs, client usage only.
    client = _pki.client_certificates(["admin"], str(d / "clients"))[0]
    _pki.issue_one(client, ca_cert, ca_key, 365)
    cert = _load(client["cert"])
    assert _pki.sans_of(cert) == [] and list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.SubjectAlternativeName)


@pytest.mark.parametrize("key_type,cls,begin", [("RSA", rsa.RSAPrivateKey, "RSA PRIVATE KEY"),
                                                ("Ed25519", ed25519.Ed25519PrivateKey, "PRIVATE KEY")])
def test_other_key_types(tmp_path, key_type, cls, begin):
    _pki.create_ca(str(tmp_path / "ca.crt"), str(tmp_path / "ca.key"), "ca", 10, key_type=key_type)
    ca_cert, ca_key = _pki.load_ca(str(tmp_path / "ca.crt"), str(tmp_path / "ca.key"))
    assert isinstance(ca_key, cls)
    item = _pki.client_certificates(["c"], str(tmp_path))[0]
    _pki.issue_one(item, ca_cert, ca_key, 10, key_type=key_type)
    assert (tmp_path / "c.key").read_text().startswith("-----BEGIN %s-----" % begin)
    assert _pki.plan([item], str(tmp_path / "ca.crt"), 0) == []
    if key_type == "RSA":
        assert _load(item["cert"]).public_key().key_size == 2048


def test_unknown_curve_is_refused():
    with pytest.raises(_pki.PkiError):
        _pki.new_key("ECC", "nocurve")


def test_write_atomic_replaces_without_a_readable_moment(tmp_path):
    path = tmp_path / "x.key"
    path.write_text("old")
    os.chmod(path, 0o644)
    _pki.write_atomic(str(path), b"new", 0o600)
    assert path.read_text() == "new" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["x.key"]


def test_renew_all_plans_every_good_certificate(ca):
    d, dummy = ca
    ca_cert, ca_key = _pki.load_ca(str(d / "ca.crt"), str(d / "ca.key"))
    items = _pki.member_certificates("m1", ["10.0.0.11"], [], [], str(d / "m"))
    for i in items:
        _pki.issue_one(i, ca_cert, ca_key, 365)
    assert _pki.plan(items, str(d / "ca.crt")) == []
    assert [p["reason"] for p in _pki.plan(items, str(d / "ca.crt"), renew_all=True)] == ["renewal requested"] * 2
    assert [p["reason"] for p in _pki.plan(items, str(d / "ca.crt"), 400)] == ["expires within 400 days"] * 2


def test_certificate_details_of_a_bundle(ca):
    d, serial = ca
    other = d / "other"
    other.mkdir()
    _pki.create_ca(str(other / "ca.crt"), str(other / "ca.key"), "other-ca", 30)
    pem = (d / "ca.crt").read_text() + (other / "ca.crt").read_text()
    details = filters.pki_certificate_details(pem)
    assert [x["subject"] for x in details] == ["CN=test-etcd-ca", "CN=other-ca"]
    assert details[0]["serial"] == serial and details[0]["is_ca"] and details[0]["sans"] == []
    assert 29 <= details[1]["days_left"] <= 30
    assert details[0]["not_after"].endswith("Z")


# --- the action plugin ---------------------------------------------------------------------------------------------

def _run(args, check=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check
    task.async_val = 0
    play_context = mock.MagicMock()
    play_context.check_mode = check
    action = ActionModule(task, mock.MagicMock(), play_context, mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    return action.run(task_vars={})


def _args(d, **more):
    args = {"ca_cert": str(d / "pki" / "ca.crt"), "ca_key": str(d / "pki" / "ca.key"), "create_ca": True,
            "ca_common_name": "c-etcd-ca",
            "certificates": _pki.member_certificates("m1", ["10.0.0.11"], [], ["backup"], str(d / "pki" / "m1"))}
    args.update(more)
    return args


def test_action_check_mode_reports_the_plan_and_writes_nothing(tmp_path):
    res = _run(_args(tmp_path), check=True)
    assert res["changed"] and res["ca_created"] and not res.get("failed")
    assert [(c["name"], c["reason"]) for c in res["certificates"]] == [("server", "new"), ("peer", "new"), ("backup", "new")]
    assert not (tmp_path / "pki").exists()


def test_action_issues_once_and_a_rerun_changes_nothing(tmp_path):
    res = _run(_args(tmp_path))
    assert res["changed"] and res["ca_created"] and not res.get("failed"), res
    assert [c["reason"] for c in res["certificates"]] == ["missing"] * 3
    assert all(len(c["serial"]) > 8 for c in res["certificates"])
    assert stat.S_IMODE(os.stat(tmp_path / "pki").st_mode) == 0o700
    text = json.dumps(res)
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
    before = dict((f, os.stat(os.path.join(tmp_path / "pki" / "m1", f)).st_mtime_ns)
                  for f in os.listdir(tmp_path / "pki" / "m1"))
    again = _run(_args(tmp_path))
    assert not again["changed"] and again["certificates"] == [] and not again["ca_created"]
    assert before == dict((f, os.stat(os.path.join(tmp_path / "pki" / "m1", f)).st_mtime_ns) for f in before)
    # Check mode on a good set reports nothing either; renew_all reissues every leaf with new serials, not the CA.
    assert not _run(_args(tmp_path), check=True)["changed"]
    ca_before = (tmp_path / "pki" / "ca.crt").read_bytes()
    renewed = _run(_args(tmp_path, renew_all=True))
    assert renewed["changed"] and [c["reason"] for c in renewed["certificates"]] == ["renewal requested"] * 3
    assert set(c["serial"] for c in renewed["certificates"]).isdisjoint(c["serial"] for c in res["certificates"])
    assert (tmp_path / "pki" / "ca.crt").read_bytes() == ca_before


def test_action_refuses_a_missing_ca_it_may_not_create(tmp_path):
    res = _run(_args(tmp_path, create_ca=False))
    assert res["failed"] and "does not exist" in res["msg"]
    assert not (tmp_path / "pki").exists()


def test_action_refuses_bad_arguments(tmp_path):
    args = _args(tmp_path)
    args["certificates"][0]["usage"] = ["codeSigning"]
    with pytest.raises(AnsibleActionFail, match="codeSigning"):
        _run(args)
    assert not (tmp_path / "pki").exists()
