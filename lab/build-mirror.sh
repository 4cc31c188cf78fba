#!/usr/bin/env bash
# Build a local etcd release mirror in the upstream layout from Debian's etcd packages:
#   MIRROR/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz  and  MIRROR/v3.5.16/SHA256SUMS
# Also installs etcdctl for the controller at .lab/bin/etcdctl.
# Idempotent: a release already in the mirror is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-$PWD/.lab}
MIRROR=$LAB_DIR/mirror
# version -> Debian suite that ships it
declare -A SUITE=([3.5.16]=trixie [3.5.30]=sid)
VERSIONS=${VERSIONS:-3.5.16 3.5.30}
mkdir -p "$MIRROR" "$LAB_DIR/bin"
for v in $VERSIONS; do
  suite=${SUITE[$v]:?no Debian suite known for etcd $v}
  rel=$MIRROR/v$v
  tarball=etcd-v$v-linux-amd64.tar.gz
  if [ -s "$rel/$tarball" ] && [ -s "$rel/SHA256SUMS" ]; then
    continue
  fi
  echo ">> etcd $v from Debian $suite"
  work=$LAB_DIR/apt-$suite
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  echo "deb http://deb.debian.org/debian $suite main" >"$work/sources.list"
  apt_opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o APT::Get::List-Cleanup=0)
  apt-get "${apt_opts[@]}" -qq update
  (cd "$work/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -qq download etcd-server etcd-client)
  got=$(dpkg-deb -f "$work"/debs/etcd-server_*.deb Version)
  case "$got" in "$v"*) ;; *) echo "Debian $suite ships etcd $got, not $v" >&2; exit 1;; esac
  x=$work/x; rm -rf "$x"; mkdir -p "$x"
  for d in "$work"/debs/*.deb; do dpkg-deb -x "$d" "$x"; done
  stage=$work/etcd-v$v-linux-amd64; rm -rf "$stage"; mkdir -p "$stage"
  for b in etcd etcdctl etcdutl; do install -m 0755 "$x/usr/bin/$b" "$stage/$b"; done
  printf 'etcd %s repackaged from Debian %s packages for the quorum.etcd lab.\n' "$v" "$suite" >"$stage/README.md"
  mkdir -p "$rel"
  tar -C "$work" --owner=0 --group=0 -czf "$rel/$tarball.tmp" "etcd-v$v-linux-amd64"
  mv "$rel/$tarball.tmp" "$rel/$tarball"
  (cd "$rel" && sha256sum "$tarball" >SHA256SUMS)
  rm -rf "$x" "$stage"
done
# A controller-side etcdctl (newest version in the mirror).
read -ra versions <<<"$VERSIONS"
newest=$(printf '%s\n' "${versions[@]}" | sort -V | tail -1)
if [ ! -x "$LAB_DIR/bin/etcdctl" ] || ! "$LAB_DIR/bin/etcdctl" version 2>/dev/null | grep -q "$newest"; then
  tar -xzf "$MIRROR/v$newest/etcd-v$newest-linux-amd64.tar.gz" -C "$LAB_DIR/bin" --strip-components=1 \
    "etcd-v$newest-linux-amd64/etcdctl" "etcd-v$newest-linux-amd64/etcdutl"
fi
