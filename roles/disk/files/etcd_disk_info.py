#!/usr/bin/python3
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only description of the etcd data devices, the array over them and the data directory mount.

Run by ansible.builtin.script with its parameters as base64-encoded JSON; prints one JSON object."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import sys
import shutil
import subprocess


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except OSError:
        return 127, ""


def blkid(path):
    """Signatures found by a low-level probe (no cache): TYPE, LABEL, UUID, PTTYPE..."""
    rc, out = run(["blkid", "-p", "-o", "export", path])
    if rc != 0:
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def mounts():
    """Mounted block devices by major:minor, and mount points."""
    by_dev, points = {}, {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            cols = line.split()
            by_dev.setdefault(cols[2], []).append(cols[4])
            points[cols[4]] = cols[2]
    return by_dev, points


def swaps():
    names = set()
    try:
        with open("/proc/swaps") as f:
            for line in f.read().splitlines()[1:]:
                names.add(os.path.basename(os.path.realpath(line.split()[0])))
    except OSError:
        pass
    return names


def sysfs_list(name, sub):
    path = "/sys/class/block/%s/%s" % (name, sub)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def devno(name):
    try:
        with open("/sys/class/block/%s/dev" % name) as f:
            return f.read().strip()
    except OSError:
        return ""


def partitions(name):
    base = "/sys/class/block/%s" % name
    if not os.path.isdir(base):
        return []
    return sorted(e for e in os.listdir(base) if e.startswith(name) and os.path.exists(os.path.join(base, e, "partition")))


def main():
    p = dict(devices=[], array_name="etcd", data_dir="/var/lib/etcd")
    p.update(json.loads(base64.b64decode(sys.argv[1]).decode("utf-8")))
    by_dev, points = mounts()
    swapped = swaps()
    devices = {}
    for path in p["devices"]:
        if not os.path.exists(path):
            devices[path] = {"exists": False}
            continue
        real = os.path.realpath(path)
        name = os.path.basename(real)
        parts = partitions(name)
        used = [n for n in [name] + parts if devno(n) in by_dev or n in swapped]
        sig = blkid(real)
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
    array_path = "/dev/md/%s" % p["array_name"]
    array = {"path": array_path, "exists": os.path.exists(array_path)}
    if array["exists"]:
        name = os.path.basename(os.path.realpath(array_path))
        try:
            with open("/sys/class/block/%s/md/level" % name) as f:
                level = f.read().strip()
        except OSError:
            level = ""
        rc, out = run(["mdadm", "--detail", "--export", array_path])
        detail = dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}
        array.update({"name": name, "level": level, "members": sysfs_list(name, "slaves"),
                      "uuid": detail.get("MD_UUID", ""), "metadata": detail.get("MD_METADATA", "")})
    target = array_path if len(p["devices"]) > 1 else (p["devices"][0] if p["devices"] else "")
    target_info = {"path": target, "exists": bool(target) and os.path.exists(target)}
    if target_info["exists"]:
        real = os.path.realpath(target)
        sig = blkid(real)
        tname = os.path.basename(real)
        target_info.update({"fstype": sig.get("TYPE", ""), "uuid": sig.get("UUID", ""), "label": sig.get("LABEL", ""),
                            "devno": devno(tname), "name": tname})
    data_dir = p["data_dir"].rstrip("/") or "/"
    data = {
        "mountpoint": data_dir in points,
        "mounted_devno": points.get(data_dir, ""),
        "exists": os.path.isdir(data_dir),
        "has_etcd_data": os.path.isdir(os.path.join(data_dir, "member")),
    }
    mdadm_conf = "/etc/mdadm/mdadm.conf"
    conf = ""
    if os.path.exists(mdadm_conf):
        with open(mdadm_conf) as f:
            conf = f.read()
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    tools = dict((t, bool(shutil.which(t, path=path))) for t in ("mdadm", "mkfs.xfs", "mkfs.ext4", "update-initramfs"))
    print(json.dumps({"disk": {"devices": devices, "array": array, "target": target_info, "data_dir": data,
                               "mdadm_conf": conf, "tools": tools}}))


if __name__ == "__main__":
    main()
