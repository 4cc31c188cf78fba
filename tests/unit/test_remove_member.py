"""etcd_member state=absent by name, peer URL or hex ID; unknown members and the last member refused
(issue 9, items 9.2 "remove by peer URL or ID" and 9.3 "remove_member of a name not in the cluster")."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _member as M
from ansible_collections.quorum.etcd.plugins.modules import etcd_member
from fake_etcd import FakeCluster

NEW_PEER = "https://127.0.0.1:42399"


def hex_id(mid):
    return "%x" % mid


def test_remove_by_hex_member_id(cluster, conn, run_module):
    target = cluster.order[2]
    res = run_module(etcd_member, dict(conn, member_id=hex_id(target), state="absent"), diff=True)
    assert not res.failed, res.get("msg")
    assert res["changed"] and res["removed"] and target not in cluster.members
    assert res["member"]["name"] == "m3"
    assert run_module(etcd_member, dict(conn, member_id=hex_id(target), state="absent"))["changed"] is False


@pytest.mark.parametrize("how", ["name", "peer URL", "ID"])
def test_remove_by_member_string(cluster, conn, run_module, how):
    target = cluster.order[1]
    ref = {"name": "m2", "peer URL": cluster.members[target]["peerURLs"][0], "ID": hex_id(target).upper()}[how]
    res = run_module(etcd_member, dict(conn, member=ref, state="absent", must_exist=True))
    assert not res.failed, res.get("msg")
    assert res["removed"] and res["matched_by"] == how and target not in cluster.members


def test_remove_unstarted_member_by_id(cluster, conn, run_module):
    added = run_module(etcd_member, dict(conn, name="m4", peer_urls=[NEW_PEER], promote=False))
    new_id = int(added["member"]["id"])
    res = run_module(etcd_member, dict(conn, member=hex_id(new_id), state="absent", must_exist=True), check=True)
    assert res["changed"] and res["removed"] and new_id in cluster.members  # check mode: nothing removed
    res = run_module(etcd_member, dict(conn, member=hex_id(new_id), state="absent", must_exist=True))
    assert res["removed"] and res["member"]["name"] == "" and new_id not in cluster.members


def test_unknown_member_refused_naming_the_members(cluster, conn, run_module):
    before = cluster.member_list()
    res = run_module(etcd_member, dict(conn, member="m22", state="absent", must_exist=True))
    assert res.failed and "m22 is not a member of the cluster" in res["msg"] and "nothing was removed" in res["msg"]
    for name in ("m1", "m2", "m3"):
        assert name in res["msg"]
    assert cluster.member_list() == before and not cluster.paths_used("/v3/cluster/member/remove")
    res = run_module(etcd_member, dict(conn, name="m22", state="absent", must_exist=True))
    assert res.failed and "name=m22 is not a member" in res["msg"]
    # without must_exist, a missing member is not a change (idempotent removal)
    assert run_module(etcd_member, dict(conn, name="m22", state="absent"))["changed"] is False


def test_bad_member_id_refused_before_any_request(cluster, conn, run_module):
    res = run_module(etcd_member, dict(conn, member_id="not-hex", state="absent"))
    assert res.failed and "not a member ID" in res["msg"]
    assert not cluster.calls
    res = run_module(etcd_member, dict(conn, member_id="abc", name="m1", peer_urls=[NEW_PEER]))
    assert res.failed and "only with state=absent" in res["msg"] and not cluster.calls
    res = run_module(etcd_member, dict(conn, member="m1", name="m1", state="absent"))
    assert res.failed and "mutually exclusive" in res["msg"] and not cluster.calls


def test_last_member_refused_with_the_documented_message(pki, run_module):
    solo = FakeCluster(pki.ca, names=("solo",))
    try:
        conn = dict(endpoints=[solo.url(solo.order[0])], ca_cert=pki.ca.cert_path, client_cert=pki.client_cert,
                    client_key=pki.client_key, timeout=2)
        res = run_module(etcd_member, dict(conn, member="solo", state="absent", must_exist=True))
        assert res.failed
        assert "is the last member; removing it would destroy the cluster. Refused." in res["msg"]
        assert len(solo.members) == 1 and not solo.paths_used("/v3/cluster/member/remove")
    finally:
        solo.close()


def test_resolve_member_ref():
    a = M.parse_member({"ID": "171", "name": "a", "peerURLs": ["https://10.0.0.1:2380"]})  # id ab
    b = M.parse_member({"ID": "12", "name": "ab", "peerURLs": ["https://10.0.0.2:2380"]})
    new = M.parse_member({"ID": "4660", "peerURLs": ["https://[fd00::9]:2380"]})  # id 1234, unstarted
    members = [a, b, new]
    assert M.resolve_member_ref(members, "a") == (a, "name")
    assert M.resolve_member_ref(members, "1234") == (new, "ID")
    assert M.resolve_member_ref(members, "0x1234") == (new, "ID")
    assert M.resolve_member_ref(members, "https://[FD00:0::9]:2380/") == (new, "peer URL")
    assert M.resolve_member_ref(members, "nobody") == (None, None)
    with pytest.raises(M.MemberMatchError):  # the name of b, the ID of a
        M.resolve_member_ref(members, "ab")
    with pytest.raises(M.MemberMatchError):
        M.resolve_member_ref(members, " ")
    assert M.parse_member_id("8E9E05C52164694D") == 0x8E9E05C52164694D
    for bad in ("", "0", "xyz", "1" * 17, "abc\n"):
        with pytest.raises(ValueError):
            M.parse_member_id(bad if bad != "abc\n" else "ab c")
