"""Every template of the roles renders with the roles' defaults, on the ansible-core that runs the test.

`make unit` runs tests/unit on the lowest ansible-core the collection claims (meta/runtime.yml,
.lab/venv-min) as well as on the pinned one (.lab/venv): issue 9, section 8 "Declared support is tested
support".  ansible-playbook of the same venv renders each roles/*/templates/*.j2 with the template module for
the first host of a 3-member inventory, the roles' defaults and vars loaded in role precedence order.
"""

from __future__ import annotations

import glob
import json
import os
import sys

import pytest
from helpers import run_playbook
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TEMPLATES = sorted(glob.glob(os.path.join(REPO, "roles", "*", "templates", "*.j2")))
# defaults first (lowest precedence), then vars; _common first (every role reads it)
ROLES = ["_common"] + sorted(os.path.basename(os.path.dirname(os.path.dirname(t))) for t in TEMPLATES
                             if not t.startswith(os.path.join(REPO, "roles", "_common") + os.sep))
# Facts the roles' tasks set before they template (configure.yml), and one data disk for the udev rule.
RUN_TIME = {"__etcd_cert_digest": "0" * 40, "__etcd_restart_digest": "1" * 40, "etcd_disk_devices": ["/dev/vdb"]}

PLAYBOOK = """
- name: Render every template of the roles
  hosts: m1
  gather_facts: false
  tasks:
    - name: Load the roles' defaults, then their vars
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: "{{ var_files }}"

    - name: Set what the roles' tasks set before they template
      ansible.builtin.set_fact:
        "{{ item.key }}": "{{ item.value }}"
      loop: "{{ run_time | dict2items }}"

    - name: Render each template
      ansible.builtin.template:
        src: "{{ item }}"
        dest: "{{ out }}/{{ item | dirname | dirname | basename }}--{{ item | basename | regex_replace('[.]j2$', '') }}"
        mode: "0600"
      loop: "{{ templates }}"
"""


def var_files():
    files = []
    roles = []
    for r in ROLES:
        if r not in roles:
            roles.append(r)
    for kind in ("defaults", "vars"):
        for r in roles:
            path = os.path.join(REPO, "roles", r, kind, "main.yml")
            if os.path.exists(path):
                files.append(path)
    return files


def _render(tmp_path_factory, templates, run_time):
    work = tmp_path_factory.mktemp("render")
    out = work / "out"
    out.mkdir()
    # lookup('file', NAME) in a template searches the play's files/ directory: put the roles' files there
    (work / "files").mkdir()
    for f in glob.glob(os.path.join(REPO, "roles", "*", "files", "*")):
        os.symlink(f, work / "files" / os.path.basename(f))
    (work / "render.yml").write_text(PLAYBOOK)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {"m%d" % i: dict(local, ansible_host="10.0.0.%d" % i) for i in (1, 2, 3)}
    (work / "hosts.yml").write_text(json.dumps({"etcd": {"hosts": hosts}}))
    variables = dict(var_files=var_files(), templates=templates, out=str(out), run_time=run_time,
                     etcd_pki_controller_dir=str(work / "pki"))
    run_playbook(work / "render.yml", work / "hosts.yml", variables, cwd=work)
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _render(tmp_path_factory, TEMPLATES, RUN_TIME)


@pytest.mark.parametrize("template", TEMPLATES, ids=[os.path.relpath(t, REPO) for t in TEMPLATES])
def test_template_renders(rendered, template):
    role = os.path.basename(os.path.dirname(os.path.dirname(template)))
    path = rendered / ("%s--%s" % (role, os.path.basename(template)[:-3]))
    text = path.read_text()
    assert text.strip(), "%s rendered empty" % template
    assert "{{" not in text and "{%" not in text


def test_etcd_config_has_the_types_etcd_expects(rendered):
    config = yaml.safe_load((rendered / "etcd--etcd.conf.yml").read_text())
    assert config["name"] == "m1"
    for key in ("heartbeat-interval", "election-timeout", "quota-backend-bytes", "snapshot-count"):
        if key in config:
            assert isinstance(config[key], int) and not isinstance(config[key], bool), (key, config[key])
    assert config["initial-advertise-peer-urls"] == "https://10.0.0.1:2380"


def test_etcd_metrics_is_written_only_when_it_is_not_etcds_default(rendered, tmp_path_factory):
    """etcd_metrics basic (etcd's default) leaves the key out, so members deployed before the variable existed keep
    their configuration and are not restarted; extensive is written."""
    assert "metrics" not in yaml.safe_load((rendered / "etcd--etcd.conf.yml").read_text())
    conf = os.path.join(REPO, "roles", "etcd", "templates", "etcd.conf.yml.j2")
    out = _render(tmp_path_factory, [conf], dict(RUN_TIME, etcd_metrics="extensive"))
    assert yaml.safe_load((out / "etcd--etcd.conf.yml").read_text())["metrics"] == "extensive"


def test_backup_script_compiles(rendered):
    compile((rendered / "backup--etcd-backup.py").read_text(), "etcd-backup.py", "exec")
