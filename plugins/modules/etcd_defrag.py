#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_defrag
short_description: Defragment one etcd member when its database is fragmented
version_added: 0.2.0
description:
  - Defragments the database of ONE member, named by O(member). The member answers no request while it rewrites
    its database file, so a cluster is defragmented one member at a time with a health gate between members (the
    playbook C(quorum.etcd.defrag) does that, followers first and the leader last).
  - Only when the fragmentation rule holds (O(min_free_ratio) and O(min_reclaimable_bytes)), or always with
    O(force=true). Refuses when any member of the cluster is unhealthy, a learner, or when the member is not
    found.
  - The request's timeout grows with the database size (O(timeout) is the floor).
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reports whether the member would be defragmented, and why.
  diff_mode:
    details: Shows the database size before and after.
options:
  member:
    description: Name of the member to defragment.
    type: str
    required: true
  min_free_ratio:
    description: Defragment only when the free share of the database file is at least this (0 to 1).
    type: float
    default: 0.5
  min_reclaimable_bytes:
    description: Defragment only when at least this many bytes would be given back.
    type: int
    default: 67108864
  force:
    description: Defragment whatever the fragmentation.
    type: bool
    default: false
  allow_unhealthy:
    description:
      - Defragment even when another member is unhealthy or a learner. The member itself must answer, and run a
        release where an online defragmentation is safe (3.5.23 or later, 3.6.5 or later).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Defragment etcd-2 if its database is at least half free
  quorum.etcd.etcd_defrag:
    member: etcd-2
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
'''

RETURN = r'''
member:
  description: The member (name, id_hex, endpoint).
  returned: always
  type: dict
defragmented:
  description: Whether the member was (or, in check mode, would be) defragmented.
  returned: always
  type: bool
reason:
  description: Why it was or was not defragmented.
  returned: always
  type: str
db_size_before:
  description: Database file size before, in bytes.
  returned: always
  type: int
db_size_after:
  description: Database file size after (the size before in check mode or when nothing was done).
  returned: always
  type: int
db_size_in_use:
  description: Bytes in use before.
  returned: always
  type: int
started:
  description: UNIX time the defragmentation started (0 when none ran).
  returned: always
  type: float
finished:
  description: UNIX time it finished (0 when none ran).
  returned: always
  type: float
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError, connection_argument_spec
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import fail_on_error, new_client
from ansible_collections.quorum.etcd.plugins.module_utils._maintenance import (
    DEFAULT_MIN_FREE_RATIO,
    DEFAULT_MIN_RECLAIMABLE_BYTES,
    defrag_timeout,
    defrag_unsafe,
    defragment,
    maintenance_state,
)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        member=dict(type='str', required=True),
        min_free_ratio=dict(type='float', default=DEFAULT_MIN_FREE_RATIO),
        min_reclaimable_bytes=dict(type='int', default=DEFAULT_MIN_RECLAIMABLE_BYTES),
        force=dict(type='bool', default=False),
        allow_unhealthy=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = new_client(module)
    try:
        state = maintenance_state(client, p['min_free_ratio'], p['min_reclaimable_bytes'], with_compact_revision=False)
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read the cluster')
    members = state['members']
    target = [m for m in members if m['name'] == p['member']]
    if not target:
        module.fail_json(msg='no member is named %r (members: %s)' % (p['member'], ', '.join(m['name'] for m in members)),
                         error_kind='not_found')
    target = target[0]
    if not target['endpoint']:
        module.fail_json(msg='%s does not answer: %s' % (target['name'], target['error']), error_kind='unhealthy')
    unsafe = defrag_unsafe(target['version'])
    if unsafe:
        module.fail_json(msg='refusing to defragment %s: %s' % (target['name'], unsafe), error_kind='unsafe_version')
    if not p['allow_unhealthy'] and state['defrag_problems']:
        module.fail_json(msg='refusing to defragment %s while %s: a defragmenting member answers nothing, so the '
                             'others must all be healthy voters' % (target['name'], '; '.join(state['defrag_problems'])),
                         error_kind='unhealthy')
    member = dict(name=target['name'], id_hex=target['id_hex'], endpoint=target['endpoint'])
    due, reason = target['defrag_due'], target['defrag_reason']
    if p['force'] and not due:
        due, reason = True, 'forced (%s)' % reason
    result = dict(changed=due, defragmented=due, reason=reason, member=member, db_size_before=target['db_size'],
                  db_size_after=target['db_size'], db_size_in_use=target['db_size_in_use'], started=0.0, finished=0.0)
    if due and not module.check_mode:
        timeout = max(p['timeout'], defrag_timeout(target['db_size']))
        result['started'] = time.time()
        try:
            defragment(client, target['endpoint'], timeout)
        except EtcdError as e:
            fail_on_error(module, e, prefix='defragmenting %s failed' % target['name'], **result)
        result['finished'] = time.time()
        try:
            after = [m for m in maintenance_state(client, with_compact_revision=False)['members']
                     if m['id'] == target['id']]
            if after and after[0]['endpoint']:
                result['db_size_after'] = after[0]['db_size']
        except EtcdError:
            pass  # the sizes are informative; the defragmentation itself succeeded
    if module._diff:
        result['diff'] = dict(before='%s db_size: %d\n' % (target['name'], result['db_size_before']),
                              after='%s db_size: %s\n' % (target['name'], result['db_size_after'] if not due or not
                                                          module.check_mode else 'about %d' % target['db_size_in_use']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
