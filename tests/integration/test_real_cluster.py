"""The modules against a REAL etcd cluster (3 members + 1 joining), with client/peer certificate auth.

Run: .lab/venv/bin/pytest tests/integration -m integration
ETCD_VERSION=3.5.16 selects another release of the lab mirror (default 3.5.30); ETCD_TARBALL=path a tarball.
Skipped when the etcd release tarball of the lab mirror is absent.  The tests run in file order and share
one cluster.
"""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient, EtcdTLSError
from ansible_collections.quorum.etcd.plugins.modules import (
    etcd_key, etcd_key_info, etcd_leader, etcd_member, etcd_member_info,
)

pytestmark = pytest.mark.integration
ETCD_VERSION = os.environ.get("ETCD_VERSION", "3.5.30")


def info(run_module, cluster, **kw):
    res = run_module(etcd_member_info, dict(cluster.conn(), **kw))
    assert not res.get("failed"), res.get("msg", res)
    return res


def leader_name(run_module, cluster):
    return info(run_module, cluster)["leader"]["name"]


def test_member_info(etcd_cluster, run_module):
    res = info(run_module, etcd_cluster)
    assert sorted(m["name"] for m in res["members"]) == ["it1", "it2", "it3"]
    assert all(not m["is_learner"] for m in res["members"])
    assert res["leader"]["name"] in ("it1", "it2", "it3")
    assert len(res["endpoints"]) == 3
    for ep in res["endpoints"]:
        assert ep["ok"] and ep["healthy"] and ep["version"] == ETCD_VERSION, ep
        assert ep["db_size"] > 0 and ep["raft_term"] >= 2 and ep["raft_index"] > 0
        assert ep["leader_id"] == res["leader"]["id"]
    assert sum(ep["is_leader"] for ep in res["endpoints"]) == 1
    assert res["alarms"] == []


def test_client_hash_and_tls_error(etcd_cluster):
    c = EtcdClient(**etcd_cluster.conn("it1"))
    assert "hash" in c.hash() and "hash" in c.hash_kv()
    assert c.alarms() == []
    bad = dict(etcd_cluster.conn("it1"), client_cert=None, client_key=None)
    with pytest.raises(Exception) as e:
        EtcdClient(**bad).member_list()
    assert "TLS" in str(e.value)
    from etcd_pki import CA
    other = CA(etcd_cluster.workdir + "/other-ca", name="other")
    with pytest.raises(EtcdTLSError):
        EtcdClient(**dict(etcd_cluster.conn("it1"), ca_cert=other.cert_path)).member_list()


def test_keys(etcd_cluster, run_module):
    conn = etcd_cluster.conn()
    res = run_module(etcd_key, dict(conn, key="/it/a", value="1"), diff=True)
    assert res["changed"] and res["diff"]["after"] == {"/it/a": "1"}
    assert run_module(etcd_key, dict(conn, key="/it/a", value="1"))["changed"] is False
    run_module(etcd_key, dict(conn, key="/it/b", value="zwei"))
    res = run_module(etcd_key_info, dict(conn, key="/it/", prefix=True))
    assert [(kv["key"], kv["value"]) for kv in res["kvs"]] == [("/it/a", "1"), ("/it/b", "zwei")]
    res = run_module(etcd_key, dict(conn, key="/it/", prefix=True, state="absent"), check=True)
    assert res["changed"] and res["deleted"] == 2
    res = run_module(etcd_key, dict(conn, key="/it/", prefix=True, state="absent"))
    assert res["changed"] and res["deleted"] == 2
    assert run_module(etcd_key_info, dict(conn, key="/it/", prefix=True))["count"] == 0


def test_add_learner_start_promote(etcd_cluster, run_module):
    conn = etcd_cluster.conn()
    m4 = etcd_cluster.new_member("it4")
    args = dict(conn, name="it4", peer_urls=[m4.peer_url], promote=False)
    res = run_module(etcd_member, args, check=True)
    assert res["changed"] and res["added"]
    assert "it4" not in [m["name"] for m in info(run_module, etcd_cluster)["members"]]
    res = run_module(etcd_member, args, diff=True)
    assert not res.get("failed"), res.get("msg", res)
    assert res["changed"] and res["added"] and res["member"]["is_learner"]
    initial = res["initial_cluster"]
    assert "it4=%s" % m4.peer_url in initial and initial.count("=") == 4
    # idempotent while unstarted (no name yet: matched by peer URL)
    again = run_module(etcd_member, args)
    assert again["changed"] is False and again["member"]["id"] == res["member"]["id"]
    assert again["member"]["name"] == ""
    # promote while not started: bounded failure
    res = run_module(etcd_member, dict(args, promote=True, catch_up_timeout=1))
    assert res.get("failed") and res["error_kind"] == "learner_not_ready", res
    # the caller starts the new member with initial-cluster-state existing
    etcd_cluster.start("it4", initial, state="existing")
    etcd_cluster.wait_healthy(["it4"])
    res = run_module(etcd_member, dict(args, promote=True, catch_up_timeout=20), diff=True)
    assert not res.get("failed"), res.get("msg", res)
    assert res["changed"] and res["promoted"] and not res["member"]["is_learner"]
    assert run_module(etcd_member, dict(args, promote=True))["changed"] is False
    members = info(run_module, etcd_cluster)["members"]
    assert sorted(m["name"] for m in members) == ["it1", "it2", "it3", "it4"]
    assert not any(m["is_learner"] for m in members)


def test_leadership_transfer(etcd_cluster, run_module):
    conn = etcd_cluster.conn()
    current = leader_name(run_module, etcd_cluster)
    target = "it2" if current != "it2" else "it3"
    res = run_module(etcd_leader, dict(conn, transfer_to=target), check=True)
    assert res["changed"] and leader_name(run_module, etcd_cluster) == current
    res = run_module(etcd_leader, dict(conn, transfer_to=target, wait_timeout=10), diff=True)
    assert not res.get("failed"), res.get("msg", res)
    assert res["changed"] and leader_name(run_module, etcd_cluster) == target
    assert run_module(etcd_leader, dict(conn, transfer_to=target))["changed"] is False
    res = run_module(etcd_leader, dict(conn, away_from=target, wait_timeout=10))
    assert res["changed"] and leader_name(run_module, etcd_cluster) != target


def test_remove_leader_moves_leadership_first(etcd_cluster, run_module):
    conn = etcd_cluster.conn()
    run_module(etcd_leader, dict(conn, transfer_to="it4", wait_timeout=10))
    assert leader_name(run_module, etcd_cluster) == "it4"
    res = run_module(etcd_member, dict(conn, name="it4", state="absent", catch_up_timeout=10), diff=True)
    assert not res.get("failed"), res.get("msg", res)
    assert res["changed"] and res["removed"] and res["leader_moved_to"] in ("it1", "it2", "it3")
    etcd_cluster.stop("it4")
    res = info(run_module, etcd_cluster)
    assert sorted(m["name"] for m in res["members"]) == ["it1", "it2", "it3"]
    assert res["leader"]["name"] in ("it1", "it2", "it3")
    assert run_module(etcd_member, dict(conn, name="it4", state="absent"))["changed"] is False


def test_quorum_guard(etcd_cluster, run_module):
    etcd_cluster.stop("it3")
    conn = etcd_cluster.conn()  # it1, it2
    before = info(run_module, etcd_cluster)["members"]
    res = run_module(etcd_member, dict(conn, name="it2", state="absent"))
    assert res.get("failed") and "refusing to remove it2" in res["msg"], res
    assert "it3" in res["msg"]
    time.sleep(0.2)
    after = info(run_module, etcd_cluster)["members"]
    assert [m["id"] for m in after] == [m["id"] for m in before]
    # removing the stopped member is safe (2 healthy of 2 remaining voters)
    res = run_module(etcd_member, dict(conn, name="it3", state="absent"))
    assert not res.get("failed"), res.get("msg", res)
    assert res["changed"]
    assert sorted(m["name"] for m in info(run_module, etcd_cluster)["members"]) == ["it1", "it2"]
