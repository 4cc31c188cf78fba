# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # What the controller-side PKI modules (etcd_pki_ca, etcd_pki_issue; action plugins) share: the cryptography
    # library, check mode without a diff (keys are never shown), and the types, defaults and choices of the options
    # both take (argument specs: plugins/module_utils/_pki.py CA_ARGUMENT_SPEC and ISSUE_ARGUMENT_SPEC). Each module
    # describes these options itself (what it does with them).
    DOCUMENTATION = r'''
requirements:
  - cryptography (on the controller)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  ca_common_name:
    type: str
    default: etcd-ca
  ca_validity_days:
    type: int
    default: 3650
  key_type:
    type: str
    choices: [ECC, RSA, Ed25519]
    default: ECC
  key_curve:
    type: str
    default: secp256r1
  key_size:
    type: int
    default: 2048
  renew_threshold_days:
    type: int
    default: 30
'''
