"""The modules' decisions, run through main() against the fake HTTPS gateway."""

from __future__ import annotations

import time

from ansible_collections.quorum.etcd.plugins.modules import (
    etcd_key, etcd_key_info, etcd_leader, etcd_member, etcd_member_info,
)

NEW_PEER = "https://127.0.0.1:42399"


def names(cluster):
    return sorted(m["name"] for m in cluster.members.values())


# -- etcd_member: present ------------------------------------------------------------------

def test_present_existing_member_is_unchanged(cluster, conn, run_module):
    m1 = cluster.members[cluster.order[1]]
    res = run_module(etcd_member, dict(conn, name="m2", peer_urls=list(m1["peerURLs"])), diff=True)
    assert not res.failed and res["changed"] is False and res["actions"] == []
    assert res["member"]["id"] == str(cluster.order[1])
    expected = ",".join("%s=%s" % (m["name"], m["peerURLs"][0]) for m in (cluster.members[i] for i in cluster.order))
    assert res["initial_cluster"] == expected
    assert res["diff"]["before"] == res["diff"]["after"]
    assert not cluster.paths_used("/v3/cluster/member/add")


def test_add_learner_without_promote_then_promote(cluster, conn, run_module):
    args = dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False)
    res = run_module(etcd_member, args, diff=True)
    assert res["changed"] and res["added"] and not res["promoted"]
    new_id = int(res["member"]["id"])
    assert cluster.members[new_id]["isLearner"]
    assert res["initial_cluster"].endswith(",m4=%s" % NEW_PEER)
    assert res["initial_cluster_state"] == "existing"
    assert "m4" not in res["diff"]["before"] and "learner" in res["diff"]["after"]

    # second run: learner exists (unstarted, no name) -> matched by peer URL, nothing to do
    again = run_module(etcd_member, args)
    assert again["changed"] is False and again["member"]["id"] == str(new_id)
    assert len(cluster.paths_used("/v3/cluster/member/add")) == 1

    # the caller starts etcd on the new member; it catches up; promote
    cluster.start(new_id, name="m4")
    cluster.members[new_id]["in_sync"] = True
    res = run_module(etcd_member, dict(args, promote=True, catch_up_timeout=5))
    assert res["changed"] and res["promoted"] and not res["added"]
    assert not cluster.members[new_id]["isLearner"]
    assert run_module(etcd_member, dict(args, promote=True))["changed"] is False


def test_learner_not_caught_up_within_timeout(cluster, conn, run_module):
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    new_id = int(res["member"]["id"])
    cluster.start(new_id, name="m4")  # running but never in sync
    start = time.time()
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], catch_up_timeout=1))
    elapsed = time.time() - start
    assert res.failed and res["error_kind"] == "learner_not_ready"
    assert "not in sync" in res["msg"] and "after 1s" in res["msg"]
    assert "Learner applied index 1, leader index" in res["msg"]
    assert 0.8 < elapsed < 5
    assert len(cluster.paths_used("/v3/cluster/member/promote")) >= 3
    assert cluster.members[new_id]["isLearner"] and res["changed"] is False


def test_add_and_promote_in_one_run_fails_when_not_started(cluster, conn, run_module):
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], catch_up_timeout=0.5))
    assert res.failed and res["changed"] is True and res["added"] is True
    assert "does not answer" in res["msg"] and "initial-cluster-state existing" in res["msg"]
    assert res["initial_cluster"].endswith("m4=%s" % NEW_PEER)


def test_present_check_mode_changes_nothing(cluster, conn, run_module):
    before = cluster.member_list()
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER]), check=True, diff=True)
    assert res["changed"] and res["added"] and res["promoted"]
    assert res["actions"] == ["add learner m4", "promote m4"]
    assert "m4" not in res["diff"]["before"] and NEW_PEER in res["diff"]["after"]
    assert cluster.member_list() == before
    assert not cluster.paths_used("/v3/cluster/member/add")


def test_name_and_url_of_different_members_fail(cluster, conn, run_module):
    other_url = cluster.members[cluster.order[2]]["peerURLs"][0]
    res = run_module(etcd_member, dict(conn, name="m2", peer_urls=[other_url]))
    assert res.failed and "match different members" in res["msg"]


def test_peer_url_update(cluster, conn, run_module):
    res = run_module(etcd_member, dict(conn, name="m2", peer_urls=["https://127.0.0.1:42999"]))
    assert res.failed and "update_peer_urls=true" in res["msg"]
    assert not cluster.paths_used("/v3/cluster/member/update")
    res = run_module(etcd_member, dict(conn, name="m2", peer_urls=["https://127.0.0.1:42999"], update_peer_urls=True),
                     diff=True)
    assert res["changed"] and cluster.members[cluster.order[1]]["peerURLs"] == ["https://127.0.0.1:42999"]


# -- etcd_member: absent -------------------------------------------------------------------

def test_remove_by_name_and_idempotent(cluster, conn, run_module):
    target = cluster.order[2]
    res = run_module(etcd_member, dict(conn, name="m3", state="absent"), diff=True)
    assert res["changed"] and res["removed"] and target not in cluster.members
    assert "m3" in res["diff"]["before"] and "m3" not in res["diff"]["after"]
    again = run_module(etcd_member, dict(conn, name="m3", state="absent"))
    assert again["changed"] is False


def test_remove_unstarted_member_by_peer_url(cluster, conn, run_module):
    run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    # name does not match (member never started), peer URL does
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], state="absent"))
    assert res["changed"] and names(cluster) == ["m1", "m2", "m3"]


def test_removal_breaking_quorum_is_refused(cluster, conn, run_module):
    cluster.stop(cluster.order[2])  # m3 down
    before = cluster.member_list()
    res = run_module(etcd_member, dict(conn, name="m2", state="absent"))
    assert res.failed and "refusing to remove m2" in res["msg"] and "fewer than the majority" in res["msg"]
    assert "m3" in res["msg"] and str(cluster.order[2]) in res["unhealthy"]
    assert cluster.member_list() == before
    assert not cluster.paths_used("/v3/cluster/member/remove")
    # removing the dead member itself is allowed
    res = run_module(etcd_member, dict(conn, name="m3", state="absent"))
    assert res["changed"] and names(cluster) == ["m1", "m2"]


def test_leader_removal_moves_leadership_first(cluster, conn, run_module):
    leader = cluster.order[0]
    assert cluster.leader == leader
    res = run_module(etcd_member, dict(conn, name="m1", state="absent"))
    assert not res.failed, res
    assert res["changed"] and res["leader_moved_to"] in ("m2", "m3")
    assert res["actions"][0].startswith("move leadership from m1")
    assert leader not in cluster.members and cluster.leader != leader
    moves = cluster.paths_used("/v3/maintenance/transfer-leadership")
    assert moves and moves[0][0] == leader  # sent to the leader itself
    removes = cluster.paths_used("/v3/cluster/member/remove")
    assert removes[0][0] != leader  # sent to another member


def test_absent_check_mode_changes_nothing(cluster, conn, run_module):
    before = cluster.member_list()
    res = run_module(etcd_member, dict(conn, name="m1", state="absent"), check=True, diff=True)
    assert res["changed"] and res["removed"] and res["leader_moved_to"]
    assert cluster.member_list() == before and cluster.leader == cluster.order[0]
    assert not cluster.paths_used("/v3/maintenance/transfer-leadership")
    assert "m1" not in res["diff"]["after"]


def test_tls_error_message_wrong_ca(cluster, conn, run_module, pki):
    res = run_module(etcd_member_info, dict(conn, ca_cert=pki.other_ca.cert_path))
    assert res.failed and res["error_kind"] == "tls"
    assert "TLS/certificate problem" in res["msg"] and "certificate verify failed" in res["msg"]


# -- etcd_member_info ----------------------------------------------------------------------

def test_member_info(cluster, conn, run_module):
    cluster.alarms.append((cluster.order[1], "NOSPACE"))
    cluster.stop(cluster.order[2])
    res = run_module(etcd_member_info, conn)
    assert not res.failed and res["changed"] is False
    assert [m["name"] for m in res["members"]] == ["m1", "m2", "m3"]
    m1 = res["members"][0]
    assert m1["id"] == str(cluster.order[0]) and m1["id_hex"] == "%x" % cluster.order[0] and m1["is_leader"]
    assert res["leader"]["name"] == "m1"
    eps = {e["member_name"]: e for e in res["endpoints"]}
    assert eps["m1"]["ok"] and eps["m1"]["is_leader"] and eps["m1"]["version"] == "3.5.30"
    assert eps["m1"]["db_size"] == 24576 and eps["m1"]["db_size_in_use"] == 16384
    assert eps["m1"]["raft_term"] == 2 and eps["m1"]["raft_index"] == 100 and eps["m1"]["healthy"]
    assert eps["m2"]["alarms"] == ["NOSPACE"] and not eps["m2"]["is_leader"]
    assert not eps["m3"]["ok"] and eps["m3"]["error_kind"] == "unreachable" and not eps["m3"]["healthy"]
    assert res["alarms"] == [{"member_id": str(cluster.order[1]), "member_id_hex": "%x" % cluster.order[1],
                              "alarm": "NOSPACE"}]


# -- etcd_leader ---------------------------------------------------------------------------

def test_leader_transfer_to_and_idempotence(cluster, conn, run_module):
    res = run_module(etcd_leader, dict(conn, transfer_to="m3"), check=True, diff=True)
    assert res["changed"] and cluster.leader == cluster.order[0]
    assert res["diff"] == {"before": {"leader": "m1"}, "after": {"leader": "m3"}}
    res = run_module(etcd_leader, dict(conn, transfer_to="m3"))
    assert res["changed"] and res["leader"]["name"] == "m3" and cluster.leader == cluster.order[2]
    assert run_module(etcd_leader, dict(conn, transfer_to="m3"))["changed"] is False


def test_leader_away_from(cluster, conn, run_module):
    assert run_module(etcd_leader, dict(conn, away_from="m2"))["changed"] is False
    cluster.stop(cluster.order[1])
    res = run_module(etcd_leader, dict(conn, away_from="m1"))
    assert res["changed"] and res["leader"]["name"] == "m3"  # m2 is down
    assert run_module(etcd_leader, dict(conn, away_from="nope"))["changed"] is False


def test_leader_transfer_to_unhealthy_refused(cluster, conn, run_module):
    cluster.stop(cluster.order[1])
    res = run_module(etcd_leader, dict(conn, transfer_to="m2"))
    assert res.failed and "not healthy" in res["msg"]


# -- etcd_key ------------------------------------------------------------------------------

def test_key_put_get_delete(cluster, conn, run_module):
    res = run_module(etcd_key, dict(conn, key="/cfg/a", value="1"), check=True, diff=True)
    assert res["changed"] and not cluster.kv
    assert res["diff"] == {"before": {}, "after": {"/cfg/a": "1"}}
    res = run_module(etcd_key, dict(conn, key="/cfg/a", value="1"), diff=True)
    assert res["changed"] and cluster.kv[b"/cfg/a"]["value"] == b"1"
    assert run_module(etcd_key, dict(conn, key="/cfg/a", value="1"))["changed"] is False
    run_module(etcd_key, dict(conn, key="/cfg/b", value="two"))
    res = run_module(etcd_key_info, dict(conn, key="/cfg/", prefix=True))
    assert res["changed"] is False and res["count"] == 2
    assert [(kv["key"], kv["value"]) for kv in res["kvs"]] == [("/cfg/a", "1"), ("/cfg/b", "two")]
    res = run_module(etcd_key_info, dict(conn, key="/cfg/b"))
    assert res["value"] == "two" and res["exists"]
    res = run_module(etcd_key, dict(conn, key="/cfg/", prefix=True, state="absent"), check=True)
    assert res["changed"] and res["deleted"] == 2 and len(cluster.kv) == 2
    res = run_module(etcd_key, dict(conn, key="/cfg/", prefix=True, state="absent"), diff=True)
    assert res["changed"] and res["deleted"] == 2 and not cluster.kv
    assert run_module(etcd_key, dict(conn, key="/cfg/", prefix=True, state="absent"))["changed"] is False


def test_key_hide_value(cluster, conn, run_module):
    res = run_module(etcd_key, dict(conn, key="/s/token", value="s3cr3t-value", hide_value=True), diff=True)
    assert res["changed"] and "s3cr3t-value" not in str(res)
    assert cluster.kv[b"/s/token"]["value"] == b"s3cr3t-value"
    res = run_module(etcd_key_info, dict(conn, key="/s/token", hide_value=True))
    assert "s3cr3t-value" not in str(res) and res["value"] == "VALUE_HIDDEN"


def test_key_permission_denied(cluster, conn, run_module):
    cluster.denied_paths.add("/v3/kv/range")
    res = run_module(etcd_key_info, dict(conn, key="/x"))
    assert res.failed and res["error_kind"] == "auth" and "permission denied" in res["msg"]


def test_key_info_keys_only_and_missing(cluster, conn, run_module):
    run_module(etcd_key, dict(conn, key="/k/1", value="v"))
    res = run_module(etcd_key_info, dict(conn, key="/k/", prefix=True, keys_only=True))
    assert res["kvs"][0]["key"] == "/k/1" and "value" not in res["kvs"][0] and res["value"] is None
    res = run_module(etcd_key_info, dict(conn, key="/missing"))
    assert res["exists"] is False and res["count"] == 0 and res["changed"] is False


def test_key_rejects_prefix_with_present(cluster, conn, run_module):
    res = run_module(etcd_key, dict(conn, key="/p/", prefix=True, value="x"))
    assert res.failed and "prefix=true" in res["msg"]
