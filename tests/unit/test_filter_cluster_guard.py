"""The guard run on every member before any change: CA, membership and version refusals (plugins/filter/cluster_guard.py)."""

from __future__ import annotations

import pytest
from etcd_pki import CA

from ansible_collections.quorum.etcd.plugins.filter.cluster_guard import (
    ca_guard,
    describe_pem,
    membership_guard,
    version_guard,
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


def test_a_member_whose_address_changed_is_refused():
    running = [_member("m1", "https://10.0.0.1:2380"), _member("m2", "https://10.0.0.2:2380"),
               _member("m3", "https://10.0.0.30:2380")]
    problems = membership_guard(running, TABLE)
    assert len(problems) == 1 and "m3 (cluster: https://10.0.0.30:2380, inventory: https://10.0.0.3:2380)" in problems[0]


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
])
def test_allowed_version_moves(running, target):
    assert version_guard(running, target) == []


@pytest.mark.parametrize("running,target,words", [
    ({"m1": "3.6.14", "m2": "3.6.14"}, "3.5.33", ["downgrade from 3.6", "downgrade playbook"]),
    ({"m1": "3.5.33"}, "3.7.1", ["skips a minor", "3.6 first"]),
    ({"m1": "3.5.30", "m2": "3.5.33"}, "3.6.14", ["3.5.32 or newer", "below it: m1"]),
    ({"m1": "3.6.10", "m2": "3.6.14"}, "3.7.1", ["3.6.11 or newer", "below it: m1"]),
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
