# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of a rolling restart (roles/etcd/tasks/restart.yml, the one restart path), and where leadership goes
before the leader restarts.

- etcd_walk: the members to restart, followers first (in the order given), the leader last.
- etcd_walk_transferee: the member that takes the leadership before the leader restarts: the most recently
  restarted member that passed the last health gate as a voter; else (nobody restarted yet) any other voter that
  passed it; '' when none can.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_walk
short_description: Order the members of a rolling restart, followers first and the leader last
version_added: 0.4.0
description:
  - Returns the inventory hosts to restart in the order of the rolling restart, followers first in the order given
    and the leader last, so the cluster elects a new leader at most once.
  - Refuses a host that is not a member of the inventory's member table, and a host named twice.
  - The companion filter C(etcd_walk_transferee) lives in the same file.
options:
  _input:
    description: Inventory hosts to restart.
    type: list
    elements: str
    required: true
  member_table:
    description: The inventory's member table (C(host), C(name)), as C(__etcd_member_table).
    type: list
    elements: dict
    required: true
  leader:
    description: The name of the current leader (empty when unknown).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Restart order
  ansible.builtin.debug:
    msg: "{{ ['etcd-1', 'etcd-2', 'etcd-3'] | quorum.etcd.etcd_walk(__etcd_member_table, 'etcd-2') }}"
"""

RETURN = r"""
_value:
  description: The hosts in restart order (the leader, when it is among them, last).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError


def _names(member_table):
    return dict((row['host'], row['name']) for row in member_table)


def etcd_walk(hosts, member_table, leader):
    """Followers first in the order given, then the leader."""
    names = _names(member_table)
    hosts = list(hosts or [])
    unknown = [h for h in hosts if h not in names]
    if unknown:
        raise AnsibleFilterError('etcd_walk: not members of the inventory\'s cluster: %s (members: %s)' % (
            ', '.join(unknown), ', '.join(sorted(names))))
    twice = sorted(set(h for h in hosts if hosts.count(h) > 1))
    if twice:
        raise AnsibleFilterError('etcd_walk: named more than once: %s' % ', '.join(twice))
    followers = [h for h in hosts if names[h] != leader or not leader]
    return followers + [h for h in hosts if leader and names[h] == leader]


def etcd_walk_transferee(gate_members, member_table, restarted, leader):
    """The member name to move the leadership to before the leader restarts.

    gate_members: the health gate's per-member reports (name, passed, is_learner); restarted: hosts already
    restarted in this walk, in order; leader: the leader's name.  The most recently restarted member that passed
    as a voter; else any other voter that passed (the walk may hold the leader alone); '' when none did."""
    names = _names(member_table)
    ready = [m['name'] for m in gate_members or []
             if m.get('passed') and not m.get('is_learner') and m.get('name') and m['name'] != leader]
    for host in reversed(list(restarted or [])):
        if names.get(host) in ready:
            return names[host]
    return ready[0] if ready else ''


class FilterModule(object):
    def filters(self):
        return {
            'etcd_walk': etcd_walk,
            'etcd_walk_transferee': etcd_walk_transferee,
        }
