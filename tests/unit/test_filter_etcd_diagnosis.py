"""etcd_diagnosis (plugins/filter/etcd_diagnosis.py): the diagnosis report's figures and recommendations."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_diagnosis import (
    etcd_diagnosis,
    histogram_quantile,
    member_metrics,
    parse_metrics,
)

NOW = 1_800_000_000
THRESHOLDS = {
    "fragmentation_ratio": 0.5, "fragmentation_min_bytes": 104857600, "quota_warning_percent": 80,
    "fsync_p99_max_seconds": 0.01, "commit_p99_max_seconds": 0.025, "peer_rtt_p99_max_seconds": 0.05,
    "leader_changes_max": 4, "certificate_warning_days": 21, "backup_max_age_hours": 26, "clock_offset_max_ms": 500,
}


def metrics(db=20 * 2**20, in_use=18 * 2**20, quota=8 * 2**30, fsync_slow=False, leader_changes=1):
    fsync = [("0.001", 0), ("0.002", 99), ("0.004", 100), ("+Inf", 100)] if not fsync_slow else \
        [("0.001", 0), ("0.256", 0), ("0.512", 100), ("+Inf", 100)]
    lines = ["# HELP etcd_server_has_leader x", "# TYPE etcd_server_has_leader gauge", "etcd_server_has_leader 1",
             "etcd_server_is_learner 0", "etcd_server_leader_changes_seen_total %d" % leader_changes,
             "etcd_server_quota_backend_bytes %d" % quota, "etcd_mvcc_db_total_size_in_bytes %d" % db,
             "etcd_mvcc_db_total_size_in_use_in_bytes %d" % in_use,
             'etcd_network_peer_round_trip_time_seconds_bucket{To="91bc",le="0.0001"} 0',
             'etcd_network_peer_round_trip_time_seconds_bucket{To="91bc",le="0.0002"} 10',
             'etcd_network_peer_round_trip_time_seconds_bucket{To="91bc",le="+Inf"} 10']
    lines += ['etcd_disk_wal_fsync_duration_seconds_bucket{le="%s"} %d' % (le, c) for le, c in fsync]
    lines += ['etcd_disk_backend_commit_duration_seconds_bucket{le="%s"} %d' % (le, c) for le, c in fsync]
    return "\n".join(lines) + "\n"


def backup(age_hours=2, ok=True):
    last = NOW - age_hours * 3600
    return ('etcd_backup_last_success_timestamp_seconds{member="m1"} %d\n'
            'etcd_backup_last_attempt_timestamp_seconds{member="m1"} %d\n'
            'etcd_backup_last_run_success{member="m1"} %d\n'
            'etcd_backup_last_size_bytes{member="m1"} 1048576\netcd_backup_failures_total{member="m1"} 0\n'
            % (last, NOW - 60, 1 if ok else 0))


def info(down=(), alarms=(), leader="m1"):
    members, endpoints = [], []
    for i in (1, 2, 3):
        name = "m%d" % i
        members.append({"name": name, "id_hex": "a%d" % i, "peer_urls": ["https://10.0.0.%d:2380" % i],
                        "client_urls": ["https://10.0.0.%d:2379" % i], "is_learner": False})
        ok = name not in down
        endpoints.append({"member_name": name, "endpoint": "https://10.0.0.%d:2379" % i, "ok": ok, "healthy": ok,
                          "error": "" if ok else "connection refused", "version": "3.5.30" if ok else "",
                          "db_size": 20 * 2**20 if ok else None, "db_size_in_use": 18 * 2**20 if ok else None,
                          "raft_term": 3, "raft_index": 100, "raft_applied_index": 100})
    return {"cluster_id": "1234", "leader": {"name": leader} if leader else {}, "members": members,
            "endpoints": endpoints, "alarms": [{"member_id_hex": "a%d" % i, "alarm": a} for i, a in alarms]}


def host(name, **kw):
    h = {"member": name, "metrics": metrics(**kw.pop("m", {})), "backup_metrics": backup(**kw.pop("b", {})),
         "certificates": [{"usage": "server", "path": "/etc/etcd/pki/server.crt", "not_after": "20271111080000Z"}],
         "clock": {"member_time": "2027-01-15T08:00:00.250000Z", "controller_before": 1800000000.0,
                   "controller_after": 1800000000.5}}
    h.update(kw)
    return h


def diagnose(member_info=None, hosts=None):
    data = {"cluster": "c", "generated_at": "2027-01-15T08:00:00Z", "now": NOW,
            "member_info": member_info or info(),
            "hosts": hosts if hosts is not None else dict(("h%d" % i, host("m%d" % i)) for i in (1, 2, 3))}
    return etcd_diagnosis(data, THRESHOLDS)


def texts(result):
    return [r["text"] for r in result["report"]["recommendations"]]


def test_histogram_quantile_interpolates_like_prometheus():
    assert histogram_quantile(0.99, [(0.001, 0), (0.002, 100), (float("inf"), 100)]) == pytest.approx(0.00199)
    assert histogram_quantile(0.5, [(1.0, 0), (float("inf"), 10)]) == 1.0
    assert histogram_quantile(0.99, [(1.0, 0), (float("inf"), 0)]) is None


def test_parse_metrics_reads_labels_and_skips_comments():
    samples = parse_metrics('# HELP x y\nfoo{a="1",b="x\\"y"} 2.5\nbar 3\nbad line\n')
    assert samples == [("foo", {"a": "1", "b": 'x"y'}, 2.5), ("bar", {}, 3.0)]


def test_member_metrics():
    mm = member_metrics(metrics())
    assert mm["has_leader"] == 1 and mm["quota_bytes"] == 8 * 2**30
    assert mm["fsync_p99_seconds"] == pytest.approx(0.002)
    assert list(mm["peer_rtt_p99_seconds"]) == ["91bc"]
    assert member_metrics("") == {}


def test_healthy_cluster_has_no_recommendation():
    result = diagnose()
    assert result["report"]["healthy"] is True
    assert result["report"]["recommendations"] == []
    md = result["markdown"]
    assert "Verdict: **healthy**" in md and "- none" in md
    assert "| m1 | a1 | yes | no | yes | yes | 3.5.30 |" in md
    assert "| m1 | server | /etc/etcd/pki/server.crt | 300.0 |" in md


def test_stopped_member_and_alarm_are_reported_first():
    result = diagnose(info(down=("m3",), alarms=((1, "NOSPACE"),)),
                      hosts={"h1": host("m1"), "h2": host("m2"),
                             "h3": {"member": "m3", "metrics": "", "metrics_error": "Connection refused"}})
    report = result["report"]
    assert report["healthy"] is False
    crit = [r["text"] for r in report["recommendations"] if r["severity"] == "critical"]
    assert any(t.startswith("Member m3 does not answer (connection refused)") for t in crit)
    assert any("exactly the quorum" in t for t in crit)
    assert any(t.startswith("NOSPACE alarm raised by m1") for t in crit)
    assert report["alarms"] == [{"member": "m1", "alarm": "NOSPACE"}]
    assert report["recommendations"][0]["severity"] == "critical"
    assert "- NOSPACE on m1" in result["markdown"]
    assert "Connection refused" in result["markdown"]


def test_quorum_lost():
    result = diagnose(info(down=("m2", "m3"), leader=""))
    assert any("fewer than the quorum of 2" in t for t in texts(result))
    assert any(t.startswith("No leader is known") for t in texts(result))


def test_defragment_only_when_worth_it():
    big = diagnose(hosts={"h1": host("m1", m={"db": 1024 * 2**20, "in_use": 200 * 2**20})})
    assert [t for t in texts(big) if t.startswith("Defragment m1: 824.0 MiB of its 1024.0 MiB")]
    small = diagnose(hosts={"h1": host("m1", m={"db": 100 * 2**20, "in_use": 10 * 2**20})})
    assert not [t for t in texts(small) if t.startswith("Defragment")]


def test_quota_headroom():
    result = diagnose(hosts={"h1": host("m1", m={"db": 900, "in_use": 890, "quota": 1000})})
    assert any(t.startswith("The database of m1 uses 90.0% of its quota") for t in texts(result))


def test_slow_disk_and_unbalanced_leader():
    result = diagnose(hosts={"h1": host("m1", m={"fsync_slow": True}), "h2": host("m2"), "h3": host("m3")})
    t = texts(result)
    assert any(x.startswith("Slow disk on m1: the 99th percentile WAL fsync takes 509.44 ms") for x in t)
    assert any(x.startswith("The leader m1 has the slowest WAL fsync") for x in t)
    calm = diagnose(hosts={"h1": host("m1"), "h2": host("m2", m={"fsync_slow": True})})
    assert not any("The leader" in x for x in texts(calm))


def test_leader_changes_certificates_backups_clock():
    hosts = {"h1": host("m1", m={"leader_changes": 9}, b={"age_hours": 40, "ok": False},
                        certificates=[{"usage": "peer", "path": "/p", "not_after": NOW + 5 * 86400}],
                        clock={"member_time": "2027-01-15T08:00:02.000000Z", "controller_before": 1800000000.0,
                               "controller_after": 1800000000.2}),
             "h2": host("m2", backup_metrics="")}
    t = texts(diagnose(hosts=hosts))
    assert any(x.startswith("m1 saw 9 leader changes") for x in t)
    assert any(x.startswith("The peer certificate /p on m1 expires in 5.0 days") for x in t)
    assert any(x.startswith("The last successful backup of m1 is 40.0 hours old") for x in t)
    assert any(x.startswith("The last backup run of m1 failed") for x in t)
    assert any(x.startswith("No backup metrics on m2") for x in t)
    assert any(x.startswith("The clock of m1 is 1900.0 ms off the controller's (+/- 100.0 ms; limit 500 ms)")
               for x in t)
    sev = [r["severity"] for r in diagnose(hosts=hosts)["report"]["recommendations"]
           if r["text"].startswith("The peer certificate")]
    assert sev == ["critical"]


def test_member_list_unreadable():
    result = diagnose(member_info={"members": [], "errors": ["all endpoints refused"]}, hosts={})
    assert texts(result) == ["The member list could not be read from any member: all endpoints refused"]


def test_clock_offset_within_uncertainty_is_not_reported():
    hosts = {"h1": host("m1", clock={"member_time": "2027-01-15T08:00:00.300000Z", "controller_before": 1799999999.0,
                                     "controller_after": 1800000000.0})}
    result = diagnose(hosts=hosts)
    assert result["report"]["hosts"]["h1"]["clock"] == {"offset_ms": 800.0, "uncertainty_ms": 500.0}
    assert not any("clock" in x for x in texts(result))
    assert "| m1 | 800.0 | 500.0 |" in result["markdown"]


def test_check_perf_in_markdown():
    result = diagnose(hosts={"h1": host("m1", perf="PASS: Throughput is 150 writes/s\n")})
    assert "## etcdctl check perf" in result["markdown"] and "PASS: Throughput" in result["markdown"]


def test_bad_input():
    with pytest.raises(AnsibleFilterError):
        etcd_diagnosis([], THRESHOLDS)
