#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_compact
short_description: Compact the etcd key space history
version_added: 0.2.0
description:
  - Discards the key space history older than a revision, cluster-wide (through raft). Watches and reads at older
    revisions fail afterwards; the space is reused by etcd but the database file only shrinks after a
    defragmentation (M(quorum.etcd.etcd_defrag)).
  - Most clusters rely on etcd's auto-compaction (C(auto-compaction-mode) and C(auto-compaction-retention)); this
    module is for the NOSPACE recovery and for compacting by hand.
  - Idempotent. Nothing is done when the key space is already compacted to the target or beyond.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reports the revision it would compact to.
  diff_mode:
    details: Shows the compacted revision before and after.
options:
  revision:
    description: Compact to this revision. Mutually exclusive with O(keep).
    type: int
  keep:
    description:
      - Compact to the current revision minus this many revisions (0 keeps only the current one). Mutually
        exclusive with O(revision).
    type: int
  physical:
    description: Wait until the compaction is physically applied to the backend database.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Compact everything but the current revision (NOSPACE recovery)
  quorum.etcd.etcd_compact:
    keep: 0
    physical: true
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
'''

RETURN = r'''
revision:
  description: The current revision when the module ran.
  returned: always
  type: int
compact_revision_before:
  description: The compacted revision before (0 when never compacted).
  returned: always
  type: int
compact_revision:
  description: The compacted revision after (the target in check mode).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError, connection_argument_spec, to_int
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import fail_on_error, new_client
from ansible_collections.quorum.etcd.plugins.module_utils._maintenance import compact, compact_revision


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        revision=dict(type='int'),
        keep=dict(type='int', no_log=False),
        physical=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('revision', 'keep')], required_one_of=[('revision', 'keep')])
    p = module.params
    client = new_client(module)
    try:
        current = to_int(client.call('/v3/kv/range', {'key': 'AA==', 'count_only': True})
                         .get('header', {}).get('revision'))
        before = compact_revision(client, current=current)
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot read the revisions')
    if p['revision'] is not None:
        target = p['revision']
        if target > current:
            module.fail_json(msg='revision %d is in the future (current revision %d)' % (target, current))
    else:
        if p['keep'] < 0:
            module.fail_json(msg='keep must be 0 or more, not %d' % p['keep'])
        target = max(current - p['keep'], 1)
    due = target > before
    result = dict(changed=due, revision=current, compact_revision_before=before,
                  compact_revision=target if due else before)
    if due and not module.check_mode:
        try:
            compact(client, target, physical=p['physical'], timeout=max(p['timeout'], 60.0))
        except EtcdError as e:
            # A resent request (failover after a timeout) finds its own compaction done: read again.
            if 'compacted' not in str(e) or compact_revision(client) < target:
                fail_on_error(module, e, prefix='compacting to revision %d failed' % target, **result)
    if module._diff:
        result['diff'] = dict(before='compact_revision: %d\n' % before,
                              after='compact_revision: %d\n' % result['compact_revision'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
