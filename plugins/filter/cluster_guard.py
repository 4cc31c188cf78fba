# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the guard that runs on every member before any change (roles/_common/tasks/guard.yml).

Pure functions; the guards return a list of refusals (empty: go on), renumber_plan a list of plan entries:

- ca_guard: the CA the controller would install against the trusted CA already on the members. The trust anchor
  changes only through its own playbook; a controller that lost its PKI directory or points at another one must
  never push a new CA (etcd keeps the CA pool it started with, so peers would stop trusting each other).
- membership_guard: the running cluster's member list against the inventory. A started member missing from the
  inventory would be cut off by the firewall and forgotten by the configuration. A member whose address changed is
  refused unless it is the one safe renumber of this run, which renumber_plan (not a refusal list) returns.
- version_guard: the target release against the versions the members run. One minor at a time, never backwards
  across a minor, and the upstream floors for a minor step (see VERSION_GATES).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ca_guard
short_description: Refusals when the controller's CA differs from the CA on the members
version_added: 0.3.0
description:
  - Compares the CA certificate the controller would install with the C(ca.crt) found on each member.
  - Members without a CA (new hosts) are fine. A member whose trusted CA file does not contain the controller's CA
    certificate, or a controller without a CA while members have one, gives a refusal that names which members hold
    which CA (subject, serial, SHA-256 fingerprint, expiry) and how to fix it.
  - The companion filters C(membership_guard), C(renumber_plan) and C(version_guard) live in the same file.
options:
  _input:
    description: Mapping of member (inventory name) to the PEM text of its C(ca.crt) (empty when it has none).
    type: dict
    required: true
  controller_pem:
    description: PEM text of the controller's CA certificate, empty when the controller has none.
    type: str
    required: true
  controller_path:
    description: Where the controller's CA certificate is (or would be) kept, for the message.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a CA change
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' ') }}"
  vars:
    __problems: "{{ {'etcd-1': pem1} | quorum.etcd.ca_guard(controller_pem, '/srv/pki/ca.crt') }}"
"""

RETURN = r"""
_value:
  description: Refusal messages; empty when the run may go on.
  type: list
  elements: str
"""

import datetime
import ipaddress
import re

from ansible.errors import AnsibleFilterError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

# Upstream version gates for a minor step, one line each with its reason and source. The 3.5 -> 3.6 floor moved
# over time (3.5.20 in the first 3.6 upgrade guide, 3.5.26 after the downgrade-from-3.6 fixes, 3.5.32 now).
VERSION_GATES = [
    {"from": (3, 5), "to": (3, 6), "min_patch": 32,
     "reason": "every member must run 3.5.32 or newer before the upgrade to 3.6 (membership kept in the v3 store, "
               "v2store check), see https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/"},
    {"from": (3, 6), "to": (3, 7), "min_patch": 11,
     "reason": "every member must run 3.6.11 or newer before the upgrade to 3.7, "
               "see https://etcd.io/docs/v3.7/upgrades/"},
]


def _not_after(cert):
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def describe_pem(pem):
    """Each certificate in a PEM text: subject, serial, SHA-256 fingerprint, expiry (UTC)."""
    if not HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError("ca_guard needs the Python 'cryptography' library on the controller")
    result = []
    for block in _PEM.findall(pem or ""):
        try:
            cert = x509.load_pem_x509_certificate(block.encode("ascii"))
        except ValueError:
            result.append({"subject": "(unreadable certificate)", "serial": "", "fingerprint": "unreadable",
                           "not_after": ""})
            continue
        result.append({
            "subject": cert.subject.rfc4514_string(),
            "serial": "%x" % cert.serial_number,
            "fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
            "not_after": _not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return result


def _label(certs):
    if not certs:
        return "no readable certificate"
    return "; ".join("subject %s, serial %s, SHA-256 %s, expires %s"
                     % (c["subject"], c["serial"], c["fingerprint"], c["not_after"]) for c in certs)


def ca_guard(members, controller_pem, controller_path):
    if not isinstance(members, dict):
        raise AnsibleFilterError("ca_guard expects a mapping of member to PEM text")
    held = dict((host, describe_pem(pem)) for host, pem in members.items() if (pem or "").strip())
    if not held:
        return []
    wanted = describe_pem(controller_pem)
    wanted_prints = set(c["fingerprint"] for c in wanted)
    differing = sorted(h for h, certs in held.items()
                       if not wanted_prints or not wanted_prints & set(c["fingerprint"] for c in certs))
    if not differing:
        return []
    groups = {}
    for host in sorted(held):
        groups.setdefault(_label(held[host]), []).append(host)
    lines = ["members %s trust: %s." % (", ".join(hosts), label) for label, hosts in sorted(groups.items())]
    if wanted:
        head = ("The controller's CA %s (%s) is not the CA trusted by members %s."
                % (controller_path, _label(wanted), ", ".join(differing)))
    else:
        head = ("The controller has no CA at %s, but members %s already trust one."
                % (controller_path, ", ".join(differing)))
    return [" ".join([head] + lines + [
        "Nothing was changed: installing another CA would make the members stop trusting each other "
        "(etcd loads its CA only at start).",
        "Fix: restore the controller PKI directory (ca.crt and ca.key) from its backup, or point "
        "etcd_pki_controller_dir (or etcd_pki_ca_cert_src and etcd_pki_ca_key_src) at the one that issued the "
        "members' certificates. A CA change is only done by the CA rotation playbook.",
    ])]


def _norm_url(url):
    """A peer URL with its host normalised (IPv6 compressed, lower case), for comparison."""
    m = re.match(r"^(\w+)://(\[[^\]]+\]|[^:/]+)(?::(\d+))?/?\Z", url or "")
    if not m:
        return url
    scheme, host, port = m.groups()
    bare = host.strip("[]")
    try:
        addr = ipaddress.ip_address(bare)
        host = ("[%s]" % addr.compressed) if addr.version == 6 else str(addr)
    except ValueError:
        host = host.lower()
    return "%s://%s%s" % (scheme.lower(), host, (":" + port) if port else "")


def _url_host(url):
    """The host of a peer URL without brackets (an IPv6 address as written), '' when it is not a URL."""
    m = re.match(r"^\w+://(\[[^\]]+\]|[^:/]+)", url or "")
    return m.group(1).strip("[]") if m else ""


def _restart_pending(member, entry):
    """Whether a member whose peer URL is the inventory's still advertises client URLs on another host: an earlier
    run updated its peer URL and stopped before the member restarted with its new address."""
    client_urls = member.get("client_urls") or []
    if not client_urls or not entry.get("client_url"):
        return False
    wanted_host = _norm_url("https://%s" % _url_host(entry["client_url"]))
    hosts = set(_norm_url("https://%s" % _url_host(u)) for u in client_urls)
    return _norm_url(entry["client_url"]) not in set(_norm_url(u) for u in client_urls) and wanted_host not in hosts


def _review_membership(running_members, member_table, endpoints):
    """Compare the running cluster with the inventory.  Returns (missing, renumbered, refused): started members the
    inventory lacks (descriptions), plan entries for the one member that may change its address in this run, and
    descriptions of address changes that are not safe now, each with its reason."""
    table = list(member_table or [])
    running = list(running_members or [])
    inventory_urls = set(_norm_url(m["peer_url"]) for m in table)
    inventory_by_name = dict((m["name"], m) for m in table)
    missing, moved = [], []
    for m in running:
        urls = set(_norm_url(u) for u in m.get("peer_urls", []))
        if not m.get("name"):
            continue  # added but never started: the join/cleanup path handles it
        entry = inventory_by_name.get(m["name"])
        if entry is not None:
            if _norm_url(entry["peer_url"]) not in urls:
                moved.append((m, entry))
            elif _restart_pending(m, entry):
                moved.append((m, entry))  # peer URL already updated (an interrupted run): its restart is pending
        elif not urls & inventory_urls:
            missing.append("%s (%s, id %s%s)" % (
                m["name"], ", ".join(sorted(m.get("peer_urls", []))), m.get("id_hex", "?"),
                ", learner" if m.get("is_learner") else ""))
    if not moved:
        return missing, [], []

    reports = dict((str(r.get("member_id")), r) for r in endpoints or [] if r.get("member_id"))
    voters = [m for m in running if not m.get("is_learner")]
    quorum = len(voters) // 2 + 1

    def healthy(member):
        r = reports.get(str(member.get("id", "")))
        return bool(r and r.get("ok") and str(r.get("leader_id", "0")) not in ("", "0"))

    refused, plan = [], []
    for m, entry in moved:
        what = "%s (cluster: %s, inventory: %s)" % (m["name"], ", ".join(sorted(m.get("peer_urls", []))),
                                                    entry["peer_url"])
        others = [v for v in voters if v.get("id") != m.get("id")]
        answering = [v for v in others if healthy(v)]
        taken = [o for o in running if o is not m and _norm_url(entry["peer_url"]) in
                 set(_norm_url(u) for u in o.get("peer_urls", []))]
        if len(moved) > 1:
            reason = "only one member changes its address per run (%d do: %s)" % (
                len(moved), ", ".join(sorted(x[0]["name"] for x in moved)))
        elif not m.get("id") or not m.get("id_hex"):
            reason = "the cluster did not report its member ID"
        elif m.get("is_learner"):
            reason = "it is a learner: its join must finish first"
        elif taken:
            reason = "the new peer URL belongs to member %s" % (taken[0].get("name") or taken[0].get("id_hex", "?"))
        elif not reports:
            reason = "the members' health is unknown (no member answered a status request)"
        elif len(answering) < quorum:
            reason = ("without it, %d of the other %d voting members answer, fewer than the quorum of %d (unhealthy: "
                      "%s)" % (len(answering), len(others), quorum,
                               ", ".join(sorted(v.get("name") or v.get("id_hex", "?") for v in others
                                                if not healthy(v))) or "none"))
        else:
            old = sorted(m.get("peer_urls", []))
            pending = _norm_url(entry["peer_url"]) in set(_norm_url(u) for u in old)
            if pending:
                old = sorted(m.get("client_urls") or [])
            plan.append({
                "host": entry["host"] if "host" in entry else m["name"],
                "name": m["name"],
                "id": str(m["id"]),
                "id_hex": m["id_hex"],
                "old_peer_urls": old,
                "old_addresses": sorted(set(h for h in (_url_host(u) for u in old) if h)),
                "peer_url": entry["peer_url"],
                "address": entry.get("address", _url_host(entry["peer_url"])),
                "peer_url_updated": pending,
            })
            continue
        refused.append("%s: %s" % (what, reason))
    return missing, plan, refused


def membership_guard(running_members, member_table, endpoints=None):
    """Refusals for the running cluster against the inventory: started members that the inventory does not list
    (by name and peer URL), and address changes that are not safe now (see renumber_plan for the safe one).

    ``endpoints`` are etcd_member_info's status reports (status_of=members): the health that an address change
    needs (without them a changed address is refused)."""
    missing, _plan, refused = _review_membership(running_members, member_table, endpoints)
    problems = []
    if missing:
        problems.append(
            "The running cluster has members the inventory does not list: %s. Nothing was changed: this run would "
            "firewall them off and leave them out of the configuration. Add them back to the inventory group, or "
            "remove them from the cluster first with the remove_member playbook "
            "(-e etcd_remove_member=NAME)." % "; ".join(missing))
    if refused:
        problems.append(
            "Members whose peer URL differs between the cluster and the inventory cannot change their address in "
            "this run: %s. Nothing was changed. site.yml changes one member's address per run, when the member ID is "
            "known and the other voting members keep the quorum while it restarts: repair the cluster first (or "
            "change one member at a time), put the old address back (etcd_member_address) meanwhile, or replace the "
            "member (replace_member playbook)." % "; ".join(refused))
    return problems


def renumber_plan(running_members, member_table, endpoints=None):
    """The member whose address changes in this run, when that is safe (see membership_guard): a list of at most
    one entry {host, name, id, id_hex, old_peer_urls, old_addresses, peer_url, address, peer_url_updated}; empty
    otherwise. peer_url_updated: an earlier run already updated the peer URL (old_peer_urls then holds the member's
    old client URLs); only its restart with the new address is left."""
    return _review_membership(running_members, member_table, endpoints)[1]


def _parse(version):
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", str(version or ""))
    if not m:
        return None
    return tuple(int(x) for x in m.groups())


def member_versions(installed, endpoints=None, member_table=None):
    """Host -> version: what the member reports when it answered (``endpoints`` of etcd_member_info, by member
    name), else the release its current link points at (``installed``, host -> version or "")."""
    result = dict((h, v) for h, v in (installed or {}).items() if v)
    host_of = dict((m["name"], m["host"]) for m in member_table or [])
    for report in endpoints or []:
        host = host_of.get(report.get("member_name"))
        if report.get("ok") and report.get("version") and host:
            result[host] = report["version"]
    return result


def version_guard(installed, target, endpoints=None, member_table=None):
    """Refusals for moving the members' versions to ``target``.

    ``installed`` maps a member to the release it runs or has installed (see member_versions for ``endpoints`` and
    ``member_table``); members without a version (new) are left out. Patch moves within a minor are allowed both
    ways; one minor up is allowed when every member passes the upstream floor; a skipped minor or a minor downgrade
    is refused.
    """
    wanted = _parse(target)
    if wanted is None:
        raise AnsibleFilterError("version_guard: '%s' is not a release number" % target)
    running = dict((h, _parse(v)) for h, v in member_versions(installed, endpoints, member_table).items() if _parse(v))
    if not running:
        return []
    minors = sorted(set(v[:2] for v in running.values()))
    lowest, highest = minors[0], minors[-1]
    table = ", ".join("%s %s" % (h, ".".join(map(str, v))) for h, v in sorted(running.items()))
    problems = []
    if wanted[:2] < highest:
        problems.append(
            "etcd %s is a downgrade from %s.%s (members run: %s). A minor downgrade goes through the cluster's "
            "downgrade procedure (etcdctl downgrade validate/enable), never a plain restart: use the downgrade "
            "playbook. Nothing was changed." % (target, highest[0], highest[1], table))
    elif wanted[0] != lowest[0] or wanted[1] > lowest[1] + 1:
        problems.append(
            "etcd %s skips a minor release (members run: %s). Upgrade one minor at a time (%s.%s first). Nothing was "
            "changed." % (target, table, lowest[0], lowest[1] + 1))
    elif wanted[1] == lowest[1] + 1:
        for gate in VERSION_GATES:
            if gate["from"] == lowest and gate["to"] == wanted[:2]:
                below = sorted(h for h, v in running.items() if v[:2] == lowest and v[2] < gate["min_patch"])
                if below:
                    problems.append("etcd %s: %s; below it: %s (members run: %s). Nothing was changed."
                                    % (target, gate["reason"], ", ".join(below), table))
    return problems


class FilterModule(object):
    def filters(self):
        return {"ca_guard": ca_guard, "membership_guard": membership_guard, "renumber_plan": renumber_plan,
                "version_guard": version_guard}
