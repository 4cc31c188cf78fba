"""Pure tests of plugins/module_utils/_member.py (no network)."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _member as M


def member(mid, name, peer, learner=False, client=None):
    return M.parse_member({"ID": str(mid), "name": name, "peerURLs": [peer],
                           "clientURLs": [client] if client else ([] if not name else ["https://c/%s" % name]),
                           "isLearner": learner})


A = member(11, "a", "https://10.0.0.1:2380")
B = member(12, "b", "https://10.0.0.11:2380")
C = member(13, "c", "https://10.0.0.111:2380")
L = member(14, "", "https://10.0.0.2:2380", learner=True)
BIG = 0xF000000000000001


def test_parse_member_uint64_string_and_defaults():
    m = M.parse_member({"ID": str(BIG), "peerURLs": ["https://x:2380"]})
    assert m["id"] == str(BIG) and m["id_hex"] == "f000000000000001"
    assert m["name"] == "" and m["client_urls"] == [] and m["is_learner"] is False and m["started"] is False


def test_parse_status():
    st = M.parse_status({"header": {"member_id": "5", "cluster_id": "9"}, "leader": "5", "raftIndex": "10",
                         "raftTerm": "3", "dbSize": "100", "version": "3.5.30"})
    assert st["is_leader"] and st["raft_index"] == 10 and st["db_size"] == 100 and st["db_size_in_use"] == 0


@pytest.mark.parametrize("a,b,same", [
    ("https://Node1:2380/", "https://node1:2380", True),
    ("https://node1", "https://node1:443", True),
    ("https://10.0.0.1:2380", "https://10.0.0.11:2380", False),
    ("https://10.0.0.1:2380", "http://10.0.0.1:2380", False),
    ("https://[::1]:2380", "https://[::1]:2380/", True),
    # IPv6: one address, many spellings (zeros, case of hex digits, leading zeros)
    ("https://[fd00::1]:2380", "https://[fd00:0:0::1]:2380", True),
    ("https://[fd00::1]:2380", "https://[FD00:0000:0000:0000:0000:0000:0000:0001]:2380", True),
    ("https://[2001:DB8::A]:2380", "https://[2001:db8:0:0:0:0:0:a]:2380/", True),
    ("https://[fe80::1%25eth0]:2380", "https://[FE80:0::1%25eth0]:2380", True),
    ("https://[fd00::1]:2380", "https://[fd00::10]:2380", False),
    ("https://[fd00::1]:2380", "https://[fd00::1]:2381", False),
    ("https://[fe80::1%25eth0]:2380", "https://[fe80::1%25eth1]:2380", False),
])
def test_normalize_url(a, b, same):
    assert (M.normalize_url(a) == M.normalize_url(b)) is same


def test_find_member_exact_name_and_url_no_substring():
    members = [A, B, C, L]
    assert M.find_member(members, name="a")["id"] == "11"
    assert M.find_member(members, name="") is None
    assert M.find_member(members, name="b", peer_urls=["https://10.0.0.11:2380"])["id"] == "12"
    # 10.0.0.1 is a prefix of 10.0.0.11 and 10.0.0.111: must only match a
    assert M.find_member(members, peer_urls=["https://10.0.0.1:2380"])["id"] == "11"
    assert M.find_member(members, peer_urls=["https://10.0.0.3:2380"]) is None
    # unstarted learner: found by peer URL even with a name given
    assert M.find_member(members, name="new", peer_urls=["https://10.0.0.2:2380"])["id"] == "14"
    assert M.find_member(members, member_id=13)["name"] == "c"


def test_find_member_conflicts():
    with pytest.raises(M.MemberMatchError):
        M.find_member([A, B], name="a", peer_urls=["https://10.0.0.11:2380"])
    with pytest.raises(M.MemberMatchError):
        M.find_member([A, member(99, "a", "https://z:2380")], name="a")


def test_quorum():
    assert [M.quorum(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


def test_check_removal():
    members = [A, B, C]
    assert M.check_removal(members, "12", ["11", "12", "13"])[0]
    # c down: removing healthy b leaves a + c(down): 1 of 2 healthy, majority 2 -> refused
    ok, reason = M.check_removal(members, "12", ["11", "12"])
    assert not ok and "fewer than the majority" in reason and "c (d)" in reason
    # removing the unhealthy member itself is fine
    assert M.check_removal(members, "13", ["11", "12"])[0]
    # no quorum at all
    assert not M.check_removal(members, "13", ["11"])[0]
    # learners never matter
    assert M.check_removal(members + [L], "14", ["11"])[0]
    # last voter
    assert not M.check_removal([A], "11", ["11"])[0]
    # 5 members, 2 down: removing a healthy one leaves 2/4 healthy < 3 -> refused
    D, E = member(15, "d", "https://d:2380"), member(16, "e", "https://e:2380")
    assert not M.check_removal([A, B, C, D, E], "11", ["11", "12", "13"])[0]
    assert M.check_removal([A, B, C, D, E], "15", ["11", "12", "13"])[0]


def test_learner_caught_up():
    assert M.learner_caught_up(100, 95)
    assert not M.learner_caught_up(100, 10)
    assert not M.learner_caught_up(0, 0)


def test_initial_cluster_like_etcdctl():
    new = dict(L)
    assert M.initial_cluster([A, B, new], "14", "n4") == \
        "a=https://10.0.0.1:2380,b=https://10.0.0.11:2380,n4=https://10.0.0.2:2380"


def test_pick_transferee():
    st = {"12": {"raft_index": 5}, "13": {"raft_index": 9}}
    assert M.pick_transferee([A, B, C, L], "11", ["11", "12", "13", "14"], st)["id"] == "13"
    assert M.pick_transferee([A, B, C], "11", ["11", "12"], st)["id"] == "12"
    assert M.pick_transferee([A, L], "11", ["11", "14"]) is None


def test_find_member_ipv6_spellings():
    v6 = member(21, "v6", "https://[fd00::1]:2380")
    other = member(22, "v6b", "https://[fd00::11]:2380")
    assert M.find_member([v6, other], peer_urls=["https://[FD00:0:0::1]:2380"])["id"] == "21"
    assert M.find_member([v6, other], name="v6", peer_urls=["https://[fd00:0000::0001]:2380"])["id"] == "21"
    assert M.same_urls(["https://[fd00::1]:2380"], ["https://[fd00:0:0:0::1]:2380/"])
    assert not M.same_urls(["https://[fd00::1]:2380"], ["https://[fd00::11]:2380"])
