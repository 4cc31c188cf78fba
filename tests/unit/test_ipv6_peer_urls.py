"""etcd_member compares IPv6 peer URLs after normalising the address (issue 9, item 9.3)."""

from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.modules import etcd_member


def test_present_with_other_ipv6_spelling_is_unchanged(cluster, conn, run_module):
    mid = cluster.order[1]
    cluster.members[mid]["peerURLs"] = ["https://[fd00::2]:2380"]
    # same address, other spelling: no "update_peer_urls" failure, no member update, no add
    res = run_module(etcd_member, dict(conn, name="m2", peer_urls=["https://[FD00:0:0::2]:2380"]), diff=True)
    assert not res.failed, res.get("msg")
    assert res["changed"] is False and res["member"]["id"] == str(mid)
    assert not cluster.paths_used("/v3/cluster/member/update")
    assert not cluster.paths_used("/v3/cluster/member/add")


def test_unstarted_ipv6_member_found_by_other_spelling(cluster, conn, run_module):
    res = run_module(etcd_member, dict(conn, name="m4", peer_urls=["https://[fd00::4]:2380"], promote=False))
    assert res["changed"] and res["added"]
    # the rerun spells the address differently: the learner is found, not added again
    again = run_module(etcd_member, dict(conn, name="m4", peer_urls=["https://[fd00:0000::0004]:2380"],
                                         promote=False))
    assert not again.failed, again.get("msg")
    assert again["changed"] is False and again["member"]["id"] == res["member"]["id"]
    assert len(cluster.paths_used("/v3/cluster/member/add")) == 1
    # and it can be removed by yet another spelling
    gone = run_module(etcd_member, dict(conn, peer_urls=["https://[FD00::4]:2380"], state="absent"))
    assert gone["changed"] and gone["removed"]
    assert int(res["member"]["id"]) not in cluster.members
