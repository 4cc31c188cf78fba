"""The guard run on every member before any change: CA, membership and version refusals (plugins/filter/cluster_guard.py)."""

from __future__ import annotations

import pytest
from etcd_pki import CA

from ansible_collections.quorum.etcd.plugins.filter.cluster_guard import (
    ca_guard,
    describe_pem,
    downgrade_guard,
    flag_problems,
    membership_guard,
    refused_config_problems,
    renumber_plan,
    upgrade_health_problems,
    upgrade_plan,
    v2store_problems,
    version_guard,
    version_warnings,
)


def _pem(ca):
    with open(ca.cert_path) as f:
        return f.read()


def test_new_members_without_a_ca_take_the_controllers(tmp_path):
    ca = CA(str(tmp_path / "a"))
    assert ca_guard({"m1": "", "m2": ""}, _pem(ca), "/pki/ca.crt") == []
    assert ca_guard({"m1": "", "m2": ""}, "", "/pki/ca.crt") == []


def test_same_ca_everywhere_passes_and_a_new_member_may_lack_it(tmp_path):
    ca = CA(str(tmp_path / "a"))
    assert ca_guard({"m1": _pem(ca), "m2": _pem(ca), "m3": ""}, _pem(ca), "/pki/ca.crt") == []


def test_a_controller_without_its_ca_is_refused_naming_the_members_ca(tmp_path):
    ca = CA(str(tmp_path / "a"), name="prod-etcd-ca")
    problems = ca_guard({"m1": _pem(ca), "m2": _pem(ca)}, "", "/home/op/.quorum-etcd/etcd/pki/ca.crt")
    assert len(problems) == 1
    text = problems[0]
    info = describe_pem(_pem(ca))[0]
    assert "no CA at /home/op/.quorum-etcd/etcd/pki/ca.crt" in text
    assert "m1, m2" in text and "CN=prod-etcd-ca" in text
    assert info["fingerprint"] in text and info["serial"] in text and info["not_after"] in text
    assert "restore the controller PKI directory" in text and "etcd_pki_controller_dir" in text


def test_another_ca_on_the_controller_is_refused(tmp_path):
    old, new = CA(str(tmp_path / "old"), name="old-ca"), CA(str(tmp_path / "new"), name="new-ca")
    problems = ca_guard({"m1": _pem(old), "m2": _pem(old), "m3": _pem(new)}, _pem(new), "/pki/ca.crt")
    assert len(problems) == 1
    assert "not the CA trusted by members m1, m2" in problems[0]
    assert "members m1, m2 trust: subject CN=old-ca" in problems[0]
    assert "members m3 trust: subject CN=new-ca" in problems[0]


def test_a_bundle_holding_the_controllers_ca_passes(tmp_path):
    old, new = CA(str(tmp_path / "old")), CA(str(tmp_path / "new"))
    bundle = _pem(old) + _pem(new)
    assert ca_guard({"m1": bundle, "m2": bundle}, _pem(new), "/pki/ca.crt") == []
    assert [c["subject"] for c in describe_pem(bundle)] == ["CN=quorum-test-ca", "CN=quorum-test-ca"]


def test_a_damaged_member_ca_is_refused(tmp_path):
    ca = CA(str(tmp_path / "a"))
    damaged = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    problems = ca_guard({"m1": damaged}, _pem(ca), "/pki/ca.crt")
    assert problems and "unreadable certificate" in problems[0]


TABLE = [{"name": "m%d" % i, "peer_url": "https://10.0.0.%d:2380" % i} for i in (1, 2, 3)]


def _member(name, url, learner=False):
    return {"name": name, "peer_urls": [url], "id_hex": "abc%s" % name, "is_learner": learner}


def test_the_inventory_listing_every_member_passes():
    running = [_member("m%d" % i, "https://10.0.0.%d:2380" % i) for i in (1, 2, 3)]
    assert membership_guard(running, TABLE) == []


def test_a_running_member_missing_from_the_inventory_is_refused():
    running = [_member("m%d" % i, "https://10.0.0.%d:2380" % i) for i in (1, 2, 3, 4)]
    problems = membership_guard(running, TABLE)
    assert len(problems) == 1
    assert "m4 (https://10.0.0.4:2380, id abcm4)" in problems[0]
    assert "remove_member" in problems[0] and "firewall" in problems[0]


def test_an_unstarted_member_is_left_to_the_join_path():
    running = [_member("m%d" % i, "https://10.0.0.%d:2380" % i) for i in (1, 2, 3)] + [_member("", "https://10.0.0.9:2380")]
    assert membership_guard(running, TABLE) == []


def _ids(members):
    for i, m in enumerate(members, 1):
        m["id"] = str(1000 + i)
    return members


def _report(member, ok=True):
    return {"member_id": member["id"], "member_name": member["name"], "ok": ok, "leader_id": "1001" if ok else "0"}


TABLE_H = [dict(t, host="h%s" % t["name"][1:], address=t["peer_url"][8:-5]) for t in TABLE]


def _moved(healthy=(True, True, True), m3_url="https://10.0.0.30:2380", learner=False):
    running = _ids([_member("m1", "https://10.0.0.1:2380"), _member("m2", "https://10.0.0.2:2380"),
                    _member("m3", m3_url, learner=learner)])
    return running, [_report(m, ok) for m, ok in zip(running, healthy)]


def test_a_renumbered_member_with_a_healthy_quorum_gets_a_plan_and_no_refusal():
    # m3 moved to 10.0.0.3 in the inventory; the cluster still has it at 10.0.0.30 (it may not answer there).
    running, reports = _moved(healthy=(True, True, False))
    assert membership_guard(running, TABLE_H, reports) == []
    assert renumber_plan(running, TABLE_H, reports) == [{
        "host": "h3", "name": "m3", "id": "1003", "id_hex": "abcm3", "old_peer_urls": ["https://10.0.0.30:2380"],
        "old_addresses": ["10.0.0.30"], "peer_url": "https://10.0.0.3:2380", "address": "10.0.0.3",
        "peer_url_updated": False}]


def test_an_updated_peer_url_whose_member_did_not_restart_yet_is_still_planned():
    # An earlier run updated m3's peer URL and stopped before m3 restarted: it still advertises the old client URL.
    table = [dict(t, client_url=t["peer_url"].replace("2380", "2379")) for t in TABLE_H]
    running, reports = _moved(m3_url="https://10.0.0.3:2380")
    for m in running:
        m["client_urls"] = [m["peer_urls"][0].replace("2380", "2379")]
    assert renumber_plan(running, table, reports) == []
    running[2]["client_urls"] = ["https://10.0.0.30:2379"]
    plan = renumber_plan(running, table, reports)
    assert plan[0]["peer_url_updated"] and plan[0]["old_addresses"] == ["10.0.0.30"]
    assert membership_guard(running, table, reports) == []
    assert "quorum" in membership_guard(running, table, reports[:1])[0]


def test_a_renumber_without_health_reports_is_refused():
    running = _moved()[0]
    problems = membership_guard(running, TABLE)
    assert len(problems) == 1 and "m3 (cluster: https://10.0.0.30:2380, inventory: https://10.0.0.3:2380)" in problems[0]
    assert "health is unknown" in problems[0] and "Nothing was changed" in problems[0]
    assert "etcd_member_address" in problems[0] and "replace_member" in problems[0]
    assert renumber_plan(running, TABLE) == []


def test_a_renumber_that_would_lose_the_quorum_is_refused():
    running, reports = _moved(healthy=(True, False, True))
    problems = membership_guard(running, TABLE_H, reports)
    assert len(problems) == 1
    assert "1 of the other 2 voting members answer, fewer than the quorum of 2 (unhealthy: m2)" in problems[0]
    assert renumber_plan(running, TABLE_H, reports) == []


def test_two_renumbered_members_in_one_run_are_refused():
    running = _ids([_member("m1", "https://10.0.0.1:2380"), _member("m2", "https://10.0.0.20:2380"),
                    _member("m3", "https://10.0.0.30:2380")])
    reports = [_report(m) for m in running]
    problems = membership_guard(running, TABLE_H, reports)
    assert len(problems) == 1 and "only one member changes its address per run (2 do: m2, m3)" in problems[0]
    assert "m2 (cluster" in problems[0] and "m3 (cluster" in problems[0]
    assert renumber_plan(running, TABLE_H, reports) == []


def test_a_renumber_without_a_member_id_is_refused():
    running, reports = _moved()
    del running[2]["id_hex"]
    assert "did not report its member ID" in membership_guard(running, TABLE_H, reports)[0]
    assert renumber_plan(running, TABLE_H, reports) == []


def test_a_renumbered_learner_is_refused():
    running, reports = _moved(learner=True)
    assert "it is a learner" in membership_guard(running, TABLE_H, reports)[0]


def test_swapped_addresses_are_refused_not_missed():
    # Each member's URL is in the inventory, but under the other name: a swap, never done by a plain run.
    running = _ids([_member("m1", "https://10.0.0.1:2380"), _member("m2", "https://10.0.0.3:2380"),
                    _member("m3", "https://10.0.0.2:2380")])
    reports = [_report(m) for m in running]
    problems = membership_guard(running, TABLE_H, reports)
    assert len(problems) == 1 and "only one member changes its address per run" in problems[0]
    # The new address is held by a member that was added but never started.
    running, reports = _moved()
    running.append(dict(_member("", "https://10.0.0.3:2380"), id="1009", id_hex="f9"))
    assert "the new peer URL belongs to member f9" in membership_guard(running, TABLE_H, reports)[0]


def test_a_missing_member_and_a_renumber_are_reported_separately():
    running, reports = _moved()
    running.append(dict(_member("m4", "https://10.0.0.4:2380"), id="1004"))
    reports.append(_report(running[3]))
    problems = membership_guard(running, TABLE_H, reports)
    assert len(problems) == 1 and "does not list: m4" in problems[0]
    assert [p["name"] for p in renumber_plan(running, TABLE_H, reports)] == ["m3"]


def test_ipv6_renumber_keeps_the_old_address_without_brackets():
    running = _ids([_member("m1", "https://[fd00::1]:2380"), _member("m2", "https://[fd00::2]:2380"),
                    _member("m3", "https://[fd00::30]:2380")])
    table = [{"host": "h%d" % i, "name": "m%d" % i, "address": "fd00::%d" % i, "peer_url": "https://[fd00::%d]:2380" % i}
             for i in (1, 2, 3)]
    plan = renumber_plan(running, table, [_report(m) for m in running])
    assert plan[0]["old_addresses"] == ["fd00::30"] and plan[0]["address"] == "fd00::3"


def test_ipv6_peer_urls_are_compared_normalised():
    table = [{"name": "m1", "peer_url": "https://[fd00:0:0::1]:2380"}]
    assert membership_guard([_member("m1", "https://[FD00::1]:2380")], table) == []


@pytest.mark.parametrize("running,target", [
    ({"m1": "3.5.30", "m2": "3.5.30"}, "3.5.30"),   # no change
    ({"m1": "3.5.30", "m2": "3.5.30"}, "3.5.16"),   # patch downgrade: a plain rolling switch
    ({"m1": "3.5.16", "m2": "3.5.30"}, "3.5.30"),   # patch upgrade, mixed
    ({"m1": "3.5.32", "m2": "3.5.33"}, "3.6.14"),   # one minor up, floor met
    ({"m1": "3.6.11", "m2": "3.6.14"}, "3.7.1"),
    ({}, "3.7.1"),                                  # a new cluster
    ({"m1": "3.6.14", "m2": "3.5.33"}, "3.6.14"),   # an interrupted upgrade goes on
    ({"m1": "3.6.14", "m2": "3.5.33"}, "3.5.33"),   # rollback while mixed: the cluster version is still 3.5
    ({"m1": "3.7.1", "m2": "3.6.14"}, "3.6.14"),
])
def test_allowed_version_moves(running, target):
    assert version_guard(running, target) == []


@pytest.mark.parametrize("running,target,words", [
    ({"m1": "3.6.14", "m2": "3.6.14"}, "3.5.33", ["downgrade from 3.6", "downgrade playbook"]),
    ({"m1": "3.5.33"}, "3.7.1", ["skips a minor", "3.6 first"]),
    ({"m1": "3.5.30", "m2": "3.5.33"}, "3.6.14", ["3.5.32 or newer", "below it: m1"]),
    ({"m1": "3.6.10", "m2": "3.6.14"}, "3.7.1", ["3.6.11 or newer", "below it: m1"]),
    ({"m1": "3.5.33"}, "3.6.2", ["below 3.6.4, the lowest release to upgrade to from 3.5"]),   # a target below a floor
    ({"m1": "3.5.30"}, "3.5.1", ["known-bad release (3.5.0-3.5.2)", "issues/13766"]),
    ({"m1": "3.5.33"}, "4.0.0", ["skips a minor"]),
])
def test_refused_version_moves(running, target, words):
    problems = version_guard(running, target)
    assert len(problems) == 1
    for w in words:
        assert w in problems[0]


def test_reported_versions_win_over_the_installed_link():
    table = [{"name": "etcd-1", "host": "m1"}, {"name": "etcd-2", "host": "m2"}]
    endpoints = [{"member_name": "etcd-1", "ok": True, "version": "3.6.14"},
                 {"member_name": "etcd-2", "ok": False, "version": ""}]
    # m1 runs 3.6.14 although its link already points at 3.5.33 (switched, not yet restarted): a downgrade.
    problems = version_guard({"m1": "3.5.33", "m2": "3.6.14"}, "3.5.33", endpoints, table)
    assert problems and "downgrade from 3.6" in problems[0]
    assert version_guard({"m1": "", "m2": ""}, "3.5.33", [], table) == []


def test_a_known_bad_target_is_refused_for_a_new_cluster_too():
    problems = version_guard({}, "3.5.2")
    assert len(problems) == 1 and "known-bad" in problems[0]


def test_a_rollback_after_the_cluster_version_moved_is_a_downgrade():
    # Every member reports 3.6 except one stopped on 3.5 (its link): the cluster version says whether the
    # upgrade finished; once it is 3.6, going back needs the downgrade procedure.
    running = {"m1": "3.6.14", "m2": "3.6.14", "m3": "3.5.33"}
    assert version_guard(running, "3.5.33", cluster_version="3.5.0") == []
    problems = version_guard(running, "3.5.33", cluster_version="3.6.0")
    assert problems and "downgrade playbook" in problems[0] and "cluster version 3.6.0" in problems[0]


@pytest.mark.parametrize("running,target,kind,step,checks,to_switch", [
    ({"m1": "3.5.30", "m2": "3.5.30"}, "3.5.30", "none", "", [], []),
    ({"m1": "3.5.30", "m2": "3.5.30"}, "3.5.16", "patch", "", [], ["m1", "m2"]),
    ({"m1": "3.5.30", "m2": "3.5.16"}, "3.5.16", "patch", "", [], ["m1"]),   # rollback of a patch upgrade
    ({"m1": "3.5.33", "m2": "3.5.33"}, "3.6.14", "minor", "3.5->3.6", ["v2store"], ["m1", "m2"]),
    ({"m1": "3.6.14", "m2": "3.5.33"}, "3.6.14", "minor", "3.5->3.6", ["v2store"], ["m2"]),
    ({"m1": "3.6.14", "m2": "3.5.33"}, "3.5.33", "rollback", "3.6->3.5", [], ["m1"]),
    ({"m1": "3.6.14", "m2": "3.6.14"}, "3.7.1", "minor", "3.6->3.7", [], ["m1", "m2"]),
])
def test_upgrade_plan(running, target, kind, step, checks, to_switch):
    plan = upgrade_plan(running, target)
    assert (plan["kind"], plan["step"], plan["checks"], plan["to_switch"]) == (kind, step, checks, to_switch)


def test_a_member_switched_but_not_restarted_is_walked_back_too():
    """An upgrade stopped between m2's link switch and its restart: m2 runs 3.5.16 (what it answers) but its link
    names 3.5.30. Going back to 3.5.16 walks m1 (runs 3.5.30) and m2 (its link), or m2 would start 3.5.30 at its
    next start; going forward walks m2 and m3."""
    installed = {"m1": "3.5.30", "m2": "3.5.30", "m3": "3.5.16"}
    table = [{"name": n, "host": n} for n in ("m1", "m2", "m3")]
    endpoints = [{"member_name": "m1", "ok": True, "version": "3.5.30"},
                 {"member_name": "m2", "ok": True, "version": "3.5.16"},
                 {"member_name": "m3", "ok": True, "version": "3.5.16"}]
    assert upgrade_plan(installed, "3.5.16", endpoints, table)["to_switch"] == ["m1", "m2"]
    assert upgrade_plan(installed, "3.5.30", endpoints, table)["to_switch"] == ["m2", "m3"]
    done = dict(installed, m3="3.5.30")
    assert upgrade_plan(done, "3.5.30", [dict(e, version="3.5.30") for e in endpoints], table)["kind"] == "none"


def test_known_risky_sources_and_targets_are_warned_with_their_reason():
    warnings = version_warnings({"m1": "3.5.16", "m2": "3.5.30"}, "3.5.30")
    text = " ".join(warnings)
    assert "m1 (3.5.0-3.5.19): learner promotion persisted only in the v2store" in text
    assert "issues/19557" in text
    assert "m1, m2, the target 3.5.30 (3.5.0-3.5.30): a member update silently promotes a learner" in text
    assert not [w for w in warnings if w.startswith("m2 (3.5.0-3.5.19)")]
    assert version_warnings({"m1": "3.6.14"}, "3.6.14") == []
    assert any("3.7.1 is the recommended floor" in w for w in version_warnings({"m1": "3.6.14"}, "3.7.0"))


@pytest.mark.parametrize("config,target,words", [
    ({"enable-v2": True}, "3.6.14", ["enable-v2: the setting is refused for etcd 3.6.14", "v2 API is gone"]),
    ({"experimental-enable-v2v3": "/v2"}, "3.7.1", ["experimental-enable-v2v3"]),
    ({"v2-deprecation": "not-yet"}, "3.6.14", ["v2-deprecation: not-yet is refused"]),
    ({"v2-deprecation": "write-only"}, "3.7.1", ["v2-deprecation: write-only is refused for etcd 3.7.1"]),
])
def test_v2_settings_are_refused_for_36_and_newer(config, target, words):
    problems = refused_config_problems(config, target)
    assert len(problems) == 1
    for w in words:
        assert w in problems[0]


def test_v2_settings_pass_on_35_and_allowed_values_pass():
    assert refused_config_problems({"enable-v2": True, "v2-deprecation": "not-yet"}, "3.5.33") == []
    assert refused_config_problems({"v2-deprecation": "write-only"}, "3.6.14") == []
    assert refused_config_problems({"v2-deprecation": "write-only-drop-data"}, "3.7.1") == []


HELP_37 = """Usage:
  etcd [flags]
Member:
  --name 'default'
  --data-dir '${name}.etcd'
  --snapshot-count '10000'
  --feature-gates ''
Clustering:
  --initial-cluster 'default=http://localhost:2380'
"""


def test_keys_the_target_binary_lacks_are_named():
    config = {"name": "a", "data-dir": "/d", "snapshot-count": 10000, "feature-gates": "InitialCorruptCheck=true",
              "initial-cluster": "a=https://x:2380", "client-transport-security": {"cert-file": "/c"},
              "experimental-compact-hash-check-enabled": True, "experimental-corrupt-check-time": "1m"}
    problems = flag_problems(config, HELP_37, "3.7.1")
    assert len(problems) == 1
    assert "experimental-compact-hash-check-enabled, experimental-corrupt-check-time" in problems[0]
    assert "client-transport-security" not in problems[0]
    del config["experimental-compact-hash-check-enabled"], config["experimental-corrupt-check-time"]
    assert flag_problems(config, HELP_37, "3.7.1") == []


def test_the_revocation_list_blocks_are_not_flags():
    """etcd_config writes the CRL as ClientTLSInfo/PeerTLSInfo (the file has no key for it): not a flag, not a
    problem (upgrade.yml refused every cluster deployed with the revocation list)."""
    config = {"name": "a", "ClientTLSInfo": {"CRLFile": "/etc/etcd/pki/crl.pem"},
              "PeerTLSInfo": {"CRLFile": "/etc/etcd/pki/crl.pem"}}
    assert flag_problems(config, HELP_37, "3.7.1") == []


def test_an_empty_help_text_is_a_problem_not_a_pass():
    assert "listed no flags" in flag_problems({"name": "a"}, "", "3.7.1")[0]


def test_v2store_check_outcomes():
    clean = {"rc": 0, "stdout": "No custom content found in v2store.", "stderr": ""}
    assert v2store_problems({"m1": clean, "m2": clean}) == []
    custom = {"rc": 1, "stdout": "", "stderr": "Error: detected custom content in v2store: /foo"}
    failed = {"rc": 1, "stdout": "", "stderr": ""}
    problems = v2store_problems({"m1": clean, "m2": custom, "m3": failed})
    assert len(problems) == 2
    assert problems[0].startswith("the v2store of m2 holds custom content") and "/foo" in problems[0]
    assert "--snapshot-count=1" in problems[0] and "write-only-skip-check" in problems[0]
    assert "exit code 1" in problems[1]


@pytest.mark.parametrize("running,target,words", [
    ({"m1": "3.5.30", "m2": "3.5.30"}, "3.5.16", ["plain rolling switch", "upgrade playbook"]),
    ({"m1": "3.6.14", "m2": "3.6.14"}, "3.4.30", ["not one minor below 3.6"]),
    ({"m1": "3.7.1", "m2": "3.7.1"}, "3.5.33", ["not one minor below 3.7"]),
    ({"m1": "3.6.14", "m2": "3.6.14"}, "3.6.11", ["plain rolling switch"]),
    ({"m1": "3.6.14", "m2": "3.5.33", "m3": "3.7.1"}, "3.6.14", ["several minors"]),
])
def test_refused_downgrades(running, target, words):
    problems = downgrade_guard(running, target)
    assert len(problems) == 1, problems
    for w in words:
        assert w in problems[0]


def test_35_has_no_downgrade_api():
    assert "no downgrade API" in downgrade_guard({"m1": "3.5.30"}, "3.4.30")[0]


def test_allowed_downgrades():
    assert downgrade_guard({"m1": "3.6.14", "m2": "3.6.14"}, "3.5.33") == []
    assert downgrade_guard({"m1": "3.6.14", "m2": "3.5.33"}, "3.5.33") == []   # under way
    assert downgrade_guard({"m1": "3.7.1"}, "3.6.14") == []


UPGRADE_TABLE = [{"host": "m1", "name": "etcd-1"}, {"host": "m2", "name": "etcd-2"}]


def _info(**over):
    members = [{"name": "etcd-1", "id_hex": "a", "is_learner": False}, {"name": "etcd-2", "id_hex": "b", "is_learner": False}]
    endpoints = [{"member_name": "etcd-1", "ok": True, "leader_id": "7"}, {"member_name": "etcd-2", "ok": True, "leader_id": "7"}]
    info = {"members": members, "endpoints": endpoints}
    info.update(over)
    return info


def test_a_whole_healthy_cluster_may_be_upgraded():
    assert upgrade_health_problems(_info(), UPGRADE_TABLE) == []


@pytest.mark.parametrize("info,words", [
    ({}, "did not answer"),
    (_info(members=[{"name": "etcd-1", "id_hex": "a"}, {"name": "etcd-2", "id_hex": "b", "is_learner": True}]),
     "m2 (etcd-2) is a learner"),
    (_info(members=[{"name": "etcd-1", "id_hex": "a"}]), "m2 (etcd-2) is not a started member"),
    (_info(endpoints=[{"member_name": "etcd-1", "ok": True, "leader_id": "7"},
                      {"member_name": "etcd-2", "ok": False, "error": "connection refused"}]),
     "m2 (etcd-2) does not answer with a leader in sight: connection refused"),
    (_info(members=[{"name": "etcd-1", "id_hex": "a"}, {"name": "etcd-2", "id_hex": "b"}, {"name": "", "id_hex": "c"}]),
     "added but unstarted members (c)"),
])
def test_an_unhealthy_or_partial_cluster_is_refused(info, words):
    problems = upgrade_health_problems(info, UPGRADE_TABLE)
    assert len(problems) == 1 and words in problems[0] and "Nothing was changed" in problems[0]
