#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_key
short_description: Get, put and delete etcd keys
version_added: 0.1.0
description:
  - Writes and deletes keys of an etcd v3 cluster through etcd's JSON gateway.
  - Writes only when the stored value differs, so repeated runs do not change anything.
  - The value(s) found before the change are returned (RV(kvs), RV(value)); to only read keys, use
    M(quorum.etcd.etcd_key_info).
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reads the current value(s) and reports what would change.
  diff_mode:
    details: Shows the keys and values before and after (values masked with O(hide_value=true)).
options:
  key:
    description:
      - The key, or the key prefix with O(prefix=true).
    type: str
    required: true
  value:
    description:
      - The value to store with O(state=present).
      - The value is never written to the managed host's log (the module invocation line AnsibleModule sends to
        syslog or the journal shows C(value=NOT_LOGGING_PARAMETER)), whatever O(hide_value) says.
      - It is shown in the results and the diff unless O(hide_value=true). Set O(hide_value=true) (or C(no_log) on the
        task) for secrets.
    type: str
  state:
    description:
      - V(present) stores O(value) under O(key) when it differs.
      - V(absent) deletes O(key) (all keys under the prefix with O(prefix=true)).
    type: str
    choices: [present, absent]
    default: present
  prefix:
    description:
      - Treat O(key) as a prefix, for O(state=absent). An empty O(key) with O(prefix=true) means all keys.
      - Not allowed with O(state=present).
    type: bool
    default: false
  hide_value:
    description:
      - Do not show values in the results and the diff; O(value) and the values read are also masked in the
        output like C(no_log) values.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Store a setting
  quorum.etcd.etcd_key:
    key: /config/feature-x
    value: "on"

- name: Store a secret without showing it
  quorum.etcd.etcd_key:
    key: /secrets/token
    value: "{{ vault_token }}"
    hide_value: true

- name: Delete everything under /tmp/
  quorum.etcd.etcd_key:
    key: /tmp/
    prefix: true
    state: absent
'''

RETURN = r'''
value:
  description: The value of O(key) after the module ran for O(state=present), the deleted value for
    O(state=absent); null when the key does not exist or with O(prefix=true).
  returned: always
  type: str
  sample: "on"
exists:
  description: Whether O(key) (or any key under the prefix) existed before the module ran.
  returned: always
  type: bool
kvs:
  description: The key found before the change with O(state=present), the keys deleted with O(state=absent).
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The key.
      type: str
    value:
      description: The value (masked with O(hide_value=true)).
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
count:
  description: Number of keys matched.
  returned: always
  type: int
deleted:
  description: Number of keys deleted (or that would be deleted in check mode).
  returned: when O(state=absent)
  type: int
revision:
  description: Store revision after the operation (before it in check mode or without changes).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdError,
    connection_argument_spec,
)
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import (
    fail_on_error,
    new_client,
)
from ansible_collections.quorum.etcd.plugins.module_utils._kv import KeyValues


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        key=dict(type='str', required=True, no_log=False),
        # Never written to the managed host's log: AnsibleModule logs its arguments (syslog/journal) while it is
        # created, before hide_value could be read. Shown in the results unless hide_value=true (see below).
        value=dict(type='str', no_log=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        prefix=dict(type='bool', default=False),
        hide_value=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[('state', 'present', ('value',))],
    )
    params = module.params
    hide = params['hide_value']
    if not hide and params['value']:
        # value is no_log only so that the invocation log line never holds it; without hide_value the results
        # show it as before.
        module.no_log_values.discard(params['value'])
    if params['state'] == 'present' and params['prefix']:
        module.fail_json(msg='prefix=true is only allowed with state=absent')
    if params['state'] == 'absent' and params['value'] is not None:
        module.warn('value is ignored with state=%s' % params['state'])
    if not params['key'] and not params['prefix']:
        module.fail_json(msg='key must not be empty (use prefix=true with an empty key for all keys)')

    client = new_client(module)
    key_values = KeyValues(module, client, hide_value=hide)
    text = key_values.text
    key = params['key']
    kvs, result = key_values.read(key, prefix=params['prefix'])
    before = dict((kv['key'], kv['value']) for kv in result['kvs'])
    after = dict(before)

    if params['state'] == 'present':
        wanted = to_bytes(params['value'], errors='surrogate_or_strict')
        if not kvs or kvs[0]['value'] != wanted:
            result['changed'] = True
            after[key] = text(wanted)
            if not module.check_mode:
                try:
                    put = client.put(key, wanted)
                except EtcdError as e:
                    fail_on_error(module, e, prefix='cannot put %s' % key)
                result['revision'] = put['revision']
        result['value'] = text(wanted)
    elif params['state'] == 'absent':
        result['deleted'] = len(kvs) if module.check_mode else 0
        if kvs:
            result['changed'] = True
            after = {}
            if not module.check_mode:
                try:
                    deleted = client.delete_range(key, prefix=params['prefix'], prev_kv=True)
                except EtcdError as e:
                    fail_on_error(module, e, prefix='cannot delete %s' % key)
                result['revision'] = deleted['revision']
                if deleted['deleted'] is None:
                    # The answer was lost (timeout) and a re-read shows the keys gone: the keys read before
                    # are the ones deleted (the client does not resend a delete).
                    result['deleted'] = len(kvs)
                    module.warn('etcd did not answer the delete in time; a re-read shows the keys gone: %s'
                                % deleted.get('outcome_verified_by_read'))
                else:
                    result['deleted'] = deleted['deleted']
                    result['kvs'] = [key_values.kv_out(kv) for kv in deleted['prev_kvs']]
                    result['changed'] = deleted['deleted'] > 0

    if module._diff:
        result['diff'] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
