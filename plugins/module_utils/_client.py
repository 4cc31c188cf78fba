# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private client for the etcd v3 JSON gateway (grpc-gateway).

This is not a public API of the collection; it may change without notice.

Only ``ansible.module_utils.urls`` is used, so no gRPC or etcd3 Python
package is needed on the managed host.  The gateway speaks JSON over HTTP(S)
POST requests on paths such as ``/v3/kv/range``; keys and values are base64
encoded, and 64 bit integers (ids, revisions, sizes) come back as JSON strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import socket
import ssl
import time

from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from ansible.module_utils.urls import Request
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.quorum.etcd.plugins.module_utils._member import normalize_url

DEFAULT_ENDPOINTS = ['https://127.0.0.1:2379']
DEFAULT_TIMEOUT = 5.0


def connection_argument_spec():
    """Argument spec shared by all modules of the collection (see doc fragment quorum.etcd.connection)."""
    return dict(
        endpoints=dict(type='list', elements='str', default=list(DEFAULT_ENDPOINTS)),
        ca_cert=dict(type='path'),
        client_cert=dict(type='path'),
        client_key=dict(type='path', no_log=False),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT),
    )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

class EtcdError(Exception):
    """Base class of all errors raised by the client.

    ``endpoint`` is the endpoint that answered (or failed), ``code`` the gRPC status code
    reported by the gateway (if any), ``status`` the HTTP status (if any).  ``maybe_applied`` says
    whether the request may have reached etcd and taken effect even so (a timeout, a connection
    dropped after the request was sent): such a request is never resent when it is not idempotent.
    """

    kind = 'error'

    def __init__(self, message, endpoint=None, code=None, status=None, errors=None, maybe_applied=None):
        super(EtcdError, self).__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.status = status
        if maybe_applied is None:
            maybe_applied = isinstance(self, EtcdTimeoutError)
        self.maybe_applied = bool(maybe_applied)
        # For errors aggregated over several endpoints: list of per endpoint errors.
        self.errors = errors or []

    def __str__(self):
        return self.message


class EtcdConnectionError(EtcdError):
    """The endpoint could not be reached (connection refused, DNS, reset, ...)."""
    kind = 'unreachable'


class EtcdTLSError(EtcdConnectionError):
    """TLS handshake or certificate problem (wrong CA, missing/rejected client certificate, bad key)."""
    kind = 'tls'


class EtcdTimeoutError(EtcdError):
    """The request timed out (client side or etcd 'request timed out')."""
    kind = 'timeout'


class EtcdNoLeaderError(EtcdError):
    """The cluster (as seen by this endpoint) has no leader: quorum is probably lost."""
    kind = 'no_leader'


class EtcdNotLeaderError(EtcdError):
    """The request must be sent to the leader (for example leadership transfer)."""
    kind = 'not_leader'


class EtcdAuthError(EtcdError):
    """Authentication or authorization failed (permission denied, invalid token)."""
    kind = 'auth'


class EtcdNotFoundError(EtcdError):
    """The member (or other object) does not exist; for members: not a member / member not found."""
    kind = 'not_found'


class EtcdLearnerNotReadyError(EtcdError):
    """A learner cannot be promoted yet because it is not in sync with the leader."""
    kind = 'learner_not_ready'


class EtcdUnhealthyClusterError(EtcdError):
    """etcd refused a membership change because it would make the cluster unhealthy."""
    kind = 'unhealthy_cluster'


class EtcdMemberExistsError(EtcdError):
    """A member with these peer URLs already exists."""
    kind = 'member_exists'


class EtcdRequestError(EtcdError):
    """Any other error reported by etcd (invalid argument, too many learners, ...)."""
    kind = 'request'


class EtcdOutcomeUnknownError(EtcdTimeoutError):
    """A request that is not idempotent timed out (or lost its connection) after it may have been sent, and
    re-reading the cluster did not show it applied.  It was not resent: etcd may still apply it."""
    kind = 'outcome_unknown'


# gRPC codes (google.golang.org/grpc/codes)
GRPC_CODES = {
    0: 'OK', 1: 'CANCELED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND',
    6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION',
    10: 'ABORTED', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE',
    15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
}

# Message fragments of etcd's rpctypes errors, most specific first.
_MESSAGE_CLASSES = [
    ('can only promote a learner member which is in sync with leader', EtcdLearnerNotReadyError),
    ('learner member not ready', EtcdLearnerNotReadyError),
    ('member not found', EtcdNotFoundError),
    ('peer urls already exists', EtcdMemberExistsError),
    ('member id already exist', EtcdMemberExistsError),
    ('unhealthy cluster', EtcdUnhealthyClusterError),
    ('not enough started members', EtcdUnhealthyClusterError),
    ('no leader', EtcdNoLeaderError),
    ('not leader', EtcdNotLeaderError),
    ('leader changed', EtcdNotLeaderError),
    ('permission denied', EtcdAuthError),
    ('invalid auth token', EtcdAuthError),
    ('user name is empty', EtcdAuthError),
    ('authentication failed', EtcdAuthError),
    ('auth: ', EtcdAuthError),
    ('request timed out', EtcdTimeoutError),
    ('timed out', EtcdTimeoutError),
]

_CODE_CLASSES = {
    4: EtcdTimeoutError,
    5: EtcdNotFoundError,
    6: EtcdMemberExistsError,
    7: EtcdAuthError,
    16: EtcdAuthError,
}

# Errors after which another endpoint may well succeed.
FAILOVER_ERRORS = (EtcdConnectionError, EtcdTimeoutError, EtcdNoLeaderError)


def error_from_gateway(endpoint, path, status, body):
    """Build a typed error from a gateway error response (HTTP status + JSON body)."""
    code = None
    message = None
    try:
        data = json.loads(to_text(body or b'{}', errors='surrogate_or_replace'))
        if isinstance(data, dict):
            code = data.get('code')
            message = data.get('message') or data.get('error')
            if isinstance(message, dict):  # streaming style {"error": {...}}
                code = message.get('grpc_code', code)
                message = message.get('message')
    except ValueError:
        message = to_text(body or b'', errors='surrogate_or_replace').strip()[:300] or None
    if not message:
        message = 'HTTP %s' % status
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    cls = None
    lower = message.lower()
    for fragment, candidate in _MESSAGE_CLASSES:
        if fragment in lower:
            cls = candidate
            break
    if cls is None:
        cls = _CODE_CLASSES.get(code)
    if cls is None and status in (401, 403):
        cls = EtcdAuthError
    if cls is None and code == 14:
        cls = EtcdConnectionError
    if cls is None:
        cls = EtcdRequestError
    what = {
        EtcdAuthError: 'authentication/authorization failed: ',
        EtcdNoLeaderError: 'cluster has no leader (quorum lost?): ',
        EtcdNotFoundError: 'not found (not a member?): ',
        EtcdLearnerNotReadyError: 'learner not in sync with leader / not ready: ',
    }.get(cls, '')
    code_text = 'grpc code %s %s, ' % (code, GRPC_CODES[code]) if code in GRPC_CODES else ''
    text = '%s%s: %s%s (%sHTTP %s)' % (endpoint, path, what, message, code_text, status)
    return cls(text, endpoint=endpoint, code=code, status=status)


def _is_tls_problem(reason):
    if isinstance(reason, (ssl.SSLError, getattr(ssl, 'CertificateError', ssl.SSLError))):
        return True
    text = to_native(reason).lower()
    return any(s in text for s in ('certificate', 'ssl', 'tls', 'handshake', 'pem lib', 'wrong version number'))


def _is_timeout(reason):
    if isinstance(reason, socket.timeout):
        return True
    return 'timed out' in to_native(reason).lower()


# Connection failures that happen before a request is sent (nothing reached etcd).
_NOT_SENT = ('refused', 'name or service not known', 'nodename nor servname', 'temporary failure in name resolution',
             'no route to host', 'network is unreachable', 'no address associated')


def _maybe_sent(reason):
    """Could the request have reached the server before this connection error?  False only for failures
    that happen before anything is sent (refused, DNS, no route); a reset or a closed connection may come
    after etcd received (and applied) the request."""
    if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
        return False
    text = to_native(reason).lower()
    return not any(s in text for s in _NOT_SENT)


# --------------------------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------------------------

def b64(value):
    """base64 of text or bytes, as the gateway wants for bytes fields."""
    return to_text(base64.b64encode(to_bytes(value, errors='surrogate_or_strict')))


def unb64(value):
    """Decode a base64 bytes field of a gateway answer to bytes (missing field = empty)."""
    if not value:
        return b''
    return base64.b64decode(value)


def to_int(value, default=0):
    """uint64/int64 fields come back as JSON strings; omitted fields mean zero."""
    if value is None or value == '':
        return default
    return int(value)


def prefix_range_end(key):
    """range_end for all keys with the given prefix (same algorithm as clientv3.GetPrefixRangeEnd)."""
    key = bytearray(to_bytes(key, errors='surrogate_or_strict'))
    for i in range(len(key) - 1, -1, -1):
        if key[i] < 0xff:
            key[i] += 1
            return bytes(key[:i + 1])
    # The prefix is all 0xff (or empty): range to the end of the keyspace.
    return b'\x00'


def hex_id(member_id):
    return '%x' % to_int(member_id)


def validate_endpoint(url):
    parsed = urlparse(url)
    if parsed.scheme not in ('https', 'http') or not parsed.hostname:
        raise ValueError('endpoint %r is not a http(s) URL like https://127.0.0.1:2379' % (url,))
    return '%s://%s' % (parsed.scheme, parsed.netloc)


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------

class EtcdClient(object):
    """Minimal etcd v3 gateway client with endpoint failover.

    Calls without ``endpoint=`` try the configured endpoints in order (starting with the last
    one that worked) and fail over on connection problems, timeouts and "no leader".  Other
    errors (permission denied, member not found, ...) are raised at once.  Calls with
    ``endpoint=`` talk to exactly that endpoint (needed for per-member status and for the
    leadership transfer, which only the leader accepts).
    """

    def __init__(self, endpoints=None, ca_cert=None, client_cert=None, client_key=None,
                 timeout=DEFAULT_TIMEOUT):
        endpoints = endpoints or list(DEFAULT_ENDPOINTS)
        self.endpoints = [validate_endpoint(e) for e in endpoints]
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = float(timeout)
        self._preferred = 0

    @classmethod
    def from_params(cls, params):
        return cls(endpoints=params.get('endpoints'), ca_cert=params.get('ca_cert'),
                   client_cert=params.get('client_cert'), client_key=params.get('client_key'),
                   timeout=params.get('timeout') or DEFAULT_TIMEOUT)

    def for_endpoints(self, endpoints):
        """A client with the same TLS settings for other endpoints (for example a member's client URLs)."""
        return EtcdClient(endpoints, self.ca_cert, self.client_cert, self.client_key, self.timeout)

    # -- transport ------------------------------------------------------------------------

    def _request(self, endpoint, method, path, body=None, timeout=None):
        url = endpoint.rstrip('/') + path
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = to_bytes(json.dumps(body))
            headers['Content-Type'] = 'application/json'
        request = Request(
            headers=headers, use_proxy=False, timeout=timeout or self.timeout, validate_certs=True,
            client_cert=self.client_cert, client_key=self.client_key, ca_path=self.ca_cert,
            follow_redirects='none', force_basic_auth=False, use_netrc=False,
        )
        try:
            response = request.open(method, url, data=data)
            raw = response.read()
            status = response.getcode()
        except HTTPError as e:
            try:
                raw = e.read()
            except Exception:  # pylint: disable=broad-except
                raw = b''
            if path == '/health' and raw:
                # /health answers 503 with a JSON body when the member is unhealthy.
                try:
                    return json.loads(to_text(raw, errors='surrogate_or_replace'))
                except ValueError:
                    pass
            raise error_from_gateway(endpoint, path, e.code, raw)
        except URLError as e:
            reason = getattr(e, 'reason', e)
            if _is_timeout(reason):
                raise EtcdTimeoutError('%s%s: timeout after %.1fs (%s)' % (
                    endpoint, path, timeout or self.timeout, to_native(reason)), endpoint=endpoint)
            if _is_tls_problem(reason):
                raise EtcdTLSError(
                    '%s%s: TLS/certificate problem: %s (check ca_cert, client_cert and client_key, and that '
                    'the server certificate is valid for this address)' % (endpoint, path, to_native(reason)),
                    endpoint=endpoint)
            raise EtcdConnectionError('%s%s: unreachable: %s' % (endpoint, path, to_native(reason)),
                                      endpoint=endpoint, maybe_applied=_maybe_sent(reason))
        except socket.timeout as e:
            raise EtcdTimeoutError('%s%s: timeout after %.1fs (%s)' % (
                endpoint, path, timeout or self.timeout, to_native(e)), endpoint=endpoint)
        except ssl.SSLError as e:
            raise EtcdTLSError('%s%s: TLS/certificate problem: %s (check ca_cert, client_cert and client_key)' % (
                endpoint, path, to_native(e)), endpoint=endpoint)
        except (IOError, OSError) as e:
            if _is_timeout(e):
                raise EtcdTimeoutError('%s%s: timeout after %.1fs (%s)' % (
                    endpoint, path, timeout or self.timeout, to_native(e)), endpoint=endpoint)
            if _is_tls_problem(e):
                raise EtcdTLSError('%s%s: TLS/certificate problem: %s' % (endpoint, path, to_native(e)),
                                   endpoint=endpoint)
            hint = ''
            if isinstance(e, ConnectionResetError) or 'reset' in to_native(e).lower() or \
                    'closed connection' in to_native(e).lower():
                hint = ' (connection dropped during the request: the server may have rejected the TLS client ' \
                       'certificate, or it is not a TLS endpoint)'
            raise EtcdConnectionError('%s%s: unreachable: %s%s' % (endpoint, path, to_native(e), hint),
                                      endpoint=endpoint, maybe_applied=_maybe_sent(e))
        except ValueError as e:
            # e.g. unreadable certificate/key files, which Python reports while building the context
            raise EtcdTLSError('%s%s: TLS/certificate problem: %s' % (endpoint, path, to_native(e)),
                               endpoint=endpoint)
        if not raw:
            return {}
        try:
            result = json.loads(to_text(raw, errors='surrogate_or_replace'))
        except ValueError:
            raise EtcdRequestError('%s%s: answer is not JSON (HTTP %s): %s' % (
                endpoint, path, status, to_text(raw, errors='surrogate_or_replace')[:200]), endpoint=endpoint)
        if isinstance(result, dict) and 'error' in result and path != '/health':
            # streamed/old style error object in a 200 answer
            raise error_from_gateway(endpoint, path, status, raw)
        return result

    def _ordered_endpoints(self):
        n = len(self.endpoints)
        return [(i % n, self.endpoints[i % n]) for i in range(self._preferred, self._preferred + n)]

    def call(self, path, body=None, endpoint=None, method='POST', timeout=None, idempotent=True):
        """POST ``body`` to ``path``; returns the decoded JSON answer.  See the class docstring for failover.

        With ``idempotent=False`` the request goes to the next endpoint only when the previous one certainly did
        not receive it (connection refused, TLS handshake, no leader); after a timeout or a dropped connection
        the error is raised at once (its ``maybe_applied`` is true), never resent: see ``_unsure``.
        """
        if body is None and method == 'POST':
            body = {}
        if endpoint is not None:
            return self._request(validate_endpoint(endpoint), method, path, body, timeout)
        errors = []
        for index, ep in self._ordered_endpoints():
            try:
                result = self._request(ep, method, path, body, timeout)
            except FAILOVER_ERRORS as e:
                if not idempotent and e.maybe_applied:
                    raise
                errors.append(e)
                continue
            self._preferred = index
            return result
        raise aggregate_errors(errors, path)

    def _unsure(self, path, body, applied, endpoint=None):
        """Send a request that must not be sent twice (member add/remove/promote, put, delete).

        When the outcome is unknown (timeout, connection dropped after sending), the request is not resent to
        another endpoint: ``applied()`` re-reads the cluster (linearizable reads, with failover) until it shows
        the request applied, for at most ``self.timeout`` seconds (5 at most).  It returns the answer to give
        the caller in place of etcd's (with ``outcome_verified_by_read`` set), or None while the change is not
        visible.  When it never shows, EtcdOutcomeUnknownError is raised: etcd may still apply the request, so
        the caller reads the state again before deciding anything (the modules do on their next run).
        """
        try:
            return self.call(path, body, endpoint=endpoint, idempotent=False)
        except EtcdError as e:
            if not e.maybe_applied:
                raise
            first = e
        deadline = time.time() + min(self.timeout, 5.0)
        last_read_error = None
        while True:
            try:
                answer = applied()
                last_read_error = None
            except EtcdError as e:
                answer = None
                last_read_error = e
            if answer is not None:
                answer['outcome_verified_by_read'] = str(first)
                return answer
            if time.time() >= deadline:
                break
            time.sleep(0.2)
        seen = ('cannot re-read the cluster: %s' % last_read_error) if last_read_error else \
            're-reading the cluster does not show it applied'
        raise EtcdOutcomeUnknownError(
            '%s: outcome unknown (%s); not resent to another endpoint, %s. etcd may still apply it: read the '
            'state again before retrying' % (path, first, seen), endpoint=first.endpoint, errors=[first])

    # -- cluster --------------------------------------------------------------------------

    def member_list(self, linearizable=True, endpoint=None):
        body = {'linearizable': True} if linearizable else {}
        return self.call('/v3/cluster/member/list', body, endpoint=endpoint)

    def _members_where(self, test):
        """A linearizable member list (as etcd answers it) when ``test(raw members)`` holds, else None."""
        response = self.member_list(linearizable=True)
        return response if test(response.get('members') or []) else None

    def member_add(self, peer_urls, is_learner=True):
        """Add a member.  Not resent after a timeout: the member list tells whether it was added."""
        wanted = set(normalize_url(u) for u in peer_urls)

        def applied():
            def added(members):
                return [m for m in members if wanted & set(normalize_url(u) for u in m.get('peerURLs') or [])]
            response = self._members_where(added)
            if response is not None:
                response['member'] = added(response['members'])[0]
            return response
        return self._unsure('/v3/cluster/member/add', {'peerURLs': list(peer_urls), 'isLearner': bool(is_learner)},
                            applied)

    def member_remove(self, member_id, endpoint=None):
        """Remove a member.  Not resent after a timeout: the member list tells whether it is gone."""
        member_id = to_int(member_id)
        return self._unsure('/v3/cluster/member/remove', {'ID': str(member_id)}, lambda: self._members_where(
            lambda members: not [m for m in members if to_int(m.get('ID')) == member_id]), endpoint=endpoint)

    def member_update(self, member_id, peer_urls):
        return self.call('/v3/cluster/member/update', {'ID': str(to_int(member_id)), 'peerURLs': list(peer_urls)})

    def member_promote(self, member_id):
        """Promote a learner.  Not resent after a timeout: the member list tells whether it votes now."""
        member_id = to_int(member_id)
        return self._unsure('/v3/cluster/member/promote', {'ID': str(member_id)}, lambda: self._members_where(
            lambda members: [m for m in members if to_int(m.get('ID')) == member_id and not m.get('isLearner')]))

    # -- maintenance ----------------------------------------------------------------------

    def status(self, endpoint=None, timeout=None):
        return self.call('/v3/maintenance/status', {}, endpoint=endpoint, timeout=timeout)

    def alarms(self, endpoint=None):
        result = self.call('/v3/maintenance/alarm', {'action': 'GET', 'memberID': '0', 'alarm': 'NONE'},
                           endpoint=endpoint)
        return result.get('alarms') or []

    def move_leader(self, target_id, endpoint):
        """Transfer leadership; must be sent to the current leader's endpoint."""
        return self.call('/v3/maintenance/transfer-leadership', {'targetID': str(to_int(target_id))},
                         endpoint=endpoint)

    def hash(self, endpoint=None):
        return self.call('/v3/maintenance/hash', {}, endpoint=endpoint)

    def hash_kv(self, revision=0, endpoint=None):
        return self.call('/v3/maintenance/hashkv', {'revision': str(to_int(revision))}, endpoint=endpoint)

    def health(self, endpoint=None, timeout=None):
        """GET /health; returns a dict with health (bool) and reason."""
        result = self.call('/health', None, endpoint=endpoint, method='GET', timeout=timeout)
        health = result.get('health')
        return {'health': health in (True, 'true'), 'reason': result.get('reason') or ''}

    # -- kv -------------------------------------------------------------------------------

    def range(self, key, prefix=False, range_end=None, keys_only=False, count_only=False, limit=0,
              serializable=False, endpoint=None):
        body = {'key': b64(key)}
        if prefix:
            body['range_end'] = b64(prefix_range_end(key))
        elif range_end is not None:
            body['range_end'] = b64(range_end)
        if keys_only:
            body['keys_only'] = True
        if count_only:
            body['count_only'] = True
        if limit:
            body['limit'] = str(int(limit))
        if serializable:
            body['serializable'] = True
        result = self.call('/v3/kv/range', body, endpoint=endpoint)
        kvs = [decode_kv(kv) for kv in result.get('kvs') or []]
        return {'kvs': kvs, 'count': to_int(result.get('count')), 'more': bool(result.get('more')),
                'revision': to_int((result.get('header') or {}).get('revision'))}

    def put(self, key, value, prev_kv=False, lease=0):
        """Write a key.  Not resent after a timeout (a late second write could overwrite another writer's newer
        value): a linearizable read tells whether the value is there.  Then ``prev_kv`` is None (unknown) and
        ``outcome_verified_by_read`` is set."""
        body = {'key': b64(key), 'value': b64(value)}
        if prev_kv:
            body['prev_kv'] = True
        if lease:
            body['lease'] = str(to_int(lease))
        wanted = to_bytes(value, errors='surrogate_or_strict')

        def applied():
            found = self.range(key)
            if found['kvs'] and found['kvs'][0]['value'] == wanted:
                return {'header': {'revision': str(found['revision'])}}
            return None
        result = self._unsure('/v3/kv/put', body, applied)
        out = {'prev_kv': decode_kv(result['prev_kv']) if result.get('prev_kv') else None,
               'revision': to_int((result.get('header') or {}).get('revision'))}
        if result.get('outcome_verified_by_read'):
            out['outcome_verified_by_read'] = result['outcome_verified_by_read']
        return out

    def delete_range(self, key, prefix=False, prev_kv=False):
        """Delete a key (or prefix).  Not resent after a timeout (a second delete would report 0 keys deleted, or
        delete keys written meanwhile): a linearizable read tells whether the keys are gone.  Then ``deleted`` is
        None (etcd's count is unknown) and ``outcome_verified_by_read`` is set."""
        body = {'key': b64(key)}
        if prefix:
            body['range_end'] = b64(prefix_range_end(key))
        if prev_kv:
            body['prev_kv'] = True

        def applied():
            found = self.range(key, prefix=prefix, count_only=True)
            if found['count'] == 0:
                return {'header': {'revision': str(found['revision'])}, 'deleted': None}
            return None
        result = self._unsure('/v3/kv/deleterange', body, applied)
        out = {'deleted': to_int(result.get('deleted')) if result.get('deleted', 0) is not None else None,
               'prev_kvs': [decode_kv(kv) for kv in result.get('prev_kvs') or []],
               'revision': to_int((result.get('header') or {}).get('revision'))}
        if result.get('outcome_verified_by_read'):
            out['outcome_verified_by_read'] = result['outcome_verified_by_read']
        return out


def decode_kv(kv):
    """Decode a mvccpb.KeyValue from the gateway (bytes fields base64, int64 as strings)."""
    return {
        'key': unb64(kv.get('key')),
        'value': unb64(kv.get('value')),
        'create_revision': to_int(kv.get('create_revision')),
        'mod_revision': to_int(kv.get('mod_revision')),
        'version': to_int(kv.get('version')),
        'lease': to_int(kv.get('lease')),
    }


def aggregate_errors(errors, path):
    """One error for a request that failed on every endpoint; keeps the type when all agree."""
    if not errors:
        return EtcdConnectionError('%s: no endpoints configured' % path)
    if len(errors) == 1:
        return errors[0]
    classes = set(type(e) for e in errors)
    if len(classes) == 1:
        cls = classes.pop()
    elif all(isinstance(e, EtcdConnectionError) for e in errors):
        cls = EtcdConnectionError
    else:
        # Prefer the most telling error: a TLS problem or a leaderless cluster beats "refused".
        for cls in (EtcdTLSError, EtcdNoLeaderError, EtcdTimeoutError, EtcdConnectionError):
            if any(isinstance(e, cls) for e in errors):
                break
    message = 'all %d endpoints failed: %s' % (len(errors), '; '.join(e.message for e in errors))
    return cls(message, errors=errors)
