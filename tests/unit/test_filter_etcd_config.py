"""The version-aware configuration: what etcd 3.5, 3.6 and 3.7 members get from the same settings."""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config, to_nanoseconds
from helpers import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SETTINGS = {
    "name": "etcd-1",
    "data-dir": "/var/lib/etcd",
    "wal-dir": "",
    "snapshot-count": 10000,
    "heartbeat-interval": 100,
    "election-timeout": 1000,
    "grpc-keepalive-min-time": "5s",
    "grpc-keepalive-interval": "2h",
    "grpc-keepalive-timeout": "20s",
    "watch-progress-notify-interval": "10m",
    "cipher-suites": [],
}
GATES = {"InitialCorruptCheck": True, "CompactHashCheck": True}


def test_durations_become_nanoseconds():
    assert to_nanoseconds("5s") == 5 * 10**9
    assert to_nanoseconds("2h") == 7200 * 10**9
    assert to_nanoseconds("1m30s") == 90 * 10**9
    assert to_nanoseconds("100ms") == 10**8
    assert to_nanoseconds(42) == 42
    with pytest.raises(AnsibleFilterError):
        to_nanoseconds("5 seconds")


def test_35_uses_experimental_flags():
    out = etcd_config(SETTINGS, "3.5.30", GATES)
    assert out["experimental-initial-corrupt-check"] is True
    assert out["experimental-compact-hash-check-enabled"] is True
    assert out["experimental-watch-progress-notify-interval"] == 600 * 10**9
    assert "watch-progress-notify-interval" not in out
    assert "feature-gates" not in out
    assert out["grpc-keepalive-min-time"] == 5 * 10**9
    assert out["grpc-keepalive-interval"] == 7200 * 10**9
    assert out["grpc-keepalive-timeout"] == 20 * 10**9
    # empty values are left out, so etcd's own defaults apply
    assert "wal-dir" not in out and "cipher-suites" not in out


@pytest.mark.parametrize("version", ["3.6.5", "3.7.1"])
def test_36_and_37_use_feature_gates(version):
    out = etcd_config(SETTINGS, version, GATES)
    assert out["feature-gates"] == "CompactHashCheck=true,InitialCorruptCheck=true"
    assert out["watch-progress-notify-interval"] == 600 * 10**9
    assert not [k for k in out if k.startswith("experimental-")]


def test_feature_gate_unknown_to_version_is_refused():
    with pytest.raises(AnsibleFilterError, match="FastLeaseKeepAlive"):
        etcd_config({}, "3.6.5", {"FastLeaseKeepAlive": True})
    assert etcd_config({}, "3.7.1", {"FastLeaseKeepAlive": True})["feature-gates"] == "FastLeaseKeepAlive=true"
    with pytest.raises(AnsibleFilterError, match="no etcd 3.5 equivalent"):
        etcd_config({}, "3.5.30", {"SetMemberLocalAddr": True})


def test_old_patch_without_the_flag_is_refused():
    with pytest.raises(AnsibleFilterError, match="3.5.5"):
        etcd_config({}, "3.5.4", {"CompactHashCheck": True})


@pytest.mark.parametrize("key", ["experimental-initial-corrupt-check", "enable-v2"])
def test_keys_a_36_server_would_silently_ignore_are_refused(key):
    with pytest.raises(AnsibleFilterError, match=key):
        etcd_config({key: True}, "3.6.0")
    assert etcd_config({key: True}, "3.5.30")[key] is True


def test_37_refuses_v2_discovery():
    with pytest.raises(AnsibleFilterError, match="discovery"):
        etcd_config({"discovery": "https://x"}, "3.7.0")


@pytest.mark.parametrize("version", ["3.4.23", "3.8.0", "4.0.0", "3.5", "latest"])
def test_unsupported_versions(version):
    with pytest.raises(AnsibleFilterError):
        etcd_config({}, version)


def render_role_config(tmp_path, variables, *cli_vars):
    """The etcd role's real configuration template rendered by ansible-playbook on localhost for the member m1, with
    the role's defaults and vars, VARIABLES (-e, as JSON) and CLI_VARS ("-e name=value": strings, as from a command
    line); the rendered file read back."""
    out = tmp_path / "etcd.conf.yml"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  vars_files:
    - {REPO}/roles/_common/defaults/main.yml
    - {REPO}/roles/etcd/defaults/main.yml
    - {REPO}/roles/_common/vars/main.yml
    - {REPO}/roles/etcd/vars/main.yml
  tasks:
    - ansible.builtin.template:
        src: "{REPO}/roles/etcd/templates/etcd.conf.yml.j2"
        dest: "{out}"
        mode: "0600"
"""
    )
    member = {
        "__etcd_cert_digest": "test",
        "__etcd_restart_digest": "test",
        "__etcd_me": {"name": "m1", "address": "10.0.0.1", "peer_url": "https://10.0.0.1:2380",
                      "client_url": "https://10.0.0.1:2379"},
        "__etcd_initial_cluster": "m1=https://10.0.0.1:2380",
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
    }
    run_playbook(playbook, "localhost,", dict(member, **variables), cwd=REPO,
                 args=[arg for value in cli_vars for arg in ("-e", value)])
    return yaml.safe_load(out.read_text())


@pytest.mark.parametrize("version,series", [("3.5.30", "3.5"), ("3.6.5", "3.6"), ("3.7.1", "3.7")])
def test_role_template_renders_for_each_series(tmp_path, version, series):
    """Render the etcd role's real config template through Ansible for each series and read it back."""
    cfg = render_role_config(tmp_path, {"etcd_version": version})
    assert cfg["name"] == "m1"
    assert cfg["listen-peer-urls"] == "https://10.0.0.1:2380"
    assert cfg["listen-client-urls"] == "https://10.0.0.1:2379,https://127.0.0.1:2379"
    assert cfg["listen-metrics-urls"] == "http://10.0.0.1:2381,http://127.0.0.1:2381"
    assert cfg["client-transport-security"]["client-cert-auth"] is True
    assert cfg["peer-transport-security"]["client-cert-auth"] is True
    assert cfg["tls-min-version"] == "TLS1.2"
    assert cfg["quota-backend-bytes"] == 8 * 1024**3
    assert cfg["max-request-bytes"] == 1572864
    assert cfg["auto-compaction-mode"] == "periodic"
    assert cfg["grpc-keepalive-timeout"] == 20 * 10**9
    if series == "3.5":
        assert cfg["experimental-initial-corrupt-check"] is True
        assert "feature-gates" not in cfg
    else:
        assert cfg["feature-gates"] == "CompactHashCheck=true,InitialCorruptCheck=true"
        assert not [k for k in cfg if k.startswith("experimental-")]


# Input types: values from the command line (-e key=value) and some inventories arrive as strings.
def test_numbers_and_booleans_get_the_types_etcd_expects():
    out = etcd_config({"heartbeat-interval": "150", "election-timeout": "1500", "quota-backend-bytes": "8589934592",
                       "snapshot-count": 10000.0, "pre-vote": "true", "strict-reconfig-check": "no",
                       "auto-compaction-retention": 2, "log-outputs": "stderr", "cipher-suites": "",
                       "client-transport-security": {"client-cert-auth": "yes", "cert-file": "/etc/etcd/pki/s.crt"}},
                      "3.5.30")
    assert out["heartbeat-interval"] == 150 and isinstance(out["heartbeat-interval"], int)
    assert out["election-timeout"] == 1500 and out["quota-backend-bytes"] == 8589934592
    assert out["snapshot-count"] == 10000 and isinstance(out["snapshot-count"], int)
    assert out["pre-vote"] is True and out["strict-reconfig-check"] is False
    assert out["auto-compaction-retention"] == "2"
    assert out["log-outputs"] == ["stderr"]
    assert out["client-transport-security"]["client-cert-auth"] is True
    assert etcd_config({}, "3.6.5", {"InitialCorruptCheck": "false"})["feature-gates"] == "InitialCorruptCheck=false"


@pytest.mark.parametrize("settings,message", [
    ({"heartbeat-interval": "abc"}, "heartbeat-interval must be a whole number"),
    ({"heartbeat-interval": "1.5"}, "heartbeat-interval must be a whole number"),
    ({"heartbeat-interval": True}, "heartbeat-interval must be a number"),
    ({"quota-backend-bytes": -1}, "quota-backend-bytes must be 0 or more"),
    ({"quota-backend-bytes": "-1"}, "quota-backend-bytes must be 0 or more"),
    ({"pre-vote": "maybe"}, "pre-vote must be true or false"),
    ({"grpc-keepalive-timeout": "1d"}, "grpc-keepalive-timeout"),
    ({"name": ["a"]}, "name must be a string"),
    ({"heartbeat-interval": 300}, "at least 5 times heartbeat-interval"),
    ({"heartbeat-interval": 1500, "election-timeout": 1000}, "at least 5 times heartbeat-interval"),
    ({"election-timeout": 60000}, "at most 50000"),
    ({"auto-compaction-retention": "1d"}, "Go durations have no d"),
    ({"auto-compaction-retention": "-1h"}, "neither whole hours"),
    ({"auto-compaction-mode": "revision", "auto-compaction-retention": "1h"}, "not a revision count"),
    ({"cipher-suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_BOGUS"]}, "does not know TLS_BOGUS"),
    ({"cipher-suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], "tls-min-version": "TLS1.3"}, "TLS1.3"),
])
def test_values_etcd_would_refuse_at_start_are_refused(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        etcd_config(settings, "3.5.30")


@pytest.mark.parametrize("mode,retention", [("periodic", "1"), ("periodic", "72h"), ("periodic", "1h30m"),
                                            ("periodic", "0"), ("revision", "10000"), ("revision", 1000)])
def test_retention_in_etcd_terms(mode, retention):
    out = etcd_config({"auto-compaction-mode": mode, "auto-compaction-retention": retention}, "3.5.30")
    assert out["auto-compaction-retention"] == str(retention)


@pytest.mark.parametrize("key,version", [("snapshot-cont", "3.5.30"), ("heartbeat_interval", "3.6.5"),
                                         ("experimental-initial-corupt-check", "3.5.30"), ("log-format", "3.5.30"),
                                         ("max-learners", "3.5.30"), ("discovery-proxy", "3.7.0"),
                                         ("max-snapshots-x", "3.7.0")])
def test_unknown_keys_are_refused_per_version(key, version):
    with pytest.raises(AnsibleFilterError, match=key):
        etcd_config({key: 1}, version)


@pytest.mark.parametrize("key,version", [("max-learners", "3.6.5"), ("log-format", "3.7.0"),
                                         ("experimental-memory-mlock", "3.5.30"), ("memory-mlock", "3.5.30"),
                                         ("max-txn-ops", "3.5.6")])
def test_keys_the_version_knows_are_kept(key, version):
    value = 1 if key.startswith("max") else "json" if key == "log-format" else True
    assert value in etcd_config({key: value}, version).values()


def test_transport_security_keys_are_checked():
    with pytest.raises(AnsibleFilterError, match="client-cert-auht"):
        etcd_config({"peer-transport-security": {"client-cert-auht": True}}, "3.5.30")
    out = etcd_config({"peer-transport-security": {"allowed-hostname": "localhost", "client-cert-auth": "true"}},
                      "3.5.16")
    assert out["peer-transport-security"] == {"allowed-hostname": ["localhost"], "client-cert-auth": True}
    # 3.5.6-3.5.13 read allowed-hostname from flags only: refused rather than silently ignored
    with pytest.raises(AnsibleFilterError, match="3.5.14"):
        etcd_config({"peer-transport-security": {"allowed-hostname": ["localhost"]}}, "3.5.13")
    # keys added in later 3.5 patches
    with pytest.raises(AnsibleFilterError, match="socket-options needs etcd 3.5.10"):
        etcd_config({"socket-options": {"reuse-port": True}}, "3.5.9")
    # tls-min-version TLS1.2 is Go's default before 3.5.8, which do not read the key
    assert "tls-min-version" not in etcd_config({"tls-min-version": "TLS1.2"}, "3.5.6")


def test_problems_filter_lists_the_refusal():
    from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config_problems
    assert etcd_config_problems(SETTINGS, "3.5.30", GATES) == []
    problems = etcd_config_problems({"snapshot-cont": 1}, "3.5.30")
    assert len(problems) == 1 and "snapshot-cont is not a setting etcd 3.5.30 knows" in problems[0]


@pytest.mark.parametrize("tls_min,ciphers", [("TLS1.2", True), ("TLS1.3", False)])
def test_role_renders_strings_from_the_command_line_as_numbers(tmp_path, tls_min, ciphers):
    """-e etcd_heartbeat_interval=150 used to render heartbeat-interval: '150', which etcd refuses."""
    cfg = render_role_config(tmp_path, {}, "etcd_heartbeat_interval=150", "etcd_election_timeout=1500",
                             "etcd_quota_backend_bytes=4294967296", "etcd_snapshot_count=5000",
                             "etcd_tls_min_version=" + tls_min)
    assert cfg["heartbeat-interval"] == 150 and cfg["election-timeout"] == 1500
    assert cfg["quota-backend-bytes"] == 4294967296 and cfg["snapshot-count"] == 5000
    # AEAD suites for TLS 1.2 (none with TLS 1.3, whose suites etcd cannot set), peers by SAN only
    if ciphers:
        assert cfg["cipher-suites"] and all("GCM" in c or "CHACHA20" in c for c in cfg["cipher-suites"])
    else:
        assert "cipher-suites" not in cfg
    assert cfg["peer-transport-security"]["allowed-hostname"] == ["localhost"]
    assert "allowed-hostname" not in cfg["client-transport-security"]


def test_supported_series_is_the_list_the_filter_checks():
    from ansible_collections.quorum.etcd.plugins.filter.etcd_config import FilterModule, SUPPORTED_SERIES, etcd_supported_series
    assert etcd_supported_series() == etcd_supported_series(None) == ["3.5", "3.6", "3.7"]
    assert FilterModule().filters()["etcd_supported_series"] is etcd_supported_series
    assert len(etcd_supported_series()) == len(SUPPORTED_SERIES)
    for series in etcd_supported_series():
        assert etcd_config({}, series + ".99") == {}
    with pytest.raises(AnsibleFilterError, match="supported series are 3.5, 3.6, 3.7"):
        etcd_config({}, "3.8.0")
