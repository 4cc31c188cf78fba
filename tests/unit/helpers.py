"""Helpers shared by the unit and integration tests (both conftests import this module)."""

from __future__ import annotations

import json
import socket

import pytest
from ansible.module_utils.testing import patch_module_args


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
