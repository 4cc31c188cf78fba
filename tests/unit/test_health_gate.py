"""The health gate: etcd_member_info wait=healthy (issue 9, item 9.2 "Health gates check learners with a
serializable request and say so; one health-gate implementation serves every caller")."""

from __future__ import annotations

import threading
import time

from ansible_collections.quorum.etcd.plugins.modules import etcd_member, etcd_member_info

NEW_PEER = "https://127.0.0.1:42399"


def gate(run_module, conn, check=False, **kw):
    args = dict(conn, status_of="none", wait="healthy", wait_timeout=0, wait_delay=0.1)
    args.update(kw)
    return run_module(etcd_member_info, args, check=check)


def add_learner(cluster, conn, run_module, start=True, in_sync=True):
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    new_id = int(res["member"]["id"])
    if start:
        cluster.start(new_id, name="m4")
        cluster.members[new_id]["in_sync"] = in_sync
    return new_id


def range_calls(cluster):
    return [(mid, body) for mid, path, body in cluster.calls if path == "/v3/kv/range"]


def test_voters_linearizable_learner_serializable(cluster, conn, run_module):
    learner = add_learner(cluster, conn, run_module)
    cluster.calls.clear()
    res = gate(run_module, conn, check=True)  # reads only: check mode too
    assert not res.failed, res.get("msg")
    hg = res["health_gate"]
    assert hg["passed"] and hg["attempts"] == 1 and hg["reason"] == ""
    checks = dict((r["name"], r["check"]) for r in hg["members"])
    assert checks == {"m1": "linearizable", "m2": "linearizable", "m3": "linearizable", "m4": "serializable"}
    assert all(r["passed"] and r["endpoint"] for r in hg["members"])
    assert "3 of 3 voting members answered a linearizable read" in hg["summary"]
    assert "1 of 1 learners (m4) a serializable read" in hg["summary"]
    # each member was read through its own endpoint, the learner with a serializable read only
    reads = range_calls(cluster)
    assert sorted(mid for mid, _b in reads) == sorted(cluster.order)
    for mid, body in reads:
        assert bool(body.get("serializable")) is (mid == learner)


def test_unstarted_learner_does_not_pass(cluster, conn, run_module):
    add_learner(cluster, conn, run_module, start=False)
    res = gate(run_module, conn)
    assert res.failed and res["error_kind"] == "unhealthy"
    assert "has not started" in res["msg"] and "serializable check" in res["msg"]
    assert res["health_gate"]["passed"] is False


def test_down_member_fails_after_the_timeout(cluster, conn, run_module):
    cluster.stop(cluster.order[2])
    start = time.time()
    res = gate(run_module, conn, wait_timeout=1, wait_delay=0.2)
    elapsed = time.time() - start
    assert res.failed and "did not pass the health gate within 1s" in res["msg"]
    assert "m3 (%x) (linearizable check): does not answer" % cluster.order[2] in res["msg"]
    assert res["health_gate"]["attempts"] >= 2 and 0.8 < elapsed < 8
    assert "2 of 3 voting members" in res["msg"]


def test_waits_until_a_restarted_member_answers(cluster, conn, run_module):
    mid = cluster.order[1]
    cluster.stop(mid)
    timer = threading.Timer(0.6, cluster.start, args=(mid,))
    timer.start()
    try:
        res = gate(run_module, conn, wait_timeout=10, wait_delay=0.2)
    finally:
        timer.join()
    assert not res.failed, res.get("msg")
    assert res["health_gate"]["passed"] and res["health_gate"]["attempts"] >= 2


def test_alarm_fails_the_gate(cluster, conn, run_module):
    cluster.alarms.append((cluster.order[1], "NOSPACE"))
    res = gate(run_module, conn)
    assert res.failed and "alarm NOSPACE" in res["msg"]
    m2 = [r for r in res["health_gate"]["members"] if r["name"] == "m2"][0]
    assert not m2["passed"] and m2["reason"] == "alarm NOSPACE"


def test_quorum_loss_fails_the_gate(cluster, conn, run_module):
    cluster.stop(cluster.order[1])
    cluster.stop(cluster.order[2])
    res = gate(run_module, conn)
    assert res.failed and "cannot list the members" in res["msg"] and "no leader" in res["msg"]


def test_learner_refusing_linearizable_reads_is_why(cluster, conn, run_module):
    """What etcdctl endpoint health --cluster does (a linearizable read on every member) fails on a learner:
    the gate must not do that."""
    from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient, EtcdConnectionError
    learner = add_learner(cluster, conn, run_module)
    c = EtcdClient([cluster.url(learner)], conn["ca_cert"], conn["client_cert"], conn["client_key"])
    try:
        c.range("health", endpoint=cluster.url(learner))
        raise AssertionError("the fake learner answered a linearizable read")
    except EtcdConnectionError as e:
        assert "rpc not supported for learner" in str(e)
    assert not gate(run_module, conn).failed


def test_negative_wait_refused(cluster, conn, run_module):
    res = gate(run_module, conn, wait_timeout=-1)
    assert res.failed and "must not be negative" in res["msg"] and not cluster.calls


def test_catch_up_a_member_behind_the_leader_does_not_pass(cluster, conn, run_module):
    behind = cluster.order[1]
    cluster.members[behind]["in_sync"] = False  # applied index 1, the leader's commit index 100 or more
    res = gate(run_module, conn, wait_max_lag=10)
    assert res.failed and res["error_kind"] == "unhealthy"
    assert "behind the leader's commit index" in res["msg"] and "at most 10 allowed" in res["msg"]
    reports = dict((r["id"], r) for r in res["health_gate"]["members"])
    assert reports[str(behind)]["passed"] is False and reports[str(behind)]["raft_lag"] >= 99
    assert all(r["passed"] for mid, r in reports.items() if mid != str(behind))
    # Without the catch-up option the same cluster passes.
    assert not gate(run_module, conn).failed


def test_catch_up_passes_when_every_member_caught_up_and_names_the_leader(cluster, conn, run_module):
    res = gate(run_module, conn, wait_max_lag=10)
    assert not res.failed, res.get("msg")
    hg = res["health_gate"]
    assert hg["leader"]["name"] == cluster.members[cluster.leader]["name"]
    assert hg["leader"]["id"] == str(cluster.leader)
    assert all(r["raft_lag"] == 0 and r["version"] for r in hg["members"])
    assert "every member within 0 raft entries of the leader" in hg["summary"]


def test_catch_up_waits_until_the_member_caught_up(cluster, conn, run_module):
    behind = cluster.order[2]
    cluster.members[behind]["in_sync"] = False
    timer = threading.Timer(0.5, lambda: cluster.members[behind].update(in_sync=True))
    timer.start()
    try:
        res = gate(run_module, conn, wait_max_lag=10, wait_timeout=30)
    finally:
        timer.cancel()
    assert not res.failed, res.get("msg")
    assert res["health_gate"]["attempts"] > 1


def test_catch_up_rejects_a_negative_lag(conn, run_module):
    res = gate(run_module, conn, wait_max_lag=-1)
    assert res.failed and "must not be negative" in res["msg"]
