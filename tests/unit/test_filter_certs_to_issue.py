"""The certificate plan: what a rerun must (re)issue, decided on the controller without module calls."""

from __future__ import annotations

import datetime

from etcd_pki import CA

from ansible_collections.quorum.etcd.plugins.filter.certs_to_issue import certs_to_issue


def _item(cert, key, sans, usage=("serverAuth", "clientAuth")):
    return {"name": "server", "cert": cert, "key": key, "sans": list(sans), "usage": list(usage)}


def test_missing_certificate_is_planned(tmp_path):
    ca = CA(str(tmp_path / "ca"))
    plan = certs_to_issue([_item(str(tmp_path / "x.crt"), str(tmp_path / "x.key"), [])], ca.cert_path)
    assert [p["reason"] for p in plan] == ["missing"]


def test_good_certificate_is_kept_and_changes_are_detected(tmp_path):
    ca = CA(str(tmp_path / "ca"))
    cert, key = ca.issue("m1", server=True)
    from cryptography import x509

    with open(cert, "rb") as f:
        c = x509.load_pem_x509_certificate(f.read())
    sans = ["DNS:%s" % n for n in c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)]
    sans += ["IP:%s" % a for a in c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)]
    eku = [u._name for u in c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
    usage = [{"serverAuth": "serverAuth", "clientAuth": "clientAuth"}[n] for n in eku]
    good = _item(cert, key, sans, usage)
    assert certs_to_issue([good], ca.cert_path, 0) == []  # the test CA issues for one day
    # a new SAN, another CA, an expiry inside the threshold: each means reissue
    assert certs_to_issue([dict(good, sans=sans + ["DNS:new"])], ca.cert_path, 0)[0]["reason"] == "subject alternative names changed"
    other = CA(str(tmp_path / "other"), name="other-ca")
    assert certs_to_issue([good], other.cert_path, 0)[0]["reason"] == "not signed by the current CA"
    days_left = (c.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).days
    assert certs_to_issue([good], ca.cert_path, days_left + 2)[0]["reason"].startswith("expires within")
    # ready-made certificates: names are not compared
    assert certs_to_issue([dict(good, sans=[])], ca.cert_path, 0, check_names=False) == []
