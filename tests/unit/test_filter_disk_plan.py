"""The disk role's safety plan (plugins/filter/disk_plan.py): every refusal, the foreign devices, force, tools."""

from __future__ import annotations

import copy

from ansible_collections.quorum.etcd.plugins.filter.disk_plan import disk_plan


def blank(name):
    return {"exists": True, "block": True, "name": name, "signature": "", "label": "", "pttype": "",
            "partitions": [], "holders": [], "mounted": []}


def info(n=2, **changes):
    devices = {"/dev/disk/by-id/d%d" % i: blank("sd" + "abcd"[i]) for i in range(n)}
    target = "/dev/md/etcd" if n > 1 else "/dev/disk/by-id/d0"
    result = {"devices": devices, "array": {"path": "/dev/md/etcd", "exists": False},
              "target": {"path": target, "exists": n == 1, "devno": "8:0" if n == 1 else ""},
              "data_dir": {"mountpoint": False, "mounted_devno": "", "exists": False, "has_etcd_data": False},
              "mdadm_conf": "", "tools": {"mdadm": True, "mkfs.xfs": True, "mkfs.ext4": True, "update-initramfs": True}}
    result = copy.deepcopy(result)
    result.update(changes)
    return result


def settings(n=2, **changes):
    s = dict(host="m1", raid=n > 1, raid_level=10, fstype="xfs", fs_label="etcd-data", data_dir="/var/lib/etcd",
             force=False, tools=(["mdadm"] if n > 1 else []) + ["mkfs.xfs"])
    s.update(changes)
    return s


def test_blank_devices_are_used():
    plan = disk_plan(info(4), settings(4))
    assert plan == {"always": [], "foreign": [], "refused": False, "wipe": [], "missing_tools": [], "msg": ""}


def test_not_a_block_device():
    i = info(2)
    i["devices"]["/dev/disk/by-id/d0"] = {"exists": False}
    i["devices"]["/dev/disk/by-id/d1"]["block"] = False
    plan = disk_plan(i, settings(2, force=True))
    assert plan["always"] == ["/dev/disk/by-id/d0 is not a block device", "/dev/disk/by-id/d1 is not a block device"]
    assert plan["refused"] and "Never done: /dev/disk/by-id/d0 is not a block device;" in plan["msg"]


def test_a_device_in_another_array_is_never_used_even_forced():
    i = info(2)
    i["devices"]["/dev/disk/by-id/d0"]["holders"] = ["md0"]
    plan = disk_plan(i, settings(2, force=True))
    assert plan["always"] == ["/dev/disk/by-id/d0 is in use by md0"] and plan["refused"] and plan["wipe"] == []


def test_members_of_our_array_are_ours():
    i = info(2, array={"path": "/dev/md/etcd", "exists": True, "name": "md127", "level": "raid10",
                       "members": ["sdb", "sda"], "uuid": "u", "metadata": "1.2"})
    for d in i["devices"].values():
        d.update(holders=["md127"], signature="linux_raid_member")
    assert disk_plan(i, settings(2))["refused"] is False


def test_an_array_of_another_shape_is_never_reshaped():
    i = info(2, array={"path": "/dev/md/etcd", "exists": True, "name": "md127", "level": "raid1",
                       "members": ["sda", "sdb"], "uuid": "u", "metadata": "1.2"})
    for d in i["devices"].values():
        d.update(holders=["md127"])
    plan = disk_plan(i, settings(2))
    assert plan["always"] == ["/dev/md/etcd exists as raid1 over sda,sdb, not raid10 over sda,sdb (arrays are never reshaped)"]
    i["array"].update(level="raid10", members=["sda", "sdc"])
    assert "not raid10 over sda,sdb" in disk_plan(i, settings(2))["always"][0]


def test_a_device_mounted_elsewhere_is_never_used():
    i = info(1)
    i["devices"]["/dev/disk/by-id/d0"]["mounted"] = ["/srv"]
    plan = disk_plan(i, settings(1, force=True))
    assert plan["always"] == ["/dev/disk/by-id/d0 is mounted at /srv"]


def test_our_filesystem_mounted_at_the_data_directory_is_ours():
    i = info(1)
    i["devices"]["/dev/disk/by-id/d0"].update(signature="xfs", label="etcd-data", mounted=["/var/lib/etcd"])
    i["data_dir"].update(mountpoint=True, mounted_devno="8:0", exists=True, has_etcd_data=True)
    assert disk_plan(i, settings(1)) == {"always": [], "foreign": [], "refused": False, "wipe": [],
                                         "missing_tools": [], "msg": ""}


def test_a_filesystem_of_another_label_is_foreign_then_wiped_when_forced():
    i = info(1)
    i["devices"]["/dev/disk/by-id/d0"].update(signature="ext4", label="used")
    plan = disk_plan(i, settings(1))
    assert plan["foreign"] == [{"path": "/dev/disk/by-id/d0",
                                "msg": "/dev/disk/by-id/d0 carries a ext4 signature labelled used"}]
    assert plan["refused"] and plan["wipe"] == []
    assert plan["msg"] == ("m1: refusing to prepare the etcd data disk. In safe mode: /dev/disk/by-id/d0 carries a ext4 "
                           "signature labelled used; set etcd_disk_force=true to wipe and use them.")
    forced = disk_plan(i, settings(1, force=True))
    assert not forced["refused"] and forced["wipe"] == ["/dev/disk/by-id/d0"] and forced["msg"] == ""


def test_a_partition_table_and_partitions_are_foreign():
    i = info(2)
    i["devices"]["/dev/disk/by-id/d1"].update(pttype="gpt", partitions=["sdb1", "sdb2"])
    plan = disk_plan(i, settings(2))
    assert plan["foreign"][0]["msg"] == "/dev/disk/by-id/d1 carries a gpt partition table and partitions sdb1,sdb2"


def test_with_several_devices_an_etcd_labelled_filesystem_is_foreign():
    i = info(2)
    i["devices"]["/dev/disk/by-id/d0"].update(signature="xfs", label="etcd-data")
    assert disk_plan(i, settings(2))["foreign"][0]["path"] == "/dev/disk/by-id/d0"


def test_the_data_directory_is_a_mount_point_of_another_device():
    i = info(1)
    i["data_dir"].update(mountpoint=True, mounted_devno="253:1", exists=True)
    plan = disk_plan(i, settings(1, force=True))
    assert plan["always"] == ["/var/lib/etcd is already a mount point of another device (253:1)"]
    i["target"]["exists"] = False
    assert disk_plan(i, settings(1))["refused"]


def test_etcd_data_on_the_root_filesystem_is_never_hidden():
    i = info(1)
    i["data_dir"].update(exists=True, has_etcd_data=True)
    plan = disk_plan(i, settings(1, force=True))
    assert len(plan["always"]) == 1 and "already holds etcd data (member/) on the root filesystem" in plan["always"][0]
    assert "replace_member" in plan["always"][0]


def test_refusals_and_foreign_devices_together():
    i = info(2)
    i["devices"]["/dev/disk/by-id/d0"]["holders"] = ["dm-0"]
    i["devices"]["/dev/disk/by-id/d1"].update(signature="swap")
    plan = disk_plan(i, settings(2))
    assert plan["msg"] == ("m1: refusing to prepare the etcd data disk. Never done: /dev/disk/by-id/d0 is in use by dm-0."
                           " In safe mode: /dev/disk/by-id/d1 carries a swap signature; set etcd_disk_force=true to wipe"
                           " and use them.")
    forced = disk_plan(i, settings(2, force=True))
    assert forced["refused"] and "In safe mode" not in forced["msg"] and forced["wipe"] == []


def test_missing_tools():
    i = info(2, tools={"mdadm": False, "mkfs.xfs": True, "mkfs.ext4": False, "update-initramfs": True})
    assert disk_plan(i, settings(2))["missing_tools"] == ["mdadm"]
    assert disk_plan(i, settings(1, tools=["mkfs.ext4"]))["missing_tools"] == ["mkfs.ext4"]
