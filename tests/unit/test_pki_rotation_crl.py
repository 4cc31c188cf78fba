"""The CA's life on the controller (plugins/module_utils/_pki.py, the action quorum.etcd.etcd_pki_ca, the filters
pki_rotation_state and pki_rotation_phases): CA rotation phases and their order, the trust bundle, the revocation
list (signed, checked, signed again only when due), revocation by name, and where etcd reads the CRL file
(quorum.etcd.etcd_config). With a local etcd release in .lab/cache, a real etcd proves the CRL setting."""

from __future__ import annotations

import datetime
import glob
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tarfile
import time

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509

from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config
from ansible_collections.quorum.etcd.plugins.filter.pki_rotation import pki_rotation_phases, pki_rotation_state
from ansible_collections.quorum.etcd.plugins.module_utils import _pki

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = {"usage": ["clientAuth"], "sans": []}


def _leaf(directory, rel, signer_dir, server=False):
    """Issue DIRECTORY/REL.crt (+ .key) from the signing CA in SIGNER_DIR (rotation_state)."""
    state = _pki.rotation_state(signer_dir)
    ca, key = _pki.load_ca(state["signer_cert"], state["signer_key"])
    name = os.path.basename(rel)
    item = dict(CLIENT, name=name, cn=name, cert=os.path.join(directory, rel + ".crt"),
                key=os.path.join(directory, rel + ".key"))
    if server:
        item.update(usage=["serverAuth", "clientAuth"], sans=["DNS:localhost", "IP:127.0.0.1"])
    return _pki.issue_one(item, ca, key, 30)


@pytest.fixture()
def pki(tmp_path):
    d = str(tmp_path / "pki")
    os.makedirs(d)
    _pki.create_ca(os.path.join(d, "ca.crt"), os.path.join(d, "ca.key"), "old-ca", 100)
    for rel in ("members/etcd-1/healthcheck-client", "clients/admin", "clients/app"):
        _leaf(d, rel, d)
    _leaf(d, "members/etcd-1/server", d, server=True)
    return d


def _subjects(path):
    with open(path, "rb") as f:
        return [c.subject.rfc4514_string() for c in _pki.load_certs(f.read())]


# --- phase decisions -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("requested,phase,expected", [
    ("all", "", ["add", "reissue", "drop"]),
    ("all", "added", ["reissue", "drop"]),
    ("all", "reissued", ["drop"]),
    ("all", "dropping", ["drop"]),
    ("add", "", ["add"]),
    ("add", "added", []),
    ("add", "reissued", []),
    ("reissue", "added", ["reissue"]),
    ("reissue", "reissued", []),
    ("drop", "reissued", ["drop"]),
    ("drop", "dropping", ["drop"]),
])
def test_phases_run_in_order_and_a_phase_done_is_skipped(requested, phase, expected):
    assert pki_rotation_phases(requested, phase) == expected


def test_the_new_ca_is_named_by_the_date_of_the_rotation():
    assert _pki.rotated_name("prod-etcd-ca", datetime.datetime(2026, 11, 30, 10, 0)) == "prod-etcd-ca-20261130"


@pytest.mark.parametrize("requested,phase,words", [
    ("reissue", "", "run phase add before reissue"),
    ("drop", "", "run phase add before drop"),
    ("drop", "added", "run phase reissue before drop"),
    ("add", "dropping", "only etcd_pki_rotate_phase=drop"),
    ("rotate", "", "must be add, reissue, drop or all"),
])
def test_a_phase_out_of_order_is_refused_with_what_to_run(requested, phase, words):
    with pytest.raises(AnsibleFilterError, match=words):
        pki_rotation_phases(requested, phase)


def test_outside_a_rotation_the_ca_is_trust_anchor_and_signer(pki):
    s = pki_rotation_state(pki)
    assert (s["phase"], s["rotating"], s["next_phase"]) == ("", False, "add")
    assert s["trust_cert"] == s["signer_cert"] == os.path.join(pki, "ca.crt")


# --- the rotation on the controller --------------------------------------------------------------------------------

def test_add_creates_the_new_ca_and_the_bundle_once(pki):
    old = open(os.path.join(pki, "ca.crt"), "rb").read()
    assert _pki.rotate(pki, "add", "new-ca", 100, check=True)[0] is True
    assert not os.path.exists(os.path.join(pki, "ca-next.crt")), "check mode wrote"
    changed, dummy = _pki.rotate(pki, "add", "new-ca", 100)
    assert changed
    s = _pki.rotation_state(pki)
    assert s["phase"] == "added" and s["trust_cert"] == os.path.join(pki, "ca-bundle.crt")
    assert s["signer_cert"] == os.path.join(pki, "ca.crt"), "the old CA still signs until reissue"
    assert _subjects(s["trust_cert"]) == ["CN=old-ca", "CN=" + _pki.rotated_name("new-ca")]
    assert open(os.path.join(pki, "ca.crt"), "rb").read() == old
    assert stat.S_IMODE(os.stat(os.path.join(pki, "ca-next.key")).st_mode) == 0o600
    assert sorted(s["clients"]) == ["admin", "app"]
    next_before = open(os.path.join(pki, "ca-next.crt"), "rb").read()
    assert _pki.rotate(pki, "add", "new-ca", 100)[0] is False
    assert open(os.path.join(pki, "ca-next.crt"), "rb").read() == next_before


def test_the_bundle_holds_ca_certificates_only_each_once(pki):
    ca = open(os.path.join(pki, "ca.crt"), "rb").read()
    assert _pki.ca_bundle(ca, ca).count(b"BEGIN CERTIFICATE") == 1
    with pytest.raises(_pki.PkiError, match="not a CA certificate"):
        _pki.ca_bundle(ca, open(os.path.join(pki, "clients", "admin.crt"), "rb").read())


def test_reissue_makes_the_new_ca_sign_and_leaves_are_then_due(pki):
    with pytest.raises(_pki.PkiError, match="run phase add first"):
        _pki.rotate(pki, "reissue", "new-ca", 100)
    _pki.rotate(pki, "add", "new-ca", 100)
    assert _pki.rotate(pki, "reissue", "new-ca", 100)[0] is True
    assert _pki.rotate(pki, "reissue", "new-ca", 100)[0] is False
    s = _pki.rotation_state(pki)
    assert s["phase"] == "reissued" and s["signer_cert"] == os.path.join(pki, "ca-next.crt")
    assert s["trust_cert"] == os.path.join(pki, "ca-bundle.crt")
    item = dict(CLIENT, name="admin", cert=os.path.join(pki, "clients/admin.crt"),
                key=os.path.join(pki, "clients/admin.key"))
    assert _pki.plan([item], s["signer_cert"]) == [dict(item, reason="not signed by the current CA")]


def test_drop_refuses_leaves_of_the_old_ca_then_retires_it(pki):
    _pki.rotate(pki, "add", "new-ca", 100)
    with pytest.raises(_pki.PkiError, match="run phase reissue first"):
        _pki.rotate(pki, "drop", "new-ca", 100)
    _pki.rotate(pki, "reissue", "new-ca", 100)
    with pytest.raises(_pki.PkiError, match="still from the old CA"):
        _pki.rotate(pki, "drop", "new-ca", 100)
    for rel in ("members/etcd-1/healthcheck-client", "clients/admin", "clients/app"):
        _leaf(pki, rel, pki)
    _leaf(pki, "members/etcd-1/server", pki, server=True)
    old_serial = "%X" % _pki.load_cert(os.path.join(pki, "ca.crt")).serial_number
    new = open(os.path.join(pki, "ca-next.crt"), "rb").read()
    new_key = open(os.path.join(pki, "ca-next.key"), "rb").read()
    assert _pki.rotate(pki, "drop", "new-ca", 100)[0] is True
    assert open(os.path.join(pki, "ca.crt"), "rb").read() == new
    assert open(os.path.join(pki, "ca.key"), "rb").read() == new_key
    assert stat.S_IMODE(os.stat(os.path.join(pki, "ca.key")).st_mode) == 0o600
    for f in ("ca-next.crt", "ca-next.key", "ca-bundle.crt", "rotation.json"):
        assert not os.path.exists(os.path.join(pki, f)), f
    assert _subjects(os.path.join(pki, "retired", "ca-%s.crt" % old_serial)) == ["CN=old-ca"]
    assert _pki.rotation_state(pki)["phase"] == ""
    assert _pki.rotate(pki, "drop", "new-ca", 100) == (False, {"phase_before": "",
                                                               "note": "no CA rotation in progress: nothing to drop"})


def test_an_interrupted_drop_trusts_the_new_ca_only_and_is_finished_by_the_next(pki, monkeypatch):
    _pki.rotate(pki, "add", "new-ca", 100)
    _pki.rotate(pki, "reissue", "new-ca", 100)
    for rel in ("members/etcd-1/healthcheck-client", "clients/admin", "clients/app"):
        _leaf(pki, rel, pki)
    _leaf(pki, "members/etcd-1/server", pki, server=True)
    new = open(os.path.join(pki, "ca-next.crt"), "rb").read()
    real = _pki.write_atomic
    calls = []

    def crash(path, data, mode):
        calls.append(path)
        if path.endswith("ca.crt"):  # the key already replaced, the certificate not yet
            raise OSError("power cut")
        return real(path, data, mode)

    monkeypatch.setattr(_pki, "write_atomic", crash)
    with pytest.raises(OSError):
        _pki.rotate(pki, "drop", "new-ca", 100)
    monkeypatch.setattr(_pki, "write_atomic", real)
    s = _pki.rotation_state(pki)
    assert s["phase"] == "dropping" and s["signer_cert"] == s["trust_cert"] == os.path.join(pki, "ca-next.crt")
    assert "drop started" in s["message"]
    assert pki_rotation_phases("all", s["phase"]) == ["drop"]
    assert _pki.rotate(pki, "drop", "new-ca", 100)[0] is True
    assert open(os.path.join(pki, "ca.crt"), "rb").read() == new and _pki.rotation_state(pki)["phase"] == ""


def test_an_unknown_phase_in_the_state_file_is_refused(pki):
    with open(os.path.join(pki, "rotation.json"), "w") as f:
        json.dump({"phase": "halfway"}, f)
    with pytest.raises(AnsibleFilterError, match="unknown phase"):
        pki_rotation_state(pki)


# --- the revocation list -------------------------------------------------------------------------------------------

def _crl(pki):
    with open(os.path.join(pki, "crl.pem"), "rb") as f:
        return x509.load_pem_x509_crl(f.read())


def test_an_empty_crl_is_signed_once_and_again_only_when_due(pki):
    ca, key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    assert _pki.ensure_crl(pki, ca, key, check=True) == (True, "missing")
    assert not os.path.exists(os.path.join(pki, "crl.pem"))
    assert _pki.ensure_crl(pki, ca, key) == (True, "missing")
    crl = _crl(pki)
    assert len(list(crl)) == 0 and crl.is_signature_valid(_pki.load_cert(ca).public_key())
    assert _pki.ensure_crl(pki, ca, key) == (False, None)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=340)
    assert _pki.ensure_crl(pki, ca, key, threshold_days=30, now=later)[1] == "next update within 30 days"


def test_a_broken_crl_is_replaced_and_never_written_unchecked(pki):
    ca, key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    with open(os.path.join(pki, "crl.pem"), "w") as f:
        f.write("garbage")
    changed, reason = _pki.ensure_crl(pki, ca, key)
    assert changed and reason.startswith("not a PEM certificate revocation list")
    assert _pki.crl_problems(open(os.path.join(pki, "crl.pem"), "rb").read(), _pki.load_cert(ca)) == []


def test_a_crl_of_another_ca_or_with_other_serials_is_unusable(pki, tmp_path):
    other = str(tmp_path / "other")
    os.makedirs(other)
    _pki.create_ca(os.path.join(other, "ca.crt"), os.path.join(other, "ca.key"), "other", 10)
    ca_o, key_o = _pki.load_ca(os.path.join(other, "ca.crt"), os.path.join(other, "ca.key"))
    ca = _pki.load_cert(os.path.join(pki, "ca.crt"))
    assert "not signed by the CA CN=old-ca" in _pki.crl_problems(_pki.build_crl(ca_o, key_o, []), ca)
    ca_m, key_m = _pki.load_ca(os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key"))
    pem = _pki.build_crl(ca_m, key_m, [{"serial": "AB", "date": "2026-01-01T00:00:00Z"}])
    assert _pki.crl_problems(pem, ca, [{"serial": "ab"}]) == []
    assert _pki.crl_problems(pem, ca, []) == ["lists ['AB'] instead of nothing"]
    old = _pki.build_crl(ca_m, key_m, [], validity_days=1,
                         now=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    assert _pki.crl_problems(old, ca)[0].startswith("expired at 2020-01-02")


def test_revoke_lists_every_certificate_of_the_name_and_moves_it_aside(pki):
    serial = "%X" % _pki.load_cert(os.path.join(pki, "clients", "admin.crt")).serial_number
    with pytest.raises(_pki.PkiError, match="cannot be revoked by name"):
        _pki.revoke(pki, "server")
    changed, done = _pki.revoke(pki, "admin", check=True)
    assert changed and done == [{"path": os.path.join(pki, "clients", "admin.crt"), "serial": serial}]
    assert os.path.exists(os.path.join(pki, "clients", "admin.crt")), "check mode moved the file"
    assert _pki.revoke(pki, "admin")[0] is True
    assert not os.path.exists(os.path.join(pki, "clients", "admin.crt"))
    assert not os.path.exists(os.path.join(pki, "clients", "admin.key"))
    assert os.path.exists(os.path.join(pki, "revoked", "clients_admin-%s.crt" % serial))
    assert [r["serial"] for r in json.load(open(os.path.join(pki, "revoked.json")))] == [serial]
    assert _pki.revoke(pki, "admin") == (False, [])
    # The list is signed again with the serial; the other client's certificate is not in it.
    changed, reason = _pki.ensure_crl(pki, os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key"))
    assert changed and reason.startswith("missing")
    assert ["%X" % r.serial_number for r in _crl(pki)] == [serial]
    member = _pki.revoke(pki, "healthcheck-client")[1]
    assert [os.path.relpath(r["path"], pki) for r in member] == ["members/etcd-1/healthcheck-client.crt"]
    assert _pki.ensure_crl(pki, os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key"))[1].startswith("lists")
    assert len(list(_crl(pki))) == 2


def test_the_crl_follows_the_signer_through_a_rotation(pki):
    s = _pki.rotation_state(pki)
    _pki.ensure_crl(pki, s["signer_cert"], s["signer_key"])
    _pki.rotate(pki, "add", "new-ca", 100)
    s = _pki.rotation_state(pki)
    assert _pki.ensure_crl(pki, s["signer_cert"], s["signer_key"]) == (False, None)
    _pki.rotate(pki, "reissue", "new-ca", 100)
    s = _pki.rotation_state(pki)
    new = "CN=" + _pki.rotated_name("new-ca")
    assert _pki.ensure_crl(pki, s["signer_cert"], s["signer_key"])[1] == "not signed by the CA " + new
    assert _crl(pki).issuer.rfc4514_string() == new


# --- where etcd reads the CRL, and the client identity restriction --------------------------------------------------

SECURITY = {"cert-file": "/p/server.crt", "key-file": "/p/server.key", "trusted-ca-file": "/p/ca.crt",
            "client-cert-auth": True}


@pytest.mark.parametrize("version", ["3.5.16", "3.5.30", "3.6.5"])
def test_the_crl_file_goes_where_etcd_reads_it(version):
    out = etcd_config({"name": "a",
                       "client-transport-security": dict(SECURITY, **{"crl-file": "/p/crl.pem",
                                                                      "allowed-hostname": []}),
                       "peer-transport-security": dict(SECURITY, **{"crl-file": "/p/crl.pem"})}, version)
    assert out["ClientTLSInfo"] == {"CRLFile": "/p/crl.pem"} and out["PeerTLSInfo"] == {"CRLFile": "/p/crl.pem"}
    assert "crl-file" not in out["client-transport-security"] and "crl-file" not in out["peer-transport-security"]
    assert "allowed-hostname" not in out["client-transport-security"], "an empty list means no restriction"


def test_no_crl_file_no_tls_info_and_allowed_hostname_needs_3_5_14():
    out = etcd_config({"name": "a", "client-transport-security": dict(SECURITY, **{"crl-file": ""})}, "3.5.30")
    assert "ClientTLSInfo" not in out
    out = etcd_config({"name": "a", "client-transport-security": dict(SECURITY, **{"allowed-hostname": ["app"]})},
                      "3.5.16")
    assert out["client-transport-security"]["allowed-hostname"] == ["app"]
    with pytest.raises(AnsibleFilterError, match="needs etcd 3.5.14"):
        etcd_config({"name": "a", "client-transport-security": {"allowed-hostname": ["app"]}}, "3.5.13")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("version", ["3.5.30"])
def test_a_real_etcd_refuses_a_revoked_client_and_reads_the_crl_at_each_handshake(version, pki, tmp_path):
    """The configuration quorum.etcd.etcd_config writes, given to a real etcd: the revoked client is refused, the
    others are served, a new list counts without a restart, and a missing list refuses everyone."""
    archive = os.path.join(REPO, ".lab", "cache", "etcd-v%s-linux-amd64.tar.gz" % version)
    if not os.path.exists(archive):
        pytest.skip("no local etcd %s release" % version)
    with tarfile.open(archive) as t:
        member = t.getmember("etcd-v%s-linux-amd64/etcd" % version)
        member.name = "etcd"
        t.extract(member, str(tmp_path))
    ca, key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    _pki.ensure_crl(pki, ca, key)
    live = str(tmp_path / "crl.pem")
    shutil.copy(os.path.join(pki, "crl.pem"), live)
    port, peer = _free_port(), _free_port()
    sec = {"cert-file": os.path.join(pki, "members/etcd-1/server.crt"),
           "key-file": os.path.join(pki, "members/etcd-1/server.key"), "trusted-ca-file": ca,
           "client-cert-auth": True, "crl-file": live}
    conf = etcd_config({"name": "t", "data-dir": str(tmp_path / "data"),
                        "listen-client-urls": "https://127.0.0.1:%d" % port,
                        "advertise-client-urls": "https://127.0.0.1:%d" % port,
                        "listen-peer-urls": "http://127.0.0.1:%d" % peer,
                        "initial-advertise-peer-urls": "http://127.0.0.1:%d" % peer,
                        "initial-cluster": "t=http://127.0.0.1:%d" % peer,
                        "client-transport-security": sec, "log-level": "error"}, version)
    path = str(tmp_path / "etcd.conf.yml")
    with open(path, "w") as f:
        json.dump(conf, f)  # JSON is YAML
    proc = subprocess.Popen([str(tmp_path / "etcd"), "--config-file", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def served(name):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        ctx.load_cert_chain(os.path.join(pki, "clients", name + ".crt"), os.path.join(pki, "clients", name + ".key"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                with ctx.wrap_socket(s) as t:
                    t.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    return b"etcdserver" in t.recv(4096)
        except (ssl.SSLError, OSError):
            return False

    try:
        deadline = time.monotonic() + 20
        while not served("admin"):
            assert time.monotonic() < deadline, "etcd did not serve"
            time.sleep(0.2)
        assert served("app")
        _pki.revoke(pki, "app")
        # the revoked files moved aside: keep a copy to present
        moved = glob.glob(os.path.join(pki, "revoked", "clients_app-*"))
        for f in moved:
            shutil.copy(f, os.path.join(pki, "clients", "app" + os.path.splitext(f)[1]))
        _pki.ensure_crl(pki, ca, key)
        shutil.copy(os.path.join(pki, "crl.pem"), live + ".new")
        os.rename(live + ".new", live)
        assert not served("app"), "the revoked client was served"
        assert served("admin"), "another client was refused"
        os.unlink(live)
        assert not served("admin"), "a missing CRL file does not refuse (etcd changed: revisit docs/certificates.md)"
    finally:
        proc.terminate()
        proc.wait(10)
