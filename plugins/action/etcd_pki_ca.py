# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""quorum.etcd.etcd_pki_ca: the CA's life on the controller (rotation phases, revocation list), in the controller's
own process, so the CA key never leaves it.

Documentation: plugins/modules/etcd_pki_ca.py; the work: plugins/module_utils/_pki.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.quorum.etcd.plugins.module_utils import _pki
from ansible_collections.quorum.etcd.plugins.module_utils._pki_action import PkiAction


class ActionModule(PkiAction, ActionBase):
    NAME = "etcd_pki_ca"
    ARGUMENT_SPEC = _pki.CA_ARGUMENT_SPEC

    def run_pki(self, result, args, check):
        directory = args["controller_dir"]
        op = args["operation"]
        result["changed"] = False
        try:
            if op == "rotate":
                if not args["phase"] or args["phase"] == "all":
                    return dict(result, failed=True, msg="operation=rotate needs phase add, reissue or drop")
                changed, details = _pki.rotate(
                    directory, args["phase"], args["ca_common_name"], args["ca_validity_days"],
                    key_type=args["key_type"], curve=args["key_curve"], size=args["key_size"], check=check)
                result.update(changed=changed, details=details)
            elif op == "crl":
                state = _pki.rotation_state(directory)
                changed, reason = _pki.ensure_crl(directory, args["ca_cert"] or state["signer_cert"],
                                                  args["ca_key"] or state["signer_key"],
                                                  args["renew_threshold_days"], check=check)
                result.update(changed=changed, reason=reason)
            elif op == "revoke":
                changed, revoked = _pki.revoke(directory, args["revoke"], check=check)
                already = [r for r in _pki._read_json(_pki._ca_paths(directory)["revoked"], [])
                           if r.get("name") == args["revoke"]]
                if not revoked and not already:
                    return dict(result, failed=True,
                                msg="No certificate named %s in %s (clients/ or members/*/): nothing to revoke."
                                % (args["revoke"], directory))
                result.update(changed=changed, revoked=revoked, earlier=already)
            result["rotation"] = _pki.rotation_state(directory)
        except (_pki.PkiError, OSError, ValueError, TypeError) as e:
            # Only the exception's text: it never holds key material.
            return dict(result, failed=True, msg=str(e))
        return result
