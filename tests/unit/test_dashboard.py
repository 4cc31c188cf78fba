"""The Grafana dashboard files/grafana/etcd-dashboard.json.

- valid JSON, a Prometheus datasource variable that every panel and query uses, unique panel ids, a layout inside
  Grafana's 24 columns, the panels operators expect;
- every expression parses (promtool check rules on a throwaway rule file holding them as recording rules; skipped,
  saying so, without promtool);
- every metric an expression reads is one the lab exports: files/grafana/tests/lab-metric-names.txt lists the names
  scraped once from the monitoring scenario's etcd 3.5.30 members, node_exporter and the backup role's textfile
  (the scenario's test_dashboard_metrics_are_exported checks the same against its live Prometheus).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(REPO, "files", "grafana", "etcd-dashboard.json")
LAB_NAMES = os.path.join(REPO, "files", "grafana", "tests", "lab-metric-names.txt")
PROMTOOL = shutil.which("promtool")
# The certificate metrics come from the certificates issue (written on the members by the pki role, read by
# node_exporter): their names are the agreed contract; they are not in the lab scrape until that lands.
CONTRACT_ONLY = {"etcd_certificate_days_left", "etcd_certificate_not_after_timestamp_seconds"}

FUNCTIONS = {"sum", "min", "max", "avg", "count", "rate", "increase", "irate", "histogram_quantile", "time", "by",
             "without", "on", "ignoring", "and", "or", "unless", "bool", "label_values", "topk", "bottomk",
             "absent", "delta", "deriv", "predict_linear", "clamp_min", "clamp_max", "offset", "group_left",
             "group_right", "abs", "vector", "scalar", "last_over_time", "max_over_time", "min_over_time"}


def load():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def exprs(dash):
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def concrete(expr):
    """The expression with Grafana's variables replaced by values Prometheus accepts."""
    return expr.replace("$__rate_interval", "5m").replace("$cluster", "lab")


def metric_names(expr):
    """Metric names an expression reads: identifiers outside label matchers, groupings, ranges and strings that are
    not functions or keywords."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', concrete(expr))
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        rest = e[m.end():].lstrip()
        if m.group(0) in FUNCTIONS or rest.startswith("("):
            continue
        names.add(m.group(0))
    return names


def test_dashboard_structure():
    dash = load()
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["cluster"]["datasource"]["uid"] == "${datasource}"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            assert 'cluster="$cluster"' in t["expr"], (p["title"], t["expr"])
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and g["w"] > 0 and g["h"] > 0, p["title"]


@pytest.mark.parametrize("words", [
    ("members up",), ("leader",), ("leader changes",), ("request rate",), ("latency",), ("database size", "quota"),
    ("fsync",), ("commit",), ("peer round trip",), ("proposals",), ("backup age",), ("certificate days left",)])
def test_expected_panels(words):
    titles = [p["title"].lower() for p in load()["panels"]]
    assert any(all(w in t for w in words) for t in titles), words


def test_metric_name_extraction():
    assert metric_names('histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job="x"}[$__rate_interval])))') \
        == {"a_bucket"}
    assert metric_names('time() - b{job="x"}') == {"b"}
    assert metric_names('max(c{job="e"} / d{job="e"})') == {"c", "d"}


def test_every_metric_is_exported_by_the_lab():
    with open(LAB_NAMES, encoding="utf-8") as f:
        exported = set(line.strip() for line in f if line.strip() and not line.startswith("#"))
    used = set()
    for e in exprs(load()):
        used |= metric_names(e)
    assert used - exported - CONTRACT_ONLY == set()
    assert CONTRACT_ONLY & used, "the certificate panel reads the certificate metrics"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not found: install Debian's prometheus package "
                                             "(lab/host-deps.sh does)")
def test_every_expression_parses(tmp_path):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:expr_%d" % i, "expr": concrete(e)} for i, e in enumerate(exprs(load()))]}]}
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump(rules))
    proc = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
