# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input checks of each role, one function per role, as messages that name the variable.

Each role's ``tasks/validate.yml`` is one assert over ``{variables} | quorum.etcd.role_input_problems(ROLE)``, run on
the controller for every member with its own variables (site.yml's first play, playbooks/validate.yml), after the
argument specifications (types and choices) passed. What used to be one assert task per check is one function here:
a run costs one task per role, and each check is unit-tested (tests/unit/test_filter_role_input_problems.py).

Values arrive as the inventory gives them: numbers may be strings ("300"), so every number is converted here and a
value that is no number fails its check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_input_problems
short_description: Check a role's inputs and say what is wrong, naming the variables
version_added: 0.6.0
description:
  - Takes the variables of one role (name to value, as the member's inventory gives them) and returns one message per
    problem; empty when every check passes.
  - The roles are C(common) (names, addresses, ports and paths every role uses, and the member table), C(preflight),
    C(disk), C(tuning), C(firewall), C(pki), C(etcd) and C(backup). Each role's C(tasks/validate.yml) lists the
    variables it passes.
  - Entries whose names start with C(__) are context rather than variables (for example C(__member_table),
    C(__settings)).
options:
  _input:
    description: Variable name to value.
    type: dict
    required: true
  role:
    description: Whose checks to run.
    type: str
    required: true
    choices: [common, preflight, disk, tuning, firewall, pki, etcd, backup]
"""

EXAMPLES = r"""
- name: Refuse etcd inputs that cannot work
  vars:
    __problems: "{{ {'etcd_version': etcd_version, 'etcd_release_sha256': ''} | quorum.etcd.role_input_problems('etcd') }}"
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ inventory_hostname }}: {{ __problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the inputs pass.
  type: list
  elements: str
"""

import os
import re
from collections import Counter

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config_problems
from ansible_collections.quorum.etcd.plugins.filter.etcd_input_problems import etcd_input_problems


def _num(value, cast=float):
    """The value as a number, or None (booleans are no numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return cast(float(value)) if cast is int else cast(value)
    except (TypeError, ValueError):
        return None


def _ok(value, test, cast=float):
    number = _num(value, cast)
    return number is not None and test(number)


def _match(pattern, value):
    return isinstance(value, str) and re.match(pattern, value) is not None


def _text(value):
    return "" if value is None else str(value)


def _version_tuple(text):
    return tuple(int(p) for p in text.split("."))


def common(v):
    table = v.get("__member_table") or []
    if not table:
        return ["No etcd members: the inventory group '%s' is empty or missing. Add hosts to it or set "
                "etcd_cluster_group to the group that holds them." % v.get("etcd_cluster_group", "etcd")]
    me = v.get("__me") or {}
    names = {"etcd_cluster_name": v["etcd_cluster_name"], "etcd_user": v["etcd_user"], "etcd_group": v["etcd_group"]}
    if "name" in me:
        names["etcd_member_name"] = me["name"]
    problems = (
        etcd_input_problems(names, "name")
        + etcd_input_problems({"etcd_member_address": me.get("address", "")}, "address")
        + etcd_input_problems(dict((k, v[k]) for k in ("etcd_client_port", "etcd_peer_port", "etcd_metrics_port")),
                              "port")
        + etcd_input_problems(dict((k, v[k]) for k in ("etcd_config_dir", "etcd_data_dir", "etcd_pki_dir",
                                                       "etcd_pki_controller_dir")), "path"))
    if len(set(str(v[k]) for k in ("etcd_client_port", "etcd_peer_port", "etcd_metrics_port"))) != 3:
        problems.append("etcd_client_port, etcd_peer_port and etcd_metrics_port must differ")
    names = [m["name"] for m in table]
    urls = [m["peer_url"] for m in table]
    if len(set(names)) != len(names) or len(set(urls)) != len(urls):
        problems.append(
            "Members must have unique names and peer URLs. Duplicate names: %s; duplicate peer URLs: %s. Check "
            "etcd_member_name, etcd_member_address and ansible_host."
            % ([n for n, c in Counter(names).items() if c > 1], [u for u, c in Counter(urls).items() if c > 1]))
    bad = [n for n in names if not _match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z", n)]
    if bad:
        problems.append("Member names may hold letters, digits, '.', '_' and '-' only: %s" % bad)
    return problems


def preflight(v):
    if (_ok(v["etcd_preflight_clock_offset_max_ms"], lambda x: x >= 0)
            and _ok(v["etcd_preflight_rtt_max_ms"], lambda x: x >= 0)
            and _ok(v["etcd_preflight_fio_p99_max_ms"], lambda x: x > 0)
            and _match(r"^[0-9]+[kKmMgG]?\Z", v["etcd_preflight_fio_size"])
            and _ok(v["etcd_preflight_rtt_port"], lambda x: 0 < x < 65536, int)):
        return []
    return ["Preflight thresholds must be non-negative numbers (etcd_preflight_clock_offset_max_ms, "
            "etcd_preflight_rtt_max_ms, etcd_preflight_fio_p99_max_ms > 0), etcd_preflight_fio_size a size such as "
            "22m, etcd_preflight_rtt_port a port."]


def disk(v):
    devices = v["etcd_disk_devices"] or []
    label, raid, options = v["etcd_disk_fs_label"], v["etcd_disk_raid_name"], v["etcd_disk_mount_options"]
    problems = etcd_input_problems({"etcd_disk_devices": devices}, "device")
    if not (len(set(map(str, devices))) == len(devices)
            and len(_text(label)) <= (12 if v["etcd_disk_fstype"] == "xfs" else 16)
            and _match(r"^[A-Za-z0-9_-]+\Z", label) and _match(r"^[A-Za-z0-9_-]+\Z", raid)
            and _match(r"^[A-Za-z0-9_=,.:-]+\Z", options)):
        problems.append(
            "etcd_disk_devices must be distinct /dev/ paths (got %s); etcd_disk_fs_label letters, digits, '-' and '_', "
            "at most 12 characters for xfs, 16 for ext4 (got '%s'); etcd_disk_raid_name letters, digits, '-' and '_' "
            "(got '%s'); etcd_disk_mount_options a comma-separated option list (got '%s')."
            % (devices, label, raid, options))
    return problems


def tuning(v):
    if not v.get("etcd_tuning_enabled", True):
        return []
    sysctl = dict(v["etcd_tuning_sysctl"] or {})
    sysctl.update(v["etcd_tuning_sysctl_extra"] or {})
    bad_names = [str(k) for k in sysctl if not _match(r"^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+\Z", str(k))]
    bad_values = [str(k) for k, x in sysctl.items()
                  if isinstance(x, bool) or not isinstance(x, (str, int, float))
                  or (isinstance(x, str) and not _match(r"^[A-Za-z0-9 ._:,/+-]*\Z", x))]
    problems = (etcd_input_problems({"etcd_tuning_io_devices": v["etcd_tuning_io_devices"]}, "device")
                + etcd_input_problems({"etcd_tuning_sysctl_file": v["etcd_tuning_sysctl_file"]}, "path"))
    if bad_names:
        problems.append("kernel setting names must be dotted sysctl names (etcd_tuning_sysctl, "
                        "etcd_tuning_sysctl_extra): " + ", ".join(bad_names))
    if bad_values:
        problems.append("kernel setting values must be numbers or plain words on one line: " + ", ".join(bad_values))
    return problems


def firewall(v):
    problems = (
        etcd_input_problems({"etcd_member_address (or ansible_host) of the members": v["__members"]}, "ip")
        + etcd_input_problems({"etcd_firewall_client_networks": v["etcd_firewall_client_networks"],
                               "etcd_firewall_monitoring_networks": v["etcd_firewall_monitoring_networks"]}, "network")
        + etcd_input_problems({"etcd_firewall_rules_file": v["etcd_firewall_rules_file"]}, "path"))
    if not _match(r"^[A-Za-z][A-Za-z0-9_]*\Z", v["etcd_firewall_table"]):
        problems.append("etcd_firewall_table must be a letter followed by letters, digits and '_', not '%s'"
                        % v["etcd_firewall_table"])
    if problems:
        return ["the etcd firewall needs IP addresses and CIDR networks: %s. Set etcd_firewall_enabled=false to leave "
                "the firewall alone." % "; ".join(problems)]
    return []


def pki(v):
    cert, key = _text(v["etcd_pki_ca_cert_src"]), _text(v["etcd_pki_ca_key_src"])
    problems = (
        etcd_input_problems({"etcd_pki_member_clients": v["etcd_pki_member_clients"],
                             "etcd_pki_clients": v["etcd_pki_clients"]}, "name")
        + etcd_input_problems({"etcd_pki_ca_cert_src": cert, "etcd_pki_ca_key_src": key}, "path"))
    bad_sans = [str(s) for s in v["etcd_pki_extra_sans"] or []
                if not (_match(r"^DNS:[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?\Z", str(s))
                        or _match(r"^IP:[0-9A-Fa-f:.]+\Z", str(s)))]
    if bad_sans:
        problems.append("etcd_pki_extra_sans must be DNS:name or IP:address, not " + ", ".join(bad_sans))
    if not (_ok(v["etcd_pki_cert_validity_days"], lambda x: x > 0, int)
            and _ok(v["etcd_pki_ca_validity_days"], lambda x: x > 0, int)
            and _ok(v["etcd_pki_renew_threshold_days"], lambda x: x >= 0, int)):
        problems.append("validity days must be more than 0, etcd_pki_renew_threshold_days 0 or more")
    if bool(cert) != bool(key):
        problems.append("Bring the CA as a pair: set both etcd_pki_ca_cert_src and etcd_pki_ca_key_src, or neither.")
    missing = [p for p in (cert, key) if p and not os.path.isfile(p)]
    if cert and missing:
        problems.append("CA file(s) not found on the controller: %s (etcd_pki_ca_cert_src/etcd_pki_ca_key_src)."
                        % ", ".join(missing))
    return problems


def etcd(v):
    version = _text(v["etcd_version"])
    if not _match(r"^\d+\.\d+\.\d+\Z", version):
        return ["etcd_version must be a release number such as 3.5.30, not '%s'." % version]
    problems = []
    if version in (v.get("__known_bad") or []):
        problems.append("etcd %s is a known-bad release: 3.5.0-3.5.2 can corrupt data under load (etcd-io/etcd#13766). "
                        "Use 3.5.30 or newer." % version)
    series = ".".join(version.split(".")[:2])
    supported = v.get("__supported_series") or []
    floor = _text(v.get("__version_floor") or "0.0.0")
    if series not in supported or _version_tuple(version) < _version_tuple(floor):
        problems.append("etcd %s is not supported: quorum.etcd deploys the %s series from %s on (the upstream "
                        "production floor). Set etcd_version accordingly." % (version, ", ".join(supported), floor))
    sha = _text(v["etcd_release_sha256"])
    if sha and not _match(r"^[0-9a-fA-F]{64}\Z", sha):
        problems.append("etcd_release_sha256 must be 64 hex digits, got '%s'." % sha)
    problems += (
        etcd_input_problems(dict((k, v[k]) for k in ("etcd_install_dir", "etcd_bin_dir", "etcd_wal_dir",
                                                     "etcd_download_dir")), "path")
        + etcd_input_problems(dict((k, v[k]) for k in ("etcd_release_url", "etcd_release_checksums_url")), "url")
        + etcd_input_problems(dict((k, v[k]) for k in ("etcd_arch", "etcd_etcdctl_client")), "name")
        + etcd_input_problems({"etcd_listen_address": v["etcd_listen_address"]}, "ip"))
    address = _text((v.get("__me") or {}).get("address", ""))
    # etcd binds listeners to IP addresses only: a member addressed by DNS name would bind every address.
    if not v["etcd_listen_address"] and not (_match(r"^[0-9.]+\Z", address) or ":" in address):
        problems.append(
            "addressed by the DNS name '%s': set etcd_listen_address (a host variable) to the IP address of that name "
            "on the member, so that the client, peer and metrics listeners bind it rather than every address." % address)
    if not (_ok(v["etcd_service_timeout_start"], lambda x: x > 0, int)
            and _ok(v["etcd_service_limit_nofile"], lambda x: x > 0, int)
            and _ok(v["etcd_service_io_scheduling_priority"], lambda x: 0 <= x <= 7, int)
            and _ok(v["etcd_health_retries"], lambda x: x > 0, int)
            and _ok(v["etcd_health_delay"], lambda x: x >= 0, int)
            and _ok(v["etcd_join_catch_up_timeout"], lambda x: x > 0, int)):
        problems.append("etcd_service_timeout_start, etcd_service_limit_nofile, etcd_health_retries and "
                        "etcd_join_catch_up_timeout must be more than 0, etcd_health_delay 0 or more, "
                        "etcd_service_io_scheduling_priority from 0 to 7.")
    # The whole configuration as the member would get it (etcd_extra_config merged last), in etcd's terms.
    config = etcd_config_problems(v["__settings"], version, v.get("etcd_feature_gates"))
    if config:
        problems.append("%s (set by the etcd_* variable of that setting, such as etcd_heartbeat_interval or "
                        "etcd_quota_backend_bytes, or in etcd_extra_config)" % "; ".join(config))
    return problems


def backup(v):
    problems = []
    if not (_ok(v["etcd_backup_retention_days"], lambda x: x >= 0, int)
            and _ok(v["etcd_backup_retention_count"], lambda x: x >= 0, int)
            and _ok(v["etcd_backup_min_free_mb"], lambda x: x >= 0, int)
            and _ok(v["etcd_backup_snapshot_timeout"], lambda x: x > 0, int)):
        problems.append("etcd_backup_retention_days, etcd_backup_retention_count and etcd_backup_min_free_mb must be "
                        "0 or more, etcd_backup_snapshot_timeout more than 0.")
    elif not (_num(v["etcd_backup_retention_days"], int) > 0 or _num(v["etcd_backup_retention_count"], int) > 0):
        problems.append("Set etcd_backup_retention_days or etcd_backup_retention_count (or both): without either, "
                        "snapshots pile up until the disk is full.")
    calendar, directory = _text(v["etcd_backup_on_calendar"]), _text(v["etcd_backup_dir"])
    data_dir = _text(v["etcd_data_dir"]).rstrip("/")
    if not (calendar.strip() and _match(r"^[^\n%]+\Z", calendar)
            and not etcd_input_problems({"etcd_backup_dir": directory}, "path")
            and directory.startswith("/") and len(directory) > 1
            and directory.rstrip("/") not in ("", data_dir)):
        problems.append("etcd_backup_on_calendar must be a systemd calendar expression and etcd_backup_dir an absolute "
                        "path other than / and the data directory (%s)." % directory)
    # They go into the unit (ReadWritePaths=, LoadCredential=) and the script's environment.
    problems += etcd_input_problems(dict((k, v[k]) for k in ("etcd_backup_textfile_dir", "etcd_backup_read_write_paths",
                                                             "etcd_backup_offhost_ssh_key")), "path")
    mode = v["etcd_backup_offhost_mode"]
    if not (mode == "none" or (mode in ("rsync", "scp") and v["etcd_backup_offhost_target"])
            or (mode == "command" and v["etcd_backup_offhost_command"])):
        problems.append("etcd_backup_offhost_mode %s needs %s." % (
            mode, "etcd_backup_offhost_command" if mode == "command" else "etcd_backup_offhost_target"))
    if v["etcd_backup_client"] not in (v["etcd_pki_member_clients"] or []):
        problems.append("etcd_backup_client '%s' is not in etcd_pki_member_clients (%s): add it there so the pki role "
                        "issues it." % (v["etcd_backup_client"], ", ".join(v["etcd_pki_member_clients"] or [])))
    # systemd-analyze on the controller parsed the expression the timer will get (validate.yml, when it has systemd).
    parsed = v.get("__calendar_check") or {}
    if parsed.get("rc", 0) not in (0, None):
        first = (_text(parsed.get("stderr")).strip().splitlines() or [""])[0]
        problems.append("etcd_backup_on_calendar '%s' is not a systemd calendar expression (OnCalendar= syntax, such "
                        "as 'hourly' or '*-*-* 02:00:00'): systemd-analyze says '%s'." % (calendar, first))
    return problems


ROLES = dict(common=common, preflight=preflight, disk=disk, tuning=tuning, firewall=firewall, pki=pki, etcd=etcd,
             backup=backup)


def role_input_problems(values, role):
    if not isinstance(values, dict):
        raise AnsibleFilterError("role_input_problems expects a dict of variable name to value")
    if role not in ROLES:
        raise AnsibleFilterError("role_input_problems: unknown role '%s' (one of %s)" % (role, ", ".join(sorted(ROLES))))
    try:
        return ROLES[role](values)
    except KeyError as e:
        raise AnsibleFilterError("role_input_problems(%s): the variable %s was not passed" % (role, e))


class FilterModule(object):
    def filters(self):
        return {"role_input_problems": role_input_problems}
