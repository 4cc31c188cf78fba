# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate expiry of an etcd member, for node_exporter's textfile collector.

Installed by the quorum.etcd pki role and run daily by etcd-cert-expiry.timer (read-only: it reads the certificates
in the certificate directory, never a key, and writes one metrics file):

    python3 etcd_cert_expiry.py PKI_DIR TEXTFILE_DIR

For each certificate file PKI_DIR/*.crt (the CA file may be a bundle: one series per certificate in it):

    etcd_certificate_not_after_timestamp_seconds{usage="ca|server|peer|client",name="<file stem>",path="<file>"}
    etcd_certificate_days_left{...}

written to TEXTFILE_DIR/etcd_certificates.prom through a temporary file renamed over it. Python's standard library
only (members need no cryptography package): the not-after time is read from the certificate's DER encoding.
Exits 1 when a file could not be read (the others are still written).
"""

from __future__ import print_function

import base64
import calendar
import glob
import os
import re
import sys
import tempfile
import time

PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def _tlv(der, pos):
    """(tag, start of the value, end of the value) of the DER element at pos."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(der[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def not_after(der):
    """The not-after time of a DER certificate, in seconds since the epoch."""
    dummy, pos, dummy = _tlv(der, 0)  # Certificate
    dummy, pos, dummy = _tlv(der, pos)  # tbsCertificate: its elements follow
    tag, start, end = _tlv(der, pos)
    if tag == 0xA0:  # [0] version
        tag, start, end = _tlv(der, end)
    for dummy in ("signature", "issuer"):  # after the serial number
        tag, start, end = _tlv(der, end)
    tag, start, end = _tlv(der, end)  # validity
    dummy, s1, e1 = _tlv(der, start)  # notBefore
    tag, s2, e2 = _tlv(der, e1)  # notAfter
    text = der[s2:e2].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    return calendar.timegm(time.strptime(text[:14], "%Y%m%d%H%M%S"))


def usage_of(name):
    return name if name in ("ca", "server", "peer") else "client"


def _label(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def collect(pki_dir):
    series, errors = [], []
    for path in sorted(glob.glob(os.path.join(pki_dir, "*.crt"))):
        name = os.path.basename(path)[:-4]
        try:
            with open(path) as f:
                blocks = PEM.findall(f.read())
            if not blocks:
                raise ValueError("no PEM certificate")
            for block in blocks:
                series.append((usage_of(name), name, path, not_after(base64.b64decode("".join(block.split())))))
        except (IOError, OSError, ValueError, IndexError) as e:
            errors.append("%s: %s" % (path, e))
    return series, errors


def render(series, now):
    lines = [
        "# HELP etcd_certificate_not_after_timestamp_seconds Time after which the certificate is no longer valid.",
        "# TYPE etcd_certificate_not_after_timestamp_seconds gauge",
    ]
    labels = ['usage="%s",name="%s",path="%s"' % (u, _label(n), _label(p)) for u, n, p, dummy in series]
    lines += ["etcd_certificate_not_after_timestamp_seconds{%s} %d" % (lab, s[3]) for lab, s in zip(labels, series)]
    lines += [
        "# HELP etcd_certificate_days_left Days until the certificate expires (negative: expired).",
        "# TYPE etcd_certificate_days_left gauge",
    ]
    lines += ["etcd_certificate_days_left{%s} %.3f" % (lab, (s[3] - now) / 86400.0) for lab, s in zip(labels, series)]
    return "\n".join(lines) + "\n"


def write_atomic(directory, name, text):
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", dir=directory)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(directory, name))
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    if len(argv) != 3:
        print("usage: %s PKI_DIR TEXTFILE_DIR" % argv[0], file=sys.stderr)
        return 2
    series, errors = collect(argv[1])
    write_atomic(argv[2], "etcd_certificates.prom", render(series, time.time()))
    for e in errors:
        print("cannot read %s" % e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
