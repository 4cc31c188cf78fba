"""The preflight decisions (plugins/filter/preflight_findings.py): each finding, its action, the report, the verdict."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.quorum.etcd.plugins.filter.preflight_findings import (
    free_needed, preflight_findings, usable_factor,
)

GIB = 1073741824

SETTINGS = dict(host="m1", container="", devices=[], raid_level=10, quota_bytes=8 * GIB, min_free_bytes=0,
                install_dir="/opt/etcd", time_action="fail", clock_offset_max_ms=500, network_action="fail",
                rtt_max_ms=10, rotational_action="warn", fio_action="fail", fio_p99_max_ms=10,
                resources_action="warn", min_cpus=4, min_memory_mb=8192, free_space_action="fail", ports_action="fail")

GOOD = {
    "changed": False,
    "cpus": 8,
    "memory_bytes": 16 * GIB,
    "time": {"services": ["chrony"], "synchronized": True, "offset_ms": 0.2},
    "data": {"path": "/var/lib", "device": "nvme0n1", "rotational": False, "free_bytes": 100 * GIB,
             "has_etcd_data": False},
    "devices": {},
    "ports": {"2379": {"listening": False, "processes": [], "foreign": []}},
    "peers": {"m2": {"min_ms": 0.2, "median_ms": 0.3, "max_ms": 0.5, "samples": 5, "address": "10.0.0.12",
                     "clock_offset_ms": 1.0, "clock_method": "icmp-timestamp"}},
}


def verdict(change=None, **settings):
    result = copy.deepcopy(GOOD)
    for path, value in (change or {}).items():
        node = result
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return preflight_findings(result, dict(SETTINGS, **settings))


def only(v):
    assert len(v["findings"]) == 1, v["findings"]
    return v["findings"][0]


def test_a_good_member_passes_with_its_figures():
    v = verdict()
    assert v["findings"] == [] and v["failed"] is False
    assert v["msg"] == v["report"]
    assert v["report"].startswith("8 CPUs, 16.0 GiB memory; time sync: chrony, synchronized: True; "
                                  "data directory /var/lib on nvme0n1 (rotational: False, free 100.0 GiB);")
    assert "m2: rtt 0.2/0.3/0.5 ms (min/median/max), clock offset 1.0 ms" in v["report"]


def test_no_time_service():
    f = only(verdict({"time.services": [], "time.synchronized": None}))
    assert f["action"] == "fail" and "no time sync service is active" in f["msg"]


def test_clock_not_synchronized():
    f = only(verdict({"time.synchronized": False}, time_action="warn"))
    assert f["action"] == "warn"
    assert "NTPSynchronized=False, service chrony" in f["msg"] and "(etcd_preflight_time_action)" in f["msg"]


def test_a_container_skips_the_time_service_but_not_the_offset():
    v = verdict({"time.services": [], "peers.m2.clock_offset_ms": 900.0}, container="podman")
    f = only(v)
    assert "clock offset to m2 measured 900.0 ms; expected at most 500 ms" in f["msg"]
    assert "container (podman): clock kept by the host" in v["report"]


def test_unreachable_peer():
    peer = {"error": "no answer from 10.0.0.12 port 22 within 1.0 s (timeout)", "address": "10.0.0.12",
            "clock_offset_ms": None, "clock_method": "no ICMP timestamp reply"}
    v = verdict({"peers.m2": peer})
    f = only(v)
    assert f["action"] == "fail" and "m1: m2 is unreachable: no answer" in f["msg"]
    assert v["failed"] and v["msg"].startswith("Preflight failed: m1: m2 is unreachable")
    assert "clock offset n/a (no ICMP timestamp reply) ms" in v["report"]


def test_slow_round_trip():
    f = only(verdict({"peers.m2.min_ms": 14.2, "peers.m2.median_ms": 15.0, "peers.m2.max_ms": 19.1}))
    assert f["msg"] == ("m1: round-trip time to m2 (10.0.0.12) measured 14.2 ms at best of 5 (median 15.0 ms, "
                        "max 19.1 ms); expected at most 10 ms (etcd_preflight_rtt_max_ms)")


def test_thresholds_given_as_strings_compare_as_numbers():
    assert verdict({"peers.m2.min_ms": 9.0}, rtt_max_ms="10", min_cpus="8", min_memory_mb="16384")["findings"] == []
    assert only(verdict({"peers.m2.min_ms": 11.0}, rtt_max_ms="10"))["action"] == "fail"


def test_rotational_data_directory_and_little_free_space():
    v = verdict({"data.rotational": True, "data.free_bytes": 1 * GIB})
    assert [f["action"] for f in v["findings"]] == ["warn", "fail"]
    assert "the data directory /var/lib is on nvme0n1, a rotational device" in v["findings"][0]["msg"]
    assert v["findings"][1]["msg"] == ("m1: /var/lib has 1024.0 MiB free; expected at least 8192.0 MiB for the quota "
                                       "(etcd_quota_backend_bytes, etcd_preflight_min_free_bytes)")
    assert v["msg"].startswith("Preflight failed: m1: /var/lib has 1024.0 MiB free")
    assert "WARNING" not in v["msg"]


def test_warnings_are_reported_on_success():
    v = verdict({"data.rotational": True})
    assert not v["failed"] and v["msg"].split("\n")[1].startswith("WARNING: m1: the data directory /var/lib is on")


def test_min_free_bytes_wins_over_the_quota():
    assert free_needed({"min_free_bytes": 5, "quota_bytes": 10}) == 5
    assert free_needed({"min_free_bytes": 0, "quota_bytes": "10"}) == 10
    assert free_needed({}) == 8 * GIB
    assert only(verdict({"data.free_bytes": 2 * GIB}, min_free_bytes=3 * GIB))["action"] == "fail"
    assert verdict({"data.free_bytes": 2 * GIB}, min_free_bytes=GIB)["findings"] == []


@pytest.mark.parametrize("devices,level,factor", [(["a"], 10, 1.0), (["a", "b"], 1, 0.5), (["a", "b", "c"], "1", 1 / 3.0),
                                                  (["a", "b", "c", "d"], 10, 0.5), (["a", "b"], 0, 1.0)])
def test_usable_share_of_the_array(devices, level, factor):
    assert usable_factor(devices, level) == pytest.approx(factor)


def test_data_devices_missing_rotational_and_too_small():
    devices = {"/dev/a": {"exists": False},
               "/dev/b": {"exists": True, "name": "sdb", "rotational": True, "size_bytes": GIB},
               "/dev/c": {"exists": True, "name": "sdc", "rotational": None, "size_bytes": GIB}}
    v = verdict({"devices": devices}, devices=list(devices), raid_level=1)
    msgs = [(f["action"], f["msg"]) for f in v["findings"]]
    assert msgs[0] == ("fail", "m1: data device /dev/a does not exist (etcd_disk_devices)")
    assert msgs[1] == ("warn", "m1: data device /dev/b (sdb) is rotational; expected an SSD (etcd_preflight_rotational_action)")
    # a missing device: the size of the array is not judged
    assert len(msgs) == 2
    devices["/dev/a"] = {"exists": True, "name": "sda", "rotational": False, "size_bytes": GIB}
    v = verdict({"devices": devices}, devices=list(devices), raid_level=1)
    assert v["findings"][-1]["msg"].startswith("m1: the data array would hold 1024.0 MiB; expected at least 8192.0 MiB")
    assert "/dev/b: 1.0 GiB rotational True" in v["report"]


def test_with_devices_the_data_directory_is_not_judged():
    devices = {"/dev/a": {"exists": True, "name": "sda", "rotational": False, "size_bytes": 20 * GIB}}
    v = verdict({"devices": devices, "data.rotational": True, "data.free_bytes": 0}, devices=["/dev/a"])
    assert v["findings"] == []


def test_fio_error_and_slow_fdatasync():
    f = only(verdict({"fio": {"error": "fio is not installed"}}, fio_action="warn"))
    assert f == {"action": "warn", "msg": "m1: fio could not measure fdatasync latency: fio is not installed (etcd_preflight_fio)"}
    slow = {"path": "/var/lib/etcd", "size": "22m", "p99_ms": 25.5, "mean_ms": 3.0, "syncs": 9000}
    f = only(verdict({"fio": slow}))
    assert f["action"] == "fail" and "fdatasync 99th percentile in /var/lib/etcd measured 25.5 ms" in f["msg"]
    assert verdict({"fio": dict(slow, p99_ms=2.0)})["findings"] == []


def test_fio_alone_is_judged_on_fio_alone():
    v = preflight_findings({"changed": False, "fio": {"path": "/var/lib/etcd", "size": "2m", "p99_ms": 50.0,
                                                      "mean_ms": 9.0, "syncs": 900}},
                           dict(SETTINGS, fio_action="warn"))
    assert [f["action"] for f in v["findings"]] == ["warn"] and not v["failed"]
    assert v["report"] == "fio fdatasync p99 50.0 ms, mean 9.0 ms in /var/lib/etcd"
    assert v["msg"].startswith("fio fdatasync p99 50.0 ms, mean 9.0 ms in /var/lib/etcd\nWARNING: m1: fdatasync 99th")
    ignored = preflight_findings({"fio": {"error": "x"}}, dict(SETTINGS, fio_action="ignore"))
    assert not ignored["failed"] and "WARNING" not in ignored["msg"]


def test_too_few_cpus_and_too_little_memory():
    v = verdict({"cpus": 2, "memory_bytes": 4 * GIB}, resources_action="fail")
    assert [f["msg"] for f in v["findings"]] == [
        "m1: 2 CPUs; recommended at least 4 (etcd_preflight_min_cpus, etcd_preflight_resources_action)",
        "m1: 4096 MiB memory; recommended at least 8192 MiB (etcd_preflight_min_memory_mb, etcd_preflight_resources_action)"]
    # 5 % below the minimum is tolerated (the kernel keeps some memory)
    assert verdict({"memory_bytes": int(8 * GIB * 0.96)})["findings"] == []


def test_ports_held_by_others_but_not_by_our_etcd():
    ports = {"2379": {"listening": True, "processes": ["etcd"], "foreign": []},
             "2380": {"listening": True, "processes": ["etcd"], "foreign": ["etcd (pid 7, /usr/bin/etcd)"]},
             "2381": {"listening": True, "processes": ["nginx"]}}
    v = verdict({"ports": ports})
    msgs = [f["msg"] for f in v["findings"]]
    assert len(msgs) == 2
    assert msgs[0].startswith("m1: port 2380 is held by etcd (pid 7, /usr/bin/etcd); expected free or held by the etcd "
                              "this collection installs (/opt/etcd)")
    assert msgs[1].startswith("m1: port 2381 is held by nginx;")


def test_ignore_is_neither_a_warning_nor_a_failure():
    v = verdict({"cpus": 1}, resources_action="ignore")
    assert v["findings"] == [{"action": "ignore", "msg": v["findings"][0]["msg"]}]
    assert not v["failed"] and "WARNING" not in v["msg"]


def test_findings_are_ordered_time_network_disk_fio_resources_ports():
    v = verdict({"time.services": [], "peers.m2.min_ms": 99.0, "data.free_bytes": 0, "fio": {"error": "x"},
                 "cpus": 1, "ports.2379": {"listening": True, "processes": ["x"], "foreign": ["x"]}})
    words = ["no time sync", "round-trip", "MiB free", "fio could not", "CPUs", "port 2379"]
    assert [next(w for w in words if w in f["msg"]) for f in v["findings"]] == words
