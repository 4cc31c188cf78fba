"""The health gate (etcd_member_info wait=healthy) against a REAL etcd cluster with a learner.

Run: .lab/venv/bin/pytest tests/integration/test_health_gate_real.py
Its own cluster (3 members, then a learner); the tests run in file order.
"""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient, EtcdError
from ansible_collections.quorum.etcd.plugins.modules import etcd_member, etcd_member_info

pytestmark = pytest.mark.integration


def gate(run_module, cluster, **kw):
    args = dict(cluster.conn(), status_of="none", wait="healthy", wait_timeout=20, wait_delay=0.2)
    args.update(kw)
    return run_module(etcd_member_info, args)


def test_voters_pass_with_linearizable_reads(etcd_cluster, run_module):
    res = gate(run_module, etcd_cluster)
    assert not res.get("failed"), res.get("msg")
    hg = res["health_gate"]
    assert hg["passed"] and [r["check"] for r in hg["members"]] == ["linearizable"] * 3
    assert hg["summary"] == "3 of 3 voting members answered a linearizable read; no alarm"


def test_learner_passes_with_a_serializable_read(etcd_cluster, run_module):
    m4 = etcd_cluster.new_member("it4")
    res = run_module(etcd_member, dict(etcd_cluster.conn(), name="it4", peer_urls=[m4.peer_url], promote=False))
    assert res["added"], res.get("msg")
    # not started yet: the gate says so and fails
    res = gate(run_module, etcd_cluster, wait_timeout=0)
    assert res.get("failed") and "has not started" in res["msg"], res
    etcd_cluster.start("it4", res_initial(run_module, etcd_cluster, m4), state="existing")
    etcd_cluster.wait_healthy(["it4"])
    # the linearizable read etcdctl endpoint health --cluster does is refused by a learner ...
    with pytest.raises(EtcdError) as e:
        EtcdClient(**etcd_cluster.conn("it4")).range("health", endpoint=m4.client_url)
    assert "rpc not supported for learner" in str(e.value)
    # ... the gate reads it serializably, and says so
    res = gate(run_module, etcd_cluster)
    assert not res.get("failed"), res.get("msg")
    checks = dict((r["name"], (r["check"], r["passed"])) for r in res["health_gate"]["members"])
    assert checks == {"it1": ("linearizable", True), "it2": ("linearizable", True), "it3": ("linearizable", True),
                      "it4": ("serializable", True)}
    assert "1 of 1 learners (it4) a serializable read" in res["health_gate"]["summary"]


def res_initial(run_module, cluster, m4):
    res = run_module(etcd_member, dict(cluster.conn(), name="it4", peer_urls=[m4.peer_url], promote=False))
    assert res["changed"] is False
    return res["initial_cluster"]


def test_stopped_member_fails_the_gate(etcd_cluster, run_module):
    etcd_cluster.stop("it3")
    res = gate(run_module, etcd_cluster, wait_timeout=1)
    assert res.get("failed") and "it3" in res["msg"] and "linearizable check" in res["msg"], res
    assert res["health_gate"]["passed"] is False
