"""The collection builds, installs, and its playbooks resolve by FQCN (ansible-playbook quorum.etcd.site)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_build_install_and_run_by_fqcn(tmp_path):
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", REPO, "--output-path", str(tmp_path)],
                   check=True, capture_output=True, env=env, cwd=str(tmp_path))
    (artifact,) = tmp_path.glob("quorum-etcd-*.tar.gz")
    with tarfile.open(artifact) as t:
        names = t.getnames()
    assert "roles/etcd/tasks/main.yml" in names and "playbooks/site.yml" in names
    assert not [n for n in names if n.startswith((".lab", "molecule/", "tests/", "benchmarks/", ".git"))]
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "--no-deps", str(artifact), "-p",
                    str(tmp_path / "collections")], check=True, capture_output=True, env=env)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp_path / "collections")
    for playbook in ("site", "scale_out", "remove_member", "replace_member"):
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(REPO, "inventories", "lab"),
                               "--syntax-check", "quorum.etcd." + playbook], capture_output=True, text=True, env=env,
                              check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
