# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller half of quorum.etcd.etcd_release: asks the host which files are missing, and only then sends the
archive (one transfer into the remote temporary directory) and runs the module again to unpack it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('src', 'dest', 'files', 'sha256', 'check_first'))

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = dict()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict((k, v) for k, v in self._task.args.items() if v is not None)
        src = args.get('src')
        if not src or not os.path.isfile(src):
            raise AnsibleActionFail('src: no release archive at %s on the controller' % to_text(src))
        check_first = boolean(args.pop('check_first', True), strict=False)
        if check_first or self._play_context.check_mode:
            first = self._execute_module(module_name='quorum.etcd.etcd_release', module_args=args,
                                         task_vars=task_vars)
            if first.get('failed') or not first.get('missing') or self._play_context.check_mode:
                first.pop('invocation', None)
                result.update(first)
                return result
        try:
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'release.tar.gz')
            self._transfer_file(src, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            if not args.get('sha256'):
                # What the controller verified is what the host unpacks (a damaged transfer is refused there).
                digest = hashlib.sha256()
                with open(src, 'rb') as f:
                    for block in iter(lambda: f.read(1 << 20), b''):
                        digest.update(block)
                args['sha256'] = digest.hexdigest()
            second = self._execute_module(module_name='quorum.etcd.etcd_release',
                                          module_args=dict(args, archive=remote), task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        second.pop('invocation', None)
        result.update(second)
        return result
