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


def run_site(tmp_path, hosts, extra=None):
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
         "-e", json.dumps(variables), os.path.join(REPO, "site.yml")],
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
