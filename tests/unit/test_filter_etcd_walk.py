"""etcd_walk and etcd_walk_transferee (plugins/filter/etcd_walk.py): the order of the one restart path
(roles/etcd/tasks/restart.yml) and where the leadership goes before the leader restarts."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_walk import FilterModule, etcd_walk, etcd_walk_transferee

TABLE = [{"host": "h%d" % i, "name": "m%d" % i} for i in (1, 2, 3)]


def report(name, passed=True, learner=False):
    return {"name": name, "passed": passed, "is_learner": learner}


@pytest.mark.parametrize("leader, expected", [
    ("m1", ["h2", "h3", "h1"]),
    ("m2", ["h1", "h3", "h2"]),
    ("m3", ["h1", "h2", "h3"]),
])
def test_followers_first_in_the_order_given_the_leader_last(leader, expected):
    assert etcd_walk(["h1", "h2", "h3"], TABLE, leader) == expected


def test_the_order_given_is_kept_for_followers():
    assert etcd_walk(["h3", "h1", "h2"], TABLE, "m3") == ["h1", "h2", "h3"]
    assert etcd_walk(["h3", "h1"], TABLE, "m2") == ["h3", "h1"]


def test_leader_unknown_or_not_in_the_walk_keeps_the_order():
    assert etcd_walk(["h2", "h1"], TABLE, "") == ["h2", "h1"]
    assert etcd_walk(["h2"], TABLE, "m1") == ["h2"]
    assert etcd_walk([], TABLE, "m1") == []


def test_the_leader_alone():
    assert etcd_walk(["h1"], TABLE, "m1") == ["h1"]


def test_unknown_and_repeated_hosts_are_refused():
    with pytest.raises(AnsibleFilterError, match="not members of the inventory's cluster: h9"):
        etcd_walk(["h1", "h9"], TABLE, "m1")
    with pytest.raises(AnsibleFilterError, match="named more than once: h2"):
        etcd_walk(["h2", "h1", "h2"], TABLE, "m1")


def test_transferee_is_the_member_restarted_last_that_passed():
    gate = [report("m1"), report("m2"), report("m3")]
    assert etcd_walk_transferee(gate, TABLE, ["h2", "h3"], "m1") == "m3"
    assert etcd_walk_transferee(gate, TABLE, ["h3", "h2"], "m1") == "m2"


def test_transferee_skips_members_that_did_not_pass_and_learners():
    gate = [report("m1"), report("m2"), report("m3", passed=False)]
    assert etcd_walk_transferee(gate, TABLE, ["h2", "h3"], "m1") == "m2"
    gate = [report("m1"), report("m2", learner=True), report("m3")]
    assert etcd_walk_transferee(gate, TABLE, ["h3", "h2"], "m1") == "m3"


def test_transferee_without_a_restarted_member_is_another_healthy_voter():
    gate = [report("m1"), report("m2", passed=False), report("m3")]
    assert etcd_walk_transferee(gate, TABLE, [], "m1") == "m3"


def test_no_transferee():
    assert etcd_walk_transferee([report("m1")], TABLE, [], "m1") == ""
    assert etcd_walk_transferee([report("m1"), report("m2", passed=False)], TABLE, ["h2"], "m1") == ""
    assert etcd_walk_transferee([], TABLE, ["h2"], "m1") == ""


def test_registered():
    assert set(FilterModule().filters()) == {"etcd_walk", "etcd_walk_transferee"}
