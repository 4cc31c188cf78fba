"""Monitoring scenario: a real Prometheus (etcd-mon-4) scraping three real etcd members and their node_exporters.

Through Prometheus' HTTP API: every target up (the role's etcd job over https on the client port, the scenario's
extra job etcd-http over http on the metrics listener), a leader seen by every member, the backup metrics present
after a backup run, and the members-down alert pending or firing within the scenario's shortened `for` once a member stops.
playbooks/diagnose.yml on the healthy cluster, then with a stopped member and a raised NOSPACE alarm (raised
through etcd's maintenance API, disarmed afterwards): the report says so. The tests run in file order.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
PODMAN_ENV = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"))
MEMBERS = ["etcd-mon-1", "etcd-mon-2", "etcd-mon-3"]
PROMETHEUS = "http://10.89.85.14:9090"
CLUSTER = "molecule-mon"


def podman_exec(name, *cmd):
    return subprocess.run(["podman", "exec", name] + list(cmd), capture_output=True, text=True, env=PODMAN_ENV,
                          check=False)


def api(path, **params):
    url = PROMETHEUS + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def query(expr):
    return api("/api/v1/query", query=expr)["result"]


def wait_for(what, check, timeout):
    """Poll check() until it returns something true; fail after timeout seconds naming what was awaited."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(2)
    pytest.fail("%s not seen within %d s (last: %r)" % (what, timeout, last))


def diagnose(*extra):
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    outdir = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "diagnose")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"))
    before = set(glob.glob(os.path.join(outdir, "*.json")))
    proc = subprocess.run(["ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", "diagnose.yml"),
                           "-e", "etcd_diagnose_dir=" + outdir] + list(extra),
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=1200, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    new = sorted(set(glob.glob(os.path.join(outdir, "*.json"))) - before)
    assert len(new) == 1, (new, out[-2000:])
    with open(new[0], encoding="utf-8") as f:
        report = json.load(f)
    with open(new[0][:-len(".json")] + ".md", encoding="utf-8") as f:
        md = f.read()
    assert "Report: %s.md" % new[0][:-len(".json")] in out
    return report, md, out


def test_every_target_is_up():
    """The role's etcd job scrapes the client port over https with the client certificate (the scenario sets
    etcd_monitoring_metrics_scheme=https), the scenario's extra job etcd-http the metrics listeners over http."""
    def targets():
        active = api("/api/v1/targets", state="active")["activeTargets"]
        jobs = sorted((t["labels"]["job"], t["labels"]["instance"], t["health"], t["scrapeUrl"], t["lastError"])
                      for t in active)
        return jobs if len(jobs) == 10 and all(t[2] == "up" for t in jobs) else None
    jobs = wait_for("10 healthy targets", targets, 90)
    addresses = dict(zip(MEMBERS, ("10.89.85.11", "10.89.85.12", "10.89.85.13")))
    assert [(j, i, url) for j, i, _health, url, _error in jobs] == sorted(
        [("etcd", m, "https://%s:2379/metrics" % addresses[m]) for m in MEMBERS]
        + [("etcd-http", m, "http://%s:2381/metrics" % addresses[m]) for m in MEMBERS]
        + [("etcd-node", m, "http://%s:9100/metrics" % addresses[m]) for m in MEMBERS]
        + [("prometheus", "localhost:9090", "http://localhost:9090/metrics")])


def test_both_schemes_read_the_same_members():
    """etcd answers the same metrics over https on the client port and over http on the metrics listener."""
    def both():
        r = query('count by (job) (etcd_server_has_leader{job=~"etcd|etcd-http"} == 1)')
        return r if sorted((x["metric"]["job"], x["value"][1]) for x in r) == [("etcd", "3"), ("etcd-http", "3")] \
            else None
    wait_for("etcd_server_has_leader from 3 members in both jobs", both, 60)


def test_every_member_has_a_leader():
    def three():
        r = query('etcd_server_has_leader{job="etcd"}')
        return r if len(r) == 3 else None
    result = wait_for("etcd_server_has_leader on 3 members", three, 60)
    assert sorted((r["metric"]["instance"], r["metric"]["cluster"], r["value"][1]) for r in result) == [
        (m, CLUSTER, "1") for m in MEMBERS]


def test_rules_are_loaded():
    names = {r["name"] for g in api("/api/v1/rules")["groups"] for r in g["rules"]}
    assert {"etcdMembersDown", "etcdNoLeader", "etcdBackupTooOld", "etcdCertificateExpiring"} <= names


def test_backup_metrics_are_scraped():
    proc = podman_exec("etcd-mon-1", "systemctl", "start", "etcd-backup.service")
    assert proc.returncode == 0, proc.stderr
    result = wait_for("etcd_backup_last_success_timestamp_seconds of etcd-mon-1",
                      lambda: query('etcd_backup_last_success_timestamp_seconds{instance="etcd-mon-1"} > 0'), 60)
    assert result[0]["metric"]["member"] == "etcd-mon-1" and result[0]["metric"]["job"] == "etcd-node"
    age = query('time() - etcd_backup_last_success_timestamp_seconds{instance="etcd-mon-1"}')
    assert 0 <= float(age[0]["value"][1]) < 600


def test_diagnose_healthy_cluster_in_check_mode():
    report, md, out = diagnose("--check")
    assert report["healthy"] is True, report["recommendations"]
    assert sorted(m["name"] for m in report["members"]) == MEMBERS
    assert all(m["answers"] and m["healthy"] for m in report["members"])
    assert report["alarms"] == []
    assert report["leader"] in MEMBERS
    for host, entry in report["hosts"].items():
        assert entry["metrics_read"], host
        assert entry["quota_used_percent"] < 1
        assert entry["fsync_p99_seconds"] is not None
        assert {c["usage"] for c in entry["certificates"]} >= {"ca", "server", "peer"}
        assert all(c["days_left"] > 300 for c in entry["certificates"] if c["usage"] != "ca")
    assert report["hosts"]["etcd-mon-1"]["backup"]["last_run_success"] is True
    assert "Verdict: **healthy**" in md
    for member in MEMBERS:  # nothing changes on a member; only the report is written on the controller
        assert re.search(r"%s\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0" % member, out), out[-2000:]


def test_stopped_member_raises_members_down_and_the_report_says_so():
    stopped = "etcd-mon-3"
    assert podman_exec(stopped, "systemctl", "stop", "etcd").returncode == 0
    try:
        began = time.monotonic()
        alerts = wait_for("etcdMembersDown pending or firing", lambda: [
            a for a in api("/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == "etcdMembersDown" and a["state"] in ("pending", "firing")], 90)
        assert alerts[0]["labels"] == {"alertname": "etcdMembersDown", "cluster": CLUSTER, "severity": "warning"}
        assert alerts[0]["annotations"]["description"] == 'etcd cluster "%s": 1 member(s) cannot be scraped.' % CLUSTER
        print("etcdMembersDown %s after %.0f s" % (alerts[0]["state"], time.monotonic() - began))

        # A NOSPACE alarm raised for the first member through etcd's maintenance API (what etcd does itself when the
        # database reaches its quota), then the report.
        raise_alarm("etcd-mon-1", "ACTIVATE")
        report, md, out = diagnose()
    finally:
        raise_alarm("etcd-mon-1", "DEACTIVATE")
        podman_exec(stopped, "systemctl", "start", "etcd")
    assert report["healthy"] is False
    down = [m for m in report["members"] if m["name"] == stopped][0]
    assert down["answers"] is False
    texts = [r["text"] for r in report["recommendations"] if r["severity"] == "critical"]
    assert any(t.startswith("Member %s does not answer" % stopped) for t in texts), texts
    assert any("exactly the quorum" in t for t in texts), texts
    assert report["alarms"] == [{"member": "etcd-mon-1", "alarm": "NOSPACE"}]
    assert any(t.startswith("NOSPACE alarm raised by etcd-mon-1") for t in texts), texts
    assert not report["hosts"][stopped]["metrics_read"]
    assert "- NOSPACE on etcd-mon-1" in md and "needs attention" in md


# Runs on a member: POST a JSON body to etcd's v3 gateway on 127.0.0.1 with the member's etcdctl certificate.
GATEWAY = r"""
import json, os, ssl, sys, urllib.request
env = dict(ln.strip().split("=", 1) for ln in open("/etc/etcd/etcdctl.env") if "=" in ln and not ln.startswith("#"))
ctx = ssl.create_default_context(cafile=env["ETCDCTL_CACERT"])
ctx.load_cert_chain(env["ETCDCTL_CERT"], env["ETCDCTL_KEY"])
req = urllib.request.Request("https://127.0.0.1:2379" + sys.argv[1], data=sys.argv[2].encode(), method="POST")
print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())
"""


def gateway(member, path, body):
    proc = podman_exec(member, "python3", "-c", GATEWAY, path, json.dumps(body))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def raise_alarm(member, action):
    """Activate or deactivate a NOSPACE alarm for member through etcd's maintenance API, from member itself."""
    member_id = gateway(member, "/v3/maintenance/status", {})["header"]["member_id"]
    gateway(member, "/v3/maintenance/alarm", {"action": action, "memberID": member_id, "alarm": "NOSPACE"})
    listed = podman_exec(member, "bash", "-lc", "etcdctl alarm list").stdout
    assert ("NOSPACE" in listed) == (action == "ACTIVATE"), listed


def test_cluster_healthy_again():
    def healthy():
        r = query('sum(up{job="etcd"})')
        return r and r[0]["value"][1] == "3"
    wait_for("all etcd targets up again", healthy, 90)
    proc = podman_exec("etcd-mon-1", "bash", "-lc", "etcdctl endpoint health --cluster && etcdctl alarm list")
    assert proc.returncode == 0 and "NOSPACE" not in proc.stdout, proc.stdout + proc.stderr


def test_dashboard_metrics_are_exported():
    """Every metric the dashboard reads is in this Prometheus (the certificate metrics once the pki role writes
    them). QUORUM_WRITE_LAB_METRICS=1 rewrites files/grafana/tests/lab-metric-names.txt from this scrape."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("dashboard_test", os.path.join(REPO, "tests", "unit",
                                                                                 "test_dashboard.py"))
    dashboard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dashboard)
    names = set(api("/api/v1/label/__name__/values"))
    used = set()
    for expr in dashboard.exprs(dashboard.load()):
        used |= dashboard.metric_names(expr)
    assert used - names - dashboard.CONTRACT_ONLY == set()
    if os.environ.get("QUORUM_WRITE_LAB_METRICS"):
        keep = sorted(n for n in names if re.match(r"^(etcd_|grpc_|up$)", n))
        with open(dashboard.LAB_NAMES, "w", encoding="utf-8") as f:
            f.write("# Metric names the lab exports (etcd_*, grpc_*, up), scraped from the monitoring scenario's Prometheus:\n"
                    "# QUORUM_WRITE_LAB_METRICS=1 molecule verify -s monitoring rewrites this file.\n")
            f.write("\n".join(keep) + "\n")
