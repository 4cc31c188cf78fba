"""quorum.etcd.etcd_input_problems: shapes of paths, names, addresses, networks, devices, URLs and ports."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_input_problems import etcd_input_problems


@pytest.mark.parametrize("kind,good", [
    ("path", ["/var/lib/etcd", "/etc/etcd/pki/", "/opt/etcd-v3.5.30", "/srv/a_b+c@d"]),
    ("name", ["etcd-1", "m1.example", "Etcd_2", "0"]),
    ("address", ["10.0.0.1", "fd00::1", "etcd-1.example.net", "etcd-1"]),
    ("ip", ["10.0.0.1", "::1", "0.0.0.0"]),
    ("network", ["10.0.0.0/24", "10.0.0.5", "fd00::/64", "2001:db8::1"]),
    ("device", ["/dev/sdb", "/dev/disk/by-id/nvme-SAMSUNG_123:0"]),
    ("url", ["https://github.com/etcd-io/etcd/releases/download", "file:///srv/mirror", "http://m/x?y=1"]),
    ("port", [1, 2379, "2380", 65535]),
])
def test_good_values_pass(kind, good):
    assert etcd_input_problems({"v": good}, kind) == []


# A trailing newline passes Python's re.match('^...$'): every pattern here is anchored with \Z.
@pytest.mark.parametrize("kind,bad", [
    ("path", ["/var/lib/etcd\n", "var/lib/etcd", "/var/lib/my etcd", "/var/lib/etcd'", "/var/%i/etcd",
              "/var/lib/../../etc", "/var/$HOME", 5]),
    ("name", ["", "etcd\n", "-etcd", "et cd", "../admin", "a/b"]),
    ("address", ["10.0.0.1\n", "etcd_1.example", "10.0.0.300", "bad host", "-x.example"]),
    ("ip", ["etcd-1", "10.0.0.1\n", "10.0.0.0/24"]),
    ("network", ["10.0.0.5/24", "10.0.0.0/33", "10.0.0.0/24\n", "any", "10.0.0.0/24 "]),
    ("device", ["/dev/sdb\n", "sdb", "/dev/", "/dev/../etc/passwd", "/dev/sd b"]),
    ("url", ["https://x/y z", "ftp://x", "https://x/'", "https://x\n", "https://x/$(id)"]),
    ("port", [0, 65536, "2379\n", "http", True, -1]),
])
def test_bad_values_are_named(kind, bad):
    problems = etcd_input_problems({"etcd_var": bad}, kind)
    assert len(problems) == len(bad), problems
    assert all(p.startswith("etcd_var must be ") for p in problems)


def test_empty_values_are_skipped_except_names():
    assert etcd_input_problems({"etcd_wal_dir": ""}, "path") == []
    assert etcd_input_problems({"etcd_user": ""}, "name") != []


def test_unknown_kind():
    with pytest.raises(AnsibleFilterError):
        etcd_input_problems({"x": "y"}, "colour")
