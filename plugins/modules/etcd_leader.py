#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_leader
short_description: Move etcd leadership to or away from a member
version_added: 0.1.0
description:
  - Transfers the leadership of an etcd v3 cluster to a named member, or away from a named member (for example
    before maintenance on its host).
  - Does nothing when the leadership is already where it should be.
  - The transfer request is sent to the current leader's client URL, and the module waits (bounded by
    O(wait_timeout)) until the new leader is seen.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reports whether leadership would move, and where to.
  diff_mode:
    details: Shows the leader before and after.
options:
  transfer_to:
    description:
      - Name of the member that should lead. It must be a started, healthy voting member.
      - Mutually exclusive with O(away_from).
    type: str
  away_from:
    description:
      - Name of the member that should not lead. When it leads, leadership goes to the healthy voting member with
        the highest raft index. When no member has this name, nothing is done.
      - Mutually exclusive with O(transfer_to).
    type: str
  wait_timeout:
    description:
      - Seconds to wait until the new leader is seen.
    type: float
    default: 30
'''

EXAMPLES = r'''
- name: Move leadership away from the node before rebooting it
  quorum.etcd.etcd_leader:
    away_from: "{{ inventory_hostname }}"
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key

- name: Make node1 the leader
  quorum.etcd.etcd_leader:
    transfer_to: node1
'''

RETURN = r'''
leader_before:
  description: The leader before (name, id, id_hex).
  returned: always
  type: dict
  sample: {name: node2, id: "1234567890", id_hex: "499602d2"}
leader:
  description: The leader after the module ran (the planned one in check mode).
  returned: always
  type: dict
  sample: {name: node1, id: "10501334649042878790", id_hex: "91bc3c398fb3c146"}
moved:
  description: Whether leadership was (or would be) moved.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdError,
    connection_argument_spec,
)
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import (
    ClusterHealth,
    fail_on_error,
    list_members,
    new_client,
)
from ansible_collections.quorum.etcd.plugins.module_utils._member import (
    MemberMatchError,
    describe,
    find_member,
)


def leader_dict(member):
    if not member:
        return {}
    return dict(name=member['name'], id=member['id'], id_hex=member['id_hex'])


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        transfer_to=dict(type='str'),
        away_from=dict(type='str'),
        wait_timeout=dict(type='float', default=30.0),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('transfer_to', 'away_from')],
        required_one_of=[('transfer_to', 'away_from')],
    )
    client = new_client(module)
    try:
        members, _cluster_id = list_members(client)
        health = ClusterHealth(client, members)
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read the cluster state')
    by_id = dict((m['id'], m) for m in members)
    leader_id = health.leader_id
    if leader_id is None or leader_id not in by_id:
        module.fail_json(msg='no leader found (quorum lost?); member errors: %s' % '; '.join(health.errors.values()),
                         error_kind='no_leader')
    leader = by_id[leader_id]

    target = None
    try:
        if module.params['transfer_to']:
            target = find_member(members, name=module.params['transfer_to'])
            if target is None:
                module.fail_json(msg='transfer_to: no member is named %r (members: %s)' % (
                    module.params['transfer_to'], ', '.join(describe(m) for m in members)),
                    error_kind='not_found')
            if target['id'] != leader_id:
                if target['is_learner']:
                    module.fail_json(msg='transfer_to: %s is a learner and cannot lead' % describe(target))
                if target['id'] not in health.healthy:
                    module.fail_json(msg='transfer_to: %s is not healthy: %s' % (
                        describe(target), health.errors.get(target['id'], 'sees no leader')))
            else:
                target = None
        else:
            away = find_member(members, name=module.params['away_from'])
            if away is not None and away['id'] == leader_id:
                target = health.transferee(leader_id)
                if target is None:
                    module.fail_json(msg='away_from: no healthy voting member can take over from %s' % describe(away))
    except MemberMatchError as e:
        module.fail_json(msg=str(e))

    result = dict(changed=False, moved=False, leader_before=leader_dict(leader), leader=leader_dict(leader))
    if target is not None:
        result.update(changed=True, moved=True, leader=leader_dict(target))
        if not module.check_mode:
            try:
                health.move_leadership(target['id'], timeout=module.params['wait_timeout'])
            except EtcdError as e:
                fail_on_error(module, e, prefix='cannot move leadership from %s to %s' % (
                    describe(leader), describe(target)), leader_before=leader_dict(leader))
    if module._diff:
        result['diff'] = dict(before=dict(leader=leader['name'] or leader['id_hex']),
                              after=dict(leader=result['leader']['name'] or result['leader']['id_hex']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
