#!/usr/bin/env bash
# Start lab hosts as systemd containers on a podman network of their own, reachable over SSH.
# Safe to re-run: running hosts are kept; stopped ones are started; missing ones created.
#   LAB_HOSTS="etcd-1 etcd-2 etcd-3"   host names; the number after the last '-' picks the address (.10+N)
#   LAB_NET=quorum-etcd-lab LAB_SUBNET=10.89.77.0/24 LAB_IMAGE=localhost/quorum-etcd-host:bookworm
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers.conf}
LAB_NET=${LAB_NET:-quorum-etcd-lab}
LAB_SUBNET=${LAB_SUBNET:-10.89.77.0/24}
LAB_HOSTS=${LAB_HOSTS:-etcd-1 etcd-2 etcd-3}
LAB_IMAGE=${LAB_IMAGE:-localhost/quorum-etcd-host:bookworm}
prefix=${LAB_SUBNET%.*}

bash lab/lab-key.sh "$LAB_DIR"

podman network exists "$LAB_NET" \
  || podman network create --subnet "$LAB_SUBNET" --label "quorum-etcd-lab=$LAB_NET" "$LAB_NET" >/dev/null
for h in $LAB_HOSTS; do
  n=${h##*-}
  ip=$prefix.$((10 + n))
  state=$(podman container inspect -f '{{.State.Status}}' "$h" 2>/dev/null || true)
  case "$state" in
    # A container podman still calls running after the machine rebooted is a stale record: replace it.
    running) podman exec "$h" true >/dev/null 2>&1 && continue; podman rm -f "$h" >/dev/null ;;
    exited|stopped|created|configured) podman start "$h" >/dev/null; continue ;;
    "") ;;
    *) podman rm -f "$h" >/dev/null ;;
  esac
  podman run -d --name "$h" --hostname "$h" --network "$LAB_NET" --ip "$ip" \
    --systemd=always --cap-add NET_ADMIN --label "quorum-etcd-lab=$LAB_NET" \
    --volume "$LAB_DIR/ssh/authorized_keys:/root/.ssh/authorized_keys:ro" \
    "$LAB_IMAGE" /sbin/init >/dev/null
done
# Wait for each host's sshd (its banner, not just the port).
for h in $LAB_HOSTS; do
  ip=$prefix.$((10 + ${h##*-}))
  for i in $(seq 1 120); do
    if banner=$(timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 7 <&3" 2>/dev/null) && [ "$banner" = "SSH-2.0" ]; then
      break
    fi
    [ "$i" -lt 120 ] || { echo "lab host $h ($ip): sshd did not come up" >&2; exit 1; }
    sleep 0.25
  done
done
