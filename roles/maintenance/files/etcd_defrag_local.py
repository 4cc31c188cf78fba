# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""etcd-defrag-local: defragment THIS etcd member when it needs it and it is safe, never two members at once.

Installed by the maintenance role as /usr/local/sbin/etcd-defrag-local and run with python3 by etcd-defrag.service (its timer,
etcd_defrag_timer_enabled). One run:

1. reads this member's status and every member's (the JSON gateway, the member's client certificate);
2. skips (exit 0) when this member leads, when any member does not answer or sees no leader, when a member is a
   learner, when an alarm is raised, or when the fragmentation rule does not hold (free share and reclaimable bytes,
   the same rule as quorum.etcd.etcd_defrag);
3. takes the cluster-wide lock: a key (/quorum.etcd/defrag-lock) created only if absent, attached to a lease (TTL):
   a member that holds it defragments, another skips; a crashed holder's lock expires with its lease;
4. defragments this member, releases the lock (lease revoked), writes the metrics for node_exporter's textfile
   collector (etcd_defrag_last_run_timestamp_seconds, _last_success_timestamp_seconds, _last_run_success,
   _last_defragmented, _last_reclaimed_bytes, _last_duration_seconds) and logs what it did.

Settings: a JSON file (the first argument). Exit 1 on any failure (logged, metrics written).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import ssl
import sys
import time
import urllib.request

LOCK_KEY = "/quorum.etcd/defrag-lock"


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd(object):
    def __init__(self, cfg):
        self.ctx = ssl.create_default_context(cafile=cfg["cacert"])
        self.ctx.load_cert_chain(cfg["cert"], cfg["key"])
        self.endpoint = cfg["endpoint"]

    def call(self, path, body=None, endpoint=None, timeout=10.0):
        req = urllib.request.Request((endpoint or self.endpoint) + path, data=json.dumps(body or {}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")


def fragmentation(size, in_use):
    size, in_use = int(size or 0), int(in_use or 0)
    if size <= 0:
        return 0.0, 0
    reclaimable = max(size - in_use, 0)
    return float(reclaimable) / size, reclaimable


def decide(me, others_ok, alarms, cfg):
    """(defragment?, reason) for this member: me is its status, others_ok a list of (name, ok, why)."""
    if alarms:
        return False, "alarm raised: %s" % ", ".join(alarms)
    bad = [why for _name, ok, why in others_ok if not ok]
    if bad:
        return False, "not every member is a healthy voter: %s" % "; ".join(bad)
    if me["leader"] == me["header"]["member_id"]:
        return False, "this member leads the cluster (the walk of playbooks/defrag.yml moves leadership first)"
    ratio, reclaimable = fragmentation(me.get("dbSize"), me.get("dbSizeInUse"))
    if ratio < cfg["min_free_ratio"] or reclaimable < cfg["min_reclaimable_bytes"]:
        return False, "not due: %.0f%% free, %d reclaimable bytes (rule: %.0f%% and %d)" % (
            ratio * 100, reclaimable, cfg["min_free_ratio"] * 100, cfg["min_reclaimable_bytes"])
    return True, "due: %.0f%% free, %d reclaimable bytes" % (ratio * 100, reclaimable)


def write_metrics(cfg, values):
    directory = cfg.get("textfile_dir") or ""
    if not directory or not os.path.isdir(directory):
        return
    lines = []
    for name, (value, help_text) in sorted(values.items()):
        lines += ["# HELP etcd_defrag_%s %s" % (name, help_text), "# TYPE etcd_defrag_%s gauge" % name,
                  'etcd_defrag_%s{member="%s"} %s' % (name, cfg["member"], value)]
    path = os.path.join(directory, "etcd_defrag.prom")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def run(cfg, etcd, log):
    me = etcd.call("/v3/maintenance/status")
    members = etcd.call("/v3/cluster/member/list", {"linearizable": True}).get("members", [])
    checks = []
    for m in members:
        name = m.get("name") or m.get("ID")
        if m.get("isLearner"):
            checks.append((name, False, "%s is a learner" % name))
            continue
        urls = m.get("clientURLs") or []
        ok, why = False, "%s has not started" % name
        for url in urls:
            try:
                st = etcd.call("/v3/maintenance/status", endpoint=url, timeout=5.0)
                ok, why = st.get("leader", "0") != "0", "%s sees no leader" % name
                break
            except Exception as e:  # pylint: disable=broad-except
                why = "%s does not answer: %s" % (name, e)
        checks.append((name, ok, why))
    alarms = [a.get("alarm") for a in etcd.call("/v3/maintenance/alarm", {"action": "GET"}).get("alarms", [])
              if a.get("alarm") not in (None, "NONE")]
    due, reason = decide(me, checks, alarms, cfg)
    if not due:
        log("skipped: %s" % reason)
        return dict(defragmented=0, reclaimed=0, duration=0.0)
    lease = etcd.call("/v3/lease/grant", {"TTL": str(cfg["lock_ttl"])})["ID"]
    try:
        txn = etcd.call("/v3/kv/txn", {
            "compare": [{"key": b64(LOCK_KEY), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": b64(LOCK_KEY), "value": b64(cfg["member"]), "lease": lease}}],
            "failure": [{"request_range": {"key": b64(LOCK_KEY)}}]})
        if not txn.get("succeeded"):
            holder = "another member"
            try:
                kvs = txn["responses"][0]["response_range"].get("kvs") or []
                holder = base64.b64decode(kvs[0]["value"]).decode() if kvs else holder
            except (KeyError, IndexError, ValueError):
                pass
            log("skipped: %s holds the defragmentation lock (%s)" % (holder, reason))
            return dict(defragmented=0, reclaimed=0, duration=0.0)
        log("defragmenting this member (%s)" % reason)
        start = time.time()
        timeout = max(60.0, 30.0 + int(me.get("dbSize") or 0) / (10.0 * 1024 * 1024))
        etcd.call("/v3/maintenance/defragment", timeout=timeout)
        duration = time.time() - start
        after = etcd.call("/v3/maintenance/status")
        reclaimed = max(int(me.get("dbSize") or 0) - int(after.get("dbSize") or 0), 0)
        log("defragmented in %.1f s: %s -> %s bytes" % (duration, me.get("dbSize"), after.get("dbSize")))
        return dict(defragmented=1, reclaimed=reclaimed, duration=duration)
    finally:
        try:
            etcd.call("/v3/lease/revoke", {"ID": lease})
        except Exception as e:  # pylint: disable=broad-except  # the lease expires by itself
            log("could not release the lock (it expires with its lease in %s s): %s" % (cfg["lock_ttl"], e))


def main(argv):
    with open(argv[1]) as f:
        cfg = json.load(f)

    def log(text):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    now = time.time()
    metrics = {"last_run_timestamp_seconds": (now, "Start of the last run of etcd-defrag-local.")}
    try:
        result = run(cfg, Etcd(cfg), log)
    except Exception as e:  # pylint: disable=broad-except
        log("<3>failed: %s" % e)
        metrics["last_run_success"] = (0, "1 when the last run succeeded (defragmented or skipped).")
        write_metrics(cfg, metrics)
        return 1
    metrics.update({
        "last_run_success": (1, "1 when the last run succeeded (defragmented or skipped)."),
        "last_success_timestamp_seconds": (now, "Start of the last successful run."),
        "last_defragmented": (result["defragmented"], "1 when the last run defragmented this member."),
        "last_reclaimed_bytes": (result["reclaimed"], "Bytes the last defragmentation gave back."),
        "last_duration_seconds": (round(result["duration"], 3), "Duration of the last defragmentation."),
    })
    write_metrics(cfg, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
