"""playbooks/remove_member.yml against a real one-member etcd on 127.0.0.1 (issue 9, items 9.2 and 9.3).

The inventory's only member is this machine (ansible_connection=local) and its etcd is the loopback etcd of
the lab mirror's release (skipped without it).  The removals tested never touch the host itself: the last
member and unknown members are refused, and the members removed by ID or peer URL are learners that never
started and have no inventory host.
"""

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
from helpers import free_port  # noqa: E402

LAST = "is the last member; removing it would destroy the cluster. Refused."


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    binary = extract_etcd(str(tmp_path_factory.mktemp("etcd-bin")))
    if binary is None:
        pytest.skip("etcd %s release tarball not found at %s (bash lab/build-mirror.sh)" % (ETCD_VERSION, TARBALL))
    cluster = EtcdCluster(binary, str(tmp_path_factory.mktemp("etcd-solo")))
    m = cluster.new_member("solo")
    try:
        cluster.start("solo", "solo=%s" % m.peer_url)
        cluster.wait_healthy(["solo"])
        yield cluster
    finally:
        cluster.close()


def client(cluster):
    from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient
    return EtcdClient(**cluster.conn("solo"))


def run_remove(cluster, tmp_path, member, **extra):
    m = cluster.members["solo"]
    pki = tmp_path / "pki"
    pki.mkdir(exist_ok=True)
    shutil.copy(cluster.ca.cert_path, pki / "ca.crt")
    shutil.copy(cluster.client_cert, pki / "healthcheck-client.crt")
    shutil.copy(cluster.client_key, pki / "healthcheck-client.key")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inv = {"etcd": {"hosts": {"solo": dict(local, ansible_host="127.0.0.1")}},
           "all": {"hosts": {"localhost": local}}}
    (tmp_path / "hosts.yml").write_text(json.dumps(inv))
    variables = {"etcd_client_port": m.client_port, "etcd_peer_port": m.peer_port, "etcd_pki_dir": str(pki),
                 "etcd_data_dir": str(tmp_path / "data"), "etcd_config_dir": str(tmp_path / "conf"),
                 "etcd_pki_controller_dir": str(tmp_path / "controller-pki"), "etcd_remove_member": member}
    variables.update(extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         "-e", json.dumps(variables), os.path.join(REPO, "playbooks", "remove_member.yml")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())  # the output callback wraps lines


def members(cluster):
    return client(cluster).member_list()["members"]


def test_last_member_is_refused(solo, tmp_path):
    rc, out = run_remove(solo, tmp_path, "solo")
    assert rc != 0 and LAST in out, out[-3000:]
    assert "No first item" not in out
    assert [m["name"] for m in members(solo)] == ["solo"]


def test_unknown_member_is_refused_naming_the_members(solo, tmp_path):
    rc, out = run_remove(solo, tmp_path, "sollo")
    assert rc != 0, out[-3000:]
    assert "sollo is not a member of the cluster" in out and "Members: solo id=" in out, out[-3000:]
    assert [m["name"] for m in members(solo)] == ["solo"]


def test_unstarted_learner_removed_by_id_then_by_peer_url(solo, tmp_path):
    c = client(solo)
    peer = "https://127.0.0.1:%d" % free_port()
    added = c.member_add([peer], is_learner=True)["member"]
    rc, out = run_remove(solo, tmp_path, "%x" % int(added["ID"]))
    assert rc == 0, out[-3000:]
    assert "Removing <unstarted> (ID %x" % int(added["ID"]) in out
    assert [m.get("name", "") for m in members(solo)] == ["solo"]
    # the host in the inventory is not touched: the member had no host
    assert "Stop and disable etcd" not in out
    peer = "https://127.0.0.1:%d" % free_port()
    c.member_add([peer], is_learner=True)
    rc, out = run_remove(solo, tmp_path, peer)
    assert rc == 0, out[-3000:]
    assert [m.get("name", "") for m in members(solo)] == ["solo"]


def test_inventory_name_of_a_member_known_by_another_name_is_refused(solo, tmp_path):
    """The inventory calls the host solo2, the cluster knows its peer URL as solo: not mistaken for an interrupted
    removal (which would stop a running member's etcd without removing it), refused, nothing changes."""
    rc, out = run_remove(solo, tmp_path, "solo2", etcd_member_name="solo2")
    assert rc != 0, out[-3000:]
    assert "belong to member 'solo'" in out and "not 'solo2'" in out, out[-3000:]
    assert "Stop and disable etcd" not in out
    assert [m["name"] for m in members(solo)] == ["solo"]
