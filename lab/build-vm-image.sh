#!/usr/bin/env bash
# Build the Debian 12 VM image for the molecule scenario `vm` (real disks, mdadm, a real boot):
#   .lab/vm/debian12.img   raw disk, MBR, one ext4 partition labelled "root", GRUB in the MBR, Debian's kernel
# The guest boots its own initramfs (so mdadm.conf written by the disk role counts at boot), gets 10.0.2.15 by
# DHCP on qemu's user network and lets root in with the lab key (.lab/ssh/id_ed25519).
# Idempotent: an image built by this same script version is kept; FORCE=1 rebuilds. Needs root, debootstrap,
# qemu-utils, fdisk (sfdisk), e2fsprogs and util-linux (losetup, partx).
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
VM_DIR=${VM_DIR:-$LAB_DIR/vm}
SUITE=${SUITE:-bookworm}
IMAGE=${IMAGE:-$VM_DIR/debian12.img}
SIZE=${SIZE:-3G}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PKGS=busybox,grub-pc,systemd,systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,zstd,openssh-server
PKGS=$PKGS,mdadm,xfsprogs,python3,sudo,iproute2,procps,nftables,fio,systemd-timesyncd,util-linux,e2fsprogs
stamp_want=$(sha256sum <"$0" | cut -c1-16)

mkdir -p "$VM_DIR/debs" "$LAB_DIR/ssh"
if [ -z "${FORCE:-}" ] && [ -s "$IMAGE" ] && [ "$(cat "$IMAGE.stamp" 2>/dev/null)" = "$stamp_want" ]; then
  echo ">> $IMAGE is up to date"
  exit 0
fi
bash lab/lab-key.sh "$LAB_DIR"

rootfs=$VM_DIR/rootfs
mnt=$VM_DIR/mnt
loop=""
cleanup() {
  set +e
  for m in dev/pts dev proc sys ""; do mountpoint -q "$mnt/$m" && umount "$mnt/$m"; done
  if [ -n "$loop" ]; then partx -d "$loop" 2>/dev/null; losetup -d "$loop"; fi
}
trap cleanup EXIT
cleanup
rm -rf "$rootfs" "$IMAGE.tmp" "$IMAGE.stamp"

start=$(date +%s)
echo ">> debootstrap $SUITE for the VM image (about a minute)"
debootstrap --variant=minbase --cache-dir="$VM_DIR/debs" --include="$PKGS" "$SUITE" "$rootfs" "$MIRROR" \
  >"$VM_DIR/debootstrap.log" 2>&1 || { tail -20 "$VM_DIR/debootstrap.log"; exit 1; }

# Identity, network, login.
echo quorum-etcd-vm >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 quorum-etcd-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
printf 'LABEL=root / ext4 errors=remount-ro,noatime 0 1\n' >"$rootfs/etc/fstab"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$rootfs/etc/systemd/network/10-en.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
mkdir -p "$rootfs/etc/systemd/system/sockets.target.wants" "$rootfs/etc/systemd/system/network-online.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.socket "$rootfs/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
  "$rootfs/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
rm -f "$rootfs/etc/resolv.conf"; printf 'nameserver 10.0.2.3\n' >"$rootfs/etc/resolv.conf"
mkdir -p "$rootfs/root/.ssh" && chmod 0700 "$rootfs/root/.ssh"
install -m 0600 "$LAB_DIR/ssh/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/lab.conf"
# No NTP server is reachable from the lab: timesyncd stays unsynchronized (the preflight reports it).
# initramfs: Debian's default (MODULES=most) made the boot initramfs; later updates inside the guest use only the
# modules it needs (6 min -> under 1 min under TCG).
printf 'MODULES=dep\n' >"$rootfs/etc/initramfs-tools/conf.d/quorum-etcd-vm.conf"
# No array exists in the image; mdadm must not go looking for one at build time.
rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*_Packages
# GRUB: a fixed menu that boots the kernel and initramfs the /vmlinuz and /initrd.img links point to.
cat >"$rootfs/boot/grub/grub.cfg.in" <<'EOF'
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod part_msdos
insmod ext2
search --no-floppy --label --set=root root
menuentry "Debian GNU/Linux (quorum-etcd-vm)" {
  linux /vmlinuz root=LABEL=root ro console=ttyS0,115200 net.ifnames=1 quiet
  initrd /initrd.img
}
EOF

# The disk: MBR, partition 1 from 1 MiB, ext4 made from the tree without mounting, then GRUB installed from the
# image's own grub-pc through a loop device.
echo ">> disk image"
truncate -s "$SIZE" "$IMAGE.tmp"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$IMAGE.tmp"
loop=$(losetup -f --show "$IMAGE.tmp")
partx -a "$loop"
for _ in $(seq 1 20); do [ -b "${loop}p1" ] && break; sleep 0.2; done
mke2fs -q -t ext4 -L root -d "$rootfs" -F "${loop}p1"
mkdir -p "$mnt"
mount "${loop}p1" "$mnt"
mount --bind /dev "$mnt/dev"; mount --bind /dev/pts "$mnt/dev/pts"
mount -t proc proc "$mnt/proc"; mount -t sysfs sys "$mnt/sys"
chroot "$mnt" grub-install --target=i386-pc --boot-directory=/boot "$loop" >"$VM_DIR/grub-install.log" 2>&1 \
  || { cat "$VM_DIR/grub-install.log"; exit 1; }
mv "$mnt/boot/grub/grub.cfg.in" "$mnt/boot/grub/grub.cfg"
cleanup
loop=""
trap - EXIT
rm -rf "$rootfs" "$mnt"
mv "$IMAGE.tmp" "$IMAGE"
echo "$stamp_want" >"$IMAGE.stamp"
echo ">> built $IMAGE in $(( $(date +%s) - start )) s"
