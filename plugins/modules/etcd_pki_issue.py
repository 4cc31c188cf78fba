#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_pki_issue
short_description: Issue an etcd cluster's CA and certificates on the controller
version_added: 0.2.0
description:
  - Runs on the controller only (an action plugin), so the CA key never leaves it.
  - Creates a self-signed CA when O(create_ca) is set and O(ca_cert) does not exist.
  - Decides which of O(certificates) must be issued (missing, unreadable, key missing or not matching, not signed by
    the CA, other subject alternative names or extended key usage, expiring within O(renew_threshold_days), or every
    one with O(renew_all)), then issues them in one process with the Python C(cryptography) library, each with a new
    key. Keys are written mode C(0600) and certificates C(0644), each through a temporary file renamed over the old
    one.
  - The result names what was issued and why, and the new serials; it never holds key material.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.pki]
attributes:
  check_mode:
    details: Reports what would be created and issued, and writes nothing.
  diff_mode:
    details: Keys and certificates are not shown; the result lists the certificates and the reasons.
options:
  ca_cert:
    description: Path of the CA certificate on the controller.
    type: path
    required: true
  ca_key:
    description: Path of the CA key on the controller.
    type: path
    required: true
  create_ca:
    description: Create a CA at O(ca_cert) and O(ca_key) when O(ca_cert) does not exist.
    type: bool
    default: false
  ca_common_name:
    description: Common name of a created CA.
  ca_validity_days:
    description: Validity of a created CA, in days.
  key_type:
    description: Key type of a created CA and of the certificates.
  key_curve:
    description: Curve of ECC keys.
  key_size:
    description: Size of RSA keys, in bits.
  validity_days:
    description: Validity of issued certificates, in days.
    type: int
    default: 365
  renew_threshold_days:
    description: Reissue a certificate that expires within this many days.
  renew_all:
    description: Reissue every certificate of O(certificates), due or not.
    type: bool
    default: false
  certificates:
    description: The certificates wanted.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name (file stem).
        type: str
        required: true
      cn:
        description: Subject common name; defaults to O(certificates[].name).
        type: str
      sans:
        description: Subject alternative names, C(DNS:name) or C(IP:address).
        type: list
        elements: str
        default: []
      usage:
        description: Extended key usage.
        type: list
        elements: str
        choices: [serverAuth, clientAuth]
        required: true
      cert:
        description: Path of the certificate.
        type: path
        required: true
      key:
        description: Path of the key.
        type: path
        required: true
      kind:
        description: What the certificate is for (reported only).
        type: str
'''

EXAMPLES = r'''
- name: Create the CA once
  quorum.etcd.etcd_pki_issue:
    ca_cert: /srv/pki/ca.crt
    ca_key: /srv/pki/ca.key
    create_ca: true
    ca_common_name: prod-etcd-ca
  run_once: true

- name: Issue the member's certificates that are missing or due
  quorum.etcd.etcd_pki_issue:
    ca_cert: /srv/pki/ca.crt
    ca_key: /srv/pki/ca.key
    certificates: "{{ inventory_hostname | quorum.etcd.pki_member_certificates([inventory_hostname, ansible_host],
                      [], ['healthcheck-client'], '/srv/pki/members/' ~ inventory_hostname) }}"
'''

RETURN = r'''
ca_created:
  description: Whether the CA was created (or, in check mode, would be).
  type: bool
  returned: always
certificates:
  description: The certificates issued (or, in check mode, to issue), in the order given.
  type: list
  elements: dict
  returned: always
  contains:
    name:
      description: Name of the certificate.
      type: str
    cert:
      description: Path of the certificate.
      type: str
    reason:
      description: Why it was issued.
      type: str
      sample: expires within 30 days
    serial:
      description: Serial of the new certificate, in hexadecimal (not in check mode).
      type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils._pki import ISSUE_ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ISSUE_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="quorum.etcd.etcd_pki_issue runs on the controller as an action plugin; it cannot run "
                         "as a module on a host.")


if __name__ == '__main__':
    main()
