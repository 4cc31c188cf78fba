"""quorum.etcd.sysctl_items: the tuning role's kernel settings as quorum.etcd.files items."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.sysctl_items import sysctl_items

FILE = "/etc/sysctl.d/90-quorum-etcd.conf"


def test_running_values_first_then_the_file_in_order():
    items = sysctl_items({"vm.swappiness": 1, "net.ipv4.ip_local_port_range": "1024 65000",
                          "net.ipv4.conf.all.rp_filter": True}, FILE)
    assert items[:3] == [
        {"dest": "/proc/sys/vm/swappiness", "content": "1\n", "atomic": False},
        # /proc/sys shows the values of a multi-value setting separated by a tab
        {"dest": "/proc/sys/net/ipv4/ip_local_port_range", "content": "1024\t65000\n", "atomic": False},
        {"dest": "/proc/sys/net/ipv4/conf/all/rp_filter", "content": "1\n", "atomic": False},
    ]
    # the file as ansible.posix.sysctl wrote it in earlier releases: an existing one is kept as it is
    assert items[3] == {"dest": FILE, "owner": "root", "group": "root", "mode": "0644",
                        "content": "vm.swappiness=1\nnet.ipv4.ip_local_port_range=1024 65000\n"
                                   "net.ipv4.conf.all.rp_filter=1\n"}


def test_no_settings_is_an_empty_file():
    assert sysctl_items({}, FILE) == [{"dest": FILE, "content": "", "owner": "root", "group": "root", "mode": "0644"}]


@pytest.mark.parametrize("key", ["swappiness", "../../etc/passwd", "vm.swap piness", "vm/swappiness"])
def test_a_name_that_is_not_a_setting_is_refused(key):
    with pytest.raises(AnsibleFilterError, match="not a kernel setting"):
        sysctl_items({key: 1}, FILE)
