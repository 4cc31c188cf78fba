"""Certificate expiry metrics (roles/pki/files/etcd_cert_expiry.py, run on members with Python's standard library
only) and the certificate report's table and threshold (quorum.etcd.pki_certificate_report)."""

from __future__ import annotations

import importlib.util
import os
import re
import time

from ansible_collections.quorum.etcd.plugins.filter.certs_to_issue import pki_certificate_report
from ansible_collections.quorum.etcd.plugins.module_utils import _pki

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "pki", "files", "etcd_cert_expiry.py")


def _script():
    spec = importlib.util.spec_from_file_location("etcd_cert_expiry", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _member_dir(tmp_path):
    """A member's certificate directory: a CA bundle (two CAs), server, peer and a client certificate."""
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    _pki.create_ca(str(ctl / "ca.crt"), str(ctl / "ca.key"), "one-ca", 3650)
    (tmp_path / "other").mkdir()
    _pki.create_ca(str(tmp_path / "other" / "ca.crt"), str(tmp_path / "other" / "ca.key"), "two-ca", 20)
    ca_cert, ca_key = _pki.load_ca(str(ctl / "ca.crt"), str(ctl / "ca.key"))
    pki = tmp_path / "pki"
    for item in _pki.member_certificates("m1", ["localhost", "10.0.0.11"], [], ["backup"], str(pki)):
        _pki.issue_one(item, ca_cert, ca_key, 365)
    (pki / "ca.crt").write_text((ctl / "ca.crt").read_text() + (tmp_path / "other" / "ca.crt").read_text())
    return pki


def test_metrics_of_every_certificate(tmp_path):
    pki = _member_dir(tmp_path)
    mod = _script()
    series, errors = mod.collect(str(pki))
    assert errors == []
    assert sorted((u, n) for u, n, dummy, dummy in series) == [
        ("ca", "ca"), ("ca", "ca"), ("client", "backup"), ("peer", "peer"), ("server", "server")]
    expected = dict((_pki.certificate_details(c)["subject"], _pki.certificate_details(c)["not_after_timestamp"])
                    for c in _pki.load_certs((pki / "ca.crt").read_text()))
    assert sorted(s[3] for s in series if s[0] == "ca") == sorted(expected.values())
    server = _pki.load_cert(str(pki / "server.crt"))
    assert [s[3] for s in series if s[1] == "server"] == [_pki.certificate_details(server)["not_after_timestamp"]]
    out = tmp_path / "textfile"
    out.mkdir()
    assert mod.main(["x", str(pki), str(out)]) == 0
    text = (out / "etcd_certificates.prom").read_text()
    assert oct(os.stat(out / "etcd_certificates.prom").st_mode & 0o777) == "0o644"
    assert os.listdir(out) == ["etcd_certificates.prom"]
    line = 'etcd_certificate_days_left{usage="server",name="server",path="%s/server.crt"} ' % pki
    days = float(re.search(re.escape(line) + r"(\S+)", text).group(1))
    assert 364 < days <= 365
    assert 'etcd_certificate_not_after_timestamp_seconds{usage="client",name="backup",path="%s/backup.crt"}' % pki in text
    assert "# TYPE etcd_certificate_days_left gauge" in text
    assert len(re.findall(r"^etcd_certificate_days_left\{", text, re.M)) == 5


def test_long_validity_uses_generalized_time(tmp_path):
    """Not-after times from 2050 on are GeneralizedTime (before, UTCTime)."""
    _pki.create_ca(str(tmp_path / "ca.crt"), str(tmp_path / "ca.key"), "long", 365 * 40)
    series, errors = _script().collect(str(tmp_path))
    assert errors == [] and series[0][3] > time.time() + 39 * 365 * 86400
    assert series[0][3] == _pki.certificate_details(_pki.load_cert(str(tmp_path / "ca.crt")))["not_after_timestamp"]


def test_an_unreadable_file_fails_the_run_but_the_others_are_written(tmp_path):
    pki = _member_dir(tmp_path)
    (pki / "broken.crt").write_text("not a certificate")
    out = tmp_path / "textfile"
    out.mkdir()
    assert _script().main(["x", str(pki), str(out)]) == 1
    assert len(re.findall(r"^etcd_certificate_days_left\{", (out / "etcd_certificates.prom").read_text(), re.M)) == 5


def test_report_table_and_threshold(tmp_path):
    pki = _member_dir(tmp_path)
    entries = [{"host": "h1", "path": "/etc/etcd/pki/%s" % f, "pem": (pki / f).read_text()}
               for f in ("ca.crt", "server.crt", "backup.crt")]
    report = pki_certificate_report(entries, "")
    assert [(r["name"], r["usage"]) for r in report["rows"]] == [
        ("ca", "ca"), ("ca", "ca"), ("server", "server"), ("backup", "client")]
    assert report["expiring"] == []
    assert report["lines"][0].split() == ["member", "certificate", "subject", "SANs", "issuer", "serial", "not",
                                          "after", "days", "left"]
    assert "DNS:localhost,IP:10.0.0.11" in report["lines"][3] and "CN=m1" in report["lines"][3]
    # The second CA of the bundle expires in 20 days: inside 30, not inside 10.
    assert [r["subject"] for r in pki_certificate_report(entries, 30)["expiring"]] == ["CN=two-ca"]
    assert pki_certificate_report(entries, "10")["expiring"] == []
    assert len(pki_certificate_report(entries, 400)["expiring"]) == 3  # all but the ten-year CA
