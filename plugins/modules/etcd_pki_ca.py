#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_pki_ca
short_description: Rotate an etcd cluster's CA and sign its revocation list on the controller
version_added: 0.4.0
description:
  - Runs on the controller only (an action plugin), so no CA key ever leaves it.
  - O(operation=rotate) runs one phase of a CA rotation on the files of O(controller_dir). V(add) creates a new CA
    (C(ca-next.crt)), writes the bundle of the old and the new CA (C(ca-bundle.crt)) and records the phase in
    C(rotation.json). V(reissue) records that the new CA signs from now on. V(drop) checks that every certificate
    kept on the controller is from the new CA, moves the old CA to C(retired/) and makes the new one C(ca.crt).
    Each phase is idempotent; an interrupted drop is finished by the next one.
  - O(operation=crl) signs C(crl.pem) with the CA that signs, listing the serials of C(revoked.json), when it is
    missing, unusable, from another CA, lists other serials or is due within O(renew_threshold_days); the new list is
    checked before it replaces the old file.
  - O(operation=revoke) lists every certificate named O(revoke) (C(clients/NAME.crt), C(members/*/NAME.crt)) in
    C(revoked.json) and moves its files to C(revoked/), so that a name still wanted is issued again. Run
    O(operation=crl) afterwards.
  - O(operation=status) changes nothing and returns where a rotation stands.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.pki]
attributes:
  check_mode:
    details: Reports what would change and writes nothing.
  diff_mode:
    details: Keys are never shown.
options:
  controller_dir:
    description: The controller PKI directory (C(etcd_pki_controller_dir)).
    type: path
    required: true
  operation:
    description: What to do.
    type: str
    required: true
    choices: [status, rotate, crl, revoke]
  phase:
    description: The rotation phase for O(operation=rotate).
    type: str
    choices: [add, reissue, drop, all]
  revoke:
    description: The name of the client certificates to revoke, for O(operation=revoke).
    type: str
    default: ""
  ca_cert:
    description:
      - The CA certificate that signs the revocation list (O(operation=crl)); defaults to the one that signs in
        O(controller_dir) (C(ca.crt), or C(ca-next.crt) from phase V(reissue) of a rotation).
    type: path
  ca_key:
    description: The key of O(ca_cert).
    type: path
  ca_common_name:
    description: Common name of the new CA (phase V(add)).
  ca_validity_days:
    description: Validity of the new CA, in days.
  key_type:
    description: Key type of the new CA.
  key_curve:
    description: Curve of an ECC key.
  key_size:
    description: Size of an RSA key, in bits.
  renew_threshold_days:
    description: Sign the revocation list again when its next update is within this many days.
'''

EXAMPLES = r'''
- name: Phase add of a CA rotation
  quorum.etcd.etcd_pki_ca:
    controller_dir: /srv/pki
    operation: rotate
    phase: add
    ca_common_name: prod-etcd-ca
  run_once: true

- name: Revoke the client certificates named ci-runner, then sign the list
  quorum.etcd.etcd_pki_ca:
    controller_dir: /srv/pki
    operation: "{{ item }}"
    revoke: ci-runner
  loop: [revoke, crl]
  run_once: true
'''

RETURN = r'''
rotation:
  description: Where the rotation stands after the task (P(quorum.etcd.pki_rotation_state#filter)).
  type: dict
  returned: success
details:
  description: The phase before the task and a note when the phase was already done (O(operation=rotate)).
  type: dict
  returned: when O(operation=rotate)
reason:
  description: Why the revocation list was signed again, or null.
  type: str
  returned: when O(operation=crl)
revoked:
  description: The certificates revoked now (path and serial in hexadecimal).
  type: list
  elements: dict
  returned: when O(operation=revoke)
earlier:
  description: The entries of C(revoked.json) for the name, from this and earlier runs.
  type: list
  elements: dict
  returned: when O(operation=revoke)
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils._pki import CA_ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=CA_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="quorum.etcd.etcd_pki_ca runs on the controller as an action plugin; it cannot run "
                         "as a module on a host.")


if __name__ == '__main__':
    main()
