# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cluster operations shared by the modules (client + membership decisions); private."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.quorum.etcd.plugins.module_utils._client import (
    EtcdClient,
    EtcdError,
    EtcdNotLeaderError,
)
from ansible_collections.quorum.etcd.plugins.module_utils._member import (
    parse_members,
    parse_status,
    pick_transferee,
)


def new_client(module):
    """EtcdClient from the module's connection options; fails the module on bad endpoints."""
    try:
        return EtcdClient.from_params(module.params)
    except ValueError as e:
        module.fail_json(msg='invalid endpoints: %s' % e)


def fail_on_error(module, error, prefix=None, **kwargs):
    """fail_json with a message naming what went wrong (the error's kind is returned as error_kind)."""
    msg = str(error)
    if prefix:
        msg = '%s: %s' % (prefix, msg)
    module.fail_json(msg=msg, error_kind=getattr(error, 'kind', 'error'), **kwargs)


def list_members(client, linearizable=True):
    response = client.member_list(linearizable=linearizable)
    header = response.get('header') or {}
    return parse_members(response), str(int(header.get('cluster_id') or 0))


def member_status(client, member, timeout=None):
    """Status of one member through its client URLs.  Returns (status or None, error text or None, url)."""
    if not member['client_urls']:
        return None, 'member has not started (no client URLs)', None
    errors = []
    for url in member['client_urls']:
        try:
            return parse_status(client.status(endpoint=url, timeout=timeout)), None, url
        except EtcdError as e:
            errors.append(str(e))
        except ValueError as e:  # a client URL that is not http(s)
            errors.append('%s: %s' % (url, e))
    return None, '; '.join(errors), None


def cluster_statuses(client, members, timeout=None):
    """Status of every member: ({id: status}, {id: error}, {id: url that answered})."""
    statuses, errors, urls = {}, {}, {}
    for m in members:
        status, error, url = member_status(client, m, timeout=timeout)
        if status is not None:
            statuses[m['id']] = status
            urls[m['id']] = url
        else:
            errors[m['id']] = error
    return statuses, errors, urls


def healthy_ids(statuses):
    """Members that answered status and see a leader (a member cut off from the quorum reports
    leader 0 or errors)."""
    return [mid for mid, st in statuses.items() if st['leader_id'] != '0']


def current_leader(statuses):
    """Leader id agreed by the members that answered, preferring the highest raft term."""
    best = None
    for st in statuses.values():
        if st['leader_id'] == '0':
            continue
        if best is None or st['raft_term'] > best['raft_term']:
            best = st
    return best['leader_id'] if best else None


def move_leadership(client, members, statuses, urls, leader_id, target_id, timeout):
    """Ask the leader to hand over to ``target_id`` and wait (bounded) until a status shows it.

    Returns the new leader id.  Raises EtcdError on failure.
    """
    leader = [m for m in members if m['id'] == leader_id][0]
    leader_urls = [urls[leader_id]] if leader_id in urls else []
    leader_urls += [u for u in leader['client_urls'] if u not in leader_urls]
    last_error = None
    for url in leader_urls:
        try:
            client.move_leader(target_id, endpoint=url)
            last_error = None
            break
        except EtcdNotLeaderError:
            # Leadership moved meanwhile; the wait below tells where to.
            last_error = None
            break
        except EtcdError as e:
            last_error = e
    if last_error is not None:
        raise last_error
    deadline = time.time() + max(timeout, 1.0)
    target = [m for m in members if m['id'] == target_id][0]
    while True:
        status, _error, _url = member_status(client, target, timeout=min(client.timeout, 2.0))
        if status and status['leader_id'] == target_id:
            return target_id
        if time.time() >= deadline:
            raise EtcdError('leadership did not move from %s to %s within %.0fs (leader now %s)' % (
                leader['name'] or leader['id_hex'], target['name'] or target['id_hex'], timeout,
                status['leader_id_hex'] if status else 'unknown'))
        time.sleep(0.2)


class ClusterHealth(object):
    """What the members' status says about the cluster, for the modules that move leadership.

    ``statuses``, ``errors`` and ``urls`` are those of cluster_statuses(), ``healthy`` the ids of
    healthy_ids() and ``leader_id`` the leader of current_leader() (None when there is none).
    Raises EtcdError like cluster_statuses().
    """

    def __init__(self, client, members, timeout=None):
        self.client = client
        self.members = members
        self.statuses, self.errors, self.urls = cluster_statuses(client, members, timeout=timeout)
        self.healthy = healthy_ids(self.statuses)
        self.leader_id = current_leader(self.statuses)

    def transferee(self, exclude_id):
        """The best healthy voter to take over leadership from ``exclude_id`` (see pick_transferee), or None."""
        return pick_transferee(self.members, exclude_id, self.healthy, self.statuses)

    def move_leadership(self, target_id, timeout):
        """Move leadership from the current leader to ``target_id`` (see move_leadership)."""
        return move_leadership(self.client, self.members, self.statuses, self.urls, self.leader_id, target_id,
                               timeout)


def retry(func, retry_on, timeout, interval=0.5):
    """Call ``func()`` until it does not raise one of ``retry_on`` or ``timeout`` seconds passed
    (then the last error is raised).  Used for etcd's transient refusals, for example "unhealthy
    cluster" while a member connected less than 5 seconds ago (strict reconfiguration check)."""
    deadline = time.time() + max(timeout, 0)
    while True:
        try:
            return func()
        except retry_on:
            if time.time() + interval > deadline:
                raise
        time.sleep(interval)
