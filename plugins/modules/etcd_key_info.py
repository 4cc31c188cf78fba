#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_key_info
short_description: Read etcd keys
version_added: 0.1.0
description:
  - Reads one key, or all keys under a prefix, of an etcd v3 cluster through etcd's JSON gateway.
  - To write or delete keys, use M(quorum.etcd.etcd_key).
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.info_module, quorum.etcd.connection]
options:
  key:
    description:
      - The key, or the key prefix with O(prefix=true).
    type: str
    required: true
  prefix:
    description:
      - Read all keys starting with O(key). An empty O(key) with O(prefix=true) means all keys.
    type: bool
    default: false
  keys_only:
    description:
      - Return the keys without their values.
    type: bool
    default: false
  hide_value:
    description:
      - Do not show values in the results; they are masked like C(no_log) values.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Read all keys under /config/
  quorum.etcd.etcd_key_info:
    key: /config/
    prefix: true
  register: config

- name: Read one value
  quorum.etcd.etcd_key_info:
    key: /config/feature-x
  register: feature

- name: Show it
  ansible.builtin.debug:
    msg: "{{ feature.value if feature.exists else 'unset' }}"
'''

RETURN = r'''
value:
  description: The value of O(key); null when it does not exist or with O(prefix=true).
  returned: always
  type: str
  sample: "on"
exists:
  description: Whether O(key) (or any key under the prefix) exists.
  returned: always
  type: bool
count:
  description: Number of keys found.
  returned: always
  type: int
kvs:
  description: The keys found, sorted by key.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The key.
      type: str
    value:
      description: The value (absent with O(keys_only=true), masked with O(hide_value=true)).
      type: str
    create_revision:
      description: Revision of the key's creation.
      type: int
    mod_revision:
      description: Revision of the last change.
      type: int
    version:
      description: Number of changes of the key since its creation.
      type: int
    lease:
      description: Lease id attached to the key (0 for none).
      type: int
revision:
  description: Store revision of the read.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import connection_argument_spec
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import new_client
from ansible_collections.quorum.etcd.plugins.module_utils._kv import KeyValues


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        key=dict(type='str', required=True, no_log=False),
        prefix=dict(type='bool', default=False),
        keys_only=dict(type='bool', default=False),
        hide_value=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params['key'] and not params['prefix']:
        module.fail_json(msg='key must not be empty (use prefix=true with an empty key for all keys)')

    key_values = KeyValues(module, new_client(module), hide_value=params['hide_value'])
    _kvs, result = key_values.read(params['key'], prefix=params['prefix'], keys_only=params['keys_only'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
