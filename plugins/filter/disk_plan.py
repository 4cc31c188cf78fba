# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disk role's safety decisions: from one description of the member's disks, before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: disk_plan
short_description: Decide which data devices are ours, which are foreign and what is never done
version_added: 0.3.0
description:
  - Takes what M(quorum.etcd.etcd_disk_info) read on a member and the disk role's settings, and decides, before
    anything changes, what the role may do.
  - B(Never done) (refused even with C(force)) - a path that is not a block device; a device in use by another
    array or device mapper; a device mounted elsewhere than the data directory (or mounted without being ours);
    a data directory that is the mount point of another device; a data directory that holds etcd data on the root
    filesystem; an existing array of that name with another level or other members (arrays are never reshaped).
  - B(Foreign) (refused unless C(force), then wiped) - a device that carries a partition table, partitions or a
    signature, and is neither in our array nor our filesystem (C(fstype) and C(label)) of a single-device setup.
options:
  _input:
    description: The registered result of M(quorum.etcd.etcd_disk_info).
    type: dict
    required: true
  settings:
    description:
      - C(host) (inventory name), C(raid) (more than one device), C(raid_level), C(fstype), C(fs_label),
        C(data_dir), C(force) (C(etcd_disk_force)) and C(tools) (the commands the role needs).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse devices that carry data unless forced, and what is never safe
  vars:
    __plan: "{{ __etcd_disk_result | quorum.etcd.disk_plan(__etcd_disk_settings) }}"
  ansible.builtin.assert:
    that: not __plan.refused
    fail_msg: "{{ __plan.msg }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    always:
      description: What is never done, one sentence each.
      type: list
      elements: str
    foreign:
      description: Devices that carry data, C(path) and C(msg).
      type: list
      elements: dict
    refused:
      description: Whether the role must stop (something never done, or foreign devices without C(force)).
      type: bool
    wipe:
      description: The devices whose signatures are wiped (the foreign ones, with C(force) only).
      type: list
      elements: str
    missing_tools:
      description: The commands of C(tools) that are not installed.
      type: list
      elements: str
    msg:
      description: Why the role stops (empty when it does not).
      type: str
"""


def _carries(i):
    what = []
    if i.get("pttype"):
        what.append("a %s partition table" % i["pttype"])
    if i.get("partitions"):
        what.append("partitions " + ",".join(i["partitions"]))
    if i.get("signature"):
        what.append("a %s signature%s" % (i["signature"], (" labelled " + i["label"]) if i.get("label") else ""))
    return " and ".join(what)


def disk_plan(info, settings):
    s = settings
    raid = bool(s["raid"])
    data_dir = s["data_dir"]
    array, target, data = info["array"], info["target"], info["data_dir"]
    always, foreign = [], []
    for path, i in info["devices"].items():
        if not i["exists"] or not i.get("block"):
            always.append(path + " is not a block device")
            continue
        in_our_array = bool(array["exists"] and array.get("name") in i["holders"])
        our_fs = (not raid) and i["signature"] == s["fstype"] and i["label"] == s["fs_label"]
        if i["holders"] and not in_our_array:
            always.append("%s is in use by %s" % (path, ", ".join(i["holders"])))
        elif i["mounted"] and not (our_fs and i["mounted"] == [data_dir]):
            always.append("%s is mounted at %s" % (path, ", ".join(i["mounted"])))
        elif not in_our_array and not our_fs and (i["signature"] or i["pttype"] or i["partitions"]):
            foreign.append({"path": path, "msg": "%s carries %s" % (path, _carries(i))})
    if data["mountpoint"] and (not target["exists"] or data["mounted_devno"] != target.get("devno")):
        always.append("%s is already a mount point of another device (%s)" % (data_dir, data["mounted_devno"]))
    elif not data["mountpoint"] and data["has_etcd_data"]:
        always.append("%s already holds etcd data (member/) on the root filesystem: it is never formatted over or"
                      " hidden; move the member first (replace_member)" % data_dir)
    if raid and array["exists"]:
        want = sorted(i["name"] for i in info["devices"].values() if i["exists"])
        level = "raid%s" % s["raid_level"]
        if array.get("level") != level or sorted(array.get("members", [])) != want:
            always.append("%s exists as %s over %s, not %s over %s (arrays are never reshaped)"
                          % (array["path"], array.get("level"), ",".join(array.get("members", [])), level,
                             ",".join(want)))
    force = bool(s.get("force"))
    refused = bool(always) or (bool(foreign) and not force)
    msg = ""
    if refused:
        msg = "%s: refusing to prepare the etcd data disk." % s["host"]
        if always:
            msg += " Never done: %s." % "; ".join(always)
        if foreign and not force:
            msg += " In safe mode: %s; set etcd_disk_force=true to wipe and use them." % "; ".join(
                f["msg"] for f in foreign)
    tools = info.get("tools", {})
    return {
        "always": always,
        "foreign": foreign,
        "refused": refused,
        "wipe": [f["path"] for f in foreign] if force and not refused else [],
        "missing_tools": [t for t in s.get("tools", []) if not tools.get(t)],
        "msg": msg,
    }


class FilterModule(object):
    def filters(self):
        return {"disk_plan": disk_plan}
