#!/usr/bin/env bash
# Stop the lab VM VM_NAME (by its pid file, only if that pid is our qemu) and remove its overlay and data disks.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
VM_NAME=${VM_NAME:-quorum-etcd-vm}
VM_DIR=${VM_DIR:-$LAB_DIR/vm}
RUN=$VM_DIR/$VM_NAME
if [ -s "$RUN/qemu.pid" ]; then
  pid=$(cat "$RUN/qemu.pid")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-name $VM_NAME "; then
    kill "$pid"
    for _ in $(seq 1 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    [ ! -e "/proc/$pid" ] || kill -9 "$pid"
  fi
fi
rm -rf "$RUN"
