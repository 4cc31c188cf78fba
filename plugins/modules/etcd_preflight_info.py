#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_preflight_info
short_description: Measure what an etcd member needs before anything changes
version_added: 0.1.0
description:
  - Gathers, in one run on the member, every figure the preflight checks of quorum.etcd compare (the comparisons run
    on the controller, in the C(quorum.etcd.preflight_findings) filter) - CPUs and memory, the time sync service
    and the clock offset to every peer, the round-trip time to every peer, the data directory's device and free
    space, the data devices, who listens on the etcd ports, and optionally the fdatasync latency measured with fio.
  - Changes nothing on the member, except that fio, when asked, writes and removes a test directory below the data
    directory (its parent when the data directory does not exist yet). The module therefore runs in check mode too.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.info_module]
options:
  data_dir:
    description: etcd's data directory (or, while it does not exist, its nearest existing parent) is measured.
    type: path
    default: /var/lib/etcd
  ports:
    description: TCP ports whose listeners are reported.
    type: list
    elements: int
    default: []
  own_etcd_dirs:
    description:
      - A listener named C(etcd) whose executable lies below one of these directories is this collection's etcd;
        any other listener on O(ports) is reported as foreign.
    type: list
    elements: path
    default: [/opt/etcd]
  peers:
    description: The other members, each name with its address (IP or DNS name), measured (round-trip time, clock
      offset) in this order.
    type: dict
    default: {}
  rtt_port:
    description: TCP port of the peers' handshakes (a refused connection counts as an answer).
    type: int
    default: 22
  samples:
    description: TCP handshakes per peer (the best one counts).
    type: int
    default: 5
  timeout:
    description: Seconds to wait for one answer from a peer.
    type: float
    default: 1.0
  devices:
    description: Data devices to describe (existence, kernel name, rotational, size).
    type: list
    elements: path
    default: []
  fio:
    description: Measure the fdatasync latency with fio (sequential 2300-byte writes, fdatasync after each).
    type: bool
    default: false
  fio_size:
    description: How much fio writes.
    type: str
    default: 22m
  fio_dir:
    description: Where fio writes. Default the data directory, or its nearest existing parent.
    type: path
  fio_only:
    description: Measure only the fdatasync latency (for a data disk mounted after the other checks).
    type: bool
    default: false
notes:
  - The clock offset uses ICMP timestamp requests (raw sockets, IPv4 only); where they are not possible it is null
    and C(clock_method) in RV(peers) says why.
"""

EXAMPLES = r"""
- name: Measure the member
  quorum.etcd.etcd_preflight_info:
    data_dir: /var/lib/etcd
    ports: [2379, 2380, 2381]
    peers:
      etcd-2: 10.0.0.12
      etcd-3: 10.0.0.13
  register: __etcd_preflight_result

- name: Measure fdatasync latency on the data disk only
  quorum.etcd.etcd_preflight_info:
    data_dir: /var/lib/etcd
    fio: true
    fio_only: true
"""

RETURN = r"""
cpus:
  description: CPUs the module may run on.
  returned: unless O(fio_only)
  type: int
memory_bytes:
  description: MemTotal in bytes.
  returned: unless O(fio_only)
  type: int
time:
  description: Active time sync services (C(services)), C(synchronized) (timedatectl NTPSynchronized, null when
    unknown) and C(offset_ms) (chrony's offset, null without chrony).
  returned: unless O(fio_only)
  type: dict
data:
  description: The data directory's C(path) (nearest existing), C(device), C(rotational), C(free_bytes) and
    C(has_etcd_data).
  returned: unless O(fio_only)
  type: dict
devices:
  description: Per device of O(devices), C(exists), C(name), C(rotational) and C(size_bytes).
  returned: unless O(fio_only)
  type: dict
ports:
  description: Per port of O(ports) (as a string), C(listening), C(processes) (names) and C(foreign) (holders that
    are not this collection's etcd).
  returned: unless O(fio_only)
  type: dict
peers:
  description:
    - Per peer name, C(min_ms), C(median_ms), C(max_ms), C(samples) and C(address), or C(error) when no handshake
      was answered; C(clock_offset_ms) (null when not measured) and C(clock_method).
  returned: unless O(fio_only)
  type: dict
fio:
  description: C(path), C(size), C(p99_ms), C(mean_ms) and C(syncs), or C(error).
  returned: with O(fio)
  type: dict
"""

import json
import os
import shutil
import socket
import struct
import tempfile
import time

from ansible.module_utils.common.process import get_bin_path

from ansible_collections.quorum.etcd.plugins.module_utils._probe import read_text, run_probe


TIME_SERVICES = ["chrony", "chronyd", "systemd-timesyncd", "ntp", "ntpsec", "openntpd"]


def time_sync(run):
    rc, out, dummy = run(["systemctl", "is-active"] + TIME_SERVICES, 30)
    states = out.split()
    active = [s for s, st in zip(TIME_SERVICES, states) if st == "active"]
    rc, out, dummy = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], 30)
    synced = {"yes": True, "no": False}.get(out.strip()) if rc == 0 else None
    offset_ms = None
    if any(s.startswith("chrony") for s in active):
        rc, out, dummy = run(["chronyc", "-c", "tracking"], 30)
        fields = out.strip().split(",")
        if rc == 0 and len(fields) > 4:
            try:
                offset_ms = abs(float(fields[4])) * 1000.0
            except ValueError:
                pass
    return {"services": active, "synchronized": synced, "offset_ms": offset_ms}


def _ms_since_midnight():
    return int((time.time() % 86400) * 1000)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _wrap(ms):
    # differences of milliseconds-since-midnight values, brought into (-12h, 12h]
    ms %= 86400000
    return ms - 86400000 if ms > 43200000 else ms


def icmp_offset(addr, samples, timeout):
    """Clock offset to a peer with ICMP timestamp requests (RFC 792), as NTP computes it; best of the samples."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError as e:
        return None, "no raw ICMP socket (%s)" % e.strerror
    ident = os.getpid() & 0xFFFF
    best = None
    try:
        sock.settimeout(timeout)
        for seq in range(1, samples + 1):
            t1 = _ms_since_midnight()
            hdr = struct.pack("!BBHHHIII", 13, 0, 0, ident, seq, t1, 0, 0)
            sock.sendto(struct.pack("!BBHHHIII", 13, 0, _checksum(hdr), ident, seq, t1, 0, 0), (addr, 0))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    data, src = sock.recvfrom(512)
                except socket.timeout:
                    break
                ihl = (data[0] & 0x0F) * 4
                if len(data) < ihl + 20 or src[0] != addr:
                    continue
                typ, _c, _s, rid, rseq, _o, t2, t3 = struct.unpack("!BBHHHIII", data[ihl:ihl + 20])
                if typ != 14 or rid != ident or rseq != seq:
                    continue
                t4 = _ms_since_midnight()
                rtt = _wrap(t4 - t1) - _wrap(t3 - t2)
                off = (_wrap(t2 - t1) + _wrap(t3 - t4)) / 2.0
                if best is None or rtt < best[0]:
                    best = (rtt, off)
                break
    except OSError as e:
        return None, "ICMP timestamp failed (%s)" % e.strerror
    finally:
        sock.close()
    if best is None:
        return None, "no ICMP timestamp reply"
    return abs(best[1]), "icmp-timestamp"


def tcp_rtt(addr, port, samples, timeout):
    """Round trip of a TCP handshake: connect() returns after SYN, SYN-ACK (or RST: a refused port counts too)."""
    times, error = [], None
    try:
        infos = socket.getaddrinfo(addr, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as e:
        return {"error": "cannot resolve %s: %s" % (addr, e)}
    family, _t, _p, _n, sockaddr = infos[0]
    for dummy in range(samples):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        start = time.monotonic()
        try:
            s.connect(sockaddr)
            times.append((time.monotonic() - start) * 1000.0)
        except ConnectionRefusedError:
            times.append((time.monotonic() - start) * 1000.0)
        except OSError as e:
            error = "no answer from %s port %d within %.1f s (%s)" % (addr, port, timeout, e.__class__.__name__)
        finally:
            s.close()
    if not times:
        return {"error": error, "address": sockaddr[0]}
    times.sort()
    return {"min_ms": round(times[0], 3), "median_ms": round(times[len(times) // 2], 3), "max_ms": round(times[-1], 3),
            "samples": len(times), "address": sockaddr[0]}


def existing_parent(path):
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    return path or "/"


def block_info(devno):
    """Kernel name and rotational flag of a block device number (partitions and md arrays resolved to disks)."""
    major, minor = os.major(devno), os.minor(devno)
    sysdir = "/sys/dev/block/%d:%d" % (major, minor)
    if not os.path.exists(sysdir):
        return None, None
    real = os.path.realpath(sysdir)
    name = os.path.basename(real)
    queue = os.path.join(real, "queue")
    if not os.path.exists(queue):  # a partition: the queue belongs to the disk
        queue = os.path.join(os.path.dirname(real), "queue")
    slaves = os.path.join(real, "slaves")
    if os.path.isdir(slaves) and os.listdir(slaves):  # md/dm: rotational if any member is
        rots = []
        for s in os.listdir(slaves):
            st = os.stat("/dev/" + s) if os.path.exists("/dev/" + s) else None
            rots.append(block_info(st.st_rdev)[1] if st else None)
        return name, (None if None in rots else any(rots))
    try:
        with open(os.path.join(queue, "rotational")) as f:
            return name, f.read().strip() == "1"
    except OSError:
        return name, None


def describe_device(path):
    if not os.path.exists(path):
        return {"exists": False}
    st = os.stat(path)
    name, rot = block_info(st.st_rdev)
    size = None
    if name:
        try:
            with open("/sys/class/block/%s/size" % name) as f:
                size = int(f.read()) * 512
        except OSError:
            pass
    return {"exists": True, "name": name, "rotational": rot, "size_bytes": size}


def data_dir_info(data_dir):
    path = existing_parent(data_dir)
    st = os.stat(path)
    vfs = os.statvfs(path)
    name, rot = block_info(st.st_dev)
    return {
        "path": path,
        "device": name,
        "rotational": rot,
        "free_bytes": vfs.f_bavail * vfs.f_frsize,
        "has_etcd_data": os.path.isdir(os.path.join(data_dir, "member")),
    }


def _holder(pid):
    """(comm, exe) of a process; exe is empty when it cannot be read."""
    with open("/proc/%s/comm" % pid) as f:
        comm = f.read().strip()
    try:
        exe = os.readlink("/proc/%s/exe" % pid)
    except OSError:
        exe = ""
    return comm, exe


def is_own_etcd(comm, exe, own_dirs):
    """etcd of this collection: named etcd and run from a release unpacked below one of own_dirs."""
    if comm != "etcd" or not exe:
        return False
    return any(exe.startswith(d.rstrip("/") + "/") for d in own_dirs)


def _uid_holders(uid):
    """(comm, resolved command path) of the processes running as UID, from files anyone may read.

    Used when a listener's process is not visible through /proc/PID/fd: reading another user's descriptors needs
    CAP_SYS_PTRACE, which root lacks in a container."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as f:
                uid_line = [ln for ln in f if ln.startswith("Uid:")]
            if not uid_line or uid_line[0].split()[1] != uid:
                continue
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode("utf-8", "replace")
        except OSError:
            continue
        out.append((pid, comm, os.path.realpath(argv0) if argv0.startswith("/") else ""))
    return out


def listeners(ports, own_dirs=()):
    """Who listens on each TCP port: process names, and the holders that are not this collection's etcd."""
    wanted = set(ports)
    found, owners = {}, {}
    for proto in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(proto) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":
                continue
            port = int(cols[1].rsplit(":", 1)[1], 16)
            if port in wanted:
                found.setdefault(port, set()).add(cols[9])
                owners[cols[9]] = cols[7]
    result = {}
    if not found:
        return {str(p): {"listening": False, "processes": [], "foreign": []} for p in ports}
    inodes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.setdefault(link[8:-1], set()).add(pid)
    for p in ports:
        procs, foreign = set(), set()
        for inode in found.get(p, ()):
            holders = inodes.get(inode, ())
            if not holders:  # descriptors not readable: judge by the processes of the socket's owner
                uid = owners.get(inode, "")
                mates = _uid_holders(uid) if uid else []
                for pid, comm, exe in mates:
                    procs.add(comm)
                if not mates or not all(is_own_etcd(comm, exe, own_dirs) for pid, comm, exe in mates):
                    foreign.add("a process of uid %s (%s)" % (uid or "?", ", ".join(sorted(set(
                        "%s %s" % (comm, exe) for pid, comm, exe in mates))) or "not visible"))
            for pid in holders:
                try:
                    comm, exe = _holder(pid)
                except OSError:
                    continue
                procs.add(comm)
                if not is_own_etcd(comm, exe, own_dirs):
                    foreign.add("%s (pid %s, %s)" % (comm, pid, exe or "executable unknown"))
        result[str(p)] = {"listening": p in found, "processes": sorted(procs), "foreign": sorted(foreign)}
    return result


def fio_latency(directory, size, run, fio=None):
    """fdatasync latency as the etcd docs measure it: sequential 2300-byte writes, fdatasync after each."""
    if not fio:
        return {"error": "fio is not installed"}
    work = tempfile.mkdtemp(prefix=".etcd-preflight-fio-", dir=directory)
    try:
        rc, out, err = run([fio, "--rw=write", "--ioengine=sync", "--fdatasync=1", "--directory=" + work,
                            "--size=" + size, "--bs=2300", "--name=etcd-preflight", "--output-format=json"], 900)
        if rc != 0:
            return {"error": "fio failed: %s" % (err.strip() or out.strip())[-500:]}
        try:
            job = json.loads(out[out.index("{"):])["jobs"][0]
        except (ValueError, KeyError, IndexError):
            return {"error": "fio printed no JSON report: %s" % out.strip()[-500:]}
        lat = job.get("sync", {}).get("lat_ns", {})
        pct = lat.get("percentile", {})
        p99 = pct.get("99.000000")
        if p99 is None:
            return {"error": "fio reported no fdatasync percentiles"}
        return {"path": directory, "size": size, "p99_ms": round(p99 / 1e6, 3),
                "mean_ms": round(lat.get("mean", 0) / 1e6, 3), "syncs": lat.get("N")}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def memory_bytes(meminfo="/proc/meminfo"):
    for line in read_text(meminfo).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def gather(params, run):
    result = {}
    if not params["fio_only"]:
        result = {
            "cpus": len(os.sched_getaffinity(0)),
            "memory_bytes": memory_bytes(),
            "time": time_sync(run),
            "data": data_dir_info(params["data_dir"]),
            "devices": dict((d, describe_device(d)) for d in params["devices"]),
            "ports": listeners(params["ports"], params["own_etcd_dirs"]),
            "peers": {},
        }
        for name, address in params["peers"].items():
            rtt = tcp_rtt(str(address), params["rtt_port"], params["samples"], params["timeout"])
            off, method = (None, "peer address unresolved")
            if "address" in rtt and ":" not in rtt["address"]:
                off, method = icmp_offset(rtt["address"], 3, params["timeout"])
            elif "address" in rtt:
                method = "IPv6: no ICMP timestamp"
            rtt.update({"clock_offset_ms": off, "clock_method": method})
            result["peers"][name] = rtt
    if params["fio"]:
        try:
            fio = get_bin_path("fio")
        except ValueError:
            fio = None
        result["fio"] = fio_latency(params["fio_dir"] or existing_parent(params["data_dir"]), params["fio_size"], run, fio)
    return result


def main():
    run_probe(dict(
        data_dir=dict(type="path", default="/var/lib/etcd"),
        ports=dict(type="list", elements="int", default=[]),
        own_etcd_dirs=dict(type="list", elements="path", default=["/opt/etcd"]),
        peers=dict(type="dict", default={}),
        rtt_port=dict(type="int", default=22),
        samples=dict(type="int", default=5),
        timeout=dict(type="float", default=1.0),
        devices=dict(type="list", elements="path", default=[]),
        fio=dict(type="bool", default=False),
        fio_size=dict(type="str", default="22m"),
        fio_dir=dict(type="path"),
        fio_only=dict(type="bool", default=False),
    ), gather)


if __name__ == "__main__":
    main()
