# shellcheck shell=bash
# Shared by the benchmark scripts: a throw-away lab of their own (names bench-N on quorum-etcd-bench), an
# inventory for it, timing and medians. Sourced, not run.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=$REPO/.lab/venv/bin:$REPO/.lab/bin:$PATH
export CONTAINERS_CONF=$REPO/lab/containers.conf
export ANSIBLE_CONFIG=$REPO/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$REPO/.lab/collections
export LAB_NET=quorum-etcd-bench LAB_SUBNET=10.89.84.0/24
BENCH_DIR=$REPO/.lab/bench
RUNS=${RUNS:-3}

bench_inventory() {  # bench_inventory N GROUP_SIZE -> writes $BENCH_DIR/hosts.yml with N hosts, the first GROUP_SIZE in etcd_initial
  local n=$1 initial=${2:-$1} i
  mkdir -p "$BENCH_DIR"
  {
    echo "etcd:"
    echo "  hosts:"
    for i in $(seq 1 "$n"); do echo "    bench-$i: {ansible_host: 10.89.84.$((10 + i))}"; done
    echo "etcd_initial:"
    echo "  hosts:"
    for i in $(seq 1 "$initial"); do echo "    bench-$i:"; done
    cat <<YAML
all:
  hosts:
    localhost: {ansible_connection: local, ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: $REPO/.lab/ssh/id_ed25519
    ansible_ssh_common_args: >-
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
      -o ControlMaster=auto -o ControlPersist=120s
    etcd_cluster_name: bench
    etcd_release_base_url: file://$REPO/.lab/mirror
    etcd_download_dir: $REPO/.lab/cache
    etcd_pki_controller_dir: $BENCH_DIR/pki
    etcd_pki_clients: [admin]
    etcd_preflight_rtt_max_ms: 50
YAML
  } >"$BENCH_DIR/hosts.yml"
}

bench_hosts() {  # bench_hosts N -> fresh hosts bench-1..N, fresh PKI
  local n=$1
  bash "$REPO/lab/down.sh"
  rm -rf "$BENCH_DIR/pki"
  LAB_HOSTS=$(seq -f 'bench-%g' 1 "$n" | tr '\n' ' ') bash "$REPO/lab/up.sh"
}

timed() {  # timed LOGFILE CMD... -> prints seconds; fails when CMD fails
  local log=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { echo "FAILED: $* (see $log)" >&2; tail -30 "$log" >&2; return 1; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.1f}')"
}

changed_total() {  # changed_total LOGFILE -> sum of changed= in the recap
  grep -Eo 'changed=[0-9]+' "$1" | awk -F= '{s += $2} END {print s + 0}'
}

median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.1f}")' "$@"; }
