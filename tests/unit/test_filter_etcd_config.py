"""The version-aware configuration: what etcd 3.5, 3.6 and 3.7 members get from the same settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config, to_nanoseconds

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


@pytest.mark.parametrize("version,series", [("3.5.30", "3.5"), ("3.6.5", "3.6"), ("3.7.1", "3.7")])
def test_role_template_renders_for_each_series(tmp_path, version, series):
    """Render the etcd role's real config template through Ansible for each series and read it back."""
    out = tmp_path / "etcd.conf.yml"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  vars_files:
    - {REPO}/roles/_common/defaults/main.yml
    - {REPO}/roles/etcd/defaults/main.yml
    - {REPO}/roles/etcd/vars/main.yml
  tasks:
    - ansible.builtin.template:
        src: "{REPO}/roles/etcd/templates/etcd.conf.yml.j2"
        dest: "{out}"
        mode: "0600"
"""
    )
    extra = {
        "etcd_version": version,
        "__etcd_cert_digest": "test",
        "__etcd_restart_digest": "test",
        "__etcd_me": {"name": "m1", "address": "10.0.0.1", "peer_url": "https://10.0.0.1:2380",
                      "client_url": "https://10.0.0.1:2379"},
        "__etcd_initial_cluster": "m1=https://10.0.0.1:2380",
        "ansible_python_interpreter": sys.executable,
    }
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".lab", "collections")
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", json.dumps(extra), str(playbook)],
        env=env, cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = yaml.safe_load(out.read_text())
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
