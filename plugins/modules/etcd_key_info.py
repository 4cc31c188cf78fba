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
extends_documentation_fragment:
  - quorum.etcd.connection
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
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
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdError,
    connection_argument_spec,
)
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import (
    fail_on_error,
    new_client,
)

MASK = 'VALUE_HIDDEN'


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

    def text(value):
        t = to_text(value, errors='surrogate_then_replace')
        if params['hide_value']:
            if t:
                module.no_log_values.add(t)
            return MASK
        return t

    client = new_client(module)
    try:
        found = client.range(params['key'], prefix=params['prefix'], keys_only=params['keys_only'])
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read %s' % params['key'])
    kvs = []
    for kv in found['kvs']:
        item = dict(key=to_text(kv['key'], errors='surrogate_then_replace'), create_revision=kv['create_revision'],
                    mod_revision=kv['mod_revision'], version=kv['version'], lease=kv['lease'])
        if not params['keys_only']:
            item['value'] = text(kv['value'])
        kvs.append(item)
    value = None
    if kvs and not params['prefix'] and not params['keys_only']:
        value = kvs[0]['value']
    module.exit_json(changed=False, exists=bool(kvs), count=found['count'], kvs=kvs, value=value,
                     revision=found['revision'])


if __name__ == '__main__':
    main()
