"""The collection's Prometheus alert rules (roles/monitoring/templates/prometheus/etcd-rules.yml.j2).

- files/prometheus/etcd-rules.yml is the template rendered with the role's defaults, and
  files/prometheus/etcd-prometheusrule.yml the same groups as a Kubernetes PrometheusRule (QUORUM_REGENERATE=1
  rewrites both);
- `promtool check rules` accepts every rendering, `promtool test rules` passes files/prometheus/tests/*.yml: every
  alert has a case where it fires and one where it does not, with exact labels and annotations (promtool compares
  them exactly); the extensive-metrics rendering has a test file of its own;
- every alert of the rendering is covered by a test file.

promtool comes with Debian's prometheus package (lab/host-deps.sh installs it); without it the promtool tests are
skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(REPO, "roles", "monitoring")
# In a subdirectory of templates/: its output holds Prometheus' own {{ }} templates on purpose, so the generic check of
# tests/unit/test_templates_render.py (roles/*/templates/*.j2, nothing like {{ left) does not apply; this file
# renders it and checks the result with promtool instead.
TEMPLATE = os.path.join(ROLE, "templates", "prometheus", "etcd-rules.yml.j2")
RULES = os.path.join(REPO, "files", "prometheus", "etcd-rules.yml")
PROMETHEUS_RULE = os.path.join(REPO, "files", "prometheus", "etcd-prometheusrule.yml")
TESTS = os.path.join(REPO, "files", "prometheus", "tests")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not found: install Debian's prometheus package (lab/host-deps.sh does)")


def role_vars(**overrides):
    """The role's defaults and vars, with overrides, the way Ansible resolves them for the rules template."""
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)
    values.update(overrides)
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as f:
        internal = yaml.safe_load(f)
    values["__etcd_monitoring_for"] = dict(internal["__etcd_monitoring_for_defaults"],
                                           **values["etcd_monitoring_alert_for"])
    return values


def render(**overrides):
    """The rules template rendered as Ansible's template module does (its #jinja2: header sets the delimiters)."""
    with open(TEMPLATE, encoding="utf-8") as f:
        header, body = f.read().split("\n", 1)
    assert header.startswith("#jinja2:")
    options = {}
    for item in header[len("#jinja2:"):].split(","):
        key, value = (part.strip() for part in item.split(":", 1))
        options[key] = {"True": True, "False": False}.get(value, value.strip("'\""))
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, **options)
    return env.from_string(body).render(**role_vars(**overrides))


def prometheus_rule(rules_text):
    """The PrometheusRule (monitoring.coreos.com/v1) holding the same groups: the rule file's text under spec."""
    groups = rules_text[rules_text.index("\ngroups:") + 1:]
    return ("---\n# Generated from files/prometheus/etcd-rules.yml (tests/unit/test_prometheus_rules.py); do not edit.\n"
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: etcd-rules\n"
            "  labels:\n    app.kubernetes.io/part-of: quorum-etcd\nspec:\n"
            + "".join(("  " + line if line.strip() else line) for line in groups.splitlines(True)))


def alerts(rules_text):
    return {r["alert"] for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"] if "alert" in r}


def test_prometheus_rule_holds_the_same_groups():
    text = render()
    resource = yaml.safe_load(prometheus_rule(text))
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"] == yaml.safe_load(text)


def test_static_copies_are_the_default_rendering():
    text = render()
    rule = prometheus_rule(text)
    if os.environ.get("QUORUM_REGENERATE"):
        for path, content in ((RULES, text), (PROMETHEUS_RULE, rule)):
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
    with open(RULES, encoding="utf-8") as f:
        assert f.read() == text, "files/prometheus/etcd-rules.yml is stale: QUORUM_REGENERATE=1 pytest %s" % __file__
    with open(PROMETHEUS_RULE, encoding="utf-8") as f:
        assert f.read() == rule, "etcd-prometheusrule.yml is stale: QUORUM_REGENERATE=1 pytest %s" % __file__


def test_slow_request_rule_follows_the_metrics_setting():
    basic = render()
    extensive = render(etcd_monitoring_etcd_metrics="extensive")
    assert "etcd_server_slow_apply_total" in basic and "grpc_server_handling_seconds_bucket" not in basic
    assert "grpc_server_handling_seconds_bucket" in extensive and "etcd_server_slow_apply_total" not in extensive


def test_variables_reach_the_rules():
    text = render(etcd_monitoring_selector='job="etcd-prod"', etcd_monitoring_cluster_label="etcd_cluster",
                  etcd_monitoring_alert_for={"etcdMembersDown": "1m"}, etcd_monitoring_backup_max_age_hours=2)
    groups = yaml.safe_load(text)["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"]}
    assert rules["etcdMembersDown"]["for"] == "1m"
    assert rules["etcdMembersDown"]["expr"] == 'sum by (etcd_cluster) (up{job="etcd-prod"} == bool 0) > 0'
    assert rules["etcdQuorumAtRisk"]["for"] == "5m"
    assert "> 2 * 3600" in rules["etcdBackupTooOld"]["expr"]
    assert "job=\"etcd\"" not in text


def promtool(*args, cwd=None):
    proc = subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, cwd=cwd, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@needs_promtool
@pytest.mark.parametrize("metrics", ["basic", "extensive"])
def test_promtool_check_rules(tmp_path, metrics):
    path = tmp_path / "etcd-rules.yml"
    path.write_text(render(etcd_monitoring_etcd_metrics=metrics))
    rc, out = promtool("check", "rules", str(path))
    assert rc == 0, out


def test_every_alert_is_tested_firing_and_not_firing():
    """Each alert of each rendering appears in its test file with at least one case where it fires (exp_alerts not
    empty) and one where it does not (exp_alerts empty)."""
    for metrics, test_file in (("basic", "etcd-rules.test.yml"), ("extensive", "etcd-rules-extensive.test.yml")):
        with open(os.path.join(TESTS, test_file), encoding="utf-8") as f:
            cases = [c for t in yaml.safe_load(f)["tests"] for c in t.get("alert_rule_test", [])]
        fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
        quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
        wanted = alerts(render(etcd_monitoring_etcd_metrics=metrics))
        if metrics == "extensive":
            wanted = {"etcdRequestsSlow"}
        assert wanted - fires == set(), "%s: no firing case" % test_file
        assert wanted - quiet == set(), "%s: no quiet case" % test_file


@needs_promtool
@pytest.mark.parametrize("metrics,test_file", [("basic", "etcd-rules.test.yml"),
                                               ("extensive", "etcd-rules-extensive.test.yml")])
def test_promtool_test_rules(tmp_path, metrics, test_file):
    (tmp_path / "etcd-rules.yml").write_text(render(etcd_monitoring_etcd_metrics=metrics))
    shutil.copy(os.path.join(TESTS, test_file), tmp_path / test_file)
    rc, out = promtool("test", "rules", test_file, cwd=str(tmp_path))
    assert rc == 0, out
