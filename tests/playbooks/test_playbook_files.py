"""quorum.etcd.files run by ansible-playbook on localhost against a temporary directory: a role's template and file
found like ansible.builtin.template/copy find them, the first run writes, the second changes nothing, check mode
writes nothing, diff mode shows the template's change but never a secret item's content, mode and owner drift are
put back."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SECRET = "S3CR3T-do-not-log-4711"

PLAYBOOK = """
- name: Files
  hosts: localhost
  gather_facts: false
  roles:
    - writer
"""

TASKS = """
- name: Write the files of the test
  quorum.etcd.files:
    owner: "{{ owner }}"
    items:
      - {dest: "{{ out }}/etc", state: directory, mode: "0750"}
      - {dest: "{{ out }}/etc/app.conf", template: app.conf.j2, mode: "0644"}
      - {dest: "{{ out }}/etc/blob.bin", src: blob.bin, mode: "0600"}
      - {dest: "{{ out }}/etc/current.conf", state: link, src: app.conf}
      - {dest: "{{ out }}/etc/token", content: "{{ token }}", mode: "0600", secret: true}
  register: files_result

- name: Reload only when the configuration changed
  ansible.builtin.debug:
    msg: reload
  when: (out ~ '/etc/app.conf') in files_result.changed_paths
"""


@pytest.fixture
def project(tmp_path):
    role = tmp_path / "roles" / "writer"
    for sub in ("tasks", "templates", "files"):
        (role / sub).mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text(TASKS)
    (role / "templates" / "app.conf.j2").write_text("{{ ansible_managed | comment }}\nlevel={{ level }}\n")
    (role / "files" / "blob.bin").write_bytes(b"\x00\x01binary\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "out").mkdir()
    return tmp_path


def play(project, *args, level=1, token=SECRET, owner=None, callback="ansible.posix.json"):
    variables = {"out": str(project / "out"), "level": level, "token": token + "\n",
                 "owner": owner or pwd.getpwuid(os.getuid()).pw_name,
                 "ansible_python_interpreter": sys.executable}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_ROLES_PATH=str(project / "roles"))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", json.dumps(variables), str(project / "play.yml")] + list(args),
        capture_output=True, text=True, env=env, cwd=str(project), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr, "a secret item's content reached the output"
    if callback != "ansible.posix.json":
        return proc.stdout
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    return {t["task"]["name"].split(" : ")[-1]: t["hosts"]["localhost"] for t in tasks}


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_write_rerun_check_diff_secret_and_drift(project):
    etc = project / "out" / "etc"
    first = play(project)
    result = first["Write the files of the test"]
    assert result["changed"] is True
    assert result["changed_paths"] == [str(etc), str(etc / "app.conf"), str(etc / "blob.bin"),
                                       str(etc / "current.conf"), str(etc / "token")]
    assert (etc / "app.conf").read_text().endswith("level=1\n")
    assert (etc / "blob.bin").read_bytes() == b"\x00\x01binary\n"
    assert os.readlink(etc / "current.conf") == "app.conf"
    assert (etc / "token").read_text() == SECRET + "\n"
    assert (_mode(etc), _mode(etc / "app.conf"), _mode(etc / "token")) == (0o750, 0o644, 0o600)
    assert first["Reload only when the configuration changed"].get("skipped") is not True

    again = play(project)
    assert again["Write the files of the test"]["changed"] is False
    assert again["Write the files of the test"]["changed_paths"] == []
    assert again["Reload only when the configuration changed"].get("skipped") is True

    # Check mode: reported, nothing written.
    checked = play(project, "--check", "--diff", level=2, token="other-" + SECRET)
    result = checked["Write the files of the test"]
    assert result["changed"] is True
    assert result["changed_paths"] == [str(etc / "app.conf"), str(etc / "token")]
    assert (etc / "app.conf").read_text().endswith("level=1\n")
    assert (etc / "token").read_text() == SECRET + "\n"

    # Diff mode (default output): the template's change is shown, the secret's content is not.
    out = play(project, "--diff", level=2, token="other-" + SECRET, callback="ansible.builtin.default")
    assert "-level=1" in out and "+level=2" in out, out
    assert "secret content" in out
    assert (etc / "token").read_text() == "other-" + SECRET + "\n"

    # Mode drift (and owner drift, as root) put back in place.
    os.chmod(etc / "app.conf", 0o666)
    if os.getuid() == 0:
        os.chown(etc / "token", 65534, 65534)
    fixed = play(project, level=2, token="other-" + SECRET)
    result = fixed["Write the files of the test"]
    assert result["changed_paths"] == [str(etc / "app.conf")] + ([str(etc / "token")] if os.getuid() == 0 else [])
    assert _mode(etc / "app.conf") == 0o644
    assert os.stat(etc / "token").st_uid == os.getuid()
    assert play(project, level=2, token="other-" + SECRET)["Write the files of the test"]["changed"] is False
