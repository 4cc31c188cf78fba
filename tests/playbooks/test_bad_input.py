"""Bad input is refused on the controller, before any member is touched, with a message that says what to fix.

The inventories point at 127.0.0.1 port 9 (nothing listens): a play that got past validation would fail to
connect, and the tests also check that the member play never started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIRROR = os.path.join(REPO, ".lab", "mirror")
MEMBER_PLAY = "PLAY [Deploy etcd members]"


def run_site(tmp_path, hosts, extra=None, group_vars=None, playbook="site.yml"):
    """Run site.yml (or PLAYBOOK) against HOSTS; EXTRA goes on the command line (-e), GROUP_VARS into
    group_vars/etcd.yml."""
    if group_vars:
        (tmp_path / "group_vars").mkdir(exist_ok=True)
        (tmp_path / "group_vars" / "etcd.yml").write_text(json.dumps(group_vars))
    inv = {
        "etcd": {
            "hosts": hosts,
            "vars": {"ansible_port": 9, "ansible_user": "nobody", "ansible_ssh_common_args": "-o ConnectTimeout=2"},
        },
        "all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}},
    }
    (tmp_path / "hosts.yml").write_text(json.dumps(inv))
    variables = {
        "etcd_release_base_url": "file://" + MIRROR,
        "etcd_download_dir": str(tmp_path / "cache"),
        "etcd_pki_controller_dir": str(tmp_path / "pki"),
    }
    variables.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         "-e", json.dumps(variables), os.path.join(REPO, playbook)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    return proc, proc.stdout + proc.stderr


def three(**per_host):
    hosts = {"m%d" % i: {"ansible_host": "127.0.0.%d" % i} for i in (1, 2, 3)}
    for name, hv in per_host.items():
        hosts[name].update(hv)
    return hosts


def refused(proc, out, *words):
    assert proc.returncode != 0
    assert MEMBER_PLAY not in out, "the member play started"
    for w in words:
        assert w in out, out[-3000:]


def test_no_members(tmp_path):
    refused(*run_site(tmp_path, {}), "No etcd members")


def test_duplicate_names(tmp_path):
    refused(*run_site(tmp_path, three(m2={"etcd_member_name": "m1"})), "unique names", "['m1']")


def test_duplicate_peer_urls(tmp_path):
    refused(*run_site(tmp_path, three(m3={"ansible_host": "127.0.0.1"})), "peer URLs", "https://127.0.0.1:2380")


@pytest.mark.parametrize("version,words", [
    ("3.5.1", ["known-bad", "3.5.0-3.5.2"]),
    ("3.4.23", ["not supported", "3.5.6"]),
    ("3.8.0", ["not supported"]),
    ("v3.5", ["release number"]),
])
def test_bad_versions(tmp_path, version, words):
    refused(*run_site(tmp_path, three(), {"etcd_version": version}), *words)


def test_checksum_mismatch_installs_nothing(tmp_path):
    if not os.path.isdir(MIRROR):
        pytest.skip("no lab mirror (make mirror)")
    proc, out = run_site(tmp_path, three(), {"etcd_release_sha256": "0" * 64})
    refused(proc, out, "checksum")
    assert not list((tmp_path / "cache").glob("*.tar.gz")), "a download that failed its checksum was kept"


def test_missing_ca_files(tmp_path):
    refused(*run_site(tmp_path, three(), {"etcd_pki_ca_cert_src": str(tmp_path / "nope.crt"),
                                          "etcd_pki_ca_key_src": str(tmp_path / "nope.key")}),
            "CA file(s) not found", "nope.crt")


def test_invalid_ca_files(tmp_path):
    (tmp_path / "ca.crt").write_text("not a certificate\n")
    (tmp_path / "ca.key").write_text("not a key\n")
    refused(*run_site(tmp_path, three(), {"etcd_pki_ca_cert_src": str(tmp_path / "ca.crt"),
                                          "etcd_pki_ca_key_src": str(tmp_path / "ca.key")}),
            "not a readable PEM certificate")


def test_ca_without_key(tmp_path):
    refused(*run_site(tmp_path, three(), {"etcd_pki_ca_cert_src": str(tmp_path / "ca.crt")}), "as a pair")


def test_even_member_count_warns(tmp_path):
    hosts = {"m1": {"ansible_host": "127.0.0.1"}, "m2": {"ansible_host": "127.0.0.2"}}
    proc, out = run_site(tmp_path, hosts)
    assert "even count" in out


# Each refusal with the value on the command line and in group_vars/etcd (the members' own variables: the first play
# used to check only localhost's). The words must appear in the message; the member play must not start.
BAD_INPUTS = {
    # argument specifications, reported first and readable (several errors in one message)
    "wrong-type-and-choice": ({"etcd_heartbeat_interval": "abc", "etcd_disk_raid_level": 5, "etcd_client_port": "x"},
                              ["etcd_heartbeat_interval", "unable to convert to int", "role quorum.etcd.etcd",
                               "etcd_client_port", "role quorum.etcd._common",
                               "etcd_disk_raid_level must be one of: 0, 1, 10, got: 5 (role quorum.etcd.disk)"]),
    "negative-quota": ({"etcd_quota_backend_bytes": -1}, ["quota-backend-bytes must be 0 or more"]),
    "misspelled-extra-config-key": ({"etcd_extra_config": {"snapshot-cont": 5000}},
                                    ["snapshot-cont is not a setting etcd 3.5.30 knows"]),
    "heartbeat-above-election": ({"etcd_heartbeat_interval": 1500},
                                 ["election-timeout (1000 ms) must be at least 5 times heartbeat-interval (1500 ms)"]),
    "election-under-5-heartbeats": ({"etcd_heartbeat_interval": "300", "etcd_election_timeout": "1000"},
                                    ["at least 5 times heartbeat-interval (300 ms)"]),
    "retention-in-days": ({"etcd_auto_compaction_retention": "1d"}, ["Go durations have no d"]),
    "unknown-cipher": ({"etcd_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_NO_SUCH"]},
                       ["does not know TLS_NO_SUCH"]),
    # \Z-anchored shapes: a trailing newline used to pass
    "names-and-paths-with-newline": ({"etcd_data_dir": "/var/lib/etcd\n", "etcd_cluster_name": "prod\n"},
                                     ["etcd_data_dir must be an absolute path",
                                      "etcd_cluster_name must be a letter or digit"]),
    "unsafe-etcd-paths": ({"etcd_wal_dir": "wal", "etcd_bin_dir": "/usr/local/my bin"},
                          ["etcd_wal_dir must be an absolute path", "etcd_bin_dir must be an absolute path"]),
    "sha256-with-newline": ({"etcd_release_sha256": "0" * 64 + "\n"}, ["etcd_release_sha256 must be 64 hex digits"]),
    "bad-networks": ({"etcd_firewall_client_networks": ["10.1.2.3/24"],
                      "etcd_firewall_monitoring_networks": ["10.1.2.0/24\n"]},
                     ["etcd_firewall_client_networks must be an IP address or a CIDR network",
                      "etcd_firewall_monitoring_networks must be"]),
    "calendar-systemd-refuses": ({"etcd_backup_on_calendar": "*-*-* 25:00:00"},
                                 ["etcd_backup_on_calendar '*-*-* 25:00:00' is not a systemd calendar expression",
                                  "systemd-analyze says"]),
    "backup-dir-with-quote": ({"etcd_backup_dir": "/var/backups/etcd'x"}, ["etcd_backup_dir"]),
    "backup-unit-paths": ({"etcd_backup_read_write_paths": ["/srv/a b"], "etcd_backup_textfile_dir": "metrics"},
                          ["etcd_backup_read_write_paths must be an absolute path",
                           "etcd_backup_textfile_dir must be an absolute path"]),
    "disk-device-with-newline": ({"etcd_disk_devices": ["/dev/sdb\n"]}, ["etcd_disk_devices must be"]),
    "sysctl-value-with-newline": ({"etcd_tuning_sysctl_extra": {"vm.swappiness": "1\nkernel.panic = 1"}},
                                  ["kernel setting values must be numbers or plain words on one line"]),
    "pki-client-name": ({"etcd_pki_clients": ["../admin"]}, ["etcd_pki_clients must be a letter or digit"]),
}
ONE = {"m1": {"ansible_host": "127.0.0.1"}}


# One member: the checks are the same for each, and a run costs a third.
@pytest.mark.parametrize("where", ["extra_vars", "group_vars"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_refused_before_any_member(tmp_path, case, where):
    if case == "calendar-systemd-refuses" and not os.path.exists("/usr/bin/systemd-analyze"):
        pytest.skip("no systemd-analyze on this controller")
    values, words = BAD_INPUTS[case]
    if where == "extra_vars":
        proc, out = run_site(tmp_path, ONE, values)
    else:
        proc, out = run_site(tmp_path, ONE, group_vars=values)
    refused(proc, out, *words)
    # Readable: the argument-spec check names the variable without dumping the role's whole specification.
    assert "argument_spec_data" not in out


def test_host_var_is_checked_for_its_member(tmp_path):
    """A bad value in one member's host variables is refused too (the first play used to check localhost only)."""
    proc, out = run_site(tmp_path, three(m2={"etcd_quota_backend_bytes": -5}))
    refused(proc, out, "m2: quota-backend-bytes must be 0 or more, not -5")


def test_a_variable_that_cannot_be_templated_is_refused(tmp_path):
    """A role variable naming an undefined variable stops the run with the reason (the argument check of that role
    used to be skipped with an error line only, and the run went on)."""
    proc, out = run_site(tmp_path, three(), group_vars={"etcd_backup_retention_days": "{{ no_such_variable }}"})
    refused(proc, out, "cannot be checked", "no_such_variable")


def test_member_by_dns_name_needs_a_listen_address(tmp_path):
    refused(*run_site(tmp_path, {"m1": {"ansible_host": "etcd-1.example.net"}}, {"etcd_firewall_enabled": False}),
            "addressed by the DNS name 'etcd-1.example.net'", "etcd_listen_address")


def test_member_address_with_newline(tmp_path):
    refused(*run_site(tmp_path, three(m1={"etcd_member_address": "127.0.0.1\n"})),
            "etcd_member_address must be an IP address or a DNS name")


def _cached_archive(tmp_path):
    if not os.path.isdir(MIRROR):
        pytest.skip("no lab mirror (make mirror)")
    name = "etcd-v3.5.30-linux-amd64.tar.gz"
    with open(os.path.join(MIRROR, "v3.5.30", "SHA256SUMS")) as f:
        sha = dict(reversed(line.split()) for line in f if line.strip())[name]
    (tmp_path / "cache").mkdir()
    cached = tmp_path / "cache" / name
    with open(os.path.join(MIRROR, "v3.5.30", name), "rb") as f:
        cached.write_bytes(f.read())
    return cached, sha


def test_given_checksum_is_checked_against_the_cached_archive(tmp_path):
    """A wrong etcd_release_sha256 is refused even when the archive is already cached (it used to pass)."""
    cached, sha = _cached_archive(tmp_path)
    refused(*run_site(tmp_path, ONE, {"etcd_version": "3.5.30", "etcd_release_sha256": "1" * 64}),
            "has sha256 " + sha, "etcd_release_sha256 is " + "1" * 64)
    assert cached.exists(), "the cached archive is reported, not silently replaced"


def test_corrupted_cache_is_refused(tmp_path):
    cached, sha = _cached_archive(tmp_path)
    with open(cached, "r+b") as f:
        f.seek(1000)
        f.write(b"tampered")
    refused(*run_site(tmp_path, ONE, {"etcd_version": "3.5.30", "etcd_release_sha256": sha}),
            "corrupted or replaced")


def test_validation_play_alone_refuses_a_member_variable(tmp_path):
    """playbooks/validate.yml, the play that remove_member, replace_member, dr_restore and backup_now import first:
    a bad value in group_vars/etcd is refused on the controller (no member is contacted: port 9 answers nothing)."""
    proc, out = run_site(tmp_path, three(), group_vars={"etcd_heartbeat_interval": "fast"},
                         playbook="playbooks/validate.yml")
    assert proc.returncode != 0
    assert "etcd_heartbeat_interval" in out, out[-3000:]
    assert "UNREACHABLE" not in out, out[-3000:]
