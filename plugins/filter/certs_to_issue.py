# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side certificate planning for the quorum.etcd pki role.

The filter runs inside the controller process (no module fork per certificate), so a rerun that has nothing to
issue decides so in milliseconds; the issuing itself is left to community.crypto modules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: certs_to_issue
short_description: Which certificates must be (re)issued
version_added: 0.1.0
description:
  - Takes a list of wanted certificates and returns those that are missing, whose subject alternative names or
    extended key usage differ from what is wanted, whose key does not match, that are not signed by the given CA,
    or that expire within the threshold.
  - Each returned item is the input item with a C(reason) key added.
options:
  _input:
    description:
      - List of dicts with keys C(cert) (path), C(key) (path), C(sans) (list of C(DNS:name) or C(IP:addr)) and
        C(usage) (list of C(serverAuth) and/or C(clientAuth)).
    type: list
    elements: dict
    required: true
  ca_cert:
    description: Path to the CA certificate the certificates must chain to.
    type: path
    required: true
  threshold_days:
    description: Reissue a certificate that expires within this many days.
    type: int
    default: 30
  check_names:
    description: Also compare subject alternative names and extended key usage with the wanted ones.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Plan
  ansible.builtin.set_fact:
    __plan: "{{ wanted | quorum.etcd.certs_to_issue('/srv/pki/ca.crt', 30) }}"
"""

RETURN = r"""
_value:
  description: The wanted items that need issuing, each with a C(reason).
  type: list
  elements: dict
"""

import datetime
import ipaddress
import os

from ansible.errors import AnsibleFilterError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

_USAGES = {"serverAuth": "SERVER_AUTH", "clientAuth": "CLIENT_AUTH"}


def _load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def _not_after(cert):
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _sans_of(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    names = set("DNS:%s" % n for n in ext.get_values_for_type(x509.DNSName))
    names |= set("IP:%s" % ipaddress.ip_address(a) for a in ext.get_values_for_type(x509.IPAddress))
    return names


def _normalize_san(san):
    kind, dummy, value = san.partition(":")
    if kind.upper() == "IP":
        return "IP:%s" % ipaddress.ip_address(value)
    return "DNS:%s" % value


def _usages_of(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    return set(ext)


def _signed_by(cert, ca):
    if cert.issuer != ca.subject:
        return False
    pub = ca.public_key()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes)
    except Exception:  # pylint: disable=broad-except
        return False
    return True


def _key_matches(cert, key_path):
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return key.public_key().public_bytes(enc, fmt) == cert.public_key().public_bytes(enc, fmt)


def reason_to_issue(item, ca, threshold_days, now=None, check_names=True):
    """Return why ``item`` must be issued, or None when the certificate on disk is good."""
    cert_path = item["cert"]
    if not os.path.exists(cert_path):
        return "missing"
    if not os.path.exists(item["key"]):
        return "key missing"
    try:
        cert = _load_cert(cert_path)
    except ValueError:
        return "unreadable"
    if not _signed_by(cert, ca):
        return "not signed by the current CA"
    try:
        if not _key_matches(cert, item["key"]):
            return "key does not match"
    except (ValueError, TypeError):
        return "key unreadable"
    if check_names:
        wanted_sans = set(_normalize_san(s) for s in item.get("sans", []))
        if _sans_of(cert) != wanted_sans:
            return "subject alternative names changed"
        wanted_usages = set(getattr(ExtendedKeyUsageOID, _USAGES[u]) for u in item.get("usage", []))
        if _usages_of(cert) != wanted_usages:
            return "extended key usage changed"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if _not_after(cert) - now < datetime.timedelta(days=int(threshold_days)):
        return "expires within %s days" % threshold_days
    return None


def certs_to_issue(wanted, ca_cert, threshold_days=30, check_names=True):
    if not HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError("certs_to_issue needs the Python 'cryptography' library on the controller")
    if not isinstance(wanted, list):
        raise AnsibleFilterError("certs_to_issue expects a list of dicts, got %s" % type(wanted).__name__)
    try:
        ca = _load_cert(ca_cert)
    except (OSError, ValueError) as e:
        raise AnsibleFilterError("cannot read the CA certificate %s: %s" % (ca_cert, e))
    result = []
    for item in wanted:
        reason = reason_to_issue(item, ca, threshold_days, check_names=check_names)
        if reason:
            new = dict(item)
            new["reason"] = reason
            result.append(new)
    return result


def with_paths(item, directory):
    """Add the certificate and key paths of ``item`` (by its name) under ``directory``."""
    new = dict(item)
    new["cert"] = "%s/%s.crt" % (directory, item["name"])
    new["key"] = "%s/%s.key" % (directory, item["name"])
    return new


class FilterModule(object):
    def filters(self):
        return {"certs_to_issue": certs_to_issue, "with_paths": with_paths}
