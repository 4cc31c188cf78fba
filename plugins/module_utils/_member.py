# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure-Python membership decisions (no I/O, no Ansible): private to the collection.

Everything here works on data parsed from the gateway's JSON answers, so the unit
tests can exercise the quorum math and the member matching directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from urllib.parse import urlparse

# etcd promotes a learner only when its match index is >= 90% of the leader's commit index
# (etcdserver readyPercentThreshold); mirror it for the informative pre-check.
LEARNER_READY_PERCENT = 0.9


class MemberMatchError(ValueError):
    """The requested name / peer URLs are ambiguous or contradict the cluster's member list."""


def _int(value):
    if value is None or value == '':
        return 0
    return int(value)


def parse_member(raw):
    """Normalize one etcdserverpb.Member of the gateway (ID is a uint64 JSON string)."""
    member_id = _int(raw.get('ID'))
    return {
        'id': str(member_id),
        'id_hex': '%x' % member_id,
        'name': raw.get('name') or '',
        'peer_urls': list(raw.get('peerURLs') or []),
        'client_urls': list(raw.get('clientURLs') or []),
        'is_learner': bool(raw.get('isLearner', False)),
        'started': bool(raw.get('name')) or bool(raw.get('clientURLs')),
    }


def parse_members(response):
    """Members of a MemberListResponse (or MemberAdd/Remove/Promote response), parsed."""
    return [parse_member(m) for m in (response or {}).get('members') or []]


def parse_status(raw):
    """Normalize a StatusResponse."""
    header = raw.get('header') or {}
    member_id = _int(header.get('member_id'))
    leader = _int(raw.get('leader'))
    return {
        'member_id': str(member_id),
        'member_id_hex': '%x' % member_id,
        'cluster_id': str(_int(header.get('cluster_id'))),
        'version': raw.get('version') or '',
        'db_size': _int(raw.get('dbSize')),
        'db_size_in_use': _int(raw.get('dbSizeInUse')),
        'leader_id': str(leader),
        'leader_id_hex': '%x' % leader,
        'is_leader': leader != 0 and leader == member_id,
        'is_learner': bool(raw.get('isLearner', False)),
        'raft_term': _int(raw.get('raftTerm')),
        'raft_index': _int(raw.get('raftIndex')),
        'raft_applied_index': _int(raw.get('raftAppliedIndex')),
        'revision': _int(header.get('revision')),
        'errors': list(raw.get('errors') or []),
    }


def normalize_host(host):
    """Canonical form of a URL's host: lower case; an IP address in its compressed form, so the many
    spellings of one IPv6 address (``fd00::1``, ``fd00:0:0::1``, ``FD00:0000::0001``) compare equal.
    An IPv6 zone (``%eth0``) is kept as given."""
    host = (host or '').lower()
    zone = ''
    if '%' in host:
        host, zone = host.split('%', 1)
        zone = '%' + zone
    try:
        return ipaddress.ip_address(host).compressed + zone
    except ValueError:
        return host + zone


def normalize_url(url):
    """Canonical form of a URL for exact comparison: lower-case scheme and host, IP addresses in compressed
    form, explicit port, no trailing slash.  ``https://Node1:2380/`` and ``https://node1:2380`` are the same URL,
    so are ``https://[fd00::1]:2380`` and ``https://[FD00:0:0::1]:2380``; ``https://10.0.0.1:2380`` and
    ``https://10.0.0.11:2380`` are not (no substring matching)."""
    parsed = urlparse(url.strip())
    scheme = (parsed.scheme or '').lower()
    host = normalize_host(parsed.hostname)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if port is None:
        port = {'https': 443, 'http': 80}.get(scheme)
    if ':' in host:  # IPv6 literal
        host = '[%s]' % host
    path = parsed.path.rstrip('/')
    return '%s://%s:%s%s' % (scheme, host, port, path)


def same_urls(a, b):
    return sorted(normalize_url(u) for u in a) == sorted(normalize_url(u) for u in b)


def find_member(members, name=None, peer_urls=None, member_id=None):
    """Find one member by exact name, exact (normalized) peer URL, or decimal id.

    Returns the member dict or None.  A member that was added but has not started yet has an
    empty name, so it can only be found by one of its peer URLs (or id).  Raises
    MemberMatchError when the name and the peer URLs point at different members, or when a
    lookup is ambiguous.
    """
    found = []
    if member_id is not None:
        by_id = [m for m in members if m['id'] == str(_int(member_id))]
        found.append(('id', by_id))
    if name:
        by_name = [m for m in members if m['name'] == name]
        if len(by_name) > 1:
            raise MemberMatchError('%d members are named %r: %s' % (
                len(by_name), name, ', '.join(m['id_hex'] for m in by_name)))
        found.append(('name', by_name))
    if peer_urls:
        wanted_urls = set(normalize_url(u) for u in peer_urls)
        by_url = [m for m in members if wanted_urls & set(normalize_url(u) for u in m['peer_urls'])]
        if len(by_url) > 1:
            raise MemberMatchError('peer URLs %s belong to several members: %s' % (
                ', '.join(peer_urls), ', '.join('%s (%s)' % (m['name'] or '<unstarted>', m['id_hex'])
                                                for m in by_url)))
        found.append(('peer_urls', by_url))
    hits = dict((m['id'], m) for _kind, ms in found for m in ms)
    if len(hits) > 1:
        raise MemberMatchError('%s match different members: %s' % (
            ' and '.join(kind for kind, ms in found if ms),
            ', '.join('%s=%s (%s)' % (kind, ms[0]['name'] or '<unstarted>', ms[0]['id_hex'])
                      for kind, ms in found if ms)))
    if not hits:
        return None
    member = list(hits.values())[0]
    # A started member found by its peer URLs under a different name is a contradiction.
    if name and member['name'] and member['name'] != name:
        raise MemberMatchError('peer URLs %s belong to member %r (%s), not %r' % (
            ', '.join(peer_urls or []), member['name'], member['id_hex'], name))
    return member


_HEX_ID = re.compile(r'(?:0x)?([0-9a-fA-F]{1,16})\Z')


def parse_member_id(text):
    """A member ID as etcdctl prints it (hex, up to 16 digits, an optional 0x) as an int; ValueError otherwise."""
    match = _HEX_ID.match(str(text).strip())
    if not match or int(match.group(1), 16) == 0:
        raise ValueError('%r is not a member ID (hex, as etcdctl member list prints it, e.g. 8e9e05c52164694d)'
                         % (text,))
    return int(match.group(1), 16)


def resolve_member_ref(members, ref):
    """Find the member ``ref`` names: a peer URL (it has ``://``), else an exact name or a hex ID.

    Returns ``(member or None, how)`` where ``how`` says what matched (``name``, ``peer URL``, ``ID``).  A
    member that was added but never started has no name: it is found by peer URL or ID.  Raises
    MemberMatchError when ``ref`` is the name of one member and the ID of another.
    """
    ref = (ref or '').strip()
    if not ref:
        raise MemberMatchError('no member given (a name, a peer URL or an ID in hex)')
    if '://' in ref:
        return find_member(members, peer_urls=[ref]), 'peer URL'
    by_name = find_member(members, name=ref)
    try:
        by_id = find_member(members, member_id=parse_member_id(ref))
    except ValueError:
        by_id = None
    if by_name and by_id and by_name['id'] != by_id['id']:
        raise MemberMatchError('%r is the name of %s and the ID of %s; give a peer URL instead' % (
            ref, describe(by_name), describe(by_id)))
    if by_name:
        return by_name, 'name'
    return by_id, ('ID' if by_id else None)


def voters(members):
    return [m for m in members if not m['is_learner']]


def quorum(voter_count):
    """Votes needed for a majority of ``voter_count`` voting members."""
    return voter_count // 2 + 1


def check_removal(members, target_id, healthy_ids):
    """Decide whether removing ``target_id`` is safe.

    ``healthy_ids`` are the ids (decimal strings) of members that answered a status request.
    Learners never count for quorum, so removing one is always safe.  Removing a voter is
    refused when the remaining voters would have fewer healthy members than their majority,
    or when the cluster has already lost quorum.  Returns ``(ok, reason)``.
    """
    target_id = str(target_id)
    healthy = set(str(i) for i in healthy_ids)
    target = [m for m in members if m['id'] == target_id]
    if not target:
        return True, 'member %s is not in the cluster' % target_id
    target = target[0]
    if target['is_learner']:
        return True, 'member is a learner; learners do not vote'
    all_voters = voters(members)
    healthy_now = [m for m in all_voters if m['id'] in healthy]
    if len(healthy_now) < quorum(len(all_voters)):
        return False, ('the cluster has no quorum now: %d of %d voters healthy, %d needed' % (
            len(healthy_now), len(all_voters), quorum(len(all_voters))))
    remaining = [m for m in all_voters if m['id'] != target_id]
    if not remaining and len(members) == 1:
        return False, '%s is the last member; removing it would destroy the cluster. Refused.' % describe(target)
    if not remaining:
        return False, ('%s is the last voting member; the learners left cannot elect a leader. Refused.'
                       % describe(target))
    healthy_after = [m for m in remaining if m['id'] in healthy]
    needed = quorum(len(remaining))
    if len(healthy_after) < needed:
        unhealthy = [describe(m) for m in remaining if m['id'] not in healthy]
        return False, ('removing %s would leave %d healthy of %d voters, fewer than the majority of %d '
                       '(unhealthy: %s)' % (describe(target), len(healthy_after), len(remaining), needed,
                                            ', '.join(unhealthy) or 'none'))
    return True, ('%d healthy of %d remaining voters, majority %d' % (
        len(healthy_after), len(remaining), needed))


def learner_caught_up(leader_index, learner_index, ready_percent=LEARNER_READY_PERCENT):
    """Is a learner at ``learner_index`` close enough to a leader at ``leader_index``?

    Informative: etcd itself decides on promote (and answers "learner not in sync").
    """
    leader_index = _int(leader_index)
    learner_index = _int(learner_index)
    if leader_index <= 0 or learner_index <= 0:
        return False
    return learner_index >= leader_index * ready_percent


def initial_cluster(members, new_id, new_name):
    """The --initial-cluster value a newly added member must start with, like ``etcdctl member add``
    prints: ``name=peer_url`` for every peer URL of every member, the new member under ``new_name``."""
    parts = []
    for m in members:
        name = new_name if m['id'] == str(new_id) else m['name']
        for url in m['peer_urls']:
            parts.append('%s=%s' % (name, url))
    return ','.join(parts)


def pick_transferee(members, exclude_id, healthy_ids, statuses=None):
    """Best voter to take over leadership: healthy, started, not ``exclude_id``, the most
    up to date (highest raft index) first, then the lowest id for stability."""
    statuses = statuses or {}
    healthy = set(str(i) for i in healthy_ids)
    candidates = [m for m in voters(members)
                  if m['id'] != str(exclude_id) and m['id'] in healthy and m['started']]
    if not candidates:
        return None
    candidates.sort(key=lambda m: (-(statuses.get(m['id']) or {}).get('raft_index', 0), int(m['id'])))
    return candidates[0]


def describe(member):
    return '%s (%s)' % (member['name'] or '<unstarted %s>' % ','.join(member['peer_urls']), member['id_hex'])


def summary(members):
    """Stable, readable member list for diffs."""
    out = []
    for m in sorted(members, key=lambda x: (x['name'], x['peer_urls'])):
        out.append('%s id=%s peer_urls=%s%s' % (
            m['name'] or '<unstarted>', m['id_hex'], ','.join(m['peer_urls']), ' learner' if m['is_learner'] else ''))
    return out
