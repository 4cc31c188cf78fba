# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The member table: who the members are and how they are reached, in inventory order.

- member_table: one entry per member (name, address, peer and client URLs).
- member_hosts: the hosts a play over the members runs on (the group's hosts, else the controller), for the hosts
  line of playbooks/validate.yml. That line is templated by the controller's main process, so using a filter of
  this collection there loads the collection's filters once in that process: the worker processes it forks for each
  task and host inherit them, instead of each loading them again (about 0.1 s per task).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: member_table
short_description: The etcd members of the inventory, with their names, addresses and URLs
version_added: 0.3.0
description:
  - One entry per member host, in inventory order - C(host) (inventory name), C(name) (C(etcd_member_name), else the
    inventory name), C(address) (C(etcd_member_address), else C(ansible_host), else the inventory name),
    C(peer_url) and C(client_url) (C(https://ADDRESS:PORT), an IPv6 address in brackets).
  - The C(_common) role derives C(__etcd_member_table) with it; every role reads that.
  - The companion filter C(member_hosts) (same file) gives the hosts of a play over the members, the group's hosts or
    a fallback (C(localhost)) when the group is empty or missing.
options:
  _input:
    description: The member hosts (C(groups[etcd_cluster_group])).
    type: list
    elements: str
    required: true
  hostvars:
    description: The magic variable C(hostvars) (each member's C(etcd_member_name), C(etcd_member_address), C(ansible_host)).
    type: dict
    required: true
  peer_port:
    description: C(etcd_peer_port).
    type: int
    required: true
  client_port:
    description: C(etcd_client_port).
    type: int
    required: true
"""

EXAMPLES = r"""
__etcd_member_table: "{{ groups[etcd_cluster_group] | default([]) | quorum.etcd.member_table(hostvars, etcd_peer_port, etcd_client_port) }}"
"""

RETURN = r"""
_value:
  description: The members, each C(host), C(name), C(address), C(peer_url), C(client_url).
  type: list
  elements: dict
"""

_UNSET = object()


def _var(hostvars, host, name):
    """A host's variable, or _UNSET when it is not set (or null). A variable whose template fails (names an
    undefined variable) is an inventory error and is not hidden."""
    try:
        value = hostvars[host][name]
    except KeyError:
        return _UNSET
    if value is None or type(value).__name__.endswith("Undefined"):
        return _UNSET
    return value


def url_host(address):
    """An address as the host part of a URL: IPv6 in brackets."""
    return "[%s]" % address if ":" in address else address


def member_table(hosts, hostvars, peer_port, client_port):
    table = []
    for host in hosts or []:
        name = _var(hostvars, host, "etcd_member_name")
        address = _var(hostvars, host, "etcd_member_address")
        if address is _UNSET:
            address = _var(hostvars, host, "ansible_host")
        address = str(host if address is _UNSET else address)
        table.append({
            "host": host,
            "name": str(host if name is _UNSET else name),
            "address": address,
            "peer_url": "https://%s:%s" % (url_host(address), peer_port),
            "client_url": "https://%s:%s" % (url_host(address), client_port),
        })
    return table


def member_hosts(groups, group, fallback=None):
    """The hosts of ``group`` in inventory order, or ``fallback`` (``['localhost']``) when the group is missing or
    empty: the validation play then runs on the controller, where the member-list check refuses the run."""
    hosts = list((groups or {}).get(group) or [])
    return hosts or list(fallback if fallback is not None else ["localhost"])


class FilterModule(object):
    def filters(self):
        return {"member_table": member_table, "member_hosts": member_hosts}
