# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate plan of the pki role, on the controller, with the ``cryptography`` library.

- What a member's certificates must be (names, subjects, SANs, usages, controller paths) and which files go to the
  member (``member_certificates``, ``client_certificates``, ``member_files``, ``generation_id``).
- Which of them must be (re)issued (``reason_to_issue``).
- Issuing: the CA and every leaf of a plan in one process (``create_ca``, ``issue``), keys written 0600 atomically.
- Reading certificates for reports and expiry (``certificate_details``).

Internal to the collection (the leading underscore): used by the ``certs_to_issue`` filters and the
``etcd_pki_issue`` action plugin, both on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import os
import tempfile

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

USAGES = {"serverAuth": "SERVER_AUTH", "clientAuth": "CLIENT_AUTH"}
MEMBER_USAGE = ["serverAuth", "clientAuth"]
CLIENT_USAGE = ["clientAuth"]


class PkiError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# The plan: what a member's certificates must be, and the files it gets.
# ---------------------------------------------------------------------------------------------------------------

def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def member_sans(hosts, extra=()):
    """Subject alternative names from host names and addresses: ``DNS:`` names first, then ``IP:`` addresses (each in
    the order given, once), then ``extra`` (already ``DNS:``/``IP:``)."""
    hosts = [str(h) for h in hosts if h]
    names = ["DNS:%s" % h for h in hosts if not _is_ip(h)]
    ips = ["IP:%s" % ipaddress.ip_address(h) for h in hosts if _is_ip(h)]
    out = []
    for san in names + ips + [str(s) for s in extra]:
        if san not in out:
            out.append(san)
    return out


def with_paths(item, directory):
    """``item`` with ``cert`` and ``key``: ``DIRECTORY/NAME.crt`` and ``.key``."""
    new = dict(item)
    new["cert"] = "%s/%s.crt" % (directory, item["name"])
    new["key"] = "%s/%s.key" % (directory, item["name"])
    return new


def member_certificates(member_name, hosts, extra_sans, clients, directory):
    """A member's certificates: server and peer (subject ``member_name``, SANs from ``hosts`` and ``extra_sans``,
    server and client usage), then one client certificate per name of ``clients``; paths under ``directory``."""
    sans = member_sans(hosts, extra_sans)
    wanted = [
        {"name": "server", "cn": member_name, "sans": sans, "usage": list(MEMBER_USAGE), "kind": "server"},
        {"name": "peer", "cn": member_name, "sans": list(sans), "usage": list(MEMBER_USAGE), "kind": "peer"},
    ]
    wanted += [{"name": c, "cn": c, "sans": [], "usage": list(CLIENT_USAGE), "kind": "client"} for c in clients]
    return [with_paths(w, directory) for w in wanted]


def client_certificates(clients, directory):
    """Client certificates kept on the controller: subject and file name are the client's name."""
    return [with_paths({"name": c, "cn": c, "sans": [], "usage": list(CLIENT_USAGE), "kind": "client"}, directory)
            for c in clients]


def member_files(wanted, ca_cert, pki_dir):
    """The files a member gets: the CA certificate, then each certificate and its key (source on the controller,
    name in ``pki_dir``, mode)."""
    files = [{"src": ca_cert, "dest": "ca.crt", "path": "%s/ca.crt" % pki_dir, "mode": "0644"}]
    for c in wanted:
        for kind, src, mode in (("crt", c["cert"], "0644"), ("key", c["key"], "0600")):
            name = "%s.%s" % (c["name"], kind)
            files.append({"src": src, "dest": name, "path": "%s/%s" % (pki_dir, name), "mode": mode})
    return files


def generation_id(files):
    """The first 16 hex digits of the SHA-256 of the member's files on the controller (missing files left out), as
    the earlier Jinja computed it (each file's text without trailing whitespace, joined by newlines), so members
    installed by an earlier release keep their generation."""
    texts = []
    for f in files:
        try:
            with open(f["src"], "rb") as fh:
                texts.append(fh.read().decode("utf-8", "surrogateescape").rstrip())
        except (IOError, OSError):
            continue
    return hashlib.sha256("\n".join(texts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------
# Inspection: what a certificate on disk is, and whether it must be reissued.
# ---------------------------------------------------------------------------------------------------------------

def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_certs(data):
    """Every certificate of a PEM text (a bundle may hold several)."""
    if isinstance(data, str):
        data = data.encode("ascii", "ignore")
    out = []
    marker = b"-----END CERTIFICATE-----"
    for chunk in data.split(marker)[:-1]:
        out.append(x509.load_pem_x509_certificate(chunk + marker))
    return out


def not_after(cert):
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)  # pragma: no cover


def sans_of(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = ["DNS:%s" % n for n in ext.get_values_for_type(x509.DNSName)]
    names += ["IP:%s" % ipaddress.ip_address(a) for a in ext.get_values_for_type(x509.IPAddress)]
    return names


def normalize_san(san):
    kind, dummy, value = str(san).partition(":")
    if kind.upper() == "IP":
        return "IP:%s" % ipaddress.ip_address(value)
    return "DNS:%s" % value


def usages_of(cert):
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def signed_by(cert, ca):
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


def _spki(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert, key_path):
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return _spki(key.public_key()) == _spki(cert.public_key())


def reason_to_issue(item, ca, threshold_days, now=None, check_names=True):
    """Why ``item`` must be issued, or None when the certificate on disk is good."""
    cert_path = item["cert"]
    if not os.path.exists(cert_path):
        return "missing"
    if not os.path.exists(item["key"]):
        return "key missing"
    try:
        cert = load_cert(cert_path)
    except ValueError:
        return "unreadable"
    if not signed_by(cert, ca):
        return "not signed by the current CA"
    try:
        if not key_matches(cert, item["key"]):
            return "key does not match"
    except (ValueError, TypeError):
        return "key unreadable"
    if check_names:
        if set(sans_of(cert)) != set(normalize_san(s) for s in item.get("sans", [])):
            return "subject alternative names changed"
        wanted_usages = set(getattr(ExtendedKeyUsageOID, USAGES[u]) for u in item.get("usage", []))
        if usages_of(cert) != wanted_usages:
            return "extended key usage changed"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if not_after(cert) - now < datetime.timedelta(days=int(threshold_days)):
        return "expires within %s days" % threshold_days
    return None


def plan(wanted, ca_cert, threshold_days=30, check_names=True, renew_all=False):
    """The items of ``wanted`` to (re)issue, each with a ``reason``. ``renew_all``: every item."""
    try:
        ca = load_cert(ca_cert)
    except (IOError, OSError, ValueError) as e:
        raise PkiError("cannot read the CA certificate %s: %s" % (ca_cert, e))
    result = []
    for item in wanted:
        reason = reason_to_issue(item, ca, threshold_days, check_names=check_names)
        if not reason and renew_all:
            reason = "renewal requested"
        if reason:
            result.append(dict(item, reason=reason))
    return result


def _name_text(name):
    return name.rfc4514_string()


def certificate_details(cert, now=None):
    """What a report shows of a certificate (no key material)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    end = not_after(cert)
    return {
        "subject": _name_text(cert.subject),
        "issuer": _name_text(cert.issuer),
        "serial": "%X" % cert.serial_number,
        "sans": sans_of(cert),
        "not_after": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after_timestamp": int((end - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()),
        "days_left": round((end - now).total_seconds() / 86400.0, 1),
        "is_ca": _is_ca(cert),
    }


def _is_ca(cert):
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


# ---------------------------------------------------------------------------------------------------------------
# Issuing: what community.crypto's openssl_privatekey, openssl_csr_pipe and x509_certificate (selfsigned, ownca)
# produced with the options the role gave them, in one process.
# ---------------------------------------------------------------------------------------------------------------

def new_key(key_type="ECC", curve="secp256r1", size=2048):
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(size))
    if key_type == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ECC":
        curves = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1, "secp521r1": ec.SECP521R1,
                  "secp256k1": ec.SECP256K1}
        if curve not in curves:
            raise PkiError("unsupported curve %s (one of %s)" % (curve, ", ".join(sorted(curves))))
        return ec.generate_private_key(curves[curve]())
    raise PkiError("unsupported key type %s (ECC, RSA or Ed25519)" % key_type)


def key_pem(key):
    """PKCS#1/SEC1 (traditional) for RSA and EC keys, PKCS#8 for Ed25519: community.crypto's ``auto_ignore``."""
    fmt = serialization.PrivateFormat.PKCS8
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _digest(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _key_usage(**on):
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**dict((n, bool(on.get(n))) for n in names))


def write_atomic(path, data, mode):
    """Write ``data`` to ``path`` through a temporary file in the same directory created with ``mode`` (never
    readable by others, not even for a moment), flushed, then renamed over ``path``."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def create_ca(cert_path, key_path, common_name, validity_days, key_type="ECC", curve="secp256r1", size=2048):
    """A self-signed CA: basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign, digitalSignature (both
    critical), a subject key identifier. Returns its serial."""
    key = new_key(key_type, curve, size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=int(validity_days)))
        .public_key(key.public_key())
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True, digital_signature=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _digest(key))
    )
    write_atomic(key_path, key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return "%X" % cert.serial_number


def load_ca(cert_path, key_path):
    try:
        ca_cert = load_cert(cert_path)
        with open(key_path, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), password=None)
    except (IOError, OSError, ValueError, TypeError) as e:
        raise PkiError("cannot read the CA %s / %s: %s" % (cert_path, key_path, e))
    return ca_cert, ca_key


def _general_name(san):
    kind, dummy, value = str(san).partition(":")
    if kind.upper() == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    return x509.DNSName(value)


def issue_one(item, ca_cert, ca_key, validity_days, key_type="ECC", curve="secp256r1", size=2048):
    """A new key and a certificate for ``item`` signed by the CA: subject CN, the SANs, keyUsage digitalSignature
    and keyEncipherment, the extended key usage, basicConstraints CA:FALSE (all not critical), subject and
    authority key identifiers. The key is written first (0600), the certificate second (0644), each atomically.
    Returns the certificate's serial."""
    key = new_key(key_type, curve, size)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, item.get("cn") or item["name"])]))
        .issuer_name(ca_cert.subject)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=int(validity_days)))
        .public_key(key.public_key())
    )
    if item.get("sans"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(s) for s in item["sans"]]), critical=False)
    builder = builder.add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=False)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([getattr(ExtendedKeyUsageOID, USAGES[u]) for u in item["usage"]]), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    builder = builder.add_extension(aki, critical=False)
    cert = builder.sign(ca_key, _digest(ca_key))
    for path in (item["key"], item["cert"]):
        directory = os.path.dirname(path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
    write_atomic(item["key"], key_pem(key), 0o600)
    write_atomic(item["cert"], cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return "%X" % cert.serial_number


# The options of quorum.etcd.etcd_pki_issue (plugins/modules/etcd_pki_issue.py documents them; the action plugin
# validates its arguments with this).
ISSUE_ARGUMENT_SPEC = dict(
    ca_cert=dict(type="path", required=True),
    ca_key=dict(type="path", required=True, no_log=False),
    create_ca=dict(type="bool", default=False),
    ca_common_name=dict(type="str", default="etcd-ca"),
    ca_validity_days=dict(type="int", default=3650),
    key_type=dict(type="str", default="ECC", choices=["ECC", "RSA", "Ed25519"]),
    key_curve=dict(type="str", default="secp256r1", no_log=False),
    key_size=dict(type="int", default=2048),
    validity_days=dict(type="int", default=365),
    renew_threshold_days=dict(type="int", default=30),
    renew_all=dict(type="bool", default=False),
    certificates=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        cn=dict(type="str"),
        sans=dict(type="list", elements="str", default=[]),
        usage=dict(type="list", elements="str", required=True, choices=["serverAuth", "clientAuth"]),
        cert=dict(type="path", required=True),
        key=dict(type="path", required=True, no_log=False),
        kind=dict(type="str"),
    )),
)
