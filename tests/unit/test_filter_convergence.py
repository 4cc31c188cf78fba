"""etcd_resume_plan and etcd_convergence (plugins/filter/etcd_convergence.py): what a run resumes, and whether it
ended with the inventory's cluster."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_convergence import (
    config_token,
    etcd_convergence,
    etcd_convergence_table,
    etcd_guard_answer,
    etcd_resume_plan,
    new_token,
)

TABLE = [
    {"host": "h%d" % i, "name": "m%d" % i, "peer_url": "https://10.0.0.%d:2380" % i} for i in (1, 2, 3)
]
HOSTS = ["h1", "h2", "h3"]


def member(i, learner=False, started=True, cid=None, url=None):
    return {
        "id": str(1000 + i), "id_hex": "%x" % (1000 + i),
        "name": ("m%d" % i) if started else "",
        "peer_urls": [url or "https://10.0.0.%d:2380" % i],
        "client_urls": ["https://10.0.0.%d:2379" % i] if started else [],
        "is_learner": learner,
    }


def info(members, cluster_id="77"):
    return {"changed": False, "cluster_id": cluster_id, "members": members}


def config(token="etcd-abc", state="existing"):
    return "initial-cluster-state: %s\ninitial-cluster-token: %s\nname: x\n" % (state, token)


NO_ANSWER = {"failed": True, "msg": "https://127.0.0.1:2379: timed out"}


def plan(views, table=None, hosts=None, reset=""):
    return etcd_resume_plan(views, TABLE if table is None else table, HOSTS if hosts is None else hosts, "etcd", reset,
                            token_factory=lambda name: name + "-NEW")


# -- token ------------------------------------------------------------------------------------------------------------

def test_new_token_is_the_name_and_a_random_part_never_twice():
    a, b = new_token("prod"), new_token("prod")
    assert re.match(r"^prod-[0-9a-f]{12}$", a) and a != b


def test_config_token_reads_the_rendered_yaml_and_tolerates_garbage():
    assert config_token(config("etcd-1f2e")) == "etcd-1f2e"
    assert config_token("") == "" and config_token("::: not yaml [") == "" and config_token("- a list") == ""


def test_a_new_cluster_gets_a_new_token():
    views = dict((h, {"has_data": False, "config": config("etcd-old", "new")}) for h in HOSTS)
    p = plan(views)
    assert p["state"] == "bootstrap" and p["token"] == "etcd-NEW" and not p["problems"]


def test_an_existing_cluster_keeps_its_token_even_the_old_name_only_token():
    views = dict((h, {"has_data": True, "config": config("etcd"), "info": info([member(1), member(2), member(3)])})
                 for h in HOSTS)
    p = plan(views)
    assert p["state"] == "existing" and p["token"] == "etcd" and p["via"] == "h1"
    assert p["promote"] == [] and p["remove"] == [] and p["problems"] == []


def guard(members, answering, cluster_id="77"):
    """The guard's read (status_of=members) where the members of ``answering`` (numbers) answered their status."""
    return {"changed": False, "cluster_id": cluster_id, "members": members,
            "endpoints": [{"endpoint": "https://10.0.0.%d:2379" % i, "member_name": "m%d" % i, "ok": i in answering,
                           "cluster_id": cluster_id if i in answering else "0",
                           "error": "" if i in answering else "connection refused"} for i in (1, 2, 3)]}


TABLE_URLS = [dict(m, client_url=m["peer_url"].replace(":2380", ":2379")) for m in TABLE]


def test_the_guard_answers_for_a_member_whose_status_it_read():
    g = guard([member(1), member(2), member(3)], answering=[1, 3])
    assert etcd_guard_answer(g, "https://10.0.0.1:2379") == {"members": g["members"], "cluster_id": "77"}
    assert etcd_guard_answer(g, "https://10.0.0.2:2379") == {}  # did not answer
    assert etcd_guard_answer(g, "https://10.0.0.9:2379") == {}  # not in the cluster the guard read
    assert etcd_guard_answer({"skipped": True}, "https://10.0.0.1:2379") == {}
    assert etcd_guard_answer({"failed": True, "members": []}, "https://10.0.0.1:2379") == {}
    assert etcd_guard_answer(None, "https://10.0.0.1:2379") == {}


def test_members_that_answered_the_guard_are_not_asked_again():
    members = [member(1), member(2), member(3)]
    views = dict((h, {"has_data": True, "config": config("etcd-abc"), "info": {"skipped": True}}) for h in HOSTS)
    p = etcd_resume_plan(views, TABLE_URLS, HOSTS, "etcd", guard=guard(members, answering=[1, 2, 3]))
    assert p["state"] == "existing" and p["via"] == "h1" and p["members"] == members and p["cluster_id"] == "77"
    # Without the guard's read nobody answered: the cluster is down.
    assert etcd_resume_plan(views, TABLE_URLS, HOSTS, "etcd")["state"] == "down"


def test_a_member_the_guard_did_not_reach_is_asked_and_a_split_is_still_found():
    views = dict((h, {"has_data": True, "config": config("etcd-abc"), "info": {"skipped": True}}) for h in HOSTS)
    views["h3"]["info"] = info([member(3)], cluster_id="99")  # asked itself: it serves another cluster
    p = etcd_resume_plan(views, TABLE_URLS, HOSTS, "etcd", guard=guard([member(1), member(2)], answering=[1, 2]))
    assert p["state"] == "split" and "99" in p["problems"][0]


def test_an_existing_cluster_without_readable_configuration_falls_back_to_the_name():
    views = dict((h, {"has_data": True, "config": "", "info": info([member(1), member(2), member(3)])}) for h in HOSTS)
    assert plan(views)["token"] == "etcd"


# -- joins that stopped half-way --------------------------------------------------------------------------------------

def test_a_started_learner_in_the_inventory_with_data_is_promoted():
    members = [member(1), member(2), member(3, learner=True)]
    views = {"h1": {"has_data": True, "config": config(), "info": info(members)},
             "h2": {"has_data": True, "config": config(), "info": info(members)},
             "h3": {"has_data": True, "config": config(), "info": {"failed": True, "msg": "rpc not supported for learner"}}}
    p = plan(views)
    assert p["state"] == "existing"
    assert [(x["host"], x["name"], x["peer_url"]) for x in p["promote"]] == [("h3", "m3", "https://10.0.0.3:2380")]
    assert p["remove"] == [] and p["problems"] == []


def test_an_unstarted_member_in_the_inventory_is_left_to_the_join_path():
    members = [member(1), member(2), member(3, learner=True, started=False)]
    views = {"h1": {"has_data": True, "config": config(), "info": info(members)},
             "h2": {"has_data": True, "config": config(), "info": info(members)},
             "h3": {"has_data": False, "config": ""}}
    p = plan(views)
    assert p["promote"] == [] and p["remove"] == [] and p["problems"] == []


def test_an_unstarted_learner_outside_the_inventory_is_removed():
    members = [member(1), member(2), member(3), member(9, learner=True, started=False)]
    views = dict((h, {"has_data": True, "config": config(), "info": info(members)}) for h in HOSTS)
    p = plan(views)
    assert p["remove"] == [{"id": "1009", "id_hex": "3f1", "peer_urls": ["https://10.0.0.9:2380"]}]
    assert p["problems"] == []


def test_a_started_learner_outside_the_inventory_is_refused_with_the_command():
    members = [member(1), member(2), member(3), member(9, learner=True)]
    views = dict((h, {"has_data": True, "config": config(), "info": info(members)}) for h in HOSTS)
    p = plan(views)
    assert p["remove"] == [] and len(p["problems"]) == 1
    assert "quorum.etcd.remove_member -e etcd_remove_member=m9" in p["problems"][0]


def test_an_unstarted_voter_outside_the_inventory_is_refused_with_the_command():
    members = [member(1), member(2), member(3), member(9, started=False)]
    views = dict((h, {"has_data": True, "config": config(), "info": info(members)}) for h in HOSTS)
    p = plan(views)
    assert len(p["problems"]) == 1 and "etcdctl member remove 3f1" in p["problems"][0]


def test_a_learner_whose_host_is_not_in_the_play_is_not_touched():
    members = [member(1), member(2), member(3, learner=True)]
    views = {"h1": {"has_data": True, "config": config(), "info": info(members)},
             "h2": {"has_data": True, "config": config(), "info": info(members)}}
    assert plan(views, hosts=["h1", "h2"])["promote"] == []


def test_peer_urls_match_after_normalisation():
    table = [{"host": "h1", "name": "m1", "peer_url": "https://[fd00::1]:2380"}]
    members = [member(1, learner=True, url="https://[FD00:0:0::1]:2380")]
    views = {"h1": {"has_data": True, "config": config(), "info": info(members)}}
    assert [x["host"] for x in plan(views, table=table, hosts=["h1"])["promote"]] == ["h1"]


# -- bootstraps that stopped half-way --------------------------------------------------------------------------------

def partial_views():
    return {"h1": {"has_data": True, "config": config("etcd-old", "new"), "info": NO_ANSWER},
            "h2": {"has_data": False, "config": config("etcd-old", "new")},
            "h3": {"has_data": False, "config": ""}}


def test_a_bootstrap_that_never_formed_is_refused_with_the_way_out():
    p = plan(partial_views())
    assert p["state"] == "partial" and p["reset_hosts"] == [] and len(p["problems"]) == 1
    text = p["problems"][0]
    assert "-e etcd_bootstrap_reset=etcd" in text and "only h1" in text and "token etcd-old" in text
    assert "member.partial-" in text and "never deleted" in text and "dr_restore" in text


def test_a_confirmed_reset_moves_the_partial_data_aside_with_a_new_token():
    p = plan(partial_views(), reset="etcd")
    assert p["state"] == "partial" and p["problems"] == []
    assert p["reset_hosts"] == ["h1"] and p["token"] == "etcd-NEW"


def test_a_reset_naming_another_cluster_is_refused_before_anything():
    p = plan(partial_views(), reset="prod")
    assert p["reset_hosts"] == [] and "must name the cluster" in p["problems"][0]


def test_a_reset_is_ignored_when_the_cluster_runs():
    views = dict((h, {"has_data": True, "config": config(), "info": info([member(1), member(2), member(3)])})
                 for h in HOSTS)
    p = plan(views, reset="etcd")
    assert p["reset_hosts"] == [] and p["problems"] == [] and "nothing is reset" in p["notes"][0]


def test_a_stopped_cluster_that_had_formed_is_started_not_reset():
    # Majority with data, or a configuration that says the cluster exists: members are started, never reset.
    down = dict((h, {"has_data": True, "config": config("etcd-x", "new"), "info": NO_ANSWER}) for h in HOSTS)
    assert plan(down, reset="etcd")["state"] == "down" and plan(down, reset="etcd")["reset_hosts"] == []
    one = partial_views()
    one["h1"]["config"] = config("etcd-x", "existing")
    assert plan(one, reset="etcd")["state"] == "down" and plan(one, reset="etcd")["reset_hosts"] == []


def test_a_partial_bootstrap_is_not_judged_without_every_member_in_the_play():
    views = partial_views()
    del views["h3"]
    assert plan(views, hosts=["h1", "h2"], reset="etcd")["state"] == "down"


def test_members_of_different_clusters_are_refused():
    views = {"h1": {"has_data": True, "config": config(), "info": info([member(1)], "1")},
             "h2": {"has_data": True, "config": config(), "info": info([member(2)], "2")},
             "h3": {"has_data": False, "config": ""}}
    p = plan(views)
    assert p["state"] == "split" and "cluster ID 1 on h1" in p["problems"][0] and "cluster ID 2 on h2" in p["problems"][0]


def test_bad_input():
    with pytest.raises(AnsibleFilterError):
        etcd_resume_plan([], TABLE, HOSTS, "etcd")
    with pytest.raises(AnsibleFilterError):
        etcd_convergence([], TABLE)


# -- convergence ------------------------------------------------------------------------------------------------------

def views_of(members, ids=None):
    return dict((h, info(members, (ids or {}).get(h, "77"))) for h in HOSTS)


def test_a_converged_cluster_has_no_rows():
    assert etcd_convergence(views_of([member(1), member(2), member(3)]), TABLE) == []


def test_a_learner_an_unstarted_member_and_a_stranger_are_rows():
    rows = etcd_convergence(views_of([member(1), member(2, learner=True), member(3, started=False),
                                      member(9)]), TABLE)
    found = [(r["member"], r["check"], r["found"]) for r in rows]
    assert ("m2", "voting member", "learner") in found
    assert ("m3", "started", "added, never started (id 3eb)") in found
    assert ("m9", "in the inventory", "member id 3f1, https://10.0.0.9:2380") in found
    assert len(rows) == 3, "rows of the same difference seen by several members are shown once"


def test_a_missing_member_a_renamed_one_and_a_silent_one():
    renamed = dict(member(2), name="other")
    views = views_of([member(1), renamed])
    views["h3"] = {"failed": True, "msg": "connection refused\nmore"}
    found = [(r["member"], r["check"], r["expected"], r["found"]) for r in etcd_convergence(views, TABLE)]
    assert ("m3", "answers the member list", "an answer", "connection refused") in found
    assert ("m3", "member of the cluster", "https://10.0.0.3:2380", "missing") in found
    assert ("m2", "name", "m2", "other") in found


def test_different_cluster_ids_are_rows():
    members = [member(1), member(2), member(3)]
    rows = etcd_convergence(views_of(members, {"h3": "99"}), TABLE)
    assert [(r["member"], r["expected"], r["found"]) for r in rows] == [("m3", "77", "99")]
    tie = etcd_convergence({"h1": info(members, "1"), "h2": info(members, "2")}, TABLE)
    assert sorted(r["found"] for r in tie) == ["1", "2"]


def test_members_outside_the_play_are_not_asked():
    assert etcd_convergence({"h1": info([member(1), member(2), member(3)])}, TABLE) == []


def test_the_table_is_aligned():
    text = etcd_convergence_table([{"member": "m2", "check": "voting member", "expected": "voter", "found": "learner"}])
    lines = text.splitlines()
    assert lines[0].split() == ["MEMBER", "CHECK", "EXPECTED", "FOUND"]
    assert lines[1].index("voting") == lines[0].index("CHECK")
