#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_member_info
short_description: Report etcd members, leader, status, alarms and health
version_added: 0.1.0
description:
  - Lists the members of an etcd v3 cluster and, for each endpoint, its status (version, database size, leader,
    raft term and index), its alarms and its health.
  - Errors of single endpoints are reported in the result, they do not fail the module. The module fails only
    when the member list cannot be read from any endpoint, or when O(wait=healthy) and the cluster does not pass the
    health gate in time.
  - "With O(wait=healthy) it is the collection's health gate (the one every role and playbook uses, through
    C(roles/_common/tasks/health.yml)): it waits until every member answers through its own client URL, with a
    status that shows a leader and no errors, a B(linearizable) read for a voting member (a read through the
    leader: the member is part of a working quorum), a B(serializable) read for a learner (learners refuse
    linearizable reads, so C(etcdctl endpoint health --cluster) fails while a learner exists), and the cluster has
    no alarm. RV(health_gate) says, per member, which check it passed or why it failed."
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.info_module, quorum.etcd.connection]
options:
  status_of:
    description:
      - Which endpoints to ask for status and health.
      - V(members) asks every member through its advertised client URLs (unstarted members are reported with an
        error).
      - V(endpoints) asks the O(endpoints) given to the module.
      - V(none) only lists the members (and the cluster's alarms).
    type: str
    choices: [members, endpoints, none]
    default: members
  linearizable:
    description:
      - Read the member list through the leader (linearizable). With V(false) the answering member's local view is
        used, which also works when the cluster has no quorum.
    type: bool
    default: false
  wait:
    description:
      - V(healthy) runs the health gate (see the description) until it passes, and fails after O(wait_timeout)
        seconds. A member that was added but never started (no client URLs) does not pass.
      - V(none) only reports.
    type: str
    choices: [none, healthy]
    default: none
  wait_timeout:
    description:
      - Seconds to wait for the health gate with O(wait=healthy); V(0) checks once.
    type: float
    default: 120
  wait_delay:
    description:
      - Seconds between two rounds of the health gate with O(wait=healthy).
    type: float
    default: 2
  wait_max_lag:
    description:
      - With O(wait=healthy), the catch-up check as well; without it, no catch-up check.
      - Every member must also have applied the raft log up to this many entries of the leader's commit index
        (its C(raftAppliedIndex) against the leader's C(raftIndex)). A member just restarted replays its log and
        receives what it missed; the rolling restart waits for it before the next member goes down.
    type: int
'''

EXAMPLES = r'''
- name: Cluster overview
  quorum.etcd.etcd_member_info:
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  register: etcd

- name: Fail when a member reports an alarm (NOSPACE, CORRUPT)
  ansible.builtin.assert:
    that: etcd.alarms | length == 0

- name: Name of the leader
  ansible.builtin.debug:
    msg: "{{ etcd.leader.name }}"

- name: Wait up to 60 seconds until every voter answers a linearizable read and every learner a serializable one
  quorum.etcd.etcd_member_info:
    status_of: none
    wait: healthy
    wait_timeout: 60
    wait_delay: 1
  register: gate

- name: After a restart, also wait until every member applied the log up to 100 entries of the leader's commit index
  quorum.etcd.etcd_member_info:
    status_of: none
    wait: healthy
    wait_max_lag: 100

- name: Say which check each member passed
  ansible.builtin.debug:
    msg: "{{ gate.health_gate.summary }}"
'''

RETURN = r'''
cluster_id:
  description: Cluster id (decimal string).
  returned: always
  type: str
members:
  description: The members of the cluster.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Member id as a decimal string (uint64).
      type: str
    id_hex:
      description: Member id in hex, as etcdctl prints it.
      type: str
    name:
      description: Member name; empty for a member that was added but has not started yet.
      type: str
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
    client_urls:
      description: Advertised client URLs; empty until the member started.
      type: list
      elements: str
    is_learner:
      description: Whether the member is a non-voting learner.
      type: bool
    started:
      description: Whether the member has started (has a name or client URLs).
      type: bool
    is_leader:
      description: Whether the member is the current leader (false when the leader is unknown).
      type: bool
  sample:
    - id: "10501334649042878790"
      id_hex: "91bc3c398fb3c146"
      name: node1
      peer_urls: ["https://10.0.0.11:2380"]
      client_urls: ["https://10.0.0.11:2379"]
      is_learner: false
      started: true
      is_leader: true
leader:
  description: The leader as agreed by the answering endpoints (highest raft term); empty when unknown.
  returned: always
  type: dict
  contains:
    id:
      description: Leader id (decimal string).
      type: str
    id_hex:
      description: Leader id (hex).
      type: str
    name:
      description: Leader name.
      type: str
endpoints:
  description: Status and health per endpoint asked (see O(status_of)).
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The URL asked.
      type: str
    member_name:
      description: Name of the member behind the endpoint (when known).
      type: str
    member_id:
      description: Id (decimal) of the member that answered.
      type: str
    member_id_hex:
      description: Id (hex) of the member that answered.
      type: str
    ok:
      description: Whether the status request succeeded.
      type: bool
    error:
      description: The error of the status request, if any.
      type: str
    error_kind:
      description: Kind of error (unreachable, tls, timeout, auth, no_leader, ...).
      type: str
    version:
      description: etcd server version.
      type: str
    db_size:
      description: Physical size of the backend database in bytes.
      type: int
    db_size_in_use:
      description: Logical size of the backend database in bytes.
      type: int
    leader_id:
      description: Id (decimal) of the leader as seen by this member; C(0) when it sees none.
      type: str
    leader_id_hex:
      description: Id (hex) of the leader as seen by this member.
      type: str
    is_leader:
      description: Whether this member is the leader.
      type: bool
    is_learner:
      description: Whether this member is a learner.
      type: bool
    raft_term:
      description: Raft term.
      type: int
    raft_index:
      description: Raft committed index.
      type: int
    raft_applied_index:
      description: Raft applied index.
      type: int
    errors:
      description: Errors the member reports in its status (for example alarms).
      type: list
      elements: str
    alarms:
      description: Alarms raised for this member (C(NOSPACE), C(CORRUPT)).
      type: list
      elements: str
    healthy:
      description: Result of C(GET /health) on the endpoint.
      type: bool
    health_reason:
      description: Reason given by C(/health) or the error of the health request.
      type: str
alarms:
  description: Active alarms of the cluster.
  returned: always
  type: list
  elements: dict
  contains:
    member_id:
      description: Member id (decimal).
      type: str
    member_id_hex:
      description: Member id (hex).
      type: str
    alarm:
      description: C(NOSPACE) or C(CORRUPT).
      type: str
  sample: []
errors:
  description: Errors met while collecting (alarm list, ...); per endpoint errors are in RV(endpoints).
  returned: always
  type: list
  elements: str
health_gate:
  description: The last round of the health gate.
  returned: when O(wait=healthy)
  type: dict
  contains:
    passed:
      description: Whether the cluster passed.
      type: bool
    summary:
      description: Which members passed which check, in one line.
      type: str
      sample: 3 of 3 voting members answered a linearizable read, 1 of 1 learners (node4) a serializable read
        (learners refuse linearizable reads); no alarm
    reason:
      description: Why the cluster did not pass (empty when it passed).
      type: str
    attempts:
      description: Rounds run.
      type: int
    elapsed:
      description: Seconds waited.
      type: float
    alarms:
      description: Active alarms (as RV(alarms)).
      type: list
      elements: dict
    leader:
      description: The leader most answering members see (id, id_hex, name); empty when none answered with one.
      type: dict
    members:
      description: One report per member.
      type: list
      elements: dict
      contains:
        name:
          description: Member name (empty when it never started).
          type: str
        id:
          description: Member id (decimal).
          type: str
        id_hex:
          description: Member id (hex).
          type: str
        is_learner:
          description: Whether the member was checked as a learner.
          type: bool
        check:
          description: V(linearizable) (voting members) or V(serializable) (learners).
          type: str
        endpoint:
          description: The member's client URL that answered.
          type: str
        passed:
          description: Whether the member passed.
          type: bool
        reason:
          description: What the member answered, or why it did not pass.
          type: str
        version:
          description: The etcd server version the member reported (empty when it did not answer).
          type: str
        leader_id:
          description: The leader (decimal id) the member sees; C(0) when none or when it did not answer.
          type: str
        raft_index:
          description: The member's raft commit index.
          type: int
        raft_applied_index:
          description: The member's raft applied index.
          type: int
        raft_lag:
          description: Leader's commit index minus the member's applied index (not below 0).
          type: int
          returned: with O(wait_max_lag), for members that answered
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdError,
    connection_argument_spec,
)
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import (
    current_leader,
    fail_on_error,
    list_members,
    new_client,
)
from ansible_collections.quorum.etcd.plugins.module_utils._health import wait_healthy
from ansible_collections.quorum.etcd.plugins.module_utils._member import parse_status


def endpoint_report(client, url, name=''):
    report = dict(endpoint=url, member_name=name, ok=False, error='', error_kind='', healthy=False,
                  health_reason='', alarms=[])
    try:
        status = parse_status(client.status(endpoint=url))
        report.update(status)
        report['ok'] = True
    except EtcdError as e:
        report['error'] = str(e)
        report['error_kind'] = e.kind
    except ValueError as e:
        report['error'] = '%s: %s' % (url, e)
        report['error_kind'] = 'invalid_endpoint'
    if report['ok']:
        try:
            health = client.health(endpoint=url)
            report['healthy'] = health['health']
            report['health_reason'] = health['reason']
        except EtcdError as e:
            report['health_reason'] = str(e)
    else:
        report['health_reason'] = report['error']
    return report


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        status_of=dict(type='str', default='members', choices=['members', 'endpoints', 'none']),
        linearizable=dict(type='bool', default=False),
        wait=dict(type='str', default='none', choices=['none', 'healthy']),
        wait_timeout=dict(type='float', default=120.0),
        wait_delay=dict(type='float', default=2.0),
        wait_max_lag=dict(type='int'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params['wait_timeout'] < 0 or params['wait_delay'] < 0 or (params['wait_max_lag'] or 0) < 0:
        module.fail_json(msg='wait_timeout, wait_delay and wait_max_lag must not be negative')
    client = new_client(module)
    gate = None
    if params['wait'] == 'healthy':
        # Reads only, so it runs in check mode too.
        gate = wait_healthy(client, params['wait_timeout'], params['wait_delay'], max_lag=params['wait_max_lag'])
        if not gate['passed']:
            module.fail_json(msg='the cluster did not pass the health gate within %.0fs (%d rounds): %s. %s' % (
                params['wait_timeout'], gate['attempts'], gate['reason'], gate['summary']), health_gate=gate,
                error_kind='unhealthy')
    try:
        members, cluster_id = list_members(client, linearizable=module.params['linearizable'])
    except EtcdError as e:
        fail_on_error(module, e, prefix='cannot list members')

    errors = []
    alarms = []
    try:
        for alarm in client.alarms():
            member_id = str(int(alarm.get('memberID') or 0))
            alarms.append(dict(member_id=member_id, member_id_hex='%x' % int(member_id),
                               alarm=alarm.get('alarm') or 'NONE'))
    except EtcdError as e:
        errors.append('cannot list alarms: %s' % e)

    reports = []
    if module.params['status_of'] == 'members':
        for m in members:
            if not m['client_urls']:
                reports.append(dict(endpoint='', member_name=m['name'], member_id=m['id'], member_id_hex=m['id_hex'],
                                    ok=False, error='member has not started (no client URLs)',
                                    error_kind='not_started', healthy=False,
                                    health_reason='member has not started', alarms=[]))
                continue
            reports.append(endpoint_report(client, m['client_urls'][0], m['name']))
    elif module.params['status_of'] == 'endpoints':
        for url in client.endpoints:
            reports.append(endpoint_report(client, url))

    names = dict((m['id'], m['name']) for m in members)
    for report in reports:
        if report.get('member_id'):
            report['member_name'] = report['member_name'] or names.get(report['member_id'], '')
            report['alarms'] = [a['alarm'] for a in alarms if a['member_id'] == report['member_id']]

    statuses = dict((r['member_id'], r) for r in reports if r['ok'])
    leader_id = current_leader(statuses)
    leader = {}
    if leader_id:
        leader = dict(id=leader_id, id_hex='%x' % int(leader_id), name=names.get(leader_id, ''))
    for m in members:
        m['is_leader'] = m['id'] == leader_id

    result = dict(changed=False, cluster_id=cluster_id, members=members, leader=leader, endpoints=reports,
                  alarms=alarms, errors=errors)
    if gate is not None:
        result['health_gate'] = gate
    module.exit_json(**result)


if __name__ == '__main__':
    main()
