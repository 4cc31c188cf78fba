"""VM scenario: RAID10 data disk, xfs mounted noatime at /var/lib/etcd, etcd on it; survives a reboot; safe mode.

Commands run in the guest over SSH (127.0.0.1, the port qemu forwards); order matters (the reboot test last but one).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from quorum_lab import INVENTORY, REPO, lab_env

PORT = os.environ.get("VM_PORT", "10222")
KEY = os.path.join(REPO, ".lab", "ssh", "id_ed25519")
SSH = ["ssh", "-i", KEY, "-p", PORT, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
       "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "root@127.0.0.1"]


def sh(cmd, check=True, timeout=120):
    proc = subprocess.run(SSH + [cmd], capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "%s: rc %s\n%s\n%s" % (cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def etcd_healthy(deadline_s=120):
    deadline = time.monotonic() + deadline_s
    while True:
        proc = subprocess.run(SSH + ["bash -lc 'etcdctl endpoint health'"], capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode == 0 and "is healthy" in proc.stdout + proc.stderr:
            return
        assert time.monotonic() < deadline, "etcd not healthy: %s %s" % (proc.stdout, proc.stderr)
        time.sleep(2)


def check_array_and_mount():
    mdstat = sh("cat /proc/mdstat")
    m = re.search(r"^(md\d+) : active raid10 (.*)$", mdstat, re.M)
    assert m, mdstat
    assert len(re.findall(r"sd[a-z]+\[\d+\]", m.group(2))) == 4, mdstat
    assert "[4/4] [UUUU]" in mdstat, mdstat
    # assembled under its name, from mdadm.conf
    assert sh("readlink -f /dev/md/etcd").strip() == "/dev/" + m.group(1)
    fs = sh("findmnt -n -o SOURCE,FSTYPE,OPTIONS /var/lib/etcd").split()
    assert fs[0] == "/dev/" + m.group(1) and fs[1] == "xfs", fs
    assert "noatime" in fs[2].split(","), fs
    fstab = sh("cat /etc/fstab")
    assert re.search(r"^UUID=\S+\s+/var/lib/etcd\s+xfs\s+noatime", fstab, re.M), fstab
    assert sh("stat -c '%U %a' /var/lib/etcd").strip() == "etcd 700"
    return m.group(1)


def test_raid10_xfs_noatime():
    check_array_and_mount()
    assert re.search(r"^ARRAY /dev/md/etcd metadata=1.2 UUID=", sh("cat /etc/mdadm/mdadm.conf"), re.M)
    # the initramfs carries it too
    assert "ARRAY /dev/md/etcd" in sh("unmkinitramfs /boot/initrd.img-$(uname -r) /tmp/i >/dev/null && "
                                      "cat /tmp/i/main/etc/mdadm/mdadm.conf /tmp/i/etc/mdadm/mdadm.conf 2>/dev/null; true")


def test_etcd_healthy_with_data_on_the_array():
    etcd_healthy()
    md = check_array_and_mount()
    assert sh("findmnt -n -o SOURCE --target /var/lib/etcd/member").strip() == "/dev/" + md
    sh("bash -lc 'etcdctl put /vm/survivor before-reboot'")


def test_tuning_applied():
    assert sh("sysctl -n vm.swappiness").strip() == "1"
    for n in range(1, 5):
        dev = sh("readlink -f /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_etcd-data-%d" % n).strip()
        assert "[mq-deadline]" in sh("cat /sys/block/%s/queue/scheduler" % os.path.basename(dev)), dev
    assert "table inet quorum_etcd" in sh("nft list tables")


def test_converge_sets_back_only_a_kernel_setting_that_drifted():
    """Someone changed vm.swappiness at run time: the next run sets that key alone (one change), nothing else."""
    sh("sysctl -qw vm.swappiness=60")
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, "--diff", os.path.join(REPO, "playbooks", "site.yml")],
                          capture_output=True, text=True, env=lab_env(), cwd=REPO, timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # The diff of the one write: the running value, set back from 60 to 1; no other file or setting is written.
    assert re.search(r"--- before: /proc/sys/vm/swappiness\n\+\+\+ after: /proc/sys/vm/swappiness\n", out), out[-3000:]
    assert len(re.findall(r"--- before: ", out)) == 1, out[-3000:]
    assert re.search(r"\s:\s+ok=\d+\s+changed=1\s", out), out[-1500:]
    assert sh("sysctl -n vm.swappiness").strip() == "1"


def test_reboot_assembles_mounts_and_etcd_returns():
    boot_id = sh("cat /proc/sys/kernel/random/boot_id").strip()
    subprocess.run(SSH + ["systemctl reboot"], capture_output=True, timeout=30, check=False)
    deadline = time.monotonic() + 240
    while True:
        assert time.monotonic() < deadline, "the VM did not come back within 240 s"
        time.sleep(3)
        try:
            proc = subprocess.run(SSH + ["cat /proc/sys/kernel/random/boot_id"], capture_output=True, text=True,
                                  timeout=15, check=False)
        except subprocess.TimeoutExpired:
            continue
        if proc.returncode == 0 and proc.stdout.strip() and proc.stdout.strip() != boot_id:
            break
    check_array_and_mount()
    etcd_healthy(180)
    assert sh("bash -lc 'etcdctl get /vm/survivor --print-value-only'").strip() == "before-reboot"
    assert "table inet quorum_etcd" in sh("nft list tables")


def test_safe_mode_refuses_a_disk_with_a_filesystem():
    proc = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(os.path.dirname(__file__), "..", "safe_mode.yml")],
        capture_output=True, text=True, env=lab_env(), cwd=REPO, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "In safe mode" in out and "carries a ext4 signature labelled used" in out, out[-3000:]
    assert "etcd_disk_force=true" in out
    assert sh("blkid -s LABEL -o value /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_etcd-used").strip() == "used"
    assert sh("mountpoint -q /srv/etcd-safe-mode; echo $?").strip() != "0"
