#!/usr/bin/env bash
# Install what the lab and the tests need on a Debian 12 controller: apt packages and a Python venv.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
VENV=${VENV:-$LAB_DIR/venv}
PKGS=(podman runc conmon netavark aardvark-dns catatonit iptables debootstrap python3-venv
      ca-certificates curl make rsync openssh-client shellcheck prometheus prometheus-node-exporter
      qemu-system-x86 qemu-utils fdisk e2fsprogs util-linux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo ">> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Each systemd container takes inotify instances; the default 128 per user runs out with a dozen lab hosts
# (their systemd then hangs in "initializing": "Failed to create inotify object: Too many open files").
[ "$(sysctl -n fs.inotify.max_user_instances)" -ge 1024 ] || sysctl -q -w fs.inotify.max_user_instances=1024
mkdir -p "$LAB_DIR"
if [ ! -x "$VENV/bin/ansible-playbook" ] || [ requirements.txt -nt "$VENV/.installed" ]; then
  echo ">> python venv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements.txt
  touch "$VENV/.installed"
fi
# The lowest ansible-core the collection claims (meta/runtime.yml): `make unit` runs tests/unit with it too.
VENV_MIN=${VENV_MIN:-$LAB_DIR/venv-min}
if [ ! -x "$VENV_MIN/bin/pytest" ] || [ lab/requirements-min.txt -nt "$VENV_MIN/.installed" ]; then
  echo ">> python venv $VENV_MIN (lowest claimed ansible-core)"
  python3 -m venv "$VENV_MIN"
  "$VENV_MIN/bin/pip" install -q --upgrade pip
  "$VENV_MIN/bin/pip" install -q -r lab/requirements-min.txt
  touch "$VENV_MIN/.installed"
fi
