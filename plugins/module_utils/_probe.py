# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner shared by the read-only host modules (etcd_host_info, etcd_preflight_info, etcd_disk_info).

Each of them is a function ``gather(params, run)`` that only reads and returns a dict; :func:`run_probe` builds the
module (check mode supported: nothing changes), gives ``gather`` a command runner and returns what it gathered with
``changed=False``. Commands run with a time limit (coreutils ``timeout``), and a missing command is rc 127, never an
exception: a probe reports what it cannot read, it does not fail on it.

Internal to quorum.etcd: names and signatures may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

# Where the probes look for commands, whatever PATH the connection gives (sudo, su and SSH differ).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CommandRunner(object):
    """run(argv, timeout=30) -> (rc, stdout, stderr), through module.run_command, never raising.

    The time limit is coreutils ``timeout`` (rc 124 when it expires); without it the command runs unbounded."""

    def __init__(self, module):
        self.module = module
        self.timeout_bin = module.get_bin_path("timeout", opt_dirs=SYSTEM_PATH.split(":"))

    def __call__(self, argv, timeout=30):
        argv = [str(a) for a in argv]
        if self.timeout_bin:
            argv = [self.timeout_bin, "-k", "5", str(int(timeout))] + argv
        try:
            rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C", "PATH": SYSTEM_PATH},
                                                   errors="surrogate_then_replace", expand_user_and_vars=False,
                                                   handle_exceptions=False)
        except OSError as e:
            return 127, "", str(e)
        return rc, out, err


def read_text(path, limit=1 << 20):
    """A small file's text ("" when it is absent or unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except (OSError, IOError):
        return ""


def run_probe(argument_spec, gather, runner_class=CommandRunner):
    """Build the module, run gather(params, runner) and exit with its result (changed=False)."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    result = gather(module.params, runner_class(module))
    module.exit_json(changed=False, **result)
