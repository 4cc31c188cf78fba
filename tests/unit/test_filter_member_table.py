"""The member table (plugins/filter/member_table.py): names, addresses and URLs of the members, in inventory order."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.filter.member_table import member_hosts, member_table


class AnsibleUndefinedVariable(Exception):
    """Stands in for Ansible's error on a variable whose template names an undefined one."""


class HostVars(dict):
    """hostvars as the filter sees it: a mapping of hosts to mappings that raise on undefined templates."""

    def __getitem__(self, host):
        return Vars(dict.__getitem__(self, host))


class Vars(dict):
    def __getitem__(self, name):
        value = dict.__getitem__(self, name)
        if value == "{{ undefined_var }}":
            raise AnsibleUndefinedVariable("'undefined_var' is undefined")
        return value


def test_defaults_are_the_inventory_name_and_ansible_host():
    hv = HostVars({"m1": {"ansible_host": "10.0.0.11"}, "m2": {}})
    assert member_table(["m1", "m2"], hv, 2380, 2379) == [
        {"host": "m1", "name": "m1", "address": "10.0.0.11", "peer_url": "https://10.0.0.11:2380",
         "client_url": "https://10.0.0.11:2379"},
        {"host": "m2", "name": "m2", "address": "m2", "peer_url": "https://m2:2380", "client_url": "https://m2:2379"},
    ]


def test_member_name_and_address_win_and_keep_inventory_order():
    hv = HostVars({"b": {"ansible_host": "10.0.0.2", "etcd_member_name": "etcd-b", "etcd_member_address": "b.example"},
                   "a": {"etcd_member_name": 7}})
    table = member_table(["b", "a"], hv, 12380, 12379)
    assert [m["host"] for m in table] == ["b", "a"]
    assert table[0]["name"] == "etcd-b" and table[0]["address"] == "b.example"
    assert table[0]["peer_url"] == "https://b.example:12380" and table[0]["client_url"] == "https://b.example:12379"
    assert table[1]["name"] == "7"  # names are strings


def test_ipv6_addresses_are_bracketed_in_urls():
    hv = HostVars({"m1": {"ansible_host": "fd00::11"}})
    m = member_table(["m1"], hv, 2380, 2379)[0]
    assert m["address"] == "fd00::11"
    assert m["peer_url"] == "https://[fd00::11]:2380" and m["client_url"] == "https://[fd00::11]:2379"


def test_a_null_address_falls_back():
    hv = HostVars({"m1": {"ansible_host": "10.0.0.11", "etcd_member_address": None}})
    assert member_table(["m1"], hv, 2380, 2379)[0]["address"] == "10.0.0.11"


def test_a_variable_naming_an_undefined_one_is_an_error_not_a_default():
    hv = HostVars({"m1": {"ansible_host": "10.0.0.11", "etcd_member_address": "{{ undefined_var }}"}})
    with pytest.raises(AnsibleUndefinedVariable):
        member_table(["m1"], hv, 2380, 2379)


def test_no_members():
    assert member_table([], HostVars(), 2380, 2379) == []
    assert member_table(None, HostVars(), 2380, 2379) == []


def test_member_hosts_are_the_group_or_the_controller():
    groups = {"etcd": ["etcd-2", "etcd-1"], "empty": [], "all": ["etcd-1", "etcd-2"]}
    assert member_hosts(groups, "etcd") == ["etcd-2", "etcd-1"]  # inventory order
    assert member_hosts(groups, "empty") == ["localhost"]
    assert member_hosts(groups, "missing") == ["localhost"]
    assert member_hosts(groups, "missing", []) == []
    assert member_hosts(None, "etcd") == ["localhost"]
