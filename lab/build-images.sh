#!/usr/bin/env bash
# Build the local systemd host images (Debian 12 "bookworm" and Debian 13 "trixie") with debootstrap.
# No registry is needed. An image built by this very script (label quorum.build = the script's hash) is kept;
# a changed script or FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers.conf}
SUITES=${SUITES:-bookworm trixie}
stamp=$(sha256sum "$0" | cut -c1-16)
for suite in $SUITES; do
  image=localhost/quorum-etcd-host:$suite
  if [ -z "${FORCE:-}" ] && podman image exists "$image" \
     && [ "$(podman image inspect -f '{{ index .Labels "quorum.build" }}' "$image")" = "$stamp" ]; then
    continue
  fi
  rootfs=$LAB_DIR/rootfs-$suite
  rm -rf "$rootfs"
  echo ">> debootstrap $suite (about a minute)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,python3,iproute2,dbus,ca-certificates,procps,openssh-server,less,nftables \
    "$suite" "$rootfs" http://deb.debian.org/debian >"$LAB_DIR/debootstrap-$suite.log" 2>&1 \
    || { tail -20 "$LAB_DIR/debootstrap-$suite.log"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # Units that make no sense in a container and slow its boot.
  for u in systemd-networkd-wait-online.service systemd-timesyncd.service getty@tty1.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$u"
  done
  # sshd: the lab is reached over SSH (pipelining, ControlPersist), as production hosts are. Host keys are made
  # at first boot so every container has its own.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d" "$rootfs/root/.ssh"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$rootfs/etc/systemd/system/ssh.service.d/keygen.conf"
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/lab.conf"
  chmod 0700 "$rootfs/root/.ssh"
  tar -C "$rootfs" -c . | podman import --change 'CMD=["/sbin/init"]' --change "LABEL=quorum.build=$stamp" \
    - "$image" >/dev/null
  rm -rf "$rootfs"
  echo ">> built $image"
done
