#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_alarm
short_description: List and disarm etcd alarms
version_added: 0.2.0
description:
  - Lists the cluster's active alarms (NOSPACE, CORRUPT); with O(state=absent) disarms the matching ones.
  - Disarm a NOSPACE alarm only after room was made (compaction and defragmentation, see the playbook
    C(quorum.etcd.recover_nospace)), or etcd raises it again at the next write.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reports the alarms that would be disarmed.
  diff_mode:
    details: Shows the alarms before and after.
options:
  state:
    description: V(present) only lists (etcd raises alarms itself); V(absent) disarms the matching alarms.
    type: str
    choices: [present, absent]
    default: present
  alarm:
    description: Which alarm type to disarm.
    type: str
    choices: [NOSPACE, CORRUPT, all]
    default: NOSPACE
  member:
    description: Disarm only the alarms raised by this member (its name); all members when omitted.
    type: str
'''

EXAMPLES = r'''
- name: Disarm the NOSPACE alarm after compaction and defragmentation
  quorum.etcd.etcd_alarm:
    state: absent
    alarm: NOSPACE
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
'''

RETURN = r'''
alarms_before:
  description: Active alarms before the module ran (member name, member_id, member_id_hex, alarm).
  returned: always
  type: list
  elements: dict
alarms:
  description: Active alarms after (the planned list in check mode).
  returned: always
  type: list
  elements: dict
disarmed:
  description: The alarms disarmed (or that would be).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError, connection_argument_spec
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import fail_on_error, list_members, new_client
from ansible_collections.quorum.etcd.plugins.module_utils._maintenance import alarm_list, disarm


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        alarm=dict(type='str', choices=['NOSPACE', 'CORRUPT', 'all'], default='NOSPACE'),
        member=dict(type='str'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = new_client(module)
    try:
        members, _cluster_id = list_members(client)
        before = alarm_list(client.alarms(), dict((m['id'], m) for m in members))
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read the alarms')
    if p['member'] and not [m for m in members if m['name'] == p['member']]:
        module.fail_json(msg='no member is named %r (members: %s)' % (p['member'], ', '.join(m['name'] for m in members)),
                         error_kind='not_found')
    wanted = []
    if p['state'] == 'absent':
        wanted = [a for a in before if (p['alarm'] == 'all' or a['alarm'] == p['alarm'])
                  and (not p['member'] or a['member'] == p['member'])]
    result = dict(changed=bool(wanted), alarms_before=before, disarmed=wanted,
                  alarms=[a for a in before if a not in wanted])
    if wanted and not module.check_mode:
        try:
            for a in wanted:
                disarm(client, a)
            result['alarms'] = alarm_list(client.alarms(), dict((m['id'], m) for m in members))
        except EtcdError as e:
            fail_on_error(module, e, prefix='disarming failed', **result)
    if module._diff:
        def text(alarms):
            return ''.join('%s %s\n' % (a['alarm'], a['member'] or a['member_id_hex']) for a in alarms)
        result['diff'] = dict(before=text(before), after=text(result['alarms']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
