#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_member
short_description: Add, promote and remove etcd cluster members safely
version_added: 0.1.0
description:
  - Manages the membership of an etcd v3 cluster through etcd's JSON gateway.
  - With O(state=present), a missing member is added (as a learner by default); a learner is promoted to a
    voting member once it has caught up with the leader.
  - With O(state=absent), a member is removed, unless that would leave fewer healthy voting members than a
    majority. When the member is the leader, leadership is moved to a healthy voter first.
  - Health for the quorum guard is a C(/v3/maintenance/status) request to each member's advertised client URLs
    (with the same certificates) that answers and sees a leader; members whose client URLs cannot be reached from
    the host running the module count as unhealthy, so the guard errs on the safe side.
  - Members are matched exactly, by name or by one of their peer URLs (compared after normalizing scheme, host
    case and port) as reported by etcd. A member that was added but has not started yet has no name and is
    found by its peer URLs.
  - "Typical flow for a new node: run the module with O(promote=false) to add a learner and get
    RV(initial_cluster); start etcd on the new node with C(--initial-cluster-state existing) and that
    C(--initial-cluster); run the module again with O(promote=true) to promote the learner once it is in sync."
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff, quorum.etcd.connection]
attributes:
  check_mode:
    details: Reports the changes that would be made (add, promote, leadership move, removal) without making them.
  diff_mode:
    details: Shows the member list before and after.
options:
  name:
    description:
      - Name of the member (etcd C(--name)).
      - Required with O(state=present); it is used in RV(initial_cluster).
      - With O(state=absent), the member to remove is found by O(name), O(peer_urls), O(member_id) or O(member).
    type: str
  peer_urls:
    description:
      - Peer URLs of the member (etcd C(--initial-advertise-peer-urls)).
      - Required with O(state=present). When a member with this O(name) exists with other peer URLs, the module
        fails, unless O(update_peer_urls=true).
    type: list
    elements: str
  member_id:
    description:
      - With O(state=absent), the ID of the member to remove, in hex as C(etcdctl member list) prints it (for example
        V(8e9e05c52164694d)). A member that was added but never started has no name; its ID or peer URL finds it.
      - Not allowed with O(state=present).
    type: str
  member:
    description:
      - With O(state=absent), the member to remove given as one string, as an operator types it (a peer URL, it
        contains V(://), else a member name or an ID in hex). A string that is the name of one member and the ID of
        another is refused as ambiguous.
      - Mutually exclusive with O(name), O(peer_urls) and O(member_id); not allowed with O(state=present).
    type: str
  must_exist:
    description:
      - With O(state=absent), fail when no member matches, naming the cluster's members (a typo in a name would
        otherwise pass as "already removed"). With V(false), a missing member is not a change.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure the member exists (and is promoted when O(promote=true)).
      - V(absent) removes the member.
    type: str
    choices: [present, absent]
    default: present
  learner:
    description:
      - Add a missing member as a non-voting learner (recommended). With V(false), the member is added as a
        voting member at once, which changes the quorum before the new member is running.
    type: bool
    default: true
  promote:
    description:
      - Promote a learner to a voting member, waiting up to O(catch_up_timeout) seconds for it to catch up
        with the leader.
      - Use V(false) to only add the learner and return; the new member must then be started with
        C(--initial-cluster-state existing), and a later run with V(true) promotes it.
    type: bool
    default: true
  update_peer_urls:
    description:
      - With O(state=present), change the peer URLs of an existing member named O(name) to O(peer_urls) when they
        differ (etcd C(member update)). The member's etcd must then be restarted with matching
        C(--initial-advertise-peer-urls) and certificates valid for the new URLs.
      - With V(false), differing peer URLs are an error.
    type: bool
    default: false
  catch_up_timeout:
    description:
      - Seconds to keep retrying the promotion while etcd answers that the learner is not in sync with the
        leader (or is not started yet). The module fails when the learner is still not ready then.
      - Also bounds the wait for a leadership move before a removal, and (up to 15 seconds) the retries of an add or
        a removal that etcd refuses as C(unhealthy cluster) because a voting member connected only recently (etcd
        wants all voters connected for 5 seconds before a membership change).
    type: float
    default: 60
'''

EXAMPLES = r'''
- name: Add etcd-4 as a learner, do not promote yet
  quorum.etcd.etcd_member:
    name: node4
    peer_urls: ["https://10.0.0.14:2380"]
    promote: false
    endpoints: ["https://10.0.0.11:2379"]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  register: added

- name: Start etcd on the new node with the cluster it joins
  ansible.builtin.debug:
    msg: "--initial-cluster-state existing --initial-cluster {{ added.initial_cluster }}"

- name: Promote node4 once it caught up
  quorum.etcd.etcd_member:
    name: node4
    peer_urls: ["https://10.0.0.14:2380"]
    catch_up_timeout: 120

- name: Remove node2 (refused if it would break quorum; leadership is moved away first)
  quorum.etcd.etcd_member:
    name: node2
    state: absent

- name: Remove a member that was added but never started
  quorum.etcd.etcd_member:
    peer_urls: ["https://10.0.0.15:2380"]
    state: absent

- name: Remove the member an operator named by name, peer URL or hex ID; a typo fails, naming the members
  quorum.etcd.etcd_member:
    member: 8e9e05c52164694d
    must_exist: true
    state: absent
'''

RETURN = r'''
member:
  description: The member after the change (before the removal for O(state=absent)); empty when there is none.
  returned: always
  type: dict
  sample:
    id: "9372538179322589801"
    id_hex: "8211f1d0f64f3269"
    name: node4
    peer_urls: ["https://10.0.0.14:2380"]
    client_urls: ["https://10.0.0.14:2379"]
    is_learner: false
    started: true
members:
  description: All members after the change (predicted in check mode).
  returned: always
  type: list
  elements: dict
initial_cluster:
  description:
    - The C(--initial-cluster) value the member must start with (C(name=peer_url,...)), as printed by
      C(etcdctl member add).
  returned: when O(state=present)
  type: str
  sample: node1=https://10.0.0.11:2380,node2=https://10.0.0.12:2380,node4=https://10.0.0.14:2380
initial_cluster_state:
  description: Always C(existing); the value for C(--initial-cluster-state) of a member joining the cluster.
  returned: when O(state=present)
  type: str
  sample: existing
added:
  description: Whether the member was (or would be) added.
  returned: always
  type: bool
promoted:
  description: Whether the learner was (or would be) promoted.
  returned: always
  type: bool
removed:
  description: Whether the member was (or would be) removed.
  returned: always
  type: bool
leader_moved_to:
  description: Name (or hex id) of the member that took over leadership before the removal.
  returned: when leadership was moved
  type: str
actions:
  description: The steps taken (or planned in check mode).
  returned: always
  type: list
  elements: str
  sample: ["add learner node4", "promote node4"]
cluster_id:
  description: Cluster id (decimal string).
  returned: always
  type: str
matched_by:
  description: What O(member) matched (V(name), V(peer URL) or V(ID)).
  returned: when O(member) is given and a member matched
  type: str
  sample: ID
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdConnectionError,
    EtcdError,
    EtcdLearnerNotReadyError,
    EtcdNoLeaderError,
    EtcdTimeoutError,
    EtcdUnhealthyClusterError,
    connection_argument_spec,
)
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import (
    ClusterHealth,
    fail_on_error,
    list_members,
    member_status,
    new_client,
    retry,
)
from ansible_collections.quorum.etcd.plugins.module_utils._member import (
    MemberMatchError,
    check_removal,
    describe,
    find_member,
    initial_cluster,
    learner_caught_up,
    parse_member,
    parse_member_id,
    parse_members,
    resolve_member_ref,
    same_urls,
    summary,
)

# Errors worth retrying while waiting for a learner (cluster busy electing, endpoint hiccup).
RETRYABLE = (EtcdLearnerNotReadyError, EtcdNoLeaderError, EtcdTimeoutError, EtcdConnectionError,
             EtcdUnhealthyClusterError)
# Transient refusals of membership changes.
SETTLE_ERRORS = (EtcdUnhealthyClusterError, EtcdNoLeaderError)


class MemberModule(object):

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = new_client(module)
        self.result = dict(changed=False, added=False, promoted=False, removed=False, actions=[],
                           member={}, members=[], cluster_id='')

    def settle_timeout(self):
        # etcd refuses membership changes ("unhealthy cluster") until all voters have been
        # connected for 5 seconds, e.g. just after a restart: wait a little for that.
        return min(self.params['catch_up_timeout'], 15.0)

    def fail(self, msg, error=None, **kwargs):
        result = dict(self.result)
        result.update(kwargs)
        if error is not None:
            fail_on_error(self.module, error, prefix=msg, **result)
        self.module.fail_json(msg=msg, **result)

    def finish(self, before, after):
        self.result['members'] = after
        if self.module._diff:
            self.result['diff'] = dict(
                before='\n'.join(summary(before)) + '\n',
                after='\n'.join(summary(after)) + '\n',
                before_header='etcd members', after_header='etcd members',
            )
        self.module.exit_json(**self.result)

    def run(self):
        try:
            members, self.result['cluster_id'] = list_members(self.client)
        except EtcdError as e:
            self.fail('cannot list members', e)
        how = None
        try:
            if self.params['member'] is not None:
                member, how = resolve_member_ref(members, self.params['member'])
            else:
                member_id = None
                if self.params['member_id'] is not None:
                    member_id = parse_member_id(self.params['member_id'])
                member = find_member(members, name=self.params['name'], peer_urls=self.params['peer_urls'],
                                     member_id=member_id)
        except (MemberMatchError, ValueError) as e:
            self.fail('cannot identify the member: %s' % e)
        if member is None and self.params['state'] == 'absent' and self.params['must_exist']:
            asked = self.params['member'] or ', '.join(
                '%s=%s' % (k, ','.join(v) if isinstance(v, list) else v)
                for k, v in (('name', self.params['name']), ('peer_urls', self.params['peer_urls']),
                             ('member_id', self.params['member_id'])) if v)
            self.fail('%s is not a member of the cluster (no member has this name, peer URL or ID); nothing was '
                      'removed. Members: %s' % (asked, '; '.join(summary(members))), members=members)
        if how:
            self.result['matched_by'] = how
        if self.params['state'] == 'present':
            self.present(members, member)
        else:
            self.absent(members, member)

    # -- present ---------------------------------------------------------------------------

    def present(self, before, member):
        name = self.params['name']
        peer_urls = self.params['peer_urls']
        members = list(before)
        check = self.module.check_mode

        if member is None:
            what = 'learner' if self.params['learner'] else 'voting member'
            self.result['actions'].append('add %s %s' % (what, name))
            self.result['changed'] = True
            self.result['added'] = True
            if check:
                member = dict(id='0', id_hex='0', name='', peer_urls=list(peer_urls), client_urls=[],
                              is_learner=self.params['learner'], started=False)
                members.append(member)
            else:
                try:
                    response = retry(lambda: self.client.member_add(peer_urls, is_learner=self.params['learner']),
                                     SETTLE_ERRORS, self.settle_timeout())
                except EtcdError as e:
                    self.fail('cannot add member %s' % name, e)
                member = parse_member(response.get('member') or {})
                members = parse_members(response) or members + [member]
        elif not same_urls(member['peer_urls'], peer_urls):
            if not self.params['update_peer_urls']:
                self.fail('member %s has peer URLs %s, not %s; set update_peer_urls=true to change them' % (
                    describe(member), ','.join(member['peer_urls']), ','.join(peer_urls)), member=member)
            self.result['actions'].append('update peer URLs of %s from %s to %s' % (
                describe(member), ','.join(member['peer_urls']), ','.join(peer_urls)))
            self.result['changed'] = True
            if not check:
                try:
                    self.client.member_update(member['id'], peer_urls)
                except EtcdError as e:
                    self.fail('cannot update peer URLs of %s' % describe(member), e)
            member = dict(member, peer_urls=list(peer_urls))
            members = [member if m['id'] == member['id'] else m for m in members]

        self.result['initial_cluster'] = initial_cluster(members, member['id'], name)
        self.result['initial_cluster_state'] = 'existing'
        self.result['member'] = member

        if member['is_learner'] and self.params['promote']:
            self.result['actions'].append('promote %s' % name)
            self.result['changed'] = True
            self.result['promoted'] = True
            if not check:
                member, members = self.promote(member, name)
            else:
                member = dict(member, is_learner=False)
                members = [member if m['id'] == member['id'] else m for m in members]
            self.result['member'] = member
        self.finish(before, members)

    def promote(self, member, name):
        timeout = self.params['catch_up_timeout']
        deadline = time.time() + timeout
        interval = min(1.0, max(0.1, timeout / 10.0))
        last_error = None
        while True:
            try:
                response = self.client.member_promote(member['id'])
                members = parse_members(response)
                if not members:
                    members, _cluster_id = list_members(self.client)
                promoted = [m for m in members if m['id'] == member['id']]
                return (promoted[0] if promoted else dict(member, is_learner=False)), members
            except RETRYABLE as e:
                last_error = e
            except EtcdError as e:
                # Maybe promoted concurrently ("can only promote a learner member"): look again.
                try:
                    members, _cluster_id = list_members(self.client)
                except EtcdError:
                    members = []
                current = [m for m in members if m['id'] == member['id']]
                if current and not current[0]['is_learner']:
                    return current[0], members
                self.fail('cannot promote %s' % describe(member), e)
            if time.time() + interval > deadline:
                break
            time.sleep(interval)
        # Say how far behind the learner is, when we can see it.
        progress = ''
        try:
            members, _cluster_id = list_members(self.client)
            current = [m for m in members if m['id'] == member['id']] or [member]
            status, error, _url = member_status(self.client, current[0])
            leader = None
            if status and status['leader_id'] != '0':
                leader_member = [m for m in members if m['id'] == status['leader_id']]
                if leader_member:
                    leader, _e, _u = member_status(self.client, leader_member[0])
            if status is None:
                progress = ' The learner does not answer (%s); is etcd started on it with ' \
                           '--initial-cluster-state existing?' % error
            elif leader is not None:
                progress = ' Learner applied index %d, leader index %d (caught up: %s).' % (
                    status['raft_applied_index'], leader['raft_index'],
                    learner_caught_up(leader['raft_index'], status['raft_applied_index']))
        except EtcdError:
            pass
        self.result['changed'] = self.result['added']
        self.result['promoted'] = False
        self.fail('learner %s not in sync with the leader / not ready for promotion after %.0fs: %s.%s' % (
            name, timeout, last_error, progress), error_kind='learner_not_ready')

    # -- absent ----------------------------------------------------------------------------

    def absent(self, before, member):
        if member is None:
            self.finish(before, before)
        self.result['member'] = member
        check = self.module.check_mode
        try:
            health = ClusterHealth(self.client, before)
        except EtcdError as e:
            self.fail('cannot get member status', e)
        ok, reason = check_removal(before, member['id'], health.healthy)
        if not ok:
            self.fail('refusing to remove %s: %s' % (describe(member), reason),
                      unhealthy=dict((mid, err) for mid, err in health.errors.items()))
        if health.leader_id == member['id']:
            target = health.transferee(member['id'])
            if target is None:
                self.fail('refusing to remove leader %s: no healthy voting member to move leadership to'
                          % describe(member))
            self.result['actions'].append('move leadership from %s to %s' % (describe(member), describe(target)))
            self.result['leader_moved_to'] = target['name'] or target['id_hex']
            self.result['changed'] = True
            if not check:
                try:
                    health.move_leadership(target['id'], timeout=min(self.params['catch_up_timeout'], 60))
                except EtcdError as e:
                    self.fail('cannot move leadership away from %s before removing it' % describe(member), e)
        self.result['actions'].append('remove %s' % describe(member))
        self.result['changed'] = True
        self.result['removed'] = True
        after = [m for m in before if m['id'] != member['id']]
        if not check:
            # Ask the other members first: the member being removed stops serving.
            others = [health.urls[m['id']] for m in after if m['id'] in health.urls]
            remover = self.client.for_endpoints(others + [e for e in self.client.endpoints if e not in others])
            try:
                response = retry(lambda: remover.member_remove(member['id']), SETTLE_ERRORS,
                                 self.settle_timeout())
            except EtcdError as e:
                self.fail('cannot remove %s' % describe(member), e)
            after = parse_members(response) or after
        self.finish(before, after)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type='str'),
        peer_urls=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        learner=dict(type='bool', default=True),
        promote=dict(type='bool', default=True),
        update_peer_urls=dict(type='bool', default=False),
        catch_up_timeout=dict(type='float', default=60.0),
        member_id=dict(type='str'),
        member=dict(type='str'),
        must_exist=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[('state', 'present', ('name', 'peer_urls'))],
        required_one_of=[('name', 'peer_urls', 'member_id', 'member')],
        mutually_exclusive=[('member', 'name'), ('member', 'peer_urls'), ('member', 'member_id')],
    )
    params = module.params
    if params['peer_urls'] is not None and not params['peer_urls']:
        module.fail_json(msg='peer_urls must not be empty')
    if params['state'] == 'present' and (params['member_id'] is not None or params['member'] is not None):
        module.fail_json(msg='member_id and member select a member to remove: only with state=absent')
    if params['member'] is not None and not params['member'].strip():
        module.fail_json(msg='member must not be empty: a name, a peer URL or an ID in hex')
    if params['member_id'] is not None:
        try:
            parse_member_id(params['member_id'])
        except ValueError as e:
            module.fail_json(msg='member_id: %s' % e)
    MemberModule(module).run()


if __name__ == '__main__':
    main()
