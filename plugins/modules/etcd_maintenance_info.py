#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_maintenance_info
short_description: Read what maintenance decisions need from every etcd member
version_added: 0.2.0
description:
  - Reads, for every member of the cluster, the database size and the size in use, the fragmentation (free share
    and reclaimable bytes) with the defragmentation rule's verdict, the revision, the raft index, whether it leads
    or is a learner; and the cluster's alarms and compacted revision.
  - Changes nothing.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.info_module, quorum.etcd.connection]
options:
  min_free_ratio:
    description:
      - The defragmentation rule. A member is due when the free share of its database file is at least this
        (0 to 1) and it has at least O(min_reclaimable_bytes) to give back.
    type: float
    default: 0.5
  min_reclaimable_bytes:
    description:
      - The defragmentation rule's second threshold, in bytes.
    type: int
    default: 67108864
  compact_revision:
    description:
      - Find the compacted revision (a binary search of about log2(revision) reads of one absent key).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Read the members' database sizes and alarms
  quorum.etcd.etcd_maintenance_info:
    endpoints: ["https://10.0.0.11:2379"]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  register: maintenance

- name: Show the members due for defragmentation
  ansible.builtin.debug:
    msg: "{{ maintenance.members | selectattr('defrag_due') | map(attribute='name') | list }}"
'''

RETURN = r'''
members:
  description: One entry per member, in the member list's order.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Member name.", type: str}
    id: {description: "Member ID (decimal).", type: str}
    id_hex: {description: "Member ID (hex, as etcdctl prints it).", type: str}
    endpoint: {description: "The client URL that answered (empty when none did).", type: str}
    healthy: {description: "Answered and sees a leader.", type: bool}
    error: {description: "Why it did not answer (empty when it did).", type: str}
    is_leader: {description: "Leads the cluster.", type: bool}
    is_learner: {description: "Is a learner.", type: bool}
    version: {description: "Server version.", type: str}
    db_size: {description: "Size of the database file in bytes.", type: int}
    db_size_in_use: {description: "Bytes of the file in use.", type: int}
    free_ratio: {description: "Free share of the file (0 to 1).", type: float}
    reclaimable_bytes: {description: "Bytes a defragmentation would give back.", type: int}
    defrag_due: {description: "Whether the defragmentation rule holds for this member.", type: bool}
    defrag_reason: {description: "The rule's verdict in words.", type: str}
    revision: {description: "Current revision as this member sees it.", type: int}
    raft_index: {description: "Raft index.", type: int}
    raft_applied_index: {description: "Raft applied index.", type: int}
    raft_term: {description: "Raft term.", type: int}
  sample:
    - {name: etcd-1, id: "1", id_hex: "1", endpoint: "https://10.0.0.11:2379", healthy: true, error: "",
       is_leader: true, is_learner: false, version: 3.5.30, db_size: 104857600, db_size_in_use: 20971520,
       free_ratio: 0.8, reclaimable_bytes: 83886080, defrag_due: true, defrag_reason: "free share 80% ...",
       revision: 123456, raft_index: 200000, raft_applied_index: 200000, raft_term: 4}
leader:
  description: Name of the leader (empty when none is seen).
  returned: always
  type: str
alarms:
  description: Active alarms (NOSPACE, CORRUPT) with the member that raised each.
  returned: always
  type: list
  elements: dict
  sample: [{member: etcd-2, member_id: "2", member_id_hex: "2", alarm: NOSPACE}]
revision:
  description: The highest current revision the members report.
  returned: always
  type: int
compact_revision:
  description: The revision the key space was compacted to (0 when never compacted, -1 when not read).
  returned: always
  type: int
defrag_problems:
  description:
    - Why no member may be defragmented online now (empty when all may), such as an unhealthy member, a learner, or a member
      on a release where a defragmentation can race a snapshot apply (before 3.5.23, 3.6.0 to 3.6.4).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError, connection_argument_spec
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import fail_on_error, new_client
from ansible_collections.quorum.etcd.plugins.module_utils._maintenance import (
    DEFAULT_MIN_FREE_RATIO,
    DEFAULT_MIN_RECLAIMABLE_BYTES,
    maintenance_state,
)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        min_free_ratio=dict(type='float', default=DEFAULT_MIN_FREE_RATIO),
        min_reclaimable_bytes=dict(type='int', default=DEFAULT_MIN_RECLAIMABLE_BYTES),
        compact_revision=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = new_client(module)
    try:
        result = maintenance_state(client, module.params['min_free_ratio'], module.params['min_reclaimable_bytes'],
                                   module.params['compact_revision'])
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read the cluster')
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
