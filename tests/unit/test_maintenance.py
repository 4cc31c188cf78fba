"""Maintenance: the fragmentation rule, the compacted-revision search, and the modules etcd_maintenance_info,
etcd_defrag, etcd_compact and etcd_alarm against the fake gateway."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _maintenance as mt
from ansible_collections.quorum.etcd.plugins.modules import (
    etcd_alarm,
    etcd_compact,
    etcd_defrag,
    etcd_maintenance_info,
)

MiB = 1024 * 1024


@pytest.mark.parametrize("size,in_use,ratio,reclaimable", [
    (0, 0, 0.0, 0),
    (100 * MiB, 100 * MiB, 0.0, 0),
    (100 * MiB, 25 * MiB, 0.75, 75 * MiB),
    (100, 120, 0.0, 0),  # in use above size (sampled at different moments): nothing to win
])
def test_fragmentation(size, in_use, ratio, reclaimable):
    assert mt.fragmentation(size, in_use) == (ratio, reclaimable)


def test_rule_needs_both_thresholds():
    assert mt.needs_defrag(200 * MiB, 20 * MiB)[0] is True
    due, why = mt.needs_defrag(8 * MiB, 1 * MiB)  # 87% free but only 7 MiB to win
    assert not due and "reclaimable" in why
    due, why = mt.needs_defrag(4096 * MiB, 3000 * MiB)  # 1 GiB to win but 27% free
    assert not due and "free share" in why
    assert mt.needs_defrag(8 * MiB, 1 * MiB, min_free_ratio=0.5, min_reclaimable_bytes=1 * MiB)[0] is True


@pytest.mark.parametrize("version,unsafe", [
    ("3.5.16", True), ("3.5.22", True), ("3.5.23", False), ("3.5.30", False), ("3.6.0", True), ("3.6.4", True),
    ("3.6.5", False), ("3.7.1", False), ("3.4.30", False), ("garbage", True),
])
def test_defrag_unsafe_releases(version, unsafe):
    assert bool(mt.defrag_unsafe(version)) is unsafe


def test_defrag_refused_on_an_unsafe_release(pki, run_module):
    from fake_etcd import FakeCluster
    old = FakeCluster(pki.ca, version="3.5.16")
    try:
        conn = dict(endpoints=[old.url(old.order[0])], ca_cert=pki.ca.cert_path, client_cert=pki.client_cert,
                    client_key=pki.client_key, timeout=2)
        info = run_module(etcd_maintenance_info, conn)
        assert len(info["defrag_problems"]) == 3 and "3.5.23" in info["defrag_problems"][0]
        res = run_module(etcd_defrag, dict(conn, member="m2", force=True))
        assert res.failed and res["error_kind"] == "unsafe_version"
        assert not old.paths_used("/v3/maintenance/defragment")
    finally:
        old.close()


def test_defrag_timeout_grows_with_size():
    assert mt.defrag_timeout(0) == mt.DEFRAG_TIMEOUT_FLOOR
    assert mt.defrag_timeout(8 * 1024 * MiB) > 800


def _fill(cluster, n):
    for _i in range(n):
        cluster.handle(cluster.leader, "/v3/kv/put", {"key": "a2V5", "value": "dg=="})


def test_info_reports_rule_alarms_and_compaction(cluster, conn, run_module):
    m2 = cluster.by_name("m2")
    cluster.members[m2].update(dbSize=200 * MiB, dbSizeInUse=20 * MiB)
    cluster.alarms.append((m2, "NOSPACE"))
    _fill(cluster, 40)
    cluster.compact_revision = 17
    res = run_module(etcd_maintenance_info, conn, check=True)
    assert not res.failed and res["changed"] is False
    by_name = {m["name"]: m for m in res["members"]}
    assert by_name["m2"]["defrag_due"] and not by_name["m1"]["defrag_due"]
    assert by_name["m2"]["reclaimable_bytes"] == 180 * MiB and by_name["m2"]["free_ratio"] == 0.9
    assert by_name["m1"]["is_leader"] and res["leader"] == "m1"
    assert res["alarms"] == [{"member": "m2", "member_id": str(m2), "member_id_hex": "%x" % m2, "alarm": "NOSPACE"}]
    assert res["revision"] == cluster.revision and res["compact_revision"] == 17


def test_compacted_revision_never_compacted(cluster, conn, run_module):
    _fill(cluster, 5)
    assert run_module(etcd_maintenance_info, conn)["compact_revision"] == 0


def test_defrag_only_when_due_and_force(cluster, conn, run_module):
    m3 = cluster.by_name("m3")
    cluster.members[m3].update(dbSize=300 * MiB, dbSizeInUse=30 * MiB)
    res = run_module(etcd_defrag, dict(conn, member="m3"), check=True, diff=True)
    assert res["changed"] and res["defragmented"] and cluster.members[m3]["defrags"] == 0
    res = run_module(etcd_defrag, dict(conn, member="m3"))
    assert res["changed"] and cluster.members[m3]["defrags"] == 1
    assert res["db_size_before"] == 300 * MiB and res["db_size_after"] == 30 * MiB
    assert res["finished"] >= res["started"] > 0
    # sent to m3 only
    assert {c[0] for c in cluster.paths_used("/v3/maintenance/defragment")} == {m3}
    res = run_module(etcd_defrag, dict(conn, member="m3"))
    assert res["changed"] is False and "free share" in res["reason"]
    res = run_module(etcd_defrag, dict(conn, member="m3", force=True))
    assert res["changed"] and res["reason"].startswith("forced") and cluster.members[m3]["defrags"] == 2


def test_defrag_refused_while_a_member_is_down(cluster, conn, run_module):
    cluster.stop(cluster.by_name("m2"))
    res = run_module(etcd_defrag, dict(conn, member="m3", force=True))
    assert res.failed and "m2 is unhealthy" in res["msg"]
    assert "m2 is unhealthy" in run_module(etcd_maintenance_info, conn)["defrag_problems"][0]
    assert not cluster.paths_used("/v3/maintenance/defragment")
    res = run_module(etcd_defrag, dict(conn, member="m3", force=True, allow_unhealthy=True))
    assert not res.failed and res["changed"]
    res = run_module(etcd_defrag, dict(conn, member="m2", force=True, allow_unhealthy=True))
    assert res.failed and "does not answer" in res["msg"]
    assert run_module(etcd_defrag, dict(conn, member="nope")).failed


def test_compact_keep_and_idempotence(cluster, conn, run_module):
    _fill(cluster, 30)
    current = cluster.revision
    res = run_module(etcd_compact, dict(conn, keep=10), check=True, diff=True)
    assert res["changed"] and res["compact_revision"] == current - 10 and cluster.compact_revision == 0
    res = run_module(etcd_compact, dict(conn, keep=10))
    assert res["changed"] and cluster.compact_revision == current - 10
    assert run_module(etcd_compact, dict(conn, revision=current - 12))["changed"] is False
    assert run_module(etcd_compact, dict(conn, keep=10))["changed"] is False
    res = run_module(etcd_compact, dict(conn, revision=current + 5))
    assert res.failed and "future" in res["msg"]


def test_alarm_list_and_disarm(cluster, conn, run_module):
    m1, m2 = cluster.by_name("m1"), cluster.by_name("m2")
    cluster.alarms += [(m1, "NOSPACE"), (m2, "NOSPACE"), (m2, "CORRUPT")]
    res = run_module(etcd_alarm, conn)
    assert res["changed"] is False and len(res["alarms"]) == 3
    res = run_module(etcd_alarm, dict(conn, state="absent", member="m2"), check=True, diff=True)
    assert res["changed"] and [a["member"] for a in res["disarmed"]] == ["m2"] and len(cluster.alarms) == 3
    res = run_module(etcd_alarm, dict(conn, state="absent"))
    assert res["changed"] and len(res["disarmed"]) == 2
    assert cluster.alarms == [(m2, "CORRUPT")] and [a["alarm"] for a in res["alarms"]] == ["CORRUPT"]
    assert run_module(etcd_alarm, dict(conn, state="absent"))["changed"] is False
    assert run_module(etcd_alarm, dict(conn, state="absent", alarm="all"))["changed"] is True
    assert cluster.alarms == []
