# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight role's decisions: what etcd_preflight_info measured, compared with the thresholds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: preflight_findings
short_description: Compare a member's preflight figures with the thresholds, and report them
version_added: 0.3.0
description:
  - Takes what M(quorum.etcd.etcd_preflight_info) measured on a member and returns every finding (what was measured,
    what was expected, which variable changes it) with its action (C(fail), C(warn) or C(ignore)), the figures as
    one line, and the message the preflight role prints or fails with.
  - Only the sections present are judged, so a result of O(_input) with C(fio_only) is judged on fio alone.
options:
  _input:
    description: The registered result of M(quorum.etcd.etcd_preflight_info).
    type: dict
    required: true
  settings:
    description:
      - C(host) (the member's inventory name), C(container) (the host probe's container manager, empty on a machine),
        C(devices) (C(etcd_disk_devices)), C(raid_level), C(quota_bytes), C(min_free_bytes), C(install_dir), and the
        preflight role's thresholds and actions without their C(etcd_preflight_) prefix (C(time_action),
        C(clock_offset_max_ms), C(network_action), C(rtt_max_ms), C(rotational_action), C(fio_action),
        C(fio_p99_max_ms), C(resources_action), C(min_cpus), C(min_memory_mb), C(free_space_action), C(ports_action)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Report the figures, stop before any change when a check fails
  vars:
    __verdict: "{{ __etcd_preflight_result | quorum.etcd.preflight_findings(__etcd_preflight_settings) }}"
  ansible.builtin.assert:
    that: not __verdict.failed
    success_msg: "{{ __verdict.msg }}"
    fail_msg: "{{ __verdict.msg }}"
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    findings:
      description: Every finding, C(action) and C(msg), in the order time, network, disk, fio, resources, ports.
      type: list
      elements: dict
    failed:
      description: Whether a finding has the action C(fail).
      type: bool
    report:
      description: The figures measured, one line.
      type: str
    msg:
      description: The report and the warnings (C(WARNING) lines), or C(Preflight failed) with the failures and the report.
      type: str
"""

MIB = 1048576.0
GIB = 1073741824.0


def usable_factor(devices, raid_level):
    """Usable share of the array the disk role builds: RAID1 one device, RAID10 half, RAID0 and one device all."""
    if len(devices) < 2:
        return 1.0
    return {"0": 1.0, "1": 1.0 / len(devices), "10": 0.5}[str(raid_level)]


def free_needed(settings):
    """Bytes the quota needs: etcd_preflight_min_free_bytes when above 0, else the backend quota."""
    minimum = int(settings.get("min_free_bytes") or 0)
    return minimum if minimum > 0 else int(settings.get("quota_bytes") or 8589934592)


def _time(p, s, h, out):
    t = p["time"]
    if s.get("container"):
        return
    if not t["services"]:
        out.append((s["time_action"], h + ": no time sync service is active (looked for chrony, systemd-timesyncd, ntp,"
                    " ntpsec, openntpd); expected one, synchronized (etcd_preflight_time_action)"))
    elif t["synchronized"] is not True:
        out.append((s["time_action"], "%s: the clock is not synchronized (timedatectl NTPSynchronized=%s, service %s);"
                    " expected synchronized (etcd_preflight_time_action)"
                    % (h, t["synchronized"], ",".join(t["services"]))))


def _peers(p, s, h, out):
    for name, peer in p["peers"].items():
        offset = peer.get("clock_offset_ms")
        if offset is not None and offset > float(s["clock_offset_max_ms"]):
            out.append((s["time_action"], "%s: clock offset to %s measured %s ms; expected at most %s ms"
                        " (etcd_preflight_clock_offset_max_ms)" % (h, name, offset, s["clock_offset_max_ms"])))
        if "error" in peer:
            out.append((s["network_action"], "%s: %s is unreachable: %s; expected an answer within 1 s"
                        " (etcd_preflight_rtt_port, etcd_preflight_network_action)" % (h, name, peer["error"])))
        elif peer["min_ms"] > float(s["rtt_max_ms"]):
            out.append((s["network_action"], "%s: round-trip time to %s (%s) measured %s ms at best of %s (median %s ms,"
                        " max %s ms); expected at most %s ms (etcd_preflight_rtt_max_ms)"
                        % (h, name, peer["address"], peer["min_ms"], peer["samples"], peer["median_ms"],
                           peer["max_ms"], s["rtt_max_ms"])))


def _disk(p, s, h, out):
    devices = list(s.get("devices") or [])
    needed = free_needed(s)
    quota_hint = " MiB for the quota (etcd_quota_backend_bytes, etcd_preflight_min_free_bytes)"
    if devices:
        for path, info in p["devices"].items():
            if not info["exists"]:
                out.append(("fail", "%s: data device %s does not exist (etcd_disk_devices)" % (h, path)))
            elif info.get("rotational"):
                out.append((s["rotational_action"], "%s: data device %s (%s) is rotational; expected an SSD"
                            " (etcd_preflight_rotational_action)" % (h, path, info.get("name"))))
        sizes = [int(i.get("size_bytes") or 0) for i in p["devices"].values() if i["exists"]]
        usable = int(sum(sizes) * usable_factor(devices, s.get("raid_level", 10)))
        if len(sizes) == len(devices) and usable < needed:
            out.append((s["free_space_action"], "%s: the data array would hold %s MiB; expected at least %s%s"
                        % (h, round(usable / MIB, 1), round(needed / MIB, 1), quota_hint)))
        return
    data = p["data"]
    if data.get("rotational"):
        out.append((s["rotational_action"], "%s: the data directory %s is on %s, a rotational device; expected an SSD"
                    " (etcd_preflight_rotational_action)" % (h, data["path"], data.get("device"))))
    if data["free_bytes"] < needed:
        out.append((s["free_space_action"], "%s: %s has %s MiB free; expected at least %s%s"
                    % (h, data["path"], round(data["free_bytes"] / MIB, 1), round(needed / MIB, 1), quota_hint)))


def _fio(p, s, h, out):
    fio = p["fio"]
    if "error" in fio:
        out.append((s["fio_action"], "%s: fio could not measure fdatasync latency: %s (etcd_preflight_fio)"
                    % (h, fio["error"])))
    elif fio["p99_ms"] > float(s["fio_p99_max_ms"]):
        out.append((s["fio_action"], "%s: fdatasync 99th percentile in %s measured %s ms; expected at most %s ms"
                    " (etcd_preflight_fio_p99_max_ms)" % (h, fio["path"], fio["p99_ms"], s["fio_p99_max_ms"])))


def _resources(p, s, h, out):
    if p["cpus"] < int(s["min_cpus"]):
        out.append((s["resources_action"], "%s: %s CPUs; recommended at least %s (etcd_preflight_min_cpus,"
                    " etcd_preflight_resources_action)" % (h, p["cpus"], s["min_cpus"])))
    if p["memory_bytes"] < int(s["min_memory_mb"]) * MIB * 0.95:
        out.append((s["resources_action"], "%s: %s MiB memory; recommended at least %s MiB (etcd_preflight_min_memory_mb,"
                    " etcd_preflight_resources_action)" % (h, int(p["memory_bytes"] / MIB), s["min_memory_mb"])))


def _ports(p, s, h, out):
    for port, listener in p["ports"].items():
        holders = listener.get("foreign")
        if holders is None:
            holders = [n for n in listener.get("processes", []) if n != "etcd"]
        if listener["listening"] and holders:
            out.append((s["ports_action"], "%s: port %s is held by %s; expected free or held by the etcd this"
                        " collection installs (%s); another service, another etcd included, would keep etcd from"
                        " starting (etcd_client_port, etcd_peer_port, etcd_metrics_port)"
                        % (h, port, ", ".join(holders), s.get("install_dir") or "/opt/etcd")))


def report(p, s):
    """The figures, one line."""
    parts = []
    if "cpus" in p:
        parts.append("%s CPUs, %s GiB memory" % (p["cpus"], round(p["memory_bytes"] / GIB, 1)))
    if "time" in p:
        t = p["time"]
        parts.append("container (%s): clock kept by the host" % s["container"] if s.get("container") else
                     "time sync: %s, synchronized: %s" % (",".join(t["services"]) or "none", t["synchronized"]))
    if "data" in p:
        d = p["data"]
        parts.append("data directory %s on %s (rotational: %s, free %s GiB%s)"
                     % (d["path"], d.get("device") or "an unknown device",
                        d["rotational"] if d.get("rotational") is not None else "unknown",
                        round(d["free_bytes"] / GIB, 1), ", holds etcd data" if d.get("has_etcd_data") else ""))
    for path, i in (p.get("devices") or {}).items():
        parts.append("%s: %s GiB rotational %s" % (path, round(int(i.get("size_bytes") or 0) / GIB, 1),
                                                   i["rotational"] if "rotational" in i else "?"))
    for name, peer in (p.get("peers") or {}).items():
        offset = peer.get("clock_offset_ms")
        parts.append("%s: rtt %s/%s/%s ms (min/median/max)%s, clock offset %s ms"
                     % (name, peer.get("min_ms", "?"), peer.get("median_ms", "?"), peer.get("max_ms", "?"),
                        (" " + peer["error"]) if "error" in peer else "",
                        offset if offset is not None else "n/a (%s)" % peer.get("clock_method")))
    if "fio" in p:
        fio = p["fio"]
        parts.append("fio fdatasync p99 %s ms%s in %s" % (fio.get("p99_ms", fio.get("error", "?")),
                                                          (", mean %s ms" % fio["mean_ms"]) if "mean_ms" in fio else "",
                                                          fio.get("path", "?")))
    return "; ".join(parts)


def preflight_findings(result, settings):
    p, s = result, settings
    h = str(s["host"])
    out = []
    checks = (("time", _time), ("peers", _peers), ("data", _disk), ("fio", _fio), ("cpus", _resources),
              ("ports", _ports))
    for key, check in checks:
        if key in p:
            check(p, s, h, out)
    findings = [{"action": action, "msg": msg} for action, msg in out]
    failures = [f["msg"] for f in findings if f["action"] == "fail"]
    warnings = [f["msg"] for f in findings if f["action"] == "warn"]
    figures = report(p, s)
    if failures:
        msg = "Preflight failed: %s. Measured: %s" % ("; ".join(failures), figures)
    else:
        msg = "\n".join([figures] + ["WARNING: " + w for w in warnings])
    return {"findings": findings, "failed": bool(failures), "report": figures, "msg": msg}


class FilterModule(object):
    def filters(self):
        return {"preflight_findings": preflight_findings}
