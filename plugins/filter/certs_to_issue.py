# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side certificate planning for the quorum.etcd pki role.

The filters run inside the controller process (no module fork per certificate), so a rerun that has nothing to
issue decides so in milliseconds. The plan and the checks live in plugins/module_utils/_pki.py; the issuing is the
action plugin quorum.etcd.etcd_pki_issue. Besides certs_to_issue, this file registers the pki role's file lists
(pki_member_certificates, pki_client_certificates, pki_member_files, pki_generation) and the report's reader
(pki_certificate_details, pki_certificate_report); each has its documentation beside it (NAME.yml).
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

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.module_utils import _pki


def _need_cryptography(name):
    if not _pki.HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError("%s needs the Python 'cryptography' library on the controller" % name)


def certs_to_issue(wanted, ca_cert, threshold_days=30, check_names=True):
    _need_cryptography("certs_to_issue")
    if not isinstance(wanted, list):
        raise AnsibleFilterError("certs_to_issue expects a list of dicts, got %s" % type(wanted).__name__)
    try:
        return _pki.plan(wanted, ca_cert, threshold_days, check_names=check_names)
    except _pki.PkiError as e:
        raise AnsibleFilterError(str(e))


def pki_member_certificates(member_name, hosts, extra_sans, clients, directory):
    """A member's server, peer and client certificates (subjects, SANs, usages, controller paths)."""
    return _pki.member_certificates(member_name, hosts, extra_sans or [], clients or [], directory)


def pki_client_certificates(clients, directory):
    """The client certificates kept on the controller."""
    return _pki.client_certificates(clients or [], directory)


def pki_member_files(wanted, ca_cert, pki_dir):
    """The files a member gets, from its certificates."""
    return _pki.member_files(wanted, ca_cert, pki_dir)


def pki_generation(files):
    """The generation id of a member's files on the controller."""
    return _pki.generation_id(files)


def pki_certificate_details(pem):
    """Subject, issuer, serial, SANs, not-after and days left of each certificate of a PEM text."""
    _need_cryptography("pki_certificate_details")
    try:
        return [_pki.certificate_details(c) for c in _pki.load_certs(pem)]
    except ValueError as e:
        raise AnsibleFilterError("not a PEM certificate: %s" % e)


def pki_certificate_report(entries, fail_days=None):
    """The certificate report of playbooks/cert_report.yml: one row per certificate of every entry (``host``,
    ``path``, ``pem``), the table's lines, and the rows expiring within ``fail_days`` (none when it is None)."""
    _need_cryptography("pki_certificate_report")
    rows = []
    for e in entries:
        name = e["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        usage = name if name in ("ca", "server", "peer") else "client"
        try:
            certs = _pki.load_certs(e["pem"])
        except ValueError as err:
            raise AnsibleFilterError("%s: %s is not a PEM certificate: %s" % (e["host"], e["path"], err))
        for c in certs:
            rows.append(dict(_pki.certificate_details(c), host=e["host"], name=name, usage=usage, path=e["path"]))
    header = ("member", "certificate", "subject", "SANs", "issuer", "serial", "not after", "days left")
    cells = [header] + [(r["host"], r["name"], r["subject"], ",".join(r["sans"]) or "-", r["issuer"], r["serial"],
                         r["not_after"], "%.1f" % r["days_left"]) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells]
    expiring = []
    if fail_days is not None and str(fail_days).strip() != "":
        expiring = [r for r in rows if r["days_left"] < float(fail_days)]
    return {"rows": rows, "lines": lines, "expiring": expiring}


class FilterModule(object):
    def filters(self):
        return {
            "certs_to_issue": certs_to_issue,
            "pki_member_certificates": pki_member_certificates,
            "pki_client_certificates": pki_client_certificates,
            "pki_member_files": pki_member_files,
            "pki_generation": pki_generation,
            "pki_certificate_details": pki_certificate_details,
            "pki_certificate_report": pki_certificate_report,
        }
