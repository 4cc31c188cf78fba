# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The start shared by the controller-side PKI action plugins (etcd_pki_ca, etcd_pki_issue); private.

Controller only, like ``_pki``: no module imports it. It imports nothing of the controller itself (a module_utils
file may not), so the action plugins mix ``PkiAction`` in before ``ActionBase``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.etcd.plugins.module_utils import _pki


class PkiAction(object):
    """Mixed in before ActionBase (``class ActionModule(PkiAction, ActionBase)``).

    run() validates the task's arguments against ARGUMENT_SPEC, fails when the ``cryptography`` library is missing
    on the controller, and hands over to ``run_pki(result, args, check)``. Nothing is sent to the host.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    NAME = None  # the module's name, for the message
    ARGUMENT_SPEC = None

    def run(self, tmp=None, task_vars=None):
        result = super(PkiAction, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        if not _pki.HAS_CRYPTOGRAPHY:
            return dict(result, failed=True,
                        msg="%s needs the Python 'cryptography' library on the controller" % self.NAME)
        return self.run_pki(result, args, bool(self._task.check_mode))

    def run_pki(self, result, args, check):
        raise NotImplementedError
