#!/usr/bin/env bash
# ansible-test sanity for the collection's Python plugins, offline except for PyPI.
#
# ansible-test needs the collection at .../ansible_collections/quorum/etcd, so the tracked files
# (git ls-files; untracked files are not part of the collection) are copied into a temporary tree.
#
# --venv: each sanity test gets its own virtual environment (under ~/.ansible/test/venv) with the tool
#   versions pinned by ansible-test, installed from PyPI; the shared lab venv is not modified.
#   (--docker/--podman would need container images from a registry, which is not reachable here.)
# Tests skipped (and why):
#   - none by default; extra ansible-test arguments can be passed, e.g. tests/sanity.sh --test pylint
#
# Targets: the whole collection; set SANITY_TARGETS to narrow it (e.g. "plugins/modules/").

# Usage: tests/sanity.sh [extra ansible-test sanity args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.lab/venv}
python_version=${PYTHON_VERSION:-3.11}
work=$(mktemp -d "${TMPDIR:-/tmp}/quorum-etcd-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/quorum/etcd
mkdir -p "$dest"
# (files deleted from the work tree but still tracked are skipped)
(cd "$repo" && git ls-files -z | while IFS= read -r -d '' f; do
  if [ -e "$f" ] || [ -L "$f" ]; then cp --parents -P "$f" "$dest"/; fi
done)

# ansible-test bootstraps pip in each venv with a get-pip script from ci-files.testing.ansible.com, which
# is not reachable here.  It looks for that script in its cache first (the download error says so), so
# put a small stand-in there: ensurepip (bundled with Python), then pip itself from PyPI.
pip_version=$("$venv/bin/python" -c 'import re, ansible_test._internal.python_requirements as m, inspect; print(re.search(r"pip=.([0-9.]+)", inspect.getsource(m.get_venv_packages)).group(1))' 2>/dev/null || echo 24.2)
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
# (Rewritten on every run when it is our stand-in; a real get-pip script placed there is kept.)
if [ ! -s "$get_pip" ] || grep -q 'quorum.etcd tests/sanity.sh' "$get_pip"; then
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'PY'
# Stand-in for get-pip.py written by quorum.etcd tests/sanity.sh (no access to ci-files.testing.ansible.com):
# install the pip bundled with Python (ensurepip, in a subprocess: it disables pip's configuration in its own
# environment), then the requested pip from the package index with the normal pip configuration.
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
PY
fi

read -ra targets <<<"${SANITY_TARGETS:-}"
cd "$dest"
export PATH=$venv/bin:$PATH
ansible-test sanity --venv --python "$python_version" --color no \
  "$@" \
  "${targets[@]}"
