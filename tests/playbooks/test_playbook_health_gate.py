"""roles/_common/tasks/health.yml, the one health gate every caller includes, against a real loopback etcd
with one voting member and one learner (the lab mirror's release; skipped without it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
from etcd_local import ETCD_VERSION, TARBALL, EtcdCluster, extract_etcd  # noqa: E402

PLAYBOOK = """
- name: Gate
  hosts: etcd
  gather_facts: false
  tasks:
    - name: Include the health gate
      ansible.builtin.include_role:
        name: quorum.etcd._common
        tasks_from: health.yml
      vars:
        etcd_health_gate_when: in the test
"""


@pytest.fixture(scope="module")
def with_learner(tmp_path_factory):
    binary = extract_etcd(str(tmp_path_factory.mktemp("etcd-bin")))
    if binary is None:
        pytest.skip("etcd %s release tarball not found at %s (bash lab/build-mirror.sh)" % (ETCD_VERSION, TARBALL))
    cluster = EtcdCluster(binary, str(tmp_path_factory.mktemp("etcd-gate")))
    v, lrn = cluster.new_member("voter"), cluster.new_member("lrn")
    try:
        cluster.start("voter", "voter=%s" % v.peer_url)
        cluster.wait_healthy(["voter"])
        from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient
        EtcdClient(**cluster.conn("voter")).member_add([lrn.peer_url], is_learner=True)
        cluster.start("lrn", "voter=%s,lrn=%s" % (v.peer_url, lrn.peer_url), state="existing")
        cluster.wait_healthy(["lrn"])
        yield cluster
    finally:
        cluster.close()


def run_gate(cluster, tmp_path, **extra):
    m = cluster.members["voter"]
    pki = tmp_path / "pki"
    pki.mkdir(exist_ok=True)
    shutil.copy(cluster.ca.cert_path, pki / "ca.crt")
    shutil.copy(cluster.client_cert, pki / "healthcheck-client.crt")
    shutil.copy(cluster.client_key, pki / "healthcheck-client.key")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (tmp_path / "hosts.yml").write_text(json.dumps({"etcd": {"hosts": {"voter": local}}}))
    (tmp_path / "gate.yml").write_text(PLAYBOOK)
    variables = dict({"etcd_client_port": m.client_port, "etcd_pki_dir": str(pki)}, **extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         "-e", json.dumps(variables), str(tmp_path / "gate.yml")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_gate_passes_with_a_learner_and_says_how(with_learner, tmp_path):
    rc, out = run_gate(with_learner, tmp_path)
    assert rc == 0, out[-3000:]
    out = " ".join(out.split())  # the output callback wraps long lines
    assert "a serializable one in the test" in out  # the task name ends with etcd_health_gate_when
    assert ("1 of 1 voting members answered a linearizable read, 1 of 1 learners (lrn) a serializable read "
            "(learners refuse linearizable reads); no alarm") in out, out[-3000:]


def test_gate_fails_in_time_when_the_learner_is_down(with_learner, tmp_path):
    with_learner.stop("lrn")
    rc, out = run_gate(with_learner, tmp_path, etcd_health_gate_retries=2, etcd_health_gate_delay=0.5)
    out = " ".join(out.split())
    assert rc != 0 and "did not pass the health gate within 1s" in out, out[-3000:]
    assert "lrn" in out and "serializable check" in out
