# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""quorum.etcd.etcd_pki_issue: the CA and the certificate plan issued in the controller's own process.

No module is sent anywhere: the task's host only names whose certificates these are. Documentation:
plugins/modules/etcd_pki_issue.py; the work: plugins/module_utils/_pki.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible_collections.quorum.etcd.plugins.module_utils import _pki
from ansible_collections.quorum.etcd.plugins.module_utils._pki_action import PkiAction


class ActionModule(PkiAction, ActionBase):
    NAME = "etcd_pki_issue"
    ARGUMENT_SPEC = _pki.ISSUE_ARGUMENT_SPEC

    def run_pki(self, result, args, check):
        key = dict(key_type=args["key_type"], curve=args["key_curve"], size=args["key_size"])
        result.update(changed=False, ca_created=False, certificates=[])

        ca_exists = os.path.isfile(args["ca_cert"])
        if not ca_exists and not args["create_ca"] and not check:
            return dict(result, failed=True, msg="The CA certificate %s does not exist." % args["ca_cert"])
        if not ca_exists and args["create_ca"]:
            result.update(changed=True, ca_created=True)
            if not check:
                try:
                    _make_dir(os.path.dirname(args["ca_cert"]))
                    _make_dir(os.path.dirname(args["ca_key"]))
                    result["ca_serial"] = _pki.create_ca(args["ca_cert"], args["ca_key"], args["ca_common_name"],
                                                         args["ca_validity_days"], **key)
                except (_pki.PkiError, OSError, ValueError) as e:
                    return dict(result, failed=True, msg="Cannot create the CA %s: %s" % (args["ca_cert"], e))

        wanted = [dict((k, v) for k, v in c.items() if v is not None) for c in args["certificates"]]
        if os.path.isfile(args["ca_cert"]):
            try:
                todo = _pki.plan(wanted, args["ca_cert"], args["renew_threshold_days"], renew_all=args["renew_all"])
            except _pki.PkiError as e:
                return dict(result, failed=True, msg=str(e))
        else:  # check mode before the CA exists: everything is new
            todo = [dict(c, reason="new") for c in wanted]
        report = [{"name": c["name"], "cert": c["cert"], "reason": c["reason"]} for c in todo]
        result["certificates"] = report
        if not todo:
            return result
        result["changed"] = True
        if check:
            return result
        try:
            ca_cert, ca_key = _pki.load_ca(args["ca_cert"], args["ca_key"])
            for item, out in zip(todo, report):
                out["serial"] = _pki.issue_one(item, ca_cert, ca_key, args["validity_days"], **key)
        except (_pki.PkiError, OSError, ValueError, TypeError) as e:
            # Only the exception's text: it never holds key material.
            return dict(result, failed=True, msg="Issuing failed: %s" % e)
        return result


def _make_dir(path):
    if path and not os.path.isdir(path):
        os.makedirs(path, 0o700)
