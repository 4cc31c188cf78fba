# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions about what an earlier run left behind, and whether a run ended with the cluster the inventory describes.

- etcd_resume_plan (roles/etcd/tasks/resume.yml, before the configuration is written): from what each member of the
  play reports (data or not, its configuration, the member list it serves), the state of the cluster
  (bootstrap, existing, a bootstrap that never completed, members of different clusters, down), the learners to
  promote, the unstarted learners to remove, the refusals, the members whose partial data a confirmed reset moves
  aside, and the initial cluster token.
- etcd_guard_answer: what the guard's read says one member serves (resume.yml asks only the others again).
- etcd_convergence (the last play of site.yml): the differences between the cluster and the inventory, as rows.
- etcd_convergence_table: those rows as a text table for a failure message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_convergence
short_description: Differences between the running etcd cluster and the inventory
version_added: 0.3.0
description:
  - Compares the member lists and cluster IDs that each member reports with the inventory's member table.
  - A member is expected in the cluster under its inventory name and peer URL, started, as a voting member, and every
    member must report the same cluster ID.
  - The companion filters C(etcd_resume_plan), C(etcd_guard_answer) and C(etcd_convergence_table) live in the same
    file.
options:
  _input:
    description:
      - Mapping of inventory host to the registered result of C(quorum.etcd.etcd_member_info) run on that member
        (a failed result means the member did not answer).
    type: dict
    required: true
  member_table:
    description: The inventory's member table (host, name, peer_url).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail with a table of differences
  vars:
    __rows: "{{ views | quorum.etcd.etcd_convergence(member_table) }}"
  ansible.builtin.assert:
    that: __rows | length == 0
    fail_msg: "{{ __rows | quorum.etcd.etcd_convergence_table }}"
"""

RETURN = r"""
_value:
  description: One row per difference (member, check, expected, found); empty when the cluster is converged.
  type: list
  elements: dict
"""

import secrets
from collections import Counter, OrderedDict

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.module_utils._member import normalize_url

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None


def _urls(member):
    return set(normalize_url(u) for u in member.get("peer_urls") or [])


def _inventory_entry(member, member_table):
    urls = _urls(member)
    for entry in member_table:
        if normalize_url(entry["peer_url"]) in urls:
            return entry
    return None


def _answered(result):
    """The member list and cluster ID a registered etcd_member_info result holds, or None with the error."""
    if not isinstance(result, dict) or result.get("skipped"):
        return None, "not asked"
    if result.get("failed") or result.get("unreachable") or "members" not in result:
        return None, str(result.get("msg") or "no answer").strip().splitlines()[0][:160]
    return result, ""


def etcd_guard_answer(guard, client_url):
    """What the guard's read (roles/_common/tasks/guard.yml: etcd_member_info with status_of=members, before any
    change) says the member at ``client_url`` serves: ``{'members': ..., 'cluster_id': ...}`` when its status answered
    there, else ``{}`` (not asked, not answering, or advertising another client URL). The member list is the one the
    guard read; the cluster ID is the one the member's own status reported."""
    if not isinstance(guard, dict) or "members" not in guard or guard.get("failed"):
        return {}
    want = normalize_url(client_url or "")
    for report in guard.get("endpoints") or []:
        if report.get("ok") and report.get("endpoint") and normalize_url(report["endpoint"]) == want:
            return dict(members=guard["members"], cluster_id=str(report.get("cluster_id", "")))
    return {}


def _label(member):
    if member.get("name"):
        return member["name"]
    return "(unstarted %s)" % member.get("id_hex", "?")


def new_token(cluster_name):
    """A fresh initial cluster token: the cluster name and a random part."""
    return "%s-%s" % (cluster_name, secrets.token_hex(6))


def config_token(text):
    """The initial-cluster-token of a member's configuration file (its text), or ''."""
    if not text:
        return ""
    try:
        data = yaml.safe_load(text) if yaml is not None else None
    except Exception:  # a damaged configuration: no token read, the caller falls back
        data = None
    if not isinstance(data, dict):
        return ""
    return str(data.get("initial-cluster-token") or "")


def config_state(text):
    if not text:
        return ""
    try:
        data = yaml.safe_load(text) if yaml is not None else None
    except Exception:
        data = None
    if not isinstance(data, dict):
        return ""
    return str(data.get("initial-cluster-state") or "")


def etcd_resume_plan(views, member_table, play_hosts, cluster_name, reset="", token_factory=None, guard=None):
    """What this run must resume, clean up or refuse before it writes any configuration.

    ``views`` maps each host of the play to ``{'has_data': bool, 'config': TEXT, 'info': RESULT}``: whether
    ``member/`` exists in its data directory, its etcd configuration file ('' when absent) and the registered
    result of ``etcd_member_info`` asked on that member (skipped for members without data, and for members whose
    status answered the guard's read: ``guard``, see etcd_guard_answer, stands in for them).
    """
    if not isinstance(views, dict):
        raise AnsibleFilterError("etcd_resume_plan expects a mapping of host to what the member reported")
    token_factory = token_factory or new_token
    known = [m["host"] for m in member_table]
    order = [h for h in known if h in views] + sorted(h for h in views if h not in known)
    with_data = [h for h in order if views[h].get("has_data")]
    answers = OrderedDict()
    errors = OrderedDict()
    client_urls = dict((m["host"], m.get("client_url", "")) for m in member_table)
    for h in with_data:
        info, error = _answered(views[h].get("info"))
        if info is None and guard is not None:
            info = etcd_guard_answer(guard, client_urls.get(h, "")) or None
        if info is None:
            errors[h] = error
        else:
            answers[h] = info
    tokens = Counter(t for t in (config_token(views[h].get("config")) for h in with_data) if t)
    plan = dict(state="", hosts_with_data=with_data, via="", members=[], cluster_id="", promote=[], remove=[],
                problems=[], reset_hosts=[], token="", notes=[])
    reset_asked = bool(reset)
    if reset_asked and reset != cluster_name:
        plan["state"] = "refused"
        plan["problems"].append(
            "etcd_bootstrap_reset is '%s' but the cluster is '%s': the reset confirmation must name the cluster "
            "(-e etcd_bootstrap_reset=%s). Nothing was changed." % (reset, cluster_name, cluster_name))
        return plan

    if not with_data:
        plan["state"] = "bootstrap"
        plan["token"] = token_factory(cluster_name)
        if reset_asked:
            plan["notes"].append("etcd_bootstrap_reset is set but no member has data: nothing to move aside.")
        return plan

    ids = OrderedDict()
    for h, info in answers.items():
        ids.setdefault(str(info.get("cluster_id", "")), []).append(h)
    if len(ids) > 1:
        plan["state"] = "split"
        plan["problems"].append(
            "The members with data belong to different clusters: %s. Nothing was changed. Keep the cluster that "
            "holds the data you want; the members of the other one lose their data when replaced: "
            "ansible-playbook quorum.etcd.replace_member -e etcd_replace_member=NAME for each of them."
            % "; ".join("cluster ID %s on %s" % (cid, ", ".join(hs)) for cid, hs in ids.items()))
        return plan

    if answers:
        via = list(answers)[0]
        plan.update(state="existing", via=via, members=answers[via]["members"],
                    cluster_id=str(answers[via].get("cluster_id", "")))
        plan["token"] = tokens.most_common(1)[0][0] if tokens else cluster_name
        _plan_members(plan, views, member_table, play_hosts)
        if reset_asked:
            plan["notes"].append("etcd_bootstrap_reset is set but the cluster is running (members answer): "
                                 "nothing is reset.")
        return plan

    # No member with data answers: either the cluster is down (its members will be started), or a bootstrap
    # stopped after some members created data and the cluster never formed.
    states = set(config_state(views[h].get("config")) for h in with_data)
    everyone = all(m["host"] in views for m in member_table)
    quorum = len(member_table) // 2 + 1
    never_formed = states == set(["new"]) and len(with_data) < quorum
    if not (everyone and never_formed):
        plan["state"] = "down"
        plan["token"] = tokens.most_common(1)[0][0] if tokens else cluster_name
        plan["notes"].append("No member with data answers (%s): they are started by this run."
                             % "; ".join("%s: %s" % (h, e) for h, e in errors.items()))
        if reset_asked:
            plan["notes"].append("etcd_bootstrap_reset is set but this is not a bootstrap that never completed: "
                                 "nothing is reset.")
        return plan

    plan["state"] = "partial"
    old_token = tokens.most_common(1)[0][0] if tokens else cluster_name
    if reset_asked:
        plan["reset_hosts"] = with_data
        plan["token"] = token_factory(cluster_name)
        return plan
    without = [m["host"] for m in member_table if m["host"] not in with_data]
    plan["token"] = old_token
    plan["problems"].append(
        "The bootstrap of cluster '%s' (token %s) did not complete: only %s of the %d members (%s) created data, "
        "fewer than the %d needed to form it; their configuration still says initial-cluster-state new, and none "
        "answers (%s). Nothing was changed. To move that partial data aside (renamed member.partial-<UTC time> in "
        "the data directory, never deleted) and bootstrap the cluster again with a new token, rerun the same "
        "command with -e etcd_bootstrap_reset=%s. If that data ever served clients, do not reset: restore the "
        "cluster with the dr_restore playbook instead. Members without data: %s."
        % (cluster_name, old_token, ", ".join(with_data), len(member_table),
           ", ".join(m["host"] for m in member_table), quorum,
           "; ".join("%s: %s" % (h, e) for h, e in errors.items()), cluster_name, ", ".join(without) or "none"))
    return plan


def _plan_members(plan, views, member_table, play_hosts):
    for m in plan["members"]:
        entry = _inventory_entry(m, member_table)
        started = bool(m.get("name")) or bool(m.get("client_urls"))
        if m.get("is_learner"):
            if entry is not None:
                # A learner whose host has data and runs in this play: an earlier join stopped before promotion.
                # (Without data, the join path starts it; a learner that lost its data is refused there.)
                if entry["host"] in play_hosts and views.get(entry["host"], {}).get("has_data") and started:
                    plan["promote"].append(dict(host=entry["host"], name=entry["name"], peer_url=entry["peer_url"],
                                                id=m.get("id", ""), id_hex=m.get("id_hex", "")))
            elif not started:
                plan["remove"].append(dict(id=m.get("id", ""), id_hex=m.get("id_hex", ""),
                                           peer_urls=list(m.get("peer_urls") or [])))
            else:
                plan["problems"].append(
                    "Learner %s (id %s, %s) is started but not in the inventory. Nothing was changed. Add its host "
                    "back to the inventory to finish its join, or remove it: ansible-playbook "
                    "quorum.etcd.remove_member -e etcd_remove_member=%s"
                    % (m["name"], m.get("id_hex", "?"), ", ".join(m.get("peer_urls") or []), m["name"]))
        elif entry is None and not started:
            plan["problems"].append(
                "Voting member %s (%s) was added but never started, and its peer URL is not in the inventory: it "
                "counts in the quorum without voting. Nothing was changed. Add its host to the inventory to start "
                "it, or remove it on a member: etcdctl member remove %s"
                % (m.get("id_hex", "?"), ", ".join(m.get("peer_urls") or []), m.get("id_hex", "?")))


def etcd_convergence(views, member_table):
    """Rows (member, check, expected, found) where the cluster differs from the inventory."""
    if not isinstance(views, dict):
        raise AnsibleFilterError("etcd_convergence expects a mapping of host to an etcd_member_info result")
    rows = []
    seen = set()

    def add(member, check, expected, found):
        key = (member, check, expected, found)
        if key not in seen:
            seen.add(key)
            rows.append(dict(member=member, check=check, expected=expected, found=found))

    names = dict((m["host"], m["name"]) for m in member_table)
    cluster_ids = OrderedDict()
    for entry in member_table:
        if entry["host"] not in views:
            continue  # not in this play (--limit): its own view is not asked
        info, error = _answered(views.get(entry["host"]))
        if info is None:
            add(entry["name"], "answers the member list", "an answer", error)
            continue
        cluster_ids[entry["host"]] = str(info.get("cluster_id", ""))
        members = info.get("members") or []
        for inv in member_table:
            found = [m for m in members if normalize_url(inv["peer_url"]) in _urls(m)]
            if not found:
                add(inv["name"], "member of the cluster", inv["peer_url"], "missing")
                continue
            m = found[0]
            if not (m.get("name") or m.get("client_urls")):
                add(inv["name"], "started", "started", "added, never started (id %s)" % m.get("id_hex", "?"))
            elif m.get("name") != inv["name"]:
                add(inv["name"], "name", inv["name"], m.get("name") or "(none)")
            if m.get("is_learner"):
                add(inv["name"], "voting member", "voter", "learner")
        for m in members:
            if _inventory_entry(m, member_table) is None:
                add(_label(m), "in the inventory", "absent from the cluster",
                    "member id %s, %s" % (m.get("id_hex", "?"), ", ".join(m.get("peer_urls") or [])))
    counts = Counter(cluster_ids.values())
    if len(counts) > 1:
        top, top_n = counts.most_common(1)[0]
        tie = list(counts.values()).count(top_n) > 1
        for host, cid in cluster_ids.items():
            if tie or cid != top:
                add(names.get(host, host), "cluster ID", "one cluster ID for all members" if tie else top, cid)
    return rows


def etcd_convergence_table(rows):
    """The rows of etcd_convergence as an aligned text table."""
    header = dict(member="MEMBER", check="CHECK", expected="EXPECTED", found="FOUND")
    cols = ["member", "check", "expected", "found"]
    data = [header] + list(rows or [])
    width = dict((c, max(len(str(r.get(c, ""))) for r in data)) for c in cols)
    lines = ["  ".join(str(r.get(c, "")).ljust(width[c]) for c in cols).rstrip() for r in data]
    return "\n".join(lines)


class FilterModule(object):
    def filters(self):
        return {
            "etcd_convergence": etcd_convergence,
            "etcd_convergence_table": etcd_convergence_table,
            "etcd_resume_plan": etcd_resume_plan,
            "etcd_guard_answer": etcd_guard_answer,
        }
