"""The client never resends a request that is not idempotent after a timeout (issue 9, item 9.2).

Member add/remove/promote, put and delete go to one endpoint; when its answer is lost (etcd's "request timed
out", a client-side timeout, a dropped connection) the client re-reads the cluster through the endpoints
instead of sending the request to the next endpoint, and reports the outcome it read.  The fake gateway
applies the request and then times out (cluster.faults).
"""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _client as C
from ansible_collections.quorum.etcd.plugins.modules import etcd_key, etcd_member
from helpers import free_port

NEW_PEER = "https://127.0.0.1:42399"
AFTER_APPLY = ["timeout-after-apply", "hang-after-apply", "drop-after-apply"]


def client(pki, cluster, endpoints=None, timeout=0.5):
    endpoints = endpoints or [cluster.url(mid) for mid in cluster.order]
    return C.EtcdClient(endpoints, ca_cert=pki.ca.cert_path, client_cert=pki.client_cert,
                        client_key=pki.client_key, timeout=timeout)


def sent(cluster, path):
    return len(cluster.paths_used(path))


@pytest.mark.parametrize("fault", AFTER_APPLY)
def test_member_add_not_resent_after_timeout(pki, cluster, fault):
    cluster.faults["/v3/cluster/member/add"] = fault
    res = client(pki, cluster).member_add([NEW_PEER])
    assert sent(cluster, "/v3/cluster/member/add") == 1
    assert res["member"]["peerURLs"] == [NEW_PEER] and res["outcome_verified_by_read"]
    assert len(res["members"]) == 4 and len(cluster.members) == 4
    assert sent(cluster, "/v3/cluster/member/list") >= 1  # re-read instead


def test_member_remove_not_resent_after_timeout(pki, cluster):
    target = cluster.order[2]
    cluster.faults["/v3/cluster/member/remove"] = "timeout-after-apply"
    res = client(pki, cluster).member_remove(target)
    assert sent(cluster, "/v3/cluster/member/remove") == 1 and target not in cluster.members
    assert str(target) not in [m["ID"] for m in res["members"]]


def test_member_promote_not_resent_after_timeout(pki, cluster):
    c = client(pki, cluster)
    new_id = int(c.member_add([NEW_PEER])["member"]["ID"])
    cluster.start(new_id, name="m4")
    cluster.members[new_id]["in_sync"] = True
    cluster.faults["/v3/cluster/member/promote"] = "hang-after-apply"
    res = c.member_promote(new_id)
    assert sent(cluster, "/v3/cluster/member/promote") == 1 and not cluster.members[new_id]["isLearner"]
    assert res["outcome_verified_by_read"]


def test_put_and_delete_not_resent_after_timeout(pki, cluster):
    c = client(pki, cluster)
    cluster.faults["/v3/kv/put"] = "timeout-after-apply"
    put = c.put("/k", "v")
    assert sent(cluster, "/v3/kv/put") == 1 and cluster.kv[b"/k"]["version"] == 1
    assert put["revision"] == cluster.revision and put["prev_kv"] is None and put["outcome_verified_by_read"]
    c.put("/k2", "w")
    cluster.faults["/v3/kv/deleterange"] = "drop-after-apply"
    deleted = c.delete_range("/k", prefix=True, prev_kv=True)
    assert sent(cluster, "/v3/kv/deleterange") == 1 and not cluster.kv
    assert deleted["deleted"] is None and deleted["outcome_verified_by_read"]


def test_not_applied_is_outcome_unknown_and_not_resent(pki, cluster):
    cluster.faults["/v3/cluster/member/add"] = "timeout-before-apply"
    with pytest.raises(C.EtcdOutcomeUnknownError) as e:
        client(pki, cluster, timeout=0.3).member_add([NEW_PEER])
    assert sent(cluster, "/v3/cluster/member/add") == 1 and len(cluster.members) == 3
    assert "outcome unknown" in str(e.value) and "not resent" in str(e.value)
    assert e.value.kind == "outcome_unknown" and isinstance(e.value, C.EtcdTimeoutError)


def test_refused_endpoint_fails_over_then_timeout_is_not_resent(pki, cluster):
    """A refused connection never reached etcd: the request goes to the next endpoint; that one applies it and
    times out: not resent to the third.  Reads still fail over after a timeout."""
    dead = "https://127.0.0.1:%d" % free_port()
    second, third = cluster.order[1], cluster.order[2]
    c = client(pki, cluster, endpoints=[dead, cluster.url(second), cluster.url(third)])
    cluster.faults["/v3/cluster/member/add"] = "timeout-after-apply"
    res = c.member_add([NEW_PEER])
    adds = cluster.paths_used("/v3/cluster/member/add")
    assert [a[0] for a in adds] == [second] and res["outcome_verified_by_read"] and len(cluster.members) == 4
    cluster.faults["/v3/cluster/member/list"] = "timeout-before-apply"
    before = len(cluster.paths_used("/v3/cluster/member/list"))
    assert len(c.member_list()["members"]) == 4
    assert len(cluster.paths_used("/v3/cluster/member/list")) == before + 2


def test_modules_report_the_outcome_they_read(cluster, conn, run_module):
    conn = dict(conn, endpoints=[cluster.url(mid) for mid in cluster.order], timeout=0.5)
    cluster.faults["/v3/cluster/member/add"] = "timeout-after-apply"
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    assert not res.failed, res.get("msg")
    assert res["changed"] and res["added"] and res["member"]["peer_urls"] == [NEW_PEER]
    assert res["initial_cluster"].endswith(",m4=%s" % NEW_PEER)
    assert sent(cluster, "/v3/cluster/member/add") == 1
    run_module(etcd_key, dict(conn, key="/a/1", value="x"))
    run_module(etcd_key, dict(conn, key="/a/2", value="y"))
    cluster.faults["/v3/kv/deleterange"] = "timeout-after-apply"
    res = run_module(etcd_key, dict(conn, key="/a/", prefix=True, state="absent"))
    assert not res.failed, res.get("msg")
    assert res["changed"] and res["deleted"] == 2 and not cluster.kv
    assert sent(cluster, "/v3/kv/deleterange") == 1


def test_module_promote_and_remove_not_resent(cluster, conn, run_module):
    conn = dict(conn, endpoints=[cluster.url(mid) for mid in cluster.order], timeout=0.5)
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    new_id = int(res["member"]["id"])
    cluster.start(new_id, name="m4")
    cluster.members[new_id]["in_sync"] = True
    cluster.faults["/v3/cluster/member/promote"] = "timeout-after-apply"
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], catch_up_timeout=5))
    assert not res.failed, res.get("msg")
    assert res["promoted"] and not res["member"]["is_learner"] and not cluster.members[new_id]["isLearner"]
    assert sent(cluster, "/v3/cluster/member/promote") == 1
    cluster.faults["/v3/cluster/member/remove"] = "drop-after-apply"
    res = run_module(etcd_member, dict(conn, name="m4", state="absent"))
    assert not res.failed, res.get("msg")
    assert res["removed"] and new_id not in cluster.members
    assert sent(cluster, "/v3/cluster/member/remove") == 1
