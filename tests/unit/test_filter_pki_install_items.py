"""quorum.etcd.pki_install_items: a certificate generation written completely before it is made live."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.pki_install_items import pki_install_items

FILES = [
    {"src": "/pki/ca.crt", "dest": "ca.crt", "path": "/etc/etcd/pki/ca.crt", "mode": "0644"},
    {"src": "/pki/members/m1/server.crt", "dest": "server.crt", "path": "/etc/etcd/pki/server.crt", "mode": "0644"},
    {"src": "/pki/members/m1/server.key", "dest": "server.key", "path": "/etc/etcd/pki/server.key", "mode": "0600"},
]


def test_a_new_generation_is_complete_before_live_switches_then_the_paths_link_into_live():
    items = pki_install_items(FILES, "/etc/etcd/pki", "ab12", True, "etcd", "etcd")
    dests = [i["dest"] for i in items]
    assert dests == [
        "/etc/etcd/pki", "/etc/etcd/pki/generations", "/etc/etcd/pki/generations/ab12",
        "/etc/etcd/pki/generations/ab12/ca.crt", "/etc/etcd/pki/generations/ab12/server.crt",
        "/etc/etcd/pki/generations/ab12/server.key", "/etc/etcd/pki/generations/ab12/generation-ab12",
        "/etc/etcd/pki/live",
        "/etc/etcd/pki/ca.crt", "/etc/etcd/pki/server.crt", "/etc/etcd/pki/server.key",
    ]
    key = items[5]
    assert key == {"dest": "/etc/etcd/pki/generations/ab12/server.key", "src": "/pki/members/m1/server.key",
                   "owner": "etcd", "group": "etcd", "mode": "0600", "secret": True}
    assert items[3]["secret"] is False
    assert items[6]["content"] == "ab12\n"
    assert items[7] == {"dest": "/etc/etcd/pki/live", "state": "link", "src": "generations/ab12"}
    assert items[8] == {"dest": "/etc/etcd/pki/ca.crt", "state": "link", "src": "live/ca.crt"}
    assert items[0] == {"dest": "/etc/etcd/pki", "state": "directory", "owner": "root", "group": "etcd", "mode": "0750"}


def test_the_live_generation_only_gets_its_directory_and_links():
    items = pki_install_items(FILES, "/etc/etcd/pki", "ab12", False, "etcd", "etcd")
    assert [i["dest"] for i in items] == ["/etc/etcd/pki", "/etc/etcd/pki/ca.crt", "/etc/etcd/pki/server.crt",
                                          "/etc/etcd/pki/server.key"]


def test_a_generation_id_that_is_not_hexadecimal_is_refused():
    with pytest.raises(AnsibleFilterError, match="hexadecimal"):
        pki_install_items(FILES, "/etc/etcd/pki", "../x", True, "etcd", "etcd")


LINKS = [f["path"] for f in FILES]
RIGHT = {"owner": "root", "group": "etcd", "mode": "0750"}


def test_given_the_members_view_nothing_is_written_when_nothing_is_due():
    installed = {"dir": RIGHT, "live": "ab12", "generations": ["ab12"], "links": LINKS}
    assert pki_install_items(FILES, "/etc/etcd/pki", "ab12", installed, "etcd", "etcd") == []


@pytest.mark.parametrize("installed,new", [
    ({"dir": None, "live": "", "generations": [], "links": []}, True),  # a first install
    ({"dir": RIGHT, "live": "0f0f", "generations": ["0f0f"], "links": LINKS}, True),  # another generation is live
    ({"dir": RIGHT, "live": "ab12", "generations": ["ab12"], "links": LINKS[:2]}, False),  # a flat file left
    ({"dir": dict(RIGHT, mode="0755"), "live": "ab12", "generations": ["ab12"], "links": LINKS}, False),
])
def test_given_the_members_view_what_is_due_is_written(installed, new):
    items = pki_install_items(FILES, "/etc/etcd/pki", "ab12", installed, "etcd", "etcd")
    assert items == pki_install_items(FILES, "/etc/etcd/pki", "ab12", new, "etcd", "etcd")
