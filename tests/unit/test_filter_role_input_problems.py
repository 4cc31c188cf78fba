"""quorum.etcd.role_input_problems: each role's input checks (plugins/filter/role_input_problems.py), as the roles'
validate.yml pass them. Good defaults pass; each bad value is refused with a message that names the variable.
(tests/playbooks/test_bad_input.py runs the same refusals through site.yml.)"""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.role_input_problems import role_input_problems

TABLE = [{"host": "h%d" % i, "name": "m%d" % i, "address": "10.0.0.%d" % i, "peer_url": "https://10.0.0.%d:2380" % i,
          "client_url": "https://10.0.0.%d:2379" % i} for i in (1, 2, 3)]

GOOD = {
    "common": {"etcd_cluster_group": "etcd", "etcd_cluster_name": "prod", "etcd_user": "etcd", "etcd_group": "etcd",
               "etcd_client_port": 2379, "etcd_peer_port": "2380", "etcd_metrics_port": 2381,
               "etcd_config_dir": "/etc/etcd", "etcd_data_dir": "/var/lib/etcd", "etcd_pki_dir": "/etc/etcd/pki",
               "etcd_pki_controller_dir": "/srv/pki", "__member_table": TABLE, "__me": TABLE[0]},
    "preflight": {"etcd_preflight_clock_offset_max_ms": 100, "etcd_preflight_rtt_max_ms": "10",
                  "etcd_preflight_fio_p99_max_ms": 10, "etcd_preflight_fio_size": "22m",
                  "etcd_preflight_rtt_port": 2380},
    "disk": {"etcd_disk_devices": ["/dev/sdb", "/dev/sdc"], "etcd_disk_fs_label": "etcd-data", "etcd_disk_fstype": "xfs",
             "etcd_disk_raid_name": "etcd", "etcd_disk_mount_options": "noatime,nodiratime"},
    "tuning": {"etcd_tuning_sysctl": {"vm.swappiness": 1}, "etcd_tuning_sysctl_extra": {"net.core.somaxconn": "4096"},
               "etcd_tuning_io_devices": ["/dev/sdb"], "etcd_tuning_sysctl_file": "/etc/sysctl.d/90-etcd.conf"},
    "firewall": {"__members": ["10.0.0.1", "fd00::2"], "etcd_firewall_client_networks": ["10.1.0.0/16"],
                 "etcd_firewall_monitoring_networks": [], "etcd_firewall_rules_file": "/etc/nftables.d/etcd.nft",
                 "etcd_firewall_table": "quorum_etcd"},
    "pki": {"etcd_pki_member_clients": ["healthcheck-client", "backup"], "etcd_pki_clients": ["admin"],
            "etcd_pki_ca_cert_src": "", "etcd_pki_ca_key_src": "", "etcd_pki_extra_sans": ["DNS:etcd.example", "IP:10.9.9.9"],
            "etcd_pki_cert_validity_days": 365, "etcd_pki_ca_validity_days": "3650", "etcd_pki_renew_threshold_days": 30},
    "etcd": {"etcd_version": "3.5.30", "etcd_release_sha256": "", "etcd_install_dir": "/opt/etcd",
             "etcd_bin_dir": "/usr/local/bin", "etcd_wal_dir": "", "etcd_download_dir": "/var/cache/etcd",
             "etcd_release_url": "https://github.com/etcd-io/etcd/releases/download/v3.5.30/x.tar.gz",
             "etcd_release_checksums_url": "https://github.com/etcd-io/etcd/releases/download/v3.5.30/SHA256SUMS",
             "etcd_arch": "amd64", "etcd_etcdctl_client": "healthcheck-client", "etcd_listen_address": "",
             "etcd_service_timeout_start": 300, "etcd_service_limit_nofile": 65536,
             "etcd_service_io_scheduling_priority": 0, "etcd_health_retries": 60, "etcd_health_delay": 1,
             "etcd_join_catch_up_timeout": 300, "etcd_feature_gates": {}, "__me": TABLE[0],
             "__known_bad": ["3.5.0", "3.5.1", "3.5.2"], "__supported_series": ["3.5", "3.6", "3.7"],
             "__version_floor": "3.5.6", "__settings": {"name": "m1", "heartbeat-interval": 100}},
    "backup": {"etcd_backup_retention_days": 7, "etcd_backup_retention_count": 0, "etcd_backup_min_free_mb": 512,
               "etcd_backup_snapshot_timeout": 300, "etcd_backup_on_calendar": "hourly",
               "etcd_backup_dir": "/var/backups/etcd", "etcd_data_dir": "/var/lib/etcd",
               "etcd_backup_textfile_dir": "/var/lib/prometheus/node-exporter", "etcd_backup_read_write_paths": [],
               "etcd_backup_offhost_ssh_key": "", "etcd_backup_offhost_mode": "none", "etcd_backup_offhost_target": "",
               "etcd_backup_offhost_command": "", "etcd_backup_client": "backup",
               "etcd_pki_member_clients": ["healthcheck-client", "backup"], "__calendar_check": {"rc": 0}},
}


def check(role, **changes):
    values = dict(GOOD[role])
    values.update(changes)
    return role_input_problems(values, role)


@pytest.mark.parametrize("role", sorted(GOOD))
def test_good_inputs_pass(role):
    assert check(role) == []


def one(problems, *words):
    text = " | ".join(problems)
    assert problems, "nothing refused"
    for w in words:
        assert w in text, text


@pytest.mark.parametrize("role,changes,words", [
    ("common", {"__member_table": []}, ["No etcd members", "'etcd'"]),
    ("common", {"etcd_cluster_name": "prod\n"}, ["etcd_cluster_name must be a letter or digit"]),
    ("common", {"etcd_data_dir": "var/lib"}, ["etcd_data_dir must be an absolute path"]),
    ("common", {"etcd_metrics_port": "2379"}, ["must differ"]),
    ("common", {"etcd_client_port": 70000}, ["etcd_client_port must be a whole number"]),
    ("common", {"__me": dict(TABLE[0], address="10.0.0.1\n")}, ["etcd_member_address must be an IP address or a DNS"]),
    ("common", {"__member_table": TABLE + [dict(TABLE[0], host="h4")]}, ["unique names", "['m1']",
                                                                         "https://10.0.0.1:2380"]),
    ("common", {"__member_table": [dict(TABLE[0], name="m 1")]}, ["letters, digits, '.', '_' and '-' only", "m 1"]),
    ("preflight", {"etcd_preflight_rtt_max_ms": -1}, ["non-negative numbers"]),
    ("preflight", {"etcd_preflight_fio_p99_max_ms": 0}, ["etcd_preflight_fio_p99_max_ms > 0"]),
    ("preflight", {"etcd_preflight_fio_size": "22 MB"}, ["a size such as 22m"]),
    ("preflight", {"etcd_preflight_rtt_port": "x"}, ["etcd_preflight_rtt_port a port"]),
    ("disk", {"etcd_disk_devices": ["/dev/sdb\n"]}, ["etcd_disk_devices must be a /dev/ path"]),
    ("disk", {"etcd_disk_devices": ["/dev/sdb", "/dev/sdb"]}, ["distinct /dev/ paths"]),
    ("disk", {"etcd_disk_fs_label": "a-label-of-13"}, ["at most 12 characters for xfs"]),
    ("disk", {"etcd_disk_mount_options": "noatime;rm"}, ["comma-separated option list"]),
    ("tuning", {"etcd_tuning_sysctl_extra": {"swappiness": 1}}, ["dotted sysctl names", "swappiness"]),
    ("tuning", {"etcd_tuning_sysctl_extra": {"vm.swappiness": "1\nkernel.panic = 1"}},
     ["numbers or plain words on one line", "vm.swappiness"]),
    ("tuning", {"etcd_tuning_sysctl_extra": {"vm.swappiness": True}}, ["numbers or plain words"]),
    ("tuning", {"etcd_tuning_io_devices": ["sdb"]}, ["etcd_tuning_io_devices must be a /dev/ path"]),
    ("firewall", {"__members": ["etcd-1.example"]}, ["needs IP addresses", "of the members must be an IPv4"]),
    ("firewall", {"etcd_firewall_client_networks": ["10.1.2.3/24"]},
     ["etcd_firewall_client_networks must be an IP address or a CIDR network", "etcd_firewall_enabled=false"]),
    ("firewall", {"etcd_firewall_table": "1table"}, ["etcd_firewall_table must be a letter"]),
    ("pki", {"etcd_pki_clients": ["../admin"]}, ["etcd_pki_clients must be a letter or digit"]),
    ("pki", {"etcd_pki_extra_sans": ["etcd.example"]}, ["DNS:name or IP:address, not etcd.example"]),
    ("pki", {"etcd_pki_cert_validity_days": 0}, ["validity days must be more than 0"]),
    ("pki", {"etcd_pki_ca_cert_src": "/nonexistent/ca.crt"}, ["as a pair"]),
    ("pki", {"etcd_pki_ca_cert_src": "/nonexistent/ca.crt", "etcd_pki_ca_key_src": "/nonexistent/ca.key"},
     ["CA file(s) not found on the controller", "/nonexistent/ca.crt, /nonexistent/ca.key"]),
    ("etcd", {"etcd_version": "v3.5"}, ["must be a release number"]),
    ("etcd", {"etcd_version": "3.5.1"}, ["known-bad", "3.5.0-3.5.2"]),
    ("etcd", {"etcd_version": "3.4.23"}, ["not supported", "from 3.5.6 on"]),
    ("etcd", {"etcd_version": "3.8.0"}, ["not supported"]),
    ("etcd", {"etcd_release_sha256": "0" * 64 + "\n"}, ["etcd_release_sha256 must be 64 hex digits"]),
    ("etcd", {"etcd_wal_dir": "wal", "etcd_bin_dir": "/usr/local/my bin"},
     ["etcd_wal_dir must be an absolute path", "etcd_bin_dir must be an absolute path"]),
    ("etcd", {"etcd_release_url": "https://x/a b"}, ["etcd_release_url must be an http"]),
    ("etcd", {"etcd_listen_address": "any"}, ["etcd_listen_address must be an IPv4 or IPv6 address"]),
    ("etcd", {"__me": dict(TABLE[0], address="etcd-1.example.net")},
     ["addressed by the DNS name 'etcd-1.example.net'", "etcd_listen_address"]),
    ("etcd", {"etcd_service_io_scheduling_priority": 8}, ["from 0 to 7"]),
    ("etcd", {"etcd_health_retries": "many"}, ["must be more than 0"]),
    ("etcd", {"__settings": {"name": "m1", "quota-backend-bytes": -5}},
     ["quota-backend-bytes must be 0 or more, not -5", "(set by the etcd_* variable"]),
    ("backup", {"etcd_backup_retention_days": -1}, ["must be 0 or more"]),
    ("backup", {"etcd_backup_retention_days": 0, "etcd_backup_retention_count": 0}, ["snapshots pile up"]),
    ("backup", {"etcd_backup_on_calendar": "  "}, ["systemd calendar expression"]),
    ("backup", {"etcd_backup_dir": "/var/lib/etcd/"}, ["other than / and the data directory"]),
    ("backup", {"etcd_backup_dir": "/"}, ["other than / and the data directory"]),
    ("backup", {"etcd_backup_dir": "/var/backups/etcd'x"}, ["etcd_backup_dir"]),
    ("backup", {"etcd_backup_read_write_paths": ["/srv/a b"], "etcd_backup_textfile_dir": "metrics"},
     ["etcd_backup_read_write_paths must be an absolute path", "etcd_backup_textfile_dir must be an absolute path"]),
    ("backup", {"etcd_backup_offhost_mode": "rsync"}, ["etcd_backup_offhost_mode rsync needs etcd_backup_offhost_target"]),
    ("backup", {"etcd_backup_offhost_mode": "command"}, ["needs etcd_backup_offhost_command"]),
    ("backup", {"etcd_backup_client": "nobody"}, ["'nobody' is not in etcd_pki_member_clients"]),
    ("backup", {"etcd_backup_on_calendar": "*-*-* 25:00:00",
                "__calendar_check": {"rc": 1, "stderr": "Failed to parse calendar specification\nmore"}},
     ["'*-*-* 25:00:00' is not a systemd calendar expression", "systemd-analyze says 'Failed to parse"]),
])
def test_bad_inputs_are_refused_naming_the_variable(role, changes, words):
    one(check(role, **changes), *words)


def test_a_disabled_tuning_role_checks_nothing():
    assert check("tuning", etcd_tuning_enabled=False, etcd_tuning_sysctl_extra={"bad": "x\n"}) == []


def test_unknown_role_and_missing_variable_fail_loudly():
    with pytest.raises(AnsibleFilterError, match="unknown role"):
        role_input_problems({}, "nosuch")
    with pytest.raises(AnsibleFilterError, match="etcd_preflight_rtt_port"):
        role_input_problems({k: v for k, v in GOOD["preflight"].items() if k != "etcd_preflight_rtt_port"}, "preflight")
    with pytest.raises(AnsibleFilterError, match="dict"):
        role_input_problems([], "etcd")
