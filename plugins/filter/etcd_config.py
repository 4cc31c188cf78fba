# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version-aware rendering of etcd's YAML configuration file.

Settings are given once, under their etcd 3.6 names, and feature gates under their 3.6 gate names. For 3.5 the
settings that were still experimental get their ``experimental-`` names and the gates become the matching
``experimental-*`` booleans; for 3.6 and 3.7 the gates are rendered as the single ``feature-gates`` string etcd
parses. Durations are written as integer nanoseconds: etcd reads its config file through JSON into Go
``time.Duration`` fields, which refuse strings such as ``5s``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_config
short_description: Render etcd settings for a given etcd version
version_added: 0.1.0
description:
  - Maps settings given under their etcd 3.6 names to the keys of the etcd version being deployed (3.5, 3.6, 3.7).
  - Converts durations (C(5s), C(2h), C(100ms)) to integer nanoseconds, and every other value to the type etcd expects
    for its key (integers, booleans, lists, strings), whatever the input type (C(-e key=150) gives a string).
  - Fails on a version outside the supported series, a feature gate or a key the version does not know (etcd ignores
    unknown keys silently), a value that is not of the key's type or is negative, C(election-timeout) under 5 times
    C(heartbeat-interval), an C(auto-compaction-retention) etcd cannot parse, and unknown cipher suite names.
options:
  _input:
    description: Settings, keyed by their etcd 3.6 configuration file names.
    type: dict
    required: true
  version:
    description: The etcd version, for example C(3.5.30).
    type: str
    required: true
  feature_gates:
    description: Feature gates by their 3.6 names, for example C(InitialCorruptCheck) set to V(true).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Render
  ansible.builtin.copy:
    content: "{{ settings | quorum.etcd.etcd_config('3.5.30', {'InitialCorruptCheck': true}) | to_nice_yaml }}"
    dest: /etc/etcd/etcd.conf.yml
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The configuration, ready for C(to_nice_yaml).
  type: dict
"""

import re

from ansible.errors import AnsibleFilterError

# The series quorum.etcd deploys (the only list: the etcd role reads it through the etcd_supported_series filter).
SUPPORTED_SERIES = ((3, 5), (3, 6), (3, 7))

# 3.6 name -> (3.5 name, first 3.5 patch that knows it)
RENAMED_IN_36 = {
    "corrupt-check-time": ("experimental-corrupt-check-time", 0),
    "compact-hash-check-time": ("experimental-compact-hash-check-time", 5),
    "watch-progress-notify-interval": ("experimental-watch-progress-notify-interval", 0),
    "warning-apply-duration": ("experimental-warning-apply-duration", 0),
    "snapshot-catchup-entries": ("experimental-snapshot-catch-up-entries", 14),
    "bootstrap-defrag-threshold-megabytes": ("experimental-bootstrap-defrag-threshold-megabytes", 0),
    "memory-mlock": ("experimental-memory-mlock", 0),
    "compaction-batch-limit": ("experimental-compaction-batch-limit", 0),
    "compaction-sleep-interval": ("experimental-compaction-sleep-interval", 16),
    "downgrade-check-time": ("experimental-downgrade-check-time", 0),
}

# 3.6 gate -> (3.5 boolean key, first 3.5 patch that knows it)
GATES_35 = {
    "InitialCorruptCheck": ("experimental-initial-corrupt-check", 0),
    "CompactHashCheck": ("experimental-compact-hash-check-enabled", 5),
    "LeaseCheckpoint": ("experimental-enable-lease-checkpoint", 0),
    "LeaseCheckpointPersist": ("experimental-enable-lease-checkpoint-persist", 2),
    "StopGRPCServiceOnDefrag": ("experimental-stop-grpc-service-on-defrag", 14),
    "TxnModeWriteWithSharedBuffer": ("experimental-txn-mode-write-with-shared-buffer", 0),
}
GATES_36 = set(
    [
        "StopGRPCServiceOnDefrag",
        "InitialCorruptCheck",
        "CompactHashCheck",
        "TxnModeWriteWithSharedBuffer",
        "LeaseCheckpoint",
        "LeaseCheckpointPersist",
        "SetMemberLocalAddr",
    ]
)
GATES_37 = (GATES_36 - set(["LeaseCheckpointPersist"])) | set(["FastLeaseKeepAlive", "PriorityRequest"])

# Keys that only 3.5 reads; a 3.6+ server ignores them silently, which would hide a setting the user asked for.
REMOVED_IN_36 = set(["enable-v2", "experimental-enable-v2v3", "proxy", "discovery-fallback"])
REMOVED_IN_37 = set(["discovery", "discovery-proxy"])

# Configuration file keys each series reads (top level; the transport-security blocks have their own). Read from the
# json tags of server/embed/config.go (v3.5.33, v3.6.9, release-3.7). etcd ignores an unknown key silently, so a
# misspelled setting would be lost without a word: the filter refuses keys the target version does not know.
_KEYS_COMMON = frozenset([
    "advertise-client-urls", "auth-token", "auth-token-ttl", "auto-compaction-mode", "auto-compaction-retention",
    "backend-batch-interval", "backend-batch-limit", "backend-bbolt-freelist-type", "bcrypt-cost", "cipher-suites",
    "client-transport-security", "cors", "data-dir", "discovery-srv", "discovery-srv-name", "election-timeout",
    "enable-grpc-gateway", "enable-log-rotation", "enable-pprof", "force-new-cluster", "grpc-keepalive-interval",
    "grpc-keepalive-min-time", "grpc-keepalive-timeout", "heartbeat-interval", "host-whitelist",
    "initial-advertise-peer-urls", "initial-cluster", "initial-cluster-state", "initial-cluster-token",
    "initial-election-tick-advance", "listen-client-http-urls", "listen-client-urls", "listen-metrics-urls",
    "listen-peer-urls", "log-level", "log-outputs", "log-rotation-config-json", "logger", "max-concurrent-streams",
    "max-request-bytes", "max-snapshots", "max-txn-ops", "max-wals", "metrics", "name", "peer-transport-security",
    "pre-vote", "quota-backend-bytes", "self-signed-cert-validity", "snapshot-count", "socket-options",
    "strict-reconfig-check", "tls-max-version", "tls-min-version", "unsafe-no-fsync", "v2-deprecation", "wal-dir",
])
KEYS_35 = _KEYS_COMMON | frozenset([
    "discovery", "discovery-proxy", "enable-v2", "experimental-bootstrap-defrag-threshold-megabytes",
    "experimental-compact-hash-check-enabled", "experimental-compact-hash-check-time",
    "experimental-compaction-batch-limit", "experimental-compaction-sleep-interval", "experimental-corrupt-check-time",
    "experimental-distributed-tracing-address", "experimental-distributed-tracing-instance-id",
    "experimental-distributed-tracing-sampling-rate", "experimental-distributed-tracing-service-name",
    "experimental-downgrade-check-time", "experimental-enable-distributed-tracing",
    "experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint-persist", "experimental-enable-v2v3",
    "experimental-initial-corrupt-check", "experimental-memory-mlock", "experimental-snapshot-catch-up-entries",
    "experimental-stop-grpc-service-on-defrag", "experimental-txn-mode-write-with-shared-buffer",
    "experimental-warning-apply-duration", "experimental-watch-progress-notify-interval",
])
# 3.5 keys added after the floor (3.5.6): first patch that reads them.
SINCE_35 = {
    "listen-client-http-urls": 8, "tls-max-version": 8, "tls-min-version": 8, "socket-options": 10,
    "experimental-distributed-tracing-sampling-rate": 11, "experimental-snapshot-catch-up-entries": 14,
    "experimental-stop-grpc-service-on-defrag": 14, "experimental-compaction-sleep-interval": 16,
}
_KEYS_36_37 = _KEYS_COMMON | frozenset([
    "bootstrap-defrag-threshold-megabytes", "compact-hash-check-time", "compaction-batch-limit",
    "compaction-sleep-interval", "corrupt-check-time", "discovery-config", "distributed-tracing-address",
    "distributed-tracing-instance-id", "distributed-tracing-sampling-rate", "distributed-tracing-service-name",
    "downgrade-check-time", "enable-distributed-tracing", "feature-gates", "log-format", "max-learners",
    "memory-mlock", "snapshot-catchup-entries", "warning-apply-duration", "warning-unary-request-duration",
    "watch-progress-notify-interval",
])
KEYS_36 = _KEYS_36_37 | frozenset(["discovery", "discovery-proxy"])
KEYS_37 = _KEYS_36_37
# Keys of client-transport-security and peer-transport-security.
SECURITY_KEYS = frozenset([
    "cert-file", "key-file", "client-cert-file", "client-key-file", "client-cert-auth", "trusted-ca-file", "auto-tls",
    "allowed-cn", "allowed-hostname",
])
SECURITY_SINCE_35 = {"allowed-cn": 14, "allowed-hostname": 14}
# The certificate revocation list (flags --client-crl-file, --peer-crl-file). etcd's configuration file has no key
# for it: its security blocks are copied field by field into the listeners' TLS settings, and the CRL file is not one
# of them (server/embed/config.go, copySecurityDetails, in 3.5 and 3.6), and with --config-file etcd ignores flags.
# The file is read with Go's JSON rules into embed.Config, whose untagged TLS settings fields ClientTLSInfo and
# PeerTLSInfo are matched by name, so "ClientTLSInfo: {CRLFile: PATH}" reaches the listener (checked on 3.5.16 and
# 3.5.30: a revoked client is refused, the file is read at every handshake). Settings say crl-file inside the block.
CRL_BLOCKS = {"client-transport-security": "ClientTLSInfo", "peer-transport-security": "PeerTLSInfo"}
SECURITY_36 = SECURITY_KEYS | frozenset(["skip-client-san-verification"])

# Value types etcd's Go structs expect (the file is read through JSON: "150" is not a number to etcd, 150 is not a
# string). Keys under both their 3.5 and 3.6 names.
INT_KEYS = frozenset([
    "auth-token-ttl", "backend-batch-limit", "bcrypt-cost", "bootstrap-defrag-threshold-megabytes",
    "compaction-batch-limit", "distributed-tracing-sampling-rate", "election-timeout",
    "experimental-bootstrap-defrag-threshold-megabytes", "experimental-compaction-batch-limit",
    "experimental-distributed-tracing-sampling-rate", "experimental-snapshot-catch-up-entries", "heartbeat-interval",
    "max-concurrent-streams", "max-learners", "max-request-bytes", "max-snapshots", "max-txn-ops", "max-wals",
    "quota-backend-bytes", "self-signed-cert-validity", "snapshot-catchup-entries", "snapshot-count",
])
BOOL_KEYS = frozenset([
    "auto-tls", "client-cert-auth", "enable-distributed-tracing", "enable-grpc-gateway", "enable-log-rotation",
    "enable-pprof", "enable-v2", "experimental-compact-hash-check-enabled", "experimental-enable-distributed-tracing",
    "experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint-persist",
    "experimental-initial-corrupt-check", "experimental-memory-mlock", "experimental-stop-grpc-service-on-defrag",
    "experimental-txn-mode-write-with-shared-buffer", "force-new-cluster", "initial-election-tick-advance",
    "memory-mlock", "pre-vote", "skip-client-san-verification", "strict-reconfig-check", "unsafe-no-fsync",
])
LIST_KEYS = frozenset(["allowed-cn", "allowed-hostname", "cipher-suites", "log-outputs"])
DICT_KEYS = frozenset(["client-transport-security", "peer-transport-security", "socket-options", "discovery-config"])
DURATION_KEYS = frozenset([
    "backend-batch-interval", "grpc-keepalive-min-time", "grpc-keepalive-interval", "grpc-keepalive-timeout",
    "corrupt-check-time", "compact-hash-check-time", "watch-progress-notify-interval", "warning-apply-duration",
    "warning-unary-request-duration", "compaction-sleep-interval", "downgrade-check-time",
])

# Cipher suite names etcd accepts (Go's crypto/tls names and etcd's two aliases). Any other name stops etcd at start.
CIPHER_SUITES = frozenset([
    "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
])

_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_version(version):
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)$", str(version).strip())
    if not m:
        raise AnsibleFilterError("'%s' is not an etcd release version (X.Y.Z)" % version)
    return tuple(int(x) for x in m.groups())


def to_nanoseconds(value):
    """Go duration string (or a number of nanoseconds) -> integer nanoseconds."""
    if isinstance(value, bool):
        raise AnsibleFilterError("a duration cannot be a boolean: %r" % value)
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise AnsibleFilterError("'%s' is not a duration such as 100ms, 5s, 2h" % value)
    return int(total)


_INT = re.compile(r"[0-9]+\Z")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def to_int(key, value):
    """A non-negative integer from an int or its decimal text ('150' from the command line)."""
    if isinstance(value, bool):
        raise AnsibleFilterError("%s must be a number, not %r" % (key, value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        text = str(value).strip()
        if text.startswith("-") and _INT.match(text[1:]):
            value = int(text)
        elif not _INT.match(text):
            raise AnsibleFilterError("%s must be a whole number, not '%s'" % (key, value))
        else:
            value = int(text)
    if value < 0:
        raise AnsibleFilterError("%s must be 0 or more, not %d" % (key, value))
    return value


def to_bool(key, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AnsibleFilterError("%s must be true or false, not '%s'" % (key, value))


def to_list(key, value):
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    raise AnsibleFilterError("%s must be a list, not %r" % (key, value))


def check_retention(mode, retention):
    """auto-compaction-retention in etcd's terms: periodic takes whole hours or a Go duration, revision a count."""
    text = str(retention).strip()
    if mode == "revision":
        if not _INT.match(text):
            raise AnsibleFilterError(
                "auto-compaction-retention '%s' is not a revision count: in revision mode it is a whole number such "
                "as 10000" % retention)
        return text
    if _INT.match(text):
        return text
    try:
        to_nanoseconds(text)
    except AnsibleFilterError:
        raise AnsibleFilterError(
            "auto-compaction-retention '%s' is neither whole hours (such as 1) nor a Go duration (such as 30m, 1h, "
            "72h; Go durations have no d)" % retention)
    return text


def _coerce(key, value):
    if key in DURATION_KEYS or (key.startswith("experimental-") and key[len("experimental-"):] in DURATION_KEYS):
        try:
            return to_nanoseconds(value)
        except AnsibleFilterError as e:
            raise AnsibleFilterError("%s: %s" % (key, e))
    if key in INT_KEYS:
        return to_int(key, value)
    if key in BOOL_KEYS:
        return to_bool(key, value)
    if key in LIST_KEYS:
        return to_list(key, value)
    if key in DICT_KEYS:
        if not isinstance(value, dict):
            raise AnsibleFilterError("%s must be a mapping, not %r" % (key, value))
        return value
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise AnsibleFilterError("%s must be a string, not %r" % (key, value))
    return str(value)


def _security(block, value, minor, patch, version):
    known = (SECURITY_KEYS if minor == 5 else SECURITY_36) | frozenset(["crl-file"])
    out = {}
    for key, item in value.items():
        if key not in known:
            raise AnsibleFilterError(
                "%s.%s is not a setting etcd %s knows (check the spelling; it knows %s)"
                % (block, key, version, ", ".join(sorted(known))))
        if item is None or item == "" or item == []:
            continue
        if minor == 5 and patch < SECURITY_SINCE_35.get(key, 0):
            raise AnsibleFilterError(
                "%s.%s needs etcd 3.5.%d or newer in the configuration file (deploying %s)"
                % (block, key, SECURITY_SINCE_35[key], version))
        out[key] = _coerce(key, item)
    return out


def etcd_config(settings, version, feature_gates=None):
    """Settings under their 3.6 names -> the configuration etcd VERSION reads, with the types it expects.

    Raises AnsibleFilterError on anything etcd would refuse at start or ignore silently."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("etcd_config expects a dict of settings")
    major, minor, patch = parse_version(version)
    if (major, minor) not in SUPPORTED_SERIES:
        raise AnsibleFilterError(
            "etcd %s is not supported: supported series are %s"
            % (version, ", ".join("%d.%d" % s for s in SUPPORTED_SERIES))
        )
    known = KEYS_35 if minor == 5 else KEYS_36 if minor == 6 else KEYS_37
    gates = dict(feature_gates or {})
    out = {}
    for key, value in settings.items():
        key = str(key)
        if value is None or value == "" or value == []:
            continue
        if minor == 5 and key in RENAMED_IN_36:
            old, since = RENAMED_IN_36[key]
            if patch < since:
                raise AnsibleFilterError("%s needs etcd 3.5.%d or newer (deploying %s)" % (key, since, version))
            key = old
        elif minor >= 6 and (key in REMOVED_IN_36 or key.startswith("experimental-")):
            raise AnsibleFilterError("%s is not read by etcd %s; remove it from the settings" % (key, version))
        elif minor >= 7 and key in REMOVED_IN_37:
            raise AnsibleFilterError("%s was removed in etcd 3.7 (deploying %s)" % (key, version))
        if key not in known:
            raise AnsibleFilterError(
                "%s is not a setting etcd %s knows, so etcd would ignore it silently: check the spelling "
                "(settings go under their etcd 3.6 configuration file names)" % (key, version))
        if minor == 5 and patch < SINCE_35.get(key, 0):
            if key == "tls-min-version" and str(value) == "TLS1.2":
                continue  # Go's default on these releases
            raise AnsibleFilterError("%s needs etcd 3.5.%d or newer (deploying %s)" % (key, SINCE_35[key], version))
        if key in ("client-transport-security", "peer-transport-security"):
            value = _security(key, _coerce(key, value), minor, patch, version)
            crl = value.pop("crl-file", None)
            if crl:
                out[CRL_BLOCKS[key]] = {"CRLFile": crl}
        else:
            value = _coerce(key, value)
        out[key] = value
    _check(out, version)
    if minor == 5:
        for gate, enabled in sorted(gates.items()):
            if gate not in GATES_35:
                raise AnsibleFilterError("feature gate %s has no etcd 3.5 equivalent (deploying %s)" % (gate, version))
            key, since = GATES_35[gate]
            if patch < since:
                raise AnsibleFilterError("feature gate %s needs etcd 3.5.%d or newer (deploying %s)" % (gate, since, version))
            out[key] = to_bool("feature gate " + gate, enabled)
    elif gates:
        known = GATES_36 if minor == 6 else GATES_37
        unknown = sorted(set(gates) - known)
        if unknown:
            raise AnsibleFilterError(
                "etcd %s does not know the feature gate(s) %s; it knows %s"
                % (version, ", ".join(unknown), ", ".join(sorted(known)))
            )
        out["feature-gates"] = ",".join(
            "%s=%s" % (gate, "true" if to_bool("feature gate " + gate, gates[gate]) else "false") for gate in sorted(gates)
        )
    return out


def _check(out, version):
    """Rules between settings that etcd enforces only at start (after a member was restarted)."""
    heartbeat = out.get("heartbeat-interval", 100)
    election = out.get("election-timeout", 1000)
    if heartbeat < 1:
        raise AnsibleFilterError("heartbeat-interval must be at least 1 ms (etcd_heartbeat_interval)")
    if election < 5 * heartbeat:
        raise AnsibleFilterError(
            "election-timeout (%d ms) must be at least 5 times heartbeat-interval (%d ms): etcd refuses to start "
            "otherwise (etcd_election_timeout, etcd_heartbeat_interval)" % (election, heartbeat))
    if election > 50000:
        raise AnsibleFilterError("election-timeout (%d ms) must be at most 50000 ms (etcd_election_timeout)" % election)
    if "auto-compaction-retention" in out:
        out["auto-compaction-retention"] = check_retention(out.get("auto-compaction-mode", "periodic"),
                                                           out["auto-compaction-retention"])
    if out.get("auto-compaction-mode", "periodic") not in ("periodic", "revision"):
        raise AnsibleFilterError("auto-compaction-mode must be periodic or revision, not '%s'" % out["auto-compaction-mode"])
    unknown = [c for c in out.get("cipher-suites", []) if c not in CIPHER_SUITES]
    if unknown:
        raise AnsibleFilterError("cipher-suites: etcd %s does not know %s (Go cipher suite names such as "
                                 "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)" % (version, ", ".join(unknown)))
    if out.get("cipher-suites") and out.get("tls-min-version") == "TLS1.3":
        raise AnsibleFilterError("cipher-suites cannot be set with tls-min-version TLS1.3 (etcd refuses to start); "
                                 "TLS 1.3 suites are not configurable")


def etcd_supported_series(_input=None):
    """The etcd series the collection deploys, as strings ("3.5", ...): the one list, also read by the etcd role."""
    return ["%d.%d" % s for s in SUPPORTED_SERIES]


def etcd_config_problems(settings, version, feature_gates=None):
    """What etcd_config would refuse, as a list of messages (empty when the settings render)."""
    try:
        etcd_config(settings, version, feature_gates)
    except AnsibleFilterError as e:
        return [str(e.message if hasattr(e, "message") else e)]
    return []


class FilterModule(object):
    def filters(self):
        return {"etcd_config": etcd_config, "etcd_config_problems": etcd_config_problems,
                "etcd_supported_series": etcd_supported_series}
