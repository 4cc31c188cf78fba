# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The health gate of the collection (etcd_member_info wait=healthy, roles/_common/tasks/health.yml); private.

A cluster passes when every member answers through its own client URL: its status shows a leader and no
errors, a voting member answers a linearizable read (a ReadIndex round trip through the leader: it proves the
member is part of a working quorum) and a learner a serializable one (learners refuse linearizable reads:
"rpc not supported for learner", which is why ``etcdctl endpoint health --cluster`` fails with a learner),
and the cluster has no alarm.  Each member's report says which check it had to pass.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdAuthError, EtcdError
from ansible_collections.quorum.etcd.plugins.module_utils._member import describe, parse_members, parse_status

LINEARIZABLE = 'linearizable'
SERIALIZABLE = 'serializable'
# The key read, as etcdctl endpoint health reads it (it need not exist).
HEALTH_KEY = 'health'


def check_member(client, member, alarms=None, timeout=None):
    """One member's health check.  Returns a report dict: name, id, id_hex, is_learner, check (linearizable or
    serializable), endpoint (the client URL that answered), passed and reason."""
    alarms = alarms or []
    learner = member['is_learner']
    report = dict(name=member['name'], id=member['id'], id_hex=member['id_hex'], is_learner=learner,
                  check=SERIALIZABLE if learner else LINEARIZABLE, endpoint='', passed=False, reason='',
                  version='', leader_id='0', raft_index=0, raft_applied_index=0)
    if not member['client_urls']:
        report['reason'] = 'has not started (no client URLs)'
        return report
    errors = []
    for url in member['client_urls']:
        try:
            status = parse_status(client.status(endpoint=url, timeout=timeout))
        except (EtcdError, ValueError) as e:
            errors.append(str(e))
            continue
        report['endpoint'] = url
        report.update(dict((k, status[k]) for k in ('version', 'leader_id', 'raft_index', 'raft_applied_index')))
        # A voter must answer a linearizable read. Only a member that the member list and its own status both
        # call a learner gets the serializable read (a promotion not yet applied on the member makes it refuse
        # a linearizable read: it fails until the member caught up).
        learner = member['is_learner'] and status['is_learner']
        report['is_learner'] = learner
        report['check'] = SERIALIZABLE if learner else LINEARIZABLE
        if status['leader_id'] == '0':
            report['reason'] = 'sees no leader'
            return report
        if status['errors']:
            report['reason'] = 'reports errors: %s' % '; '.join(status['errors'])
            return report
        try:
            client.range(HEALTH_KEY, keys_only=True, limit=1, serializable=learner, endpoint=url)
        except EtcdAuthError:
            # etcd checks permissions after the read's ReadIndex round: the member answered (as etcdctl's
            # endpoint health, which treats permission denied as healthy).
            pass
        except EtcdError as e:
            report['reason'] = 'the %s read failed: %s' % (report['check'], e)
            return report
        mine = sorted(a['alarm'] for a in alarms if a['member_id'] == member['id'])
        if mine:
            report['reason'] = 'alarm %s' % ', '.join(mine)
            return report
        report['passed'] = True
        report['reason'] = 'answered a %s read, sees leader %s' % (report['check'], status['leader_id_hex'])
        return report
    report['reason'] = 'does not answer: %s' % '; '.join(errors)
    return report


def parse_alarms(raw_alarms):
    out = []
    for alarm in raw_alarms or []:
        member_id = str(int(alarm.get('memberID') or 0))
        out.append(dict(member_id=member_id, member_id_hex='%x' % int(member_id), alarm=alarm.get('alarm') or 'NONE'))
    return out


def leader_of(reports):
    """The leader the members that answered see (the one most of them name); {} when none."""
    seen = [r['leader_id'] for r in reports if r['endpoint'] and r['leader_id'] != '0']
    if not seen:
        return {}
    leader_id = max(sorted(set(seen)), key=seen.count)
    names = dict((r['id'], r['name']) for r in reports)
    return dict(id=leader_id, id_hex='%x' % int(leader_id), name=names.get(leader_id, ''))


def check_caught_up(reports, leader, max_lag):
    """Catch-up: every member that passed must have applied the raft log up to ``max_lag`` entries of the leader's
    commit index (a member just restarted replays and receives what it missed before it serves current data).
    Members that fall behind get passed=False and the reason.  Each member's lag is recorded (raft_lag)."""
    by_id = dict((r['id'], r) for r in reports)
    lead = by_id.get(leader.get('id', ''))
    if lead is None or not lead['passed']:
        for r in reports:
            if r['passed']:
                r['passed'] = False
                r['reason'] = 'catch-up unknown: the leader did not answer'
        return
    for r in reports:
        if not r['passed']:
            continue
        # The leader's status was read at another moment than the member's: a negative lag is a member read later.
        r['raft_lag'] = max(0, lead['raft_index'] - r['raft_applied_index'])
        if r['raft_lag'] > max_lag:
            r['passed'] = False
            r['reason'] = 'has applied raft index %d, %d behind the leader\'s commit index %d (at most %d allowed)' % (
                r['raft_applied_index'], r['raft_lag'], lead['raft_index'], max_lag)


def check_cluster(client, timeout=None, max_lag=None):
    """One round of the gate over the cluster's members (a linearizable member list).  Returns the report:
    passed, members (check_member reports), alarms, leader (id, id_hex, name as the members see it), reason (why it
    did not pass, '' when it did).  With ``max_lag`` (an int), a member must also have caught up with the leader
    (check_caught_up)."""
    report = dict(passed=False, members=[], alarms=[], leader={}, reason='')
    try:
        members = parse_members(client.member_list(linearizable=True))
    except EtcdError as e:
        report['reason'] = 'cannot list the members (linearizable): %s' % e
        return report
    try:
        report['alarms'] = parse_alarms(client.alarms())
    except EtcdError as e:
        report['reason'] = 'cannot list the alarms: %s' % e
        return report
    report['members'] = [check_member(client, m, report['alarms'], timeout=timeout) for m in members]
    report['leader'] = leader_of(report['members'])
    if max_lag is not None:
        check_caught_up(report['members'], report['leader'], max_lag)
    names = dict((m['id'], describe(m)) for m in members)
    problems = ['%s (%s check): %s' % (names[r['id']], r['check'], r['reason'])
                for r in report['members'] if not r['passed']]
    problems += ['alarm %s on member %s' % (a['alarm'], names.get(a['member_id'], a['member_id_hex']))
                 for a in report['alarms'] if a['member_id'] not in names]
    if not members:
        problems.append('the member list is empty')
    report['passed'] = not problems
    report['reason'] = '; '.join(problems)
    return report


def summary(report):
    """One line: which members passed which check."""
    voters = [r for r in report['members'] if r['check'] == LINEARIZABLE]
    learners = [r for r in report['members'] if r['check'] == SERIALIZABLE]
    text = '%d of %d voting members answered a linearizable read' % (
        len([r for r in voters if r['passed']]), len(voters))
    if learners:
        text += ', %d of %d learners (%s) a serializable read (learners refuse linearizable reads)' % (
            len([r for r in learners if r['passed']]), len(learners),
            ', '.join(r['name'] or r['id_hex'] for r in learners))
    lags = [r['raft_lag'] for r in report['members'] if 'raft_lag' in r]
    if lags:
        caught_up = all(r['passed'] for r in report['members'])
        text += '; %s %d raft entries of the leader' % (
            'every member within' if caught_up else 'a member behind by', max(lags))
    text += '; %s' % ('no alarm' if not report['alarms'] else 'alarms: %s' % ', '.join(
        '%s on %s' % (a['alarm'], a['member_id_hex']) for a in report['alarms']))
    return text


def wait_healthy(client, timeout, delay, request_timeout=None, sleep=time.sleep, clock=time.time, max_lag=None):
    """Run check_cluster until it passes or ``timeout`` seconds passed (at least one round).  Returns the last
    report with attempts, elapsed (seconds) and summary added.  ``max_lag``: see check_cluster."""
    start = clock()
    attempts = 0
    while True:
        attempts += 1
        report = check_cluster(client, timeout=request_timeout, max_lag=max_lag)
        elapsed = clock() - start
        if report['passed'] or elapsed + delay > timeout:
            break
        sleep(delay)
    report['attempts'] = attempts
    report['elapsed'] = round(clock() - start, 1)
    report['summary'] = summary(report)
    return report
