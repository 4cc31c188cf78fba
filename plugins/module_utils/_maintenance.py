# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Maintenance decisions and requests (defragmentation, compaction, alarms); private.

The rules live here so that the modules (etcd_maintenance_info, etcd_defrag, etcd_compact, etcd_alarm), the
playbooks (defrag.yml, recover_nospace.yml, through the modules' results) and the unit tests share one definition.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError, to_int
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import cluster_statuses, list_members

ALARM_TYPES = ('NOSPACE', 'CORRUPT')

# Defaults of the fragmentation rule (also the defaults of the modules' and playbooks' options).
DEFAULT_MIN_FREE_RATIO = 0.5
DEFAULT_MIN_RECLAIMABLE_BYTES = 64 * 1024 * 1024

# Defragmentation rewrites the whole bbolt file while the member answers nothing; the time grows with the size.
# A floor for small databases, plus a conservative rate for slow disks (upstream reports 20-100 MB/s).
DEFRAG_TIMEOUT_FLOOR = 60.0
DEFRAG_BYTES_PER_SECOND = 10 * 1024 * 1024


# Releases where an online defragmentation can race a snapshot apply on the same member and corrupt its data
# (fixed in 3.5.23 and 3.6.5, as issue 14 states from etcd's CHANGELOG-3.5/3.6: https://github.com/etcd-io/etcd/tree/main/CHANGELOG).
# [first affected, first fixed) per minor; a member on such a release is not defragmented online.
DEFRAG_UNSAFE = (
    ((3, 5, 0), (3, 5, 23)),
    ((3, 6, 0), (3, 6, 5)),
)


def _version(text):
    try:
        return tuple(int(x) for x in str(text).split('-', 1)[0].split('.')[:3])
    except ValueError:
        return None


def defrag_unsafe(version):
    """Why an online defragmentation is unsafe on this server version ('' when it is safe)."""
    v = _version(version)
    if v is None or len(v) < 3:
        return 'unknown version %r' % (version,)
    for first, fixed in DEFRAG_UNSAFE:
        if first <= v < fixed:
            return ('etcd %s can corrupt data when a defragmentation races a snapshot apply (fixed in %s); upgrade '
                    'first' % (version, '.'.join(str(x) for x in fixed)))
    return ''


def fragmentation(db_size, db_size_in_use):
    """Free share of the database file (0.0 .. 1.0) and the bytes a defragmentation would give back."""
    db_size, in_use = to_int(db_size), to_int(db_size_in_use)
    if db_size <= 0:
        return 0.0, 0
    reclaimable = max(db_size - in_use, 0)
    return round(float(reclaimable) / db_size, 4), reclaimable


def needs_defrag(db_size, db_size_in_use, min_free_ratio=DEFAULT_MIN_FREE_RATIO,
                 min_reclaimable_bytes=DEFAULT_MIN_RECLAIMABLE_BYTES):
    """(bool, reason): defragment when the free share AND the reclaimable bytes both pass their thresholds.

    Both, because a small database may be mostly free without being worth a pause (a few MB), and a large one may
    have many free MB that are a small share of it (defragmenting would rewrite gigabytes to win little).
    """
    ratio, reclaimable = fragmentation(db_size, db_size_in_use)
    if ratio < min_free_ratio:
        return False, 'free share %.0f%% is below %.0f%%' % (ratio * 100, min_free_ratio * 100)
    if reclaimable < min_reclaimable_bytes:
        return False, '%d reclaimable bytes are below %d' % (reclaimable, min_reclaimable_bytes)
    return True, 'free share %.0f%% (%d reclaimable bytes)' % (ratio * 100, reclaimable)


def defrag_timeout(db_size, floor=DEFRAG_TIMEOUT_FLOOR, rate=DEFRAG_BYTES_PER_SECOND):
    """Seconds to wait for a defragmentation of a database of ``db_size`` bytes."""
    return max(float(floor), float(floor) / 2 + float(to_int(db_size)) / rate)


def compact_revision(client, endpoint=None, current=None):
    """The revision the key space was last compacted to (0 when never compacted).

    etcd's status does not report it; a range at a revision below the compacted one fails with "required
    revision has been compacted", so a binary search over [1, current] finds it in about log2(current) reads of
    one absent key (count only).
    """
    if current is None:
        current = to_int(client.call('/v3/kv/range', {'key': 'AA==', 'count_only': True},
                                     endpoint=endpoint).get('header', {}).get('revision'))
    lo, hi = 1, max(int(current), 1)
    if _readable(client, lo, endpoint):
        return 0  # never compacted (or compacted at revision 1, which is the same key space)
    # invariant: lo not readable, hi readable
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _readable(client, mid, endpoint):
            hi = mid
        else:
            lo = mid
    return hi


def _readable(client, revision, endpoint):
    try:
        client.call('/v3/kv/range', {'key': 'AA==', 'count_only': True, 'revision': str(revision)}, endpoint=endpoint)
        return True
    except EtcdError as e:
        if 'compacted' in str(e):
            return False
        raise


def alarm_list(raw_alarms, members_by_id):
    """[{member_id, member_id_hex, member, alarm}] from the gateway's alarm list (NONE entries dropped)."""
    out = []
    for a in raw_alarms or []:
        kind = a.get('alarm') or 'NONE'
        if kind in ('NONE', 0):
            continue
        if isinstance(kind, int):
            kind = {1: 'NOSPACE', 2: 'CORRUPT'}.get(kind, str(kind))
        mid = str(to_int(a.get('memberID')))
        member = members_by_id.get(mid) or {}
        out.append(dict(member_id=mid, member_id_hex='%x' % int(mid), member=member.get('name') or '', alarm=kind))
    return sorted(out, key=lambda a: (a['alarm'], a['member'], a['member_id']))


def disarm(client, alarm):
    """Deactivate one alarm ({member_id, alarm}); idempotent on etcd's side (deactivating twice is a no-op)."""
    return client.call('/v3/maintenance/alarm', {'action': 'DEACTIVATE', 'memberID': str(alarm['member_id']),
                                                 'alarm': alarm['alarm']})


def defragment(client, endpoint, timeout):
    """Defragment the member behind ``endpoint`` (blocks that member until done)."""
    return client.call('/v3/maintenance/defragment', {}, endpoint=endpoint, timeout=timeout)


def compact(client, revision, physical=False, timeout=None):
    """Compact the key space up to ``revision`` (cluster-wide, through raft)."""
    return client.call('/v3/kv/compaction', {'revision': str(int(revision)), 'physical': bool(physical)},
                       timeout=timeout)


def maintenance_state(client, min_free_ratio=DEFAULT_MIN_FREE_RATIO,
                      min_reclaimable_bytes=DEFAULT_MIN_RECLAIMABLE_BYTES, with_compact_revision=True):
    """etcd_maintenance_info's result (without changed): members with the fragmentation rule's verdict, leader,
    alarms, revision and compacted revision; also read by etcd_defrag and etcd_compact."""
    members, _cluster_id = list_members(client)
    statuses, errors, urls = cluster_statuses(client, members)
    out, leader, revision = [], '', 0
    for m in members:
        st = statuses.get(m['id'])
        entry = dict(name=m['name'], id=m['id'], id_hex=m['id_hex'], endpoint=urls.get(m['id'], ''),
                     healthy=bool(st and st['leader_id'] != '0'), error=errors.get(m['id'], ''),
                     is_leader=bool(st and st['is_leader']), is_learner=m['is_learner'],
                     version=st['version'] if st else '', db_size=0, db_size_in_use=0, free_ratio=0.0,
                     reclaimable_bytes=0, defrag_due=False, defrag_reason='no status', revision=0, raft_index=0,
                     raft_applied_index=0, raft_term=0)
        if st:
            ratio, reclaimable = fragmentation(st['db_size'], st['db_size_in_use'])
            due, reason = needs_defrag(st['db_size'], st['db_size_in_use'], min_free_ratio, min_reclaimable_bytes)
            entry.update(db_size=st['db_size'], db_size_in_use=st['db_size_in_use'], free_ratio=ratio,
                         reclaimable_bytes=reclaimable, defrag_due=due, defrag_reason=reason,
                         revision=st['revision'], raft_index=st['raft_index'],
                         raft_applied_index=st['raft_applied_index'], raft_term=st['raft_term'])
            revision = max(revision, st['revision'])
            if st['is_leader']:
                leader = m['name']
        out.append(entry)
    by_id = dict((m['id'], m) for m in members)
    alarms = alarm_list(client.alarms(), by_id)
    problems = []
    for entry in out:
        if not entry['healthy']:
            problems.append('%s is unhealthy (%s)' % (entry['name'] or entry['id_hex'], entry['error'] or 'sees no leader'))
        elif entry['is_learner']:
            problems.append('%s is a learner' % entry['name'])
        else:
            unsafe = defrag_unsafe(entry['version'])
            if unsafe:
                problems.append('%s: %s' % (entry['name'], unsafe))
    compacted = -1
    if with_compact_revision and revision:
        compacted = compact_revision(client, current=revision)
    return dict(members=out, leader=leader, alarms=alarms, revision=revision, compact_revision=compacted,
                defrag_problems=problems)
