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
  across a minor (except the rollback of an unfinished minor upgrade), the upstream floors of a minor step and the
  known-bad releases, all read from the gate file meta/etcd_version_gates.yml (one line each with its reason and
  upstream link). The upgrade and downgrade playbooks add upgrade_plan, version_warnings, upgrade_health_problems,
  refused_config_problems, flag_problems, v2store_problems and downgrade_guard.
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
  - The companion filters C(membership_guard), C(renumber_plan), C(version_guard), C(version_warnings),
    C(upgrade_plan), C(refused_config_problems), C(flag_problems), C(v2store_problems) and C(downgrade_guard) live in
    the same file; the version filters read the gate file C(meta/etcd_version_gates.yml) of the collection.
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
import os
import re

from ansible.errors import AnsibleFilterError

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


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


# ---------------------------------------------------------------------------------------------------------------
# Versions. The upstream facts live in the gate file (meta/etcd_version_gates.yml), one line each with its reason
# and link; the code below only applies them.

GATES_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "meta",
                          "etcd_version_gates.yml")
_GATES_CACHE = {}


def load_gates(path=None):
    """The gate file, parsed and checked (cached per path)."""
    path = path or GATES_FILE
    if path in _GATES_CACHE:
        return _GATES_CACHE[path]
    if not HAS_YAML:  # pragma: no cover
        raise AnsibleFilterError("the version gates need PyYAML on the controller")
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (IOError, OSError, yaml.YAMLError) as e:
        raise AnsibleFilterError("cannot read the version gate file %s: %s" % (path, e))
    problems = gate_file_problems(data)
    if problems:
        raise AnsibleFilterError("the version gate file %s is invalid: %s" % (path, "; ".join(problems)))
    _GATES_CACHE[path] = data
    return data


def gate_file_problems(data):
    """What is wrong with a parsed gate file (empty: usable). Every entry needs its reason and an https link."""
    problems = []
    if not isinstance(data, dict):
        return ["not a mapping"]
    for section in ("minor_steps", "floor_history", "known_bad", "known_risky", "refused_config"):
        entries = data.get(section)
        if not isinstance(entries, list) or not entries:
            problems.append("%s: missing or empty" % section)
            continue
        for i, e in enumerate(entries):
            where = "%s[%d]" % (section, i)
            if not isinstance(e, dict):
                problems.append("%s: not a mapping" % where)
                continue
            if not str(e.get("reason") or "").strip():
                problems.append("%s: no reason" % where)
            if not str(e.get("link") or "").startswith("https://"):
                problems.append("%s: no https link" % where)
            for key in ("source_floor", "target_floor", "floor"):
                if key in e and _parse(e[key]) is None:
                    problems.append("%s: %s '%s' is not a release" % (where, key, e[key]))
            for key in ("from", "to"):
                if key in e and not re.match(r"^\d+\.\d+\Z", str(e[key])):
                    problems.append("%s: %s '%s' is not a minor (X.Y)" % (where, key, e[key]))
            if "versions" in e:
                try:
                    _range(e["versions"])
                except ValueError as err:
                    problems.append("%s: %s" % (where, err))
    v2 = data.get("v2store_check")
    if not isinstance(v2, dict) or not v2.get("clean") or not v2.get("remedy") or not str(v2.get("link", "")).startswith("https://"):
        problems.append("v2store_check: needs clean, remedy and an https link")
    return problems


def _parse(version):
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", str(version or ""))
    if not m:
        return None
    return tuple(int(x) for x in m.groups())


def _minor(text):
    return tuple(int(x) for x in str(text).split("."))


def _range(spec):
    """'3.5.0-3.5.2' or '3.6.0' -> (low, high) release tuples."""
    parts = str(spec).split("-")
    if len(parts) not in (1, 2) or any(_parse(p) is None or not re.match(r"^\d+\.\d+\.\d+\Z", p) for p in parts):
        raise ValueError("'%s' is not a release or a range of releases (X.Y.Z or X.Y.Z-X.Y.Z)" % spec)
    low, high = _parse(parts[0]), _parse(parts[-1])
    if low > high:
        raise ValueError("'%s' is an empty range" % spec)
    return low, high


def _in(version, spec):
    low, high = _range(spec)
    return low <= version <= high


def _fmt(version):
    return ".".join(str(x) for x in version)


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


def _running(installed, endpoints, member_table):
    return dict((h, _parse(v)) for h, v in member_versions(installed, endpoints, member_table).items() if _parse(v))


def _step(gates, source, target):
    for step in gates["minor_steps"]:
        if _minor(step["from"]) == source and _minor(step["to"]) == target:
            return step
    return None


def _table(running):
    return ", ".join("%s %s" % (h, _fmt(v)) for h, v in sorted(running.items()))


def _target(caller, target, gates_file, advice=""):
    """The target release parsed, the version gates, and the refusal of a known-bad target (the first problems of
    version_guard and downgrade_guard)."""
    wanted = _parse(target)
    if wanted is None:
        raise AnsibleFilterError("%s: '%s' is not a release number" % (caller, target))
    gates = load_gates(gates_file)
    problems = ["etcd %s is a known-bad release (%s): %s, see %s. %sNothing was changed."
                % (target, bad["versions"], bad["reason"], bad["link"], advice)
                for bad in gates["known_bad"] if _in(wanted, bad["versions"])]
    return wanted, gates, problems


def version_guard(installed, target, endpoints=None, member_table=None, cluster_version=None, gates_file=None):
    """Refusals for moving the members' versions to ``target``.

    ``installed`` maps a member to the release it runs or has installed (see member_versions for ``endpoints`` and
    ``member_table``); members without a version (new) are left out. ``cluster_version`` (optional, "3.5.0" as
    the /version endpoint says) is the cluster's version when it answered.

    Allowed: a patch move either way; one minor up when every member passes the step's source floor and the target
    its target floor; back to the lower minor while an upgrade is unfinished (some member still runs that minor,
    so the cluster version did not move: the rollback is a switch of the upgraded members' links). Refused: a
    known-bad target, a skipped minor, a minor downgrade of a cluster whose members all run the higher minor (the
    downgrade playbook does that, through etcd's downgrade procedure).
    """
    wanted, gates, problems = _target("version_guard", target, gates_file, "Choose another release. ")
    running = _running(installed, endpoints, member_table)
    if not running:
        return problems
    minors = sorted(set(v[:2] for v in running.values()))
    lowest, highest = minors[0], minors[-1]
    table = _table(running)
    cluster = _parse(cluster_version)
    if wanted[:2] < highest:
        unfinished = lowest == wanted[:2] and (cluster is None or cluster[:2] == wanted[:2])
        if not unfinished:
            problems.append(
                "etcd %s is a downgrade from %s.%s (members run: %s%s). A minor downgrade goes through the cluster's "
                "downgrade procedure (etcdctl downgrade validate/enable), never a plain restart: use the downgrade "
                "playbook. Nothing was changed." % (target, highest[0], highest[1], table,
                                                    "; cluster version %s" % cluster_version if cluster else ""))
        return problems
    if wanted[0] != lowest[0] or wanted[1] > lowest[1] + 1:
        problems.append(
            "etcd %s skips a minor release (members run: %s). Upgrade one minor at a time (%s.%s first). Nothing was "
            "changed." % (target, table, lowest[0], lowest[1] + 1))
        return problems
    if wanted[1] == lowest[1] + 1:
        step = _step(gates, lowest, wanted[:2])
        if step is None:
            problems.append("etcd %s: the gate file has no step from %s.%s to %s.%s, so the upgrade is not known to "
                            "be safe. Nothing was changed." % (target, lowest[0], lowest[1], wanted[0], wanted[1]))
            return problems
        floor = _parse(step["source_floor"])
        below = sorted(h for h, v in running.items() if v[:2] == lowest and v < floor)
        if below:
            problems.append("etcd %s: every member must run %s or newer first; below it: %s (members run: %s). %s, "
                            "see %s. Upgrade to the newest %s.%s patch release first. Nothing was changed."
                            % (target, step["source_floor"], ", ".join(below), table, step["reason"], step["link"],
                               lowest[0], lowest[1]))
        if wanted < _parse(step["target_floor"]):
            problems.append("etcd %s is below %s, the lowest release to upgrade to from %s: %s, see %s. Nothing was "
                            "changed." % (target, step["target_floor"], step["from"], step["reason"], step["link"]))
    return problems


def version_warnings(installed, target, endpoints=None, member_table=None, gates_file=None):
    """Known-risky releases among the members' and the target (the run goes on): one message per release range."""
    gates = load_gates(gates_file)
    running = _running(installed, endpoints, member_table)
    wanted = _parse(target)
    warnings = []
    for risky in gates["known_risky"]:
        hosts = sorted(h for h, v in running.items() if _in(v, risky["versions"]))
        if wanted is not None and _in(wanted, risky["versions"]):
            hosts.append("the target %s" % target)
        if hosts:
            warnings.append("%s (%s): %s, see %s." % (
                ", ".join(hosts), risky["versions"], risky["reason"], risky["link"]))
    return warnings


def upgrade_plan(installed, target, endpoints=None, member_table=None, gates_file=None):
    """What upgrade.yml does for ``target`` (call version_guard first: the plan assumes the move is allowed).

    Returns {kind, step, checks, to_switch, versions}: kind is none (every member runs the target), patch (a patch
    move, up or down, or an interrupted one going on), minor (one minor up) or rollback (back to the lower minor of
    an unfinished minor upgrade); step "3.5->3.6" for a minor move; checks the step's checks on every member before
    the first switch (v2store); to_switch the members that do not run the target yet, or whose link names another
    release (a run stopped between a member's switch and its restart), sorted."""
    wanted = _parse(target)
    if wanted is None:
        raise AnsibleFilterError("upgrade_plan: '%s' is not a release number" % target)
    gates = load_gates(gates_file)
    running = _running(installed, endpoints, member_table)
    # A member whose link already points at another release than the one it runs (a run interrupted between the
    # switch and the restart) is walked too, even when it runs the target: otherwise its next start (a crash, a
    # reboot) would bring up the release its link names.
    linked = dict((h, _parse(v)) for h, v in (installed or {}).items() if _parse(v))
    to_switch = sorted(h for h, v in running.items() if v != wanted or linked.get(h, wanted) != wanted)
    versions = dict((h, _fmt(v)) for h, v in running.items())
    if not to_switch:
        return {"kind": "none", "step": "", "checks": [], "to_switch": [], "versions": versions}
    lowest = min(v[:2] for v in running.values())
    highest = max(v[:2] for v in running.values())
    if wanted[:2] < highest:
        return {"kind": "rollback", "step": "%d.%d->%d.%d" % (highest + wanted[:2]), "checks": [],
                "to_switch": to_switch, "versions": versions}
    if wanted[:2] > lowest:
        step = _step(gates, lowest, wanted[:2]) or {}
        behind = [h for h in to_switch if running[h][:2] == lowest]
        return {"kind": "minor", "step": "%d.%d->%d.%d" % (lowest + wanted[:2]),
                "checks": list(step.get("checks") or []) if behind else [], "to_switch": to_switch,
                "versions": versions}
    return {"kind": "patch", "step": "", "checks": [], "to_switch": to_switch, "versions": versions}


def upgrade_health_problems(info, member_table):
    """Refusals for an upgrade of a cluster that is not whole: ``info`` is etcd_member_info's result (members,
    endpoints with status_of=members) or {} when no member answered. Every inventory member must be a started voter
    of the cluster and answer its status request with a leader in sight."""
    members = (info or {}).get("members") or []
    if not members:
        return ["The cluster did not answer (no member runs, or no quorum): an upgrade starts from a healthy cluster. "
                "Repair it first (site.yml starts stopped members). Nothing was changed."]
    by_name = dict((m.get("name"), m) for m in members if m.get("name"))
    reports = dict((r.get("member_name"), r) for r in (info or {}).get("endpoints") or [])
    problems = []
    for row in member_table or []:
        member = by_name.get(row["name"])
        if member is None:
            problems.append("%s (%s) is not a started member of the cluster" % (row["host"], row["name"]))
        elif member.get("is_learner"):
            problems.append("%s (%s) is a learner: its join must finish first (site.yml)" % (row["host"], row["name"]))
        else:
            r = reports.get(row["name"]) or {}
            if not r.get("ok") or str(r.get("leader_id", "0")) in ("", "0"):
                problems.append("%s (%s) does not answer with a leader in sight%s" % (
                    row["host"], row["name"], (": " + r["error"]) if r.get("error") else ""))
    unstarted = [m.get("id_hex", "?") for m in members if not m.get("name")]
    if unstarted:
        problems.append("the cluster has added but unstarted members (%s): let site.yml finish or clean up their join"
                        % ", ".join(unstarted))
    if not problems:
        return []
    return ["An upgrade starts from a healthy cluster whose members are all started voters: %s. Nothing was changed."
            % "; ".join(problems)]


def refused_config_problems(config, target, gates_file=None):
    """Settings of the rendered configuration (etcd's file keys) that the target minor refuses (the v2 API and its
    flags from 3.6 on), each with its reason and link."""
    wanted = _parse(target)
    if wanted is None:
        raise AnsibleFilterError("refused_config_problems: '%s' is not a release number" % target)
    gates = load_gates(gates_file)
    problems = []
    for rule in gates["refused_config"]:
        if wanted[:2] < _minor(rule["from"]) or rule["key"] not in (config or {}):
            continue
        value = config[rule["key"]]
        if "values" in rule and str(value).lower() not in [str(v).lower() for v in rule["values"]]:
            continue
        problems.append("%s: %s is refused for etcd %s: %s, see %s." % (
            rule["key"], value if "values" in rule else "the setting", target, rule["reason"], rule["link"]))
    return problems


# Configuration file keys that are not command-line flags: blocks whose inner keys have flags of other names.
# Blocks of the configuration file without flags of their own: the security blocks, and the TLS settings the
# etcd_config filter writes for the revocation list (ClientTLSInfo/PeerTLSInfo with CRLFile: etcd's file has no key
# for it, the flags --client-crl-file/--peer-crl-file are ignored with --config-file; plugins/filter/etcd_config.py,
# CRL_BLOCKS).
_NOT_FLAGS = frozenset(["client-transport-security", "peer-transport-security", "socket-options", "discovery-config",
                        "ClientTLSInfo", "PeerTLSInfo"])
_FLAG = re.compile(r"^\s*--([a-z0-9][a-z0-9-]*)", re.M)


def flag_problems(config, help_text, target):
    """Keys of the rendered configuration the target binary does not know, from its ``etcd --help`` text.

    etcd reads its configuration file leniently (3.7 ignores unknown keys without a word), so a key the binary has
    no flag for would silently drop a setting, a safety check among them. Blocks without flags of their own
    (client-transport-security, peer-transport-security, socket-options, discovery-config) are not checked here."""
    flags = set(_FLAG.findall(help_text or ""))
    if not flags:
        return ["`etcd --help` of etcd %s listed no flags: cannot check the configuration against it" % target]
    unknown = sorted(k for k in (config or {}) if k not in _NOT_FLAGS and k not in flags)
    if not unknown:
        return []
    return ["etcd %s does not know the configuration key(s) %s (its `etcd --help` has no such flag): it would ignore "
            "them silently. Remove them (etcd_extra_config, etcd_feature_gates) or translate them for %s. Nothing was "
            "switched." % (target, ", ".join(unknown), target)]


def v2store_problems(results, gates_file=None):
    """Outcomes of ``etcdutl check v2store`` per member (host -> {rc, stdout, stderr}): every member must report
    no custom content; any other outcome stops the upgrade with the upstream remedy."""
    gates = load_gates(gates_file)
    check = gates["v2store_check"]
    problems = []
    for host in sorted(results or {}):
        r = results[host] or {}
        out = " ".join(("%s %s" % (r.get("stdout", ""), r.get("stderr", ""))).split())
        if r.get("rc") == 0 and check["clean"].lower() in out.lower():
            continue
        problems.append(check["remedy"].format(host=host, output=out or "(nothing, exit code %s)" % r.get("rc"))
                        + ", see %s." % check["link"])
    return problems


def downgrade_guard(installed, target, endpoints=None, member_table=None, cluster_version=None, gates_file=None):
    """Refusals for the downgrade playbook: one minor back, through etcd's downgrade API (3.6 and newer).

    Allowed: every member on the same minor M (3.6 or newer) or the downgrade already under way (members on M and
    M-1, the cluster version at M-1), and a target on M-1 that is not known-bad. A patch downgrade is a plain rolling
    switch (upgrade.yml); 3.5 has no downgrade API (3.4 is not supported)."""
    wanted, dummy, problems = _target("downgrade_guard", target, gates_file)
    running = _running(installed, endpoints, member_table)
    if not running:
        return problems + ["No member reported or has a version: there is nothing to downgrade. Nothing was changed."]
    minors = sorted(set(v[:2] for v in running.values()))
    highest = minors[-1]
    table = _table(running)
    if wanted[:2] == highest and len(minors) == 1:
        problems.append("etcd %s is in the members' minor (members run: %s): a patch move is a plain rolling switch, "
                        "run the upgrade playbook with -e etcd_version=%s. Nothing was changed." % (target, table, target))
    elif wanted[0] != highest[0] or wanted[1] != highest[1] - 1:
        problems.append("etcd %s is not one minor below %s.%s (members run: %s): downgrade one minor at a time. "
                        "Nothing was changed." % (target, highest[0], highest[1], table))
    elif highest < (3, 6):
        problems.append("etcd %s.%s has no downgrade API (etcdctl downgrade arrived with 3.6 servers' storage "
                        "versions) and quorum.etcd supports 3.5 and newer only. Nothing was changed."
                        % (highest[0], highest[1]))
    elif len(minors) > 2 or (len(minors) == 2 and minors[0] != wanted[:2]):
        problems.append("The members run several minors (%s): finish or roll back that upgrade first. Nothing was "
                        "changed." % table)
    return problems


class FilterModule(object):
    def filters(self):
        return {"ca_guard": ca_guard, "membership_guard": membership_guard, "renumber_plan": renumber_plan,
                "version_guard": version_guard, "version_warnings": version_warnings, "upgrade_plan": upgrade_plan,
                "upgrade_health_problems": upgrade_health_problems,
                "refused_config_problems": refused_config_problems, "flag_problems": flag_problems,
                "v2store_problems": v2store_problems, "downgrade_guard": downgrade_guard}
