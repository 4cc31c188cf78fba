#!/usr/bin/env bash
# Boot the lab VM for the molecule scenario `vm`: Debian 12 under qemu/TCG (KVM does not run guests here) from a
# throwaway overlay of .lab/vm/debian12.img (lab/build-vm-image.sh), with fresh data disks, SSH on 127.0.0.1:VM_PORT.
#   VM_NAME=quorum-etcd-vm VM_PORT=10222 VM_DISKS=4 VM_DISK_SIZE=1G VM_MEM=1024 VM_CPUS=2
# Data disks are SCSI SSDs (virtio-scsi, rotation_rate=1) with serials etcd-data-N
# (/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_etcd-data-N); one more, serial etcd-used, already holds an ext4 filesystem
# (for the safe-mode test). A VM of the same name is stopped first. Returns once sshd answers.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
VM_NAME=${VM_NAME:-quorum-etcd-vm}
VM_DIR=${VM_DIR:-$LAB_DIR/vm}
RUN=$VM_DIR/$VM_NAME
VM_PORT=${VM_PORT:-10222}
VM_DISKS=${VM_DISKS:-4}
VM_DISK_SIZE=${VM_DISK_SIZE:-1G}
VM_MEM=${VM_MEM:-1024}
VM_CPUS=${VM_CPUS:-2}
IMAGE=${IMAGE:-$VM_DIR/debian12.img}
[ -s "$IMAGE" ] || bash lab/build-vm-image.sh
VM_NAME=$VM_NAME bash lab/vm-down.sh
mkdir -p "$RUN"
qemu-img create -q -f qcow2 -b "$IMAGE" -F raw "$RUN/root.qcow2"
drives=(-drive "file=$RUN/root.qcow2,if=none,id=root,format=qcow2,cache=unsafe" -device "virtio-blk-pci,drive=root,bootindex=0"
        -device "virtio-scsi-pci,id=scsi0")
for n in $(seq 1 "$VM_DISKS"); do
  qemu-img create -q -f qcow2 "$RUN/data$n.qcow2" "$VM_DISK_SIZE"
  drives+=(-drive "file=$RUN/data$n.qcow2,if=none,id=data$n,format=qcow2,cache=unsafe"
           -device "scsi-hd,bus=scsi0.0,drive=data$n,serial=etcd-data-$n,rotation_rate=1")
done
truncate -s 64M "$RUN/used.img"
mke2fs -q -t ext4 -L used -F "$RUN/used.img"
drives+=(-drive "file=$RUN/used.img,if=none,id=used,format=raw" -device "scsi-hd,bus=scsi0.0,drive=used,serial=etcd-used,rotation_rate=1")
qemu-system-x86_64 -name "$VM_NAME" -accel tcg,tb-size=256 -m "$VM_MEM" -smp "$VM_CPUS" -nodefaults -display none \
  -serial "file:$RUN/console.log" "${drives[@]}" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$VM_PORT-:22" -device virtio-net-pci,netdev=n0 \
  -daemonize -pidfile "$RUN/qemu.pid"
# The forwarded port accepts connections before sshd runs: wait for the banner.
deadline=$((SECONDS + ${VM_BOOT_TIMEOUT:-360}))
while [ "$SECONDS" -lt "$deadline" ]; do
  kill -0 "$(cat "$RUN/qemu.pid")" 2>/dev/null || { echo "VM $VM_NAME: qemu exited; see $RUN/console.log" >&2; exit 1; }
  if banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$VM_PORT && head -c 7 <&3" 2>/dev/null) && [ "$banner" = "SSH-2.0" ]; then
    exit 0
  fi
  sleep 0.5
done
echo "VM $VM_NAME: sshd did not answer within ${VM_BOOT_TIMEOUT:-360} s on 127.0.0.1:$VM_PORT; see $RUN/console.log" >&2
exit 1
