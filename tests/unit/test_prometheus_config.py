"""The Prometheus configuration the monitoring role writes (roles/monitoring/templates/prometheus.yml.j2), both schemes.

ansible-playbook renders the template with the template module, the roles' defaults and vars loaded as for the role
(_common, then monitoring), for a Prometheus host and three members (one with an IPv6 address), once with
etcd_monitoring_metrics_scheme=http and once with https; `promtool check config --syntax-only` accepts both (the role
validates with the same command) and the etcd job scrapes the metrics listener over HTTP, or the client port over
HTTPS with the CA and client certificate the role installs. promtool comes with Debian's prometheus package
(lab/host-deps.sh installs it); without it the promtool test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import run_playbook
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, "roles", "monitoring", "templates", "prometheus.yml.j2")
VAR_FILES = [os.path.join(REPO, "roles", role, kind, "main.yml")
             for role in ("_common", "monitoring") for kind in ("defaults", "vars")]
PROMTOOL = shutil.which("promtool")
SCHEMES = ("http", "https")
TLS_DIR = "/etc/prometheus/etcd-pki"  # __etcd_monitoring_tls_dir, where prometheus.yml (the tasks) puts the files

PLAYBOOK = """
- name: Render the Prometheus configuration for each scheme
  hosts: prom
  gather_facts: false
  tasks:
    - name: Load the roles' defaults, then their vars
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: "{{ var_files }}"

    - name: Set the variables of the rendering
      ansible.builtin.set_fact:
        etcd_cluster_name: prod
        etcd_monitoring_alertmanagers: ["am.example:9093"]
        etcd_monitoring_extra_scrape_configs: [{job_name: other, static_configs: [{targets: ["o.example:80"]}]}]

    - name: Render the configuration with each scheme
      ansible.builtin.include_tasks: render_one.yml
      loop: "{{ schemes }}"
      loop_control:
        loop_var: scheme
"""

RENDER_ONE = """
- name: Choose the scheme
  ansible.builtin.set_fact:
    etcd_monitoring_metrics_scheme: "{{ scheme }}"

- name: Render the template
  ansible.builtin.template:
    src: "{{ template }}"
    dest: "{{ out }}/{{ scheme }}.yml"
    mode: "0600"
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus-config")
    (work / "render.yml").write_text(PLAYBOOK)
    (work / "render_one.yml").write_text(RENDER_ONE)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    members = {"m1": dict(local, ansible_host="10.0.0.1"), "m2": dict(local, ansible_host="fd00::2"),
               "m3": dict(local, ansible_host="10.0.0.3", etcd_member_name="third")}
    inventory = {"etcd": {"hosts": members}, "etcd_monitoring": {"hosts": {"prom": local}}}
    (work / "hosts.yml").write_text(json.dumps(inventory))
    variables = dict(var_files=VAR_FILES, template=TEMPLATE, out=str(work), schemes=list(SCHEMES))
    run_playbook(work / "render.yml", work / "hosts.yml", variables, cwd=work)
    return {scheme: work / ("%s.yml" % scheme) for scheme in SCHEMES}


def jobs(path):
    return {job["job_name"]: job for job in yaml.safe_load(path.read_text())["scrape_configs"]}


MEMBER_LABELS = [{"cluster": "prod", "instance": "m1"}, {"cluster": "prod", "instance": "m2"},
                 {"cluster": "prod", "instance": "m3"}]


@pytest.mark.parametrize("scheme,port", [("http", 2381), ("https", 2379)])
def test_etcd_job_scrapes_the_port_of_the_scheme(rendered, scheme, port):
    etcd = jobs(rendered[scheme])["etcd"]
    assert etcd["scheme"] == scheme
    assert [c["targets"] for c in etcd["static_configs"]] == [
        ["10.0.0.1:%d" % port], ["[fd00::2]:%d" % port], ["10.0.0.3:%d" % port]]
    assert [c["labels"] for c in etcd["static_configs"]] == MEMBER_LABELS


def test_https_presents_the_client_certificate_and_http_does_not(rendered):
    assert jobs(rendered["https"])["etcd"]["tls_config"] == {
        "ca_file": TLS_DIR + "/ca.crt", "cert_file": TLS_DIR + "/client.crt", "key_file": TLS_DIR + "/client.key"}
    assert "tls_config" not in jobs(rendered["http"])["etcd"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_other_jobs_and_settings_do_not_depend_on_the_scheme(rendered, scheme):
    config = yaml.safe_load(rendered[scheme].read_text())
    assert config["global"] == {"scrape_interval": "30s", "evaluation_interval": "30s"}
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["am.example:9093"]}]}]}
    assert config["rule_files"] == ["/etc/prometheus/rules/etcd-rules.yml"]
    by_name = jobs(rendered[scheme])
    assert list(by_name) == ["prometheus", "etcd", "etcd-node", "other"]
    assert [c["targets"] for c in by_name["etcd-node"]["static_configs"]] == [
        ["10.0.0.1:9100"], ["[fd00::2]:9100"], ["10.0.0.3:9100"]]
    assert [c["labels"] for c in by_name["etcd-node"]["static_configs"]] == MEMBER_LABELS
    assert by_name["other"] == {"job_name": "other", "static_configs": [{"targets": ["o.example:80"]}]}


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not found: install Debian's prometheus package "
                                             "(lab/host-deps.sh does)")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_promtool_accepts_the_configuration(rendered, scheme):
    proc = subprocess.run([PROMTOOL, "check", "config", "--syntax-only", str(rendered[scheme])],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
