#!/usr/bin/env bash
# The lab's SSH key (.lab/ssh/id_ed25519) and the authorized_keys file lab hosts mount: made once, under a lock, as
# scenarios started together (make molecule) share them. authorized_keys is rewritten only when it differs: hosts
# that are running read it at each login. Usage: bash lab/lab-key.sh LAB_DIR
set -euo pipefail
LAB_DIR=$1
mkdir -p "$LAB_DIR/ssh"
exec 9>"$LAB_DIR/ssh/.lock"
flock 9
if [ ! -s "$LAB_DIR/ssh/id_ed25519.pub" ]; then
  rm -f "$LAB_DIR/ssh/id_ed25519" "$LAB_DIR/ssh/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C quorum-etcd-lab -f "$LAB_DIR/ssh/id_ed25519"
fi
if ! cmp -s "$LAB_DIR/ssh/id_ed25519.pub" "$LAB_DIR/ssh/authorized_keys"; then
  cp "$LAB_DIR/ssh/id_ed25519.pub" "$LAB_DIR/ssh/authorized_keys.new"
  mv -f "$LAB_DIR/ssh/authorized_keys.new" "$LAB_DIR/ssh/authorized_keys"
fi
