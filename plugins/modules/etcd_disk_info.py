#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_disk_info
short_description: Describe the etcd data devices, the array over them and the data directory's mount
version_added: 0.1.0
description:
  - Reads, in one run on the member, what the disk role of quorum.etcd decides from (in the
    C(quorum.etcd.disk_plan) filter) - per data device its signatures (C(blkid -p), no cache), partitions, holders
    and mounts; the mdadm array of that name (level, members, UUID); the device the filesystem goes on (the array
    with several devices, else the device) and its filesystem; whether the data directory is a mount point and of
    which device; C(/etc/mdadm/mdadm.conf); which disk tools are installed.
  - Changes nothing, so it runs in check mode too.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.info_module]
options:
  devices:
    description: The data devices (stable names such as C(/dev/disk/by-id/...) are resolved).
    type: list
    elements: path
    default: []
  array_name:
    description: Name of the mdadm array (C(/dev/md/NAME)).
    type: str
    default: etcd
  data_dir:
    description: etcd's data directory, where the filesystem is mounted.
    type: path
    default: /var/lib/etcd
"""

EXAMPLES = r"""
- name: Describe the data devices, the array and the data directory
  quorum.etcd.etcd_disk_info:
    devices:
      - /dev/disk/by-id/nvme-A
      - /dev/disk/by-id/nvme-B
    array_name: etcd
    data_dir: /var/lib/etcd
  register: __etcd_disk_result
"""

RETURN = r"""
devices:
  description:
    - Per device of O(devices), C(exists); when it exists also C(block), C(name) (kernel name), C(signature) and
      C(label) (blkid TYPE and LABEL), C(pttype), C(partitions), C(holders) (of the device and its partitions) and
      C(mounted) (mount points, C(swap) for swap).
  returned: always
  type: dict
array:
  description: C(path) and C(exists); when it exists C(name), C(level) (C(raid10)), C(members), C(uuid), C(metadata).
  returned: always
  type: dict
target:
  description: The device the filesystem goes on - C(path), C(exists); when it exists C(fstype), C(uuid), C(label),
    C(devno) (major:minor) and C(name).
  returned: always
  type: dict
data_dir:
  description: C(mountpoint), C(mounted_devno) (major:minor of what is mounted there), C(exists), C(has_etcd_data).
  returned: always
  type: dict
mdadm_conf:
  description: The text of C(/etc/mdadm/mdadm.conf) (empty when absent).
  returned: always
  type: str
tools:
  description: Whether C(mdadm), C(mkfs.xfs), C(mkfs.ext4) and C(update-initramfs) are installed.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.common.process import get_bin_path

from ansible_collections.quorum.etcd.plugins.module_utils._probe import SYSTEM_PATH, read_text, run_probe


def blkid(path, run):
    """Signatures found by a low-level probe (no cache): TYPE, LABEL, UUID, PTTYPE..."""
    rc, out, dummy = run(["blkid", "-p", "-o", "export", path], 30)
    if rc != 0:
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def mounts():
    """Mounted block devices by major:minor, and mount points."""
    by_dev, points = {}, {}
    for line in read_text("/proc/self/mountinfo").splitlines():
        cols = line.split()
        if len(cols) > 4:
            by_dev.setdefault(cols[2], []).append(cols[4])
            points[cols[4]] = cols[2]
    return by_dev, points


def swaps():
    names = set()
    for line in read_text("/proc/swaps").splitlines()[1:]:
        if line.split():
            names.add(os.path.basename(os.path.realpath(line.split()[0])))
    return names


def sysfs_list(name, sub):
    path = "/sys/class/block/%s/%s" % (name, sub)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def devno(name):
    return read_text("/sys/class/block/%s/dev" % name).strip()


def partitions(name):
    base = "/sys/class/block/%s" % name
    if not os.path.isdir(base):
        return []
    return sorted(e for e in os.listdir(base) if e.startswith(name) and os.path.exists(os.path.join(base, e, "partition")))


def which(name):
    try:
        return get_bin_path(name, opt_dirs=SYSTEM_PATH.split(":"))
    except ValueError:
        return None


def describe_devices(paths, run, mounted=None, swapped=None):
    by_dev = mounted if mounted is not None else mounts()[0]
    swapped = swapped if swapped is not None else swaps()
    devices = {}
    for path in paths:
        if not os.path.exists(path):
            devices[path] = {"exists": False}
            continue
        real = os.path.realpath(path)
        name = os.path.basename(real)
        parts = partitions(name)
        used = [n for n in [name] + parts if devno(n) in by_dev or n in swapped]
        sig = blkid(real, run)
        devices[path] = {
            "exists": True,
            "block": os.path.exists("/sys/class/block/%s" % name),
            "name": name,
            "signature": sig.get("TYPE", ""),
            "label": sig.get("LABEL", ""),
            "pttype": sig.get("PTTYPE", ""),
            "partitions": parts,
            "holders": sorted(set(h for n in [name] + parts for h in sysfs_list(n, "holders"))),
            "mounted": [pt for n in used for pt in by_dev.get(devno(n), ["swap"])],
        }
    return devices


def describe_array(array_path, run):
    array = {"path": array_path, "exists": os.path.exists(array_path)}
    if array["exists"]:
        name = os.path.basename(os.path.realpath(array_path))
        level = read_text("/sys/class/block/%s/md/level" % name).strip()
        rc, out, dummy = run(["mdadm", "--detail", "--export", array_path], 30)
        detail = dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}
        array.update({"name": name, "level": level, "members": sysfs_list(name, "slaves"),
                      "uuid": detail.get("MD_UUID", ""), "metadata": detail.get("MD_METADATA", "")})
    return array


def describe_target(target, run):
    info = {"path": target, "exists": bool(target) and os.path.exists(target)}
    if info["exists"]:
        real = os.path.realpath(target)
        sig = blkid(real, run)
        name = os.path.basename(real)
        info.update({"fstype": sig.get("TYPE", ""), "uuid": sig.get("UUID", ""), "label": sig.get("LABEL", ""),
                     "devno": devno(name), "name": name})
    return info


def gather(params, run):
    by_dev, points = mounts()
    array_path = "/dev/md/%s" % params["array_name"]
    devices = params["devices"]
    target = array_path if len(devices) > 1 else (devices[0] if devices else "")
    data_dir = params["data_dir"].rstrip("/") or "/"
    return {
        "devices": describe_devices(devices, run, by_dev, swaps()),
        "array": describe_array(array_path, run),
        "target": describe_target(target, run),
        "data_dir": {
            "mountpoint": data_dir in points,
            "mounted_devno": points.get(data_dir, ""),
            "exists": os.path.isdir(data_dir),
            "has_etcd_data": os.path.isdir(os.path.join(data_dir, "member")),
        },
        "mdadm_conf": read_text("/etc/mdadm/mdadm.conf"),
        "tools": dict((t, bool(which(t))) for t in ("mdadm", "mkfs.xfs", "mkfs.ext4", "update-initramfs")),
    }


def main():
    run_probe(dict(
        devices=dict(type="list", elements="path", default=[]),
        array_name=dict(type="str", default="etcd"),
        data_dir=dict(type="path", default="/var/lib/etcd"),
    ), gather)


if __name__ == "__main__":
    main()
