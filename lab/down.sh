#!/usr/bin/env bash
# Remove lab hosts and their network: only what lab/up.sh created on LAB_NET (label quorum-etcd-lab=LAB_NET).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers.conf}
LAB_NET=${LAB_NET:-quorum-etcd-lab}
podman ps -aq --filter "label=quorum-etcd-lab=$LAB_NET" | xargs -r podman rm -f -t 0 >/dev/null
if podman network exists "$LAB_NET"; then podman network rm -f "$LAB_NET" >/dev/null; fi
