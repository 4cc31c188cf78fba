# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnosis report of playbooks/diagnose.yml: what the playbook read from the cluster and its members, turned
into findings and recommendations by thresholds, and rendered as Markdown.

Pure functions. The inputs are what the playbook gathers read-only: one quorum.etcd.etcd_member_info result, and per
member its /metrics text, its certificates' expiry dates, the backup role's metrics file, the time the member reads
between two readings of the controller's clock and, on request, the output of etcdctl check perf.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_diagnosis
short_description: The etcd diagnosis report (findings, recommendations, Markdown) from what diagnose.yml read
version_added: 0.4.0
description:
  - Builds the report of C(playbooks/diagnose.yml) from read-only observations of a cluster, computes the figures
    (database size against quota, fragmentation, 99th percentiles of WAL fsync, backend commit and peer round trip
    from the members' histograms, leader changes, certificate days left, backup age, clock offset to the controller) and the
    recommendations, each from a threshold (never a fixed text), and renders the report as Markdown.
options:
  _input:
    description:
      - C(cluster) (name), C(generated_at) (ISO time), C(now) (UNIX time), C(member_info) (the result of
        C(quorum.etcd.etcd_member_info)), and C(hosts), a mapping of inventory host to C(member) (etcd name),
        C(metrics) (the text of the member's C(/metrics), empty when unreadable), C(metrics_error), C(certificates)
        (list of C(usage), C(path), C(not_after) as UNIX time or as
        community.crypto reports it, C(20270115080000Z)), C(backup_metrics) (text of the backup role's
        metrics file, empty when missing), C(clock) (C(member_time), the member's ISO 8601 UTC time read between C(controller_before) and
        C(controller_after), the controller's UNIX time) and C(perf) (text of
        C(etcdctl check perf), optional).
    type: dict
    required: true
  thresholds:
    description:
      - Mapping with C(fragmentation_ratio), C(fragmentation_min_bytes), C(quota_warning_percent),
        C(fsync_p99_max_seconds), C(commit_p99_max_seconds), C(peer_rtt_p99_max_seconds), C(leader_changes_max),
        C(certificate_warning_days), C(backup_max_age_hours), C(clock_offset_max_ms).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Build the report
  ansible.builtin.set_fact:
    report: "{{ observations | quorum.etcd.etcd_diagnosis(thresholds) }}"
"""

RETURN = r"""
_value:
  description: C(report) (the findings and recommendations as data) and C(markdown) (the same as a Markdown text).
  type: dict
"""

import datetime
import math
import re

from ansible.errors import AnsibleFilterError

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
MIB = 1024.0 * 1024.0


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, labels dict, value)."""
    out = []
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        labels = dict((k, v.replace('\\"', '"').replace("\\\\", "\\")) for k, v in _LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, value))
    return out


def _value(samples, name, default=None):
    for n, dummy, v in samples:
        if n == name:
            return v
    return default


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile over cumulative (upper bound, count) pairs; None without observations."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def _quantile(samples, name, q=0.99, group_by=None):
    groups = {}
    for n, labels, v in samples:
        if n != name + "_bucket":
            continue
        key = labels.get(group_by, "") if group_by else ""
        groups.setdefault(key, []).append((float(labels.get("le", "+Inf").replace("+Inf", "inf")), v))
    return dict((k, histogram_quantile(q, b)) for k, b in groups.items())


def member_metrics(text):
    """The figures the report uses from a member's /metrics (histograms are cumulative since the member started)."""
    s = parse_metrics(text)
    if not s:
        return {}
    return {
        "has_leader": _value(s, "etcd_server_has_leader"),
        "is_leader": _value(s, "etcd_server_is_leader"),
        "is_learner": _value(s, "etcd_server_is_learner"),
        "leader_changes": _value(s, "etcd_server_leader_changes_seen_total"),
        "quota_bytes": _value(s, "etcd_server_quota_backend_bytes"),
        "db_bytes": _value(s, "etcd_mvcc_db_total_size_in_bytes"),
        "db_in_use_bytes": _value(s, "etcd_mvcc_db_total_size_in_use_in_bytes"),
        "proposals_failed": _value(s, "etcd_server_proposals_failed_total"),
        "proposals_pending": _value(s, "etcd_server_proposals_pending"),
        "slow_applies": _value(s, "etcd_server_slow_apply_total"),
        "fsync_p99_seconds": _quantile(s, "etcd_disk_wal_fsync_duration_seconds").get(""),
        "commit_p99_seconds": _quantile(s, "etcd_disk_backend_commit_duration_seconds").get(""),
        "peer_rtt_p99_seconds": dict((k, v) for k, v in _quantile(
            s, "etcd_network_peer_round_trip_time_seconds", group_by="To").items() if v is not None),
    }


def backup_metrics(text):
    s = parse_metrics(text)
    if not s:
        return {}
    return {
        "last_success": _value(s, "etcd_backup_last_success_timestamp_seconds", 0),
        "last_attempt": _value(s, "etcd_backup_last_attempt_timestamp_seconds", 0),
        "last_run_success": _value(s, "etcd_backup_last_run_success", 0),
        "last_size_bytes": _value(s, "etcd_backup_last_size_bytes", 0),
        "failures_total": _value(s, "etcd_backup_failures_total", 0),
        "offhost_last_success": _value(s, "etcd_backup_offhost_last_success_timestamp_seconds"),
    }


def _epoch(iso):
    """UNIX time of an ISO 8601 UTC time with microseconds (Ansible's ansible_date_time.iso8601_micro)."""
    when = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (when - datetime.datetime(1970, 1, 1)).total_seconds()


def _not_after(value):
    """UNIX time of a certificate's expiry: a number, or ASN.1 time as community.crypto reports it (20270115080000Z)."""
    if isinstance(value, (int, float)):
        return float(value)
    when = datetime.datetime.strptime(str(value), "%Y%m%d%H%M%SZ")
    return (when - datetime.datetime(1970, 1, 1)).total_seconds()


def clock_offset(clock):
    """The member's clock against the controller's: its time read between two readings of the controller's clock.
    The offset is taken against their middle, the uncertainty is half the interval (the connection's round trip)."""
    if not clock or not clock.get("member_time"):
        return {}
    before, after = float(clock["controller_before"]), float(clock["controller_after"])
    middle = (before + after) / 2.0
    return {"offset_ms": round((_epoch(clock["member_time"]) - middle) * 1000.0, 1),
            "uncertainty_ms": round((after - before) * 500.0, 1)}


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def _mib(value):
    return None if value is None else round(value / MIB, 1)


def _hours(seconds):
    return round(seconds / 3600.0, 1)


def etcd_diagnosis(data, thresholds):
    if not isinstance(data, dict) or not isinstance(thresholds, dict):
        raise AnsibleFilterError("etcd_diagnosis expects a mapping of observations and a mapping of thresholds")
    t = thresholds
    now = float(data.get("now") or 0)
    info = data.get("member_info") or {}
    hosts = data.get("hosts") or {}
    recs = []

    def rec(severity, subject, text):
        recs.append({"severity": severity, "subject": subject, "text": text})

    leader = (info.get("leader") or {}).get("name", "")
    endpoints = dict((e.get("member_name") or e.get("endpoint"), e) for e in info.get("endpoints") or [])
    members = []
    for m in info.get("members") or []:
        ep = endpoints.get(m.get("name")) or {}
        members.append({
            "name": m.get("name") or "(not started)", "id": m.get("id_hex", ""), "peer_urls": m.get("peer_urls", []),
            "client_urls": m.get("client_urls", []), "learner": bool(m.get("is_learner")),
            "leader": m.get("name") == leader and bool(leader),
            "answers": bool(ep.get("ok")), "healthy": bool(ep.get("healthy")),
            "error": ep.get("error") or ("" if ep.get("ok") else ep.get("health_reason", "")),
            "health_reason": ep.get("health_reason", ""),
            "version": ep.get("version", ""), "db_size": ep.get("db_size"), "db_size_in_use": ep.get("db_size_in_use"),
            "raft_term": ep.get("raft_term"), "raft_index": ep.get("raft_index"),
            "raft_applied_index": ep.get("raft_applied_index"),
        })
    if not members:
        rec("critical", "cluster", "The member list could not be read from any member: %s"
            % "; ".join(info.get("errors") or [info.get("msg", "no answer")]))
    if not leader and members:
        rec("critical", "cluster", "No leader is known: the cluster has no quorum or is electing one.")
    for m in members:
        if not m["answers"]:
            rec("critical", m["name"], "Member %s does not answer (%s): start it (systemctl start etcd) or replace it "
                "(quorum.etcd.replace_member)." % (m["name"], m["error"] or "no status"))
        elif not m["healthy"]:
            rec("critical", m["name"], "Member %s answers but is not healthy (%s)." % (
                m["name"], m["health_reason"] or "its /health check failed; an active alarm does that"))
        if m["learner"]:
            rec("warning", m["name"], "Member %s is still a learner: run site.yml (or scale_out) to promote it once it "
                "caught up." % m["name"])
    voting = [m for m in members if not m["learner"]]
    quorum = len(voting) // 2 + 1
    up = [m for m in voting if m["answers"]]
    if voting and len(up) < quorum:
        rec("critical", "cluster", "Only %d of %d voting members answer, fewer than the quorum of %d: the cluster "
            "refuses writes." % (len(up), len(voting), quorum))
    elif voting and len(up) < len(voting) and len(up) == quorum:
        rec("critical", "cluster", "%d of %d voting members answer, exactly the quorum: one more failure stops the "
            "cluster." % (len(up), len(voting)))

    alarms = [{"member": next((m["name"] for m in members if m["id"] == a.get("member_id_hex")),
                              a.get("member_id_hex", "")), "alarm": a.get("alarm", "")}
              for a in info.get("alarms") or []]
    for a in alarms:
        if a["alarm"] == "NOSPACE":
            rec("critical", a["member"], "NOSPACE alarm raised by %s: the cluster accepts only reads and deletes. "
                "Delete or compact, defragment every member, then disarm (etcdctl alarm disarm)." % a["member"])
        else:
            rec("critical", a["member"], "%s alarm raised by %s: stop and inspect that member (data corruption "
                "check); do not disarm before the cause is known." % (a["alarm"], a["member"]))

    per_host = {}
    leader_host = None
    for host in sorted(hosts):
        h = hosts[host] or {}
        name = h.get("member") or host
        mm = member_metrics(h.get("metrics", ""))
        quota = mm.get("quota_bytes")
        db, in_use = mm.get("db_bytes"), mm.get("db_in_use_bytes")
        entry = {"member": name, "metrics_read": bool(mm), "metrics_error": h.get("metrics_error", "")}
        entry.update(mm)
        if name == leader:
            leader_host = host
        if db and quota:
            entry["quota_used_percent"] = round(100.0 * db / quota, 1)
            if entry["quota_used_percent"] > t["quota_warning_percent"]:
                rec("warning", name, "The database of %s uses %.1f%% of its quota (%s of %s MiB): compact and "
                    "defragment, or raise etcd_quota_backend_bytes." % (
                        name, entry["quota_used_percent"], _mib(db), _mib(quota)))
        if db and in_use is not None:
            free = db - in_use
            entry["fragmentation_ratio"] = round(free / db, 3)
            if entry["fragmentation_ratio"] > t["fragmentation_ratio"] and free > t["fragmentation_min_bytes"]:
                rec("warning", name, "Defragment %s: %s MiB of its %s MiB database file (%.0f%%) are free space. One "
                    "member at a time, the leader last." % (name, _mib(free), _mib(db),
                                                            100 * entry["fragmentation_ratio"]))
        for key, limit, what in (("fsync_p99_seconds", t["fsync_p99_max_seconds"], "WAL fsync"),
                                 ("commit_p99_seconds", t["commit_p99_max_seconds"], "backend commit")):
            value = mm.get(key)
            if value is not None and value > limit:
                rec("warning", name, "Slow disk on %s: the 99th percentile %s takes %s ms (limit %s ms): check the "
                    "disk and its neighbours (fio, iostat)." % (name, what, _ms(value), _ms(limit)))
        for peer, value in sorted((mm.get("peer_rtt_p99_seconds") or {}).items()):
            if value > t["peer_rtt_p99_max_seconds"]:
                rec("warning", name, "Slow network from %s to peer %s: 99th percentile round trip %s ms (limit %s ms)."
                    % (name, peer, _ms(value), _ms(t["peer_rtt_p99_max_seconds"])))
        changes = mm.get("leader_changes")
        if changes is not None and changes > t["leader_changes_max"]:
            rec("warning", name, "%s saw %d leader changes since it started (more than %d): look for a slow disk, "
                "network trouble or CPU starvation." % (name, changes, t["leader_changes_max"]))
        certs = []
        for c in h.get("certificates") or []:
            days = round((_not_after(c["not_after"]) - now) / 86400.0, 1)
            certs.append({"usage": c.get("usage", ""), "path": c.get("path", ""), "days_left": days})
            if days < t["certificate_warning_days"]:
                rec("critical" if days < 7 else "warning", name, "The %s certificate %s on %s expires in %s days: run "
                    "site.yml (the pki role renews certificates within etcd_pki_renew_threshold_days)."
                    % (c.get("usage", ""), c.get("path", ""), name, days))
        entry["certificates"] = certs
        bm = backup_metrics(h.get("backup_metrics", ""))
        backup = {"metrics_read": bool(bm)}
        if not bm:
            rec("warning", name, "No backup metrics on %s: the backup role is off or has not run yet (systemctl "
                "start etcd-backup.service)." % name)
        else:
            age = now - bm["last_success"] if bm["last_success"] else None
            backup.update({"last_success_age_hours": None if age is None else _hours(age),
                           "last_run_success": bool(bm["last_run_success"]),
                           "last_size_bytes": bm["last_size_bytes"], "failures_total": bm["failures_total"]})
            if age is None:
                rec("warning", name, "%s has no successful backup yet." % name)
            elif age > t["backup_max_age_hours"] * 3600:
                rec("warning", name, "The last successful backup of %s is %s hours old (limit %s)."
                    % (name, _hours(age), t["backup_max_age_hours"]))
            if not bm["last_run_success"] and bm["last_attempt"]:
                rec("warning", name, "The last backup run of %s failed: journalctl -u etcd-backup.service." % name)
        entry["backup"] = backup
        clock = clock_offset(h.get("clock"))
        entry["clock"] = clock
        if clock and abs(clock["offset_ms"]) - clock["uncertainty_ms"] > t["clock_offset_max_ms"]:
            rec("warning", name, "The clock of %s is %s ms off the controller's (+/- %s ms; limit %s ms): check time "
                "synchronisation." % (name, clock["offset_ms"], clock["uncertainty_ms"], t["clock_offset_max_ms"]))
        if h.get("perf"):
            entry["check_perf"] = h["perf"]
        per_host[host] = entry

    # Unbalanced leader: the leader runs on the member with the slowest disk while another is clearly faster.
    fsyncs = dict((h, e.get("fsync_p99_seconds")) for h, e in per_host.items() if e.get("fsync_p99_seconds") is not None)
    if leader_host in fsyncs and len(fsyncs) > 1:
        best = min(fsyncs, key=fsyncs.get)
        if fsyncs[leader_host] > t["fsync_p99_max_seconds"] and fsyncs[leader_host] > 2 * fsyncs[best]:
            rec("warning", leader, "The leader %s has the slowest WAL fsync (%s ms against %s ms on %s): move "
                "leadership (quorum.etcd.etcd_leader) while its disk is looked at." % (
                    leader, _ms(fsyncs[leader_host]), _ms(fsyncs[best]), per_host[best]["member"]))

    order = {"critical": 0, "warning": 1, "info": 2}
    recs.sort(key=lambda r: order.get(r["severity"], 3))
    report = {
        "cluster": data.get("cluster", ""), "generated_at": data.get("generated_at", ""),
        "cluster_id": info.get("cluster_id", ""), "leader": leader, "quorum": quorum,
        "members": members, "alarms": alarms, "hosts": per_host, "recommendations": recs,
        "healthy": not any(r["severity"] == "critical" for r in recs),
        "thresholds": t,
    }
    return {"report": report, "markdown": markdown(report)}


def _cell(value):
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def markdown(r):
    out = ["# etcd diagnosis: %s" % r["cluster"], "",
           "Generated %s. Cluster ID %s, leader %s, quorum %d. Verdict: **%s**." % (
               r["generated_at"], r["cluster_id"] or "-", r["leader"] or "none", r["quorum"],
               "healthy" if r["healthy"] else "needs attention"), "", "## Recommendations", ""]
    out += ["- **%s** (%s): %s" % (x["severity"], x["subject"], x["text"]) for x in r["recommendations"]] or ["- none"]
    out += ["", "## Members", ""]
    out += _table(["member", "id", "leader", "learner", "answers", "healthy", "version", "peer URLs", "error"],
                  [[m["name"], m["id"], m["leader"], m["learner"], m["answers"], m["healthy"], m["version"],
                    ", ".join(m["peer_urls"]), m["error"]] for m in r["members"]])
    out += ["", "## Endpoint status", ""]
    out += _table(["member", "DB size (MiB)", "DB in use (MiB)", "raft term", "raft index", "applied index"],
                  [[m["name"], _mib(m["db_size"]), _mib(m["db_size_in_use"]), m["raft_term"], m["raft_index"],
                    m["raft_applied_index"]] for m in r["members"]])
    out += ["", "## Alarms", ""]
    out += ["- %s on %s" % (a["alarm"], a["member"]) for a in r["alarms"]] or ["- none"]
    out += ["", "## Database, leader changes, latency (99th percentiles since each member started)", ""]
    out += _table(["member", "quota used %", "fragmentation", "leader changes", "fsync p99 (ms)", "commit p99 (ms)",
                   "peer RTT p99 (ms)", "metrics"],
                  [[e["member"], e.get("quota_used_percent"), e.get("fragmentation_ratio"), e.get("leader_changes"),
                    _ms(e.get("fsync_p99_seconds")), _ms(e.get("commit_p99_seconds")),
                    ", ".join("%s %s" % (p, _ms(v)) for p, v in sorted((e.get("peer_rtt_p99_seconds") or {}).items())),
                    "read" if e["metrics_read"] else (e["metrics_error"] or "not read")]
                   for e in r["hosts"].values()])
    out += ["", "## Certificates", ""]
    out += _table(["member", "usage", "path", "days left"],
                  [[e["member"], c["usage"], c["path"], c["days_left"]] for e in r["hosts"].values()
                   for c in e["certificates"]])
    out += ["", "## Backups", ""]
    out += _table(["member", "last success (hours ago)", "last run succeeded", "size (MiB)", "failures"],
                  [[e["member"], e["backup"].get("last_success_age_hours"), e["backup"].get("last_run_success"),
                    _mib(e["backup"].get("last_size_bytes")), e["backup"].get("failures_total")]
                   for e in r["hosts"].values()])
    out += ["", "## Clock offset to the controller (ms)", ""]
    out += _table(["member", "offset", "uncertainty (+/-)"],
                  [[e["member"], e["clock"].get("offset_ms"), e["clock"].get("uncertainty_ms")]
                   for e in r["hosts"].values()])
    perf = [(e["member"], e["check_perf"]) for e in r["hosts"].values() if e.get("check_perf")]
    if perf:
        out += ["", "## etcdctl check perf", ""]
        for name, text in perf:
            out += ["%s:" % name, "", "```", text.strip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


class FilterModule(object):
    def filters(self):
        return {"etcd_diagnosis": etcd_diagnosis}
