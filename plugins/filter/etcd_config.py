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
  - Converts durations (C(5s), C(2h), C(100ms)) to integer nanoseconds.
  - Fails on a version outside the supported series, or on a feature gate the version does not know.
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

DURATION_KEYS = set(
    [
        "grpc-keepalive-min-time",
        "grpc-keepalive-interval",
        "grpc-keepalive-timeout",
        "corrupt-check-time",
        "compact-hash-check-time",
        "watch-progress-notify-interval",
        "warning-apply-duration",
        "compaction-sleep-interval",
        "downgrade-check-time",
    ]
)

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


def etcd_config(settings, version, feature_gates=None):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("etcd_config expects a dict of settings")
    major, minor, patch = parse_version(version)
    if (major, minor) not in SUPPORTED_SERIES:
        raise AnsibleFilterError(
            "etcd %s is not supported: supported series are %s"
            % (version, ", ".join("%d.%d" % s for s in SUPPORTED_SERIES))
        )
    gates = dict(feature_gates or {})
    out = {}
    for key, value in settings.items():
        if value is None or value == "" or value == []:
            continue
        if key in DURATION_KEYS:
            value = to_nanoseconds(value)
        if minor == 5 and key in RENAMED_IN_36:
            old, since = RENAMED_IN_36[key]
            if patch < since:
                raise AnsibleFilterError("%s needs etcd 3.5.%d or newer (deploying %s)" % (key, since, version))
            key = old
        elif minor >= 6 and (key in REMOVED_IN_36 or key.startswith("experimental-")):
            raise AnsibleFilterError("%s is not read by etcd %s; remove it from the settings" % (key, version))
        elif minor >= 7 and key in REMOVED_IN_37:
            raise AnsibleFilterError("%s was removed in etcd 3.7 (deploying %s)" % (key, version))
        out[key] = value
    if minor == 5:
        for gate, enabled in sorted(gates.items()):
            if gate not in GATES_35:
                raise AnsibleFilterError("feature gate %s has no etcd 3.5 equivalent (deploying %s)" % (gate, version))
            key, since = GATES_35[gate]
            if patch < since:
                raise AnsibleFilterError("feature gate %s needs etcd 3.5.%d or newer (deploying %s)" % (gate, since, version))
            out[key] = bool(enabled)
    elif gates:
        known = GATES_36 if minor == 6 else GATES_37
        unknown = sorted(set(gates) - known)
        if unknown:
            raise AnsibleFilterError(
                "etcd %s does not know the feature gate(s) %s; it knows %s"
                % (version, ", ".join(unknown), ", ".join(sorted(known)))
            )
        out["feature-gates"] = ",".join(
            "%s=%s" % (gate, "true" if gates[gate] else "false") for gate in sorted(gates)
        )
    return out


class FilterModule(object):
    def filters(self):
        return {"etcd_config": etcd_config}
