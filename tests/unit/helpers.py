"""Helpers shared by the unit and integration tests (both conftests import this module)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (the lowest claimed version, 2.16, runs the unit tests too)
    import contextlib
    from unittest import mock

    from ansible.module_utils import basic as _basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Expose the given module args to AnsibleModule instances created within this context."""
        data = json.dumps(dict(ANSIBLE_MODULE_ARGS=args or {})).encode()
        with mock.patch.object(_basic, "_ANSIBLE_ARGS", data):
            yield


def run_playbook(playbook, inventory, variables, cwd, timeout=300, args=()):
    """ansible-playbook of this venv on PLAYBOOK with INVENTORY and VARIABLES (-e, as JSON), then ARGS (more
    ansible-playbook arguments, e.g. ["-e", "name=value"]), the checkout as the collection quorum.etcd; fails the test
    with the end of the output when the run fails."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(repo, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(repo, ".lab", "collections"))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
         "-e", json.dumps(variables)] + list(args) + [str(playbook)],
        capture_output=True, text=True, env=env, cwd=str(cwd), timeout=timeout, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of the call)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get("failed"))


def module_runner(capsys):
    """run(module, args, check=False, diff=False) -> the module's JSON result as a dict (ModuleResult)."""

    def run(module, args, check=False, diff=False):
        args = dict(args)
        if check:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        capsys.readouterr()
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        return ModuleResult(json.loads(out))

    return run
