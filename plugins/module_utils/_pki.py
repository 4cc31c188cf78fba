# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate plan of the pki role, on the controller, with the ``cryptography`` library.

- What a member's certificates must be (names, subjects, SANs, usages, controller paths) and which files go to the
  member (``member_certificates``, ``client_certificates``, ``member_files``, ``generation_id``).
- Which of them must be (re)issued (``reason_to_issue``).
- Issuing: the CA and every leaf of a plan in one process (``create_ca``, ``issue``), keys written 0600 atomically.
- Reading certificates for reports and expiry (``certificate_details``).
- The CA's life on the controller: the rotation in phases (``rotation_state``, ``rotate``) and the certificate
  revocation list (``revoke``, ``ensure_crl``).

Internal to the collection (the leading underscore): used by the ``certs_to_issue`` filters and the
``etcd_pki_issue`` action plugin, both on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import json
import os
import shutil
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


# ---------------------------------------------------------------------------------------------------------------
# The CA's life on the controller: rotation in phases, and the certificate revocation list.
#
# Files in the controller PKI directory (etcd_pki_controller_dir):
#   ca.crt, ca.key           the CA (outside a rotation: the one trust anchor and the signer)
#   ca-next.crt, ca-next.key the new CA of a rotation (from phase add until drop)
#   ca-bundle.crt            ca.crt + ca-next.crt: what members and clients trust during a rotation
#   rotation.json            the phase reached: added, reissued, dropping (absent outside a rotation)
#   retired/ca-SERIAL.*      the CAs a drop retired (kept for the record; nothing trusts them any more)
#   crl.pem, revoked.json    the revocation list members check at each handshake, and what it lists
#   revoked/NAME-SERIAL.*    revoked certificates, moved aside so that a still wanted NAME is issued again
# ---------------------------------------------------------------------------------------------------------------

ROTATION_FILE = "rotation.json"
PHASES = ("add", "reissue", "drop")
# The phase reached -> the next phase to run.
NEXT_PHASE = {"": "add", "added": "reissue", "reissued": "drop", "dropping": "drop"}


def _ca_paths(directory):
    j = os.path.join
    return {
        "cert": j(directory, "ca.crt"), "key": j(directory, "ca.key"),
        "next_cert": j(directory, "ca-next.crt"), "next_key": j(directory, "ca-next.key"),
        "bundle": j(directory, "ca-bundle.crt"), "state": j(directory, ROTATION_FILE),
        "crl": j(directory, "crl.pem"), "revoked": j(directory, "revoked.json"),
    }


def _read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError):
        return default
    except ValueError as e:
        raise PkiError("%s is not readable JSON: %s" % (path, e))


def _write_json(path, data):
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"), 0o644)


def rotated_name(common_name, now=None):
    """The common name of a rotation's new CA: the configured name and the date, CN-YYYYMMDD."""
    return "%s-%s" % (common_name, (now or _now()).strftime("%Y%m%d"))


def rotation_state(directory):
    """Where a CA rotation stands, from the controller PKI directory (read-only): the phase reached ('' outside a
    rotation, added, reissued, dropping), the file members must trust (``trust_cert``), the CA that signs
    (``signer_cert``, ``signer_key``), the next phase and a sentence for the operator."""
    p = _ca_paths(directory)
    state = _read_json(p["state"], {})
    phase = state.get("phase", "")
    if phase not in NEXT_PHASE:
        raise PkiError("%s names an unknown phase %r" % (p["state"], phase))
    out = {"phase": phase, "next_phase": NEXT_PHASE[phase], "rotating": bool(phase), "bundle": p["bundle"],
           "trust_cert": p["cert"], "signer_cert": p["cert"], "signer_key": p["key"], "crl": p["crl"],
           "state_file": p["state"], "started": state.get("started", ""), "clients": state.get("clients", [])}
    if phase in ("added", "reissued"):
        out["trust_cert"] = p["bundle"]
    if phase in ("reissued", "dropping"):
        out["signer_cert"], out["signer_key"] = p["next_cert"], p["next_key"]
    if phase == "dropping":
        out["trust_cert"] = p["next_cert"]
    out["message"] = {
        "": "No CA rotation in progress.",
        "added": "CA rotation in progress: phase add done (members trust the old and the new CA; certificates are "
                 "still from the old CA). Next: rotate_ca.yml -e etcd_pki_rotate_phase=reissue.",
        "reissued": "CA rotation in progress: phase reissue done (members trust both CAs; every certificate is from "
                    "the new CA). Once every client uses the new chain: rotate_ca.yml -e etcd_pki_rotate_phase=drop "
                    "-e etcd_pki_drop_old_ca=CLUSTER.",
        "dropping": "CA rotation in progress: phase drop started on the controller (the new CA is the only one "
                    "trusted); run rotate_ca.yml -e etcd_pki_rotate_phase=drop -e etcd_pki_drop_old_ca=CLUSTER "
                    "again to finish it.",
    }[phase]
    return out


def phases_to_run(requested, phase):
    """The phases rotate_ca.yml runs for REQUESTED (add, reissue, drop or all) when the rotation stands at PHASE:
    those not done yet, in order; a phase already done is skipped (each is idempotent), a phase whose predecessor is
    not done is refused (PkiError)."""
    order = {"": 0, "added": 1, "reissued": 2, "dropping": 2}
    done = order[phase]
    if requested == "all":
        return list(PHASES[done:])
    if requested not in PHASES:
        raise PkiError("etcd_pki_rotate_phase must be add, reissue, drop or all, not %r" % requested)
    wanted = PHASES.index(requested)
    if phase == "dropping":  # a drop was interrupted: only drop completes it
        if requested != "drop":
            raise PkiError("A drop is in progress (%s); only etcd_pki_rotate_phase=drop (or all) finishes it."
                           % ROTATION_FILE)
        return ["drop"]
    if wanted < done:
        return []
    if wanted > done:
        raise PkiError("The CA rotation stands at %s; run phase %s before %s."
                       % (phase or "no rotation", PHASES[done], requested))
    return [requested]


def ca_bundle(*pems):
    """The PEM bundle of the CA certificates given (bytes or text), each once, in order; refuses anything that is
    not a CA certificate."""
    out, seen = [], set()
    for pem in pems:
        for cert in load_certs(pem):
            if not _is_ca(cert):
                raise PkiError("%s is not a CA certificate" % _name_text(cert.subject))
            der = cert.public_bytes(serialization.Encoding.DER)
            if der in seen:
                continue
            seen.add(der)
            out.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(out)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write_if_differs(path, data, mode):
    try:
        if _read(path) == data:
            return False
    except (IOError, OSError):
        pass
    write_atomic(path, data, mode)
    return True


def _signed_leaves(directory):
    """Every leaf certificate the controller keeps (members/*/ and clients/), as paths."""
    out = []
    for sub in ("members", "clients"):
        base = os.path.join(directory, sub)
        for root, dummy, files in os.walk(base):
            out += [os.path.join(root, f) for f in sorted(files) if f.endswith(".crt") and f != "ca.crt"]
    return sorted(out)


def rotate(directory, phase, common_name, validity_days, key_type="ECC", curve="secp256r1", size=2048,
           check=False, now=None):
    """Run PHASE of the CA rotation on the controller (idempotent). Returns (changed, details).

    add: a new CA (ca-next), the bundle old + new, the state 'added'. reissue: the state 'reissued', so the pki role
    signs with the new CA (it then re-issues every leaf: 'not signed by the current CA'). drop: every leaf must be
    from the new CA; the old CA is moved to retired/, the new one becomes ca.crt/ca.key, the bundle and the state
    are removed (the state 'dropping' is written first, so an interrupted drop is finished by the next)."""
    p = _ca_paths(directory)
    state = rotation_state(directory)
    current = state["phase"]
    changed = False
    details = {"phase_before": current}
    if phase == "add":
        if current:
            details["note"] = "phase add already done"
        else:
            changed = True
            if not check:
                if not os.path.isfile(p["next_cert"]):
                    # Its own name (the date of the rotation), so that reports and error messages tell the two apart.
                    create_ca(p["next_cert"], p["next_key"], rotated_name(common_name, now), validity_days, key_type,
                              curve, size)
                write_atomic(p["bundle"], ca_bundle(_read(p["cert"]), _read(p["next_cert"])), 0o644)
                clients = [os.path.basename(c)[:-4] for c in _signed_leaves(directory)
                           if os.sep + "clients" + os.sep in c]
                _write_json(p["state"], {"phase": "added", "started": (now or _now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                         "old_ca_serial": "%X" % load_cert(p["cert"]).serial_number,
                                         "new_ca_serial": "%X" % load_cert(p["next_cert"]).serial_number,
                                         "clients": clients})
    elif phase == "reissue":
        if current == "":
            raise PkiError("No CA rotation in progress: run phase add first.")
        if current == "added":
            changed = True
            if not check:
                data = _read_json(p["state"], {})
                data["phase"] = "reissued"
                _write_json(p["state"], data)
        else:
            details["note"] = "phase reissue already done"
    elif phase == "drop":
        if current in ("", "added"):
            if current == "" and not os.path.isfile(p["next_cert"]):
                details["note"] = "no CA rotation in progress: nothing to drop"
                return False, details
            raise PkiError("The certificates are not re-issued from the new CA yet: run phase reissue first.")
        if current == "reissued":
            new = load_cert(p["next_cert"])
            stale = [c for c in _signed_leaves(directory) if not signed_by(load_cert(c), new)]
            if stale:
                raise PkiError("These certificates are still from the old CA: %s. Run phase reissue (or site.yml) "
                               "first; nothing was changed." % ", ".join(stale))
        changed = True
        if not check:
            old = load_cert(p["cert"])
            retired = os.path.join(directory, "retired")
            if not os.path.isdir(retired):
                os.makedirs(retired, 0o700)
            stem = os.path.join(retired, "ca-%X" % old.serial_number)
            if current == "reissued":
                _write_if_differs(stem + ".crt", _read(p["cert"]), 0o644)
                _write_if_differs(stem + ".key", _read(p["key"]), 0o600)
                data = _read_json(p["state"], {})
                data["phase"] = "dropping"
                _write_json(p["state"], data)
            write_atomic(p["key"], _read(p["next_key"]), 0o600)
            write_atomic(p["cert"], _read(p["next_cert"]), 0o644)
            for f in (p["next_key"], p["next_cert"], p["bundle"], p["state"]):
                if os.path.exists(f):
                    os.unlink(f)
    else:
        raise PkiError("unknown phase %r" % phase)
    return changed, details


# --- revocation -------------------------------------------------------------------------------------------------

CRL_VALIDITY_DAYS = 365


def build_crl(ca_cert, ca_key, revoked, validity_days=CRL_VALIDITY_DAYS, now=None):
    """A CRL signed by the CA listing REVOKED ([{serial (hex), date (ISO)}]), PEM bytes."""
    now = now or _now()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now)
               .next_update(now + datetime.timedelta(days=int(validity_days))))
    for r in revoked:
        date = datetime.datetime.strptime(r["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(int(r["serial"], 16)).revocation_date(date).build())
    crl = builder.sign(ca_key, _digest(ca_key))
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_problems(pem, ca_cert, revoked=(), now=None):
    """Why PEM is not a CRL a member may use (etcd rejects every connection when its CRL file cannot be read), or []:
    it must parse, be signed by the CA, list exactly the serials of REVOKED and not be expired."""
    try:
        crl = x509.load_pem_x509_crl(pem if isinstance(pem, bytes) else pem.encode("ascii"))
    except (ValueError, TypeError) as e:
        return ["not a PEM certificate revocation list (%s)" % e]
    problems = []
    if crl.issuer != ca_cert.subject or not crl.is_signature_valid(ca_cert.public_key()):
        problems.append("not signed by the CA %s" % _name_text(ca_cert.subject))
    listed = set("%X" % r.serial_number for r in crl)
    wanted = set(str(r["serial"]).upper() for r in revoked)
    if listed != wanted:
        problems.append("lists %s instead of %s" % (sorted(listed) or "nothing", sorted(wanted) or "nothing"))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    nxt = getattr(crl, "next_update_utc", None) or (crl.next_update and crl.next_update.replace(
        tzinfo=datetime.timezone.utc))
    if nxt is not None and nxt <= now:
        problems.append("expired at %s" % nxt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return problems


def crl_due(pem, ca_cert, revoked, threshold_days=30, now=None):
    """Why the CRL must be signed again (missing, unusable, other CA or serials, next update within THRESHOLD_DAYS),
    or None."""
    if pem is None:
        return "missing"
    problems = crl_problems(pem, ca_cert, revoked, now)
    if problems:
        return "; ".join(problems)
    crl = x509.load_pem_x509_crl(pem)
    nxt = getattr(crl, "next_update_utc", None) or crl.next_update.replace(tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if nxt - now < datetime.timedelta(days=int(threshold_days)):
        return "next update within %s days" % threshold_days
    return None


def ensure_crl(directory, ca_cert_path, ca_key_path, threshold_days=30, check=False, now=None):
    """The controller's crl.pem signed by the signing CA with the serials of revoked.json; signed again only when
    missing, changed or due. Checked before it replaces the old file. Returns (changed, reason)."""
    p = _ca_paths(directory)
    revoked = _read_json(p["revoked"], [])
    try:
        current = _read(p["crl"])
    except (IOError, OSError):
        current = None
    ca_cert = load_cert(ca_cert_path)
    reason = crl_due(current, ca_cert, revoked, threshold_days, now)
    if reason is None:
        return False, None
    if not check:
        ca_cert, ca_key = load_ca(ca_cert_path, ca_key_path)
        pem = build_crl(ca_cert, ca_key, revoked, now=now)
        problems = crl_problems(pem, ca_cert, revoked, now)
        if problems:  # pragma: no cover - the builder's own output
            raise PkiError("the new CRL is not usable: %s" % "; ".join(problems))
        write_atomic(p["crl"], pem, 0o644)
    return True, reason


def revoke(directory, name, check=False, now=None):
    """Revoke every certificate the controller keeps under NAME (clients/NAME.crt and members/*/NAME.crt): their
    serials go to revoked.json and the files are moved to revoked/ (so a NAME still wanted is issued again). Server
    and peer certificates are refused here (renew_certs.yml replaces them). Returns (changed, [{path, serial}])."""
    if name in ("server", "peer", "ca", "ca-next", "ca-bundle") or not name or "/" in name or name.startswith("."):
        raise PkiError("%r cannot be revoked by name: give a client certificate's name (etcd_pki_clients or "
                       "etcd_pki_member_clients)" % name)
    p = _ca_paths(directory)
    found = [c for c in _signed_leaves(directory) if os.path.basename(c) == name + ".crt"]
    revoked = _read_json(p["revoked"], [])
    listed = set(r["serial"] for r in revoked)
    now = now or _now()
    done = []
    for path in found:
        serial = "%X" % load_cert(path).serial_number
        done.append({"path": path, "serial": serial})
        if check:
            continue
        if serial not in listed:
            revoked.append({"serial": serial, "name": name, "path": path, "date": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
            listed.add(serial)
            _write_json(p["revoked"], revoked)
        aside = os.path.join(directory, "revoked")
        if not os.path.isdir(aside):
            os.makedirs(aside, 0o700)
        rel = os.path.relpath(path, directory).replace(os.sep, "_")[:-4]
        for ext in (".crt", ".key"):
            src = path[:-4] + ext
            if os.path.exists(src):
                shutil.move(src, os.path.join(aside, "%s-%s%s" % (rel, serial, ext)))
    return bool(done), done


# The options of quorum.etcd.etcd_pki_ca (plugins/modules/etcd_pki_ca.py documents them).
CA_ARGUMENT_SPEC = dict(
    controller_dir=dict(type="path", required=True),
    operation=dict(type="str", required=True, choices=["status", "rotate", "crl", "revoke"]),
    phase=dict(type="str", choices=["add", "reissue", "drop", "all"]),
    revoke=dict(type="str", default=""),
    ca_cert=dict(type="path"),
    ca_key=dict(type="path", no_log=False),
    ca_common_name=dict(type="str", default="etcd-ca"),
    ca_validity_days=dict(type="int", default=3650),
    key_type=dict(type="str", default="ECC", choices=["ECC", "RSA", "Ed25519"]),
    key_curve=dict(type="str", default="secp256r1", no_log=False),
    key_size=dict(type="int", default=2048),
    renew_threshold_days=dict(type="int", default=30),
)
