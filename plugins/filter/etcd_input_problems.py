# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shape checks of input values, as messages that name the variable.

Patterns are anchored with ``\\Z``: Python's ``$`` (and Ansible's ``match`` test with ``^...$``) also accepts a trailing
newline, which would then reach a unit file, a shell command or etcd's configuration.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_input_problems
short_description: Check input values for a kind (path, name, address, network, device, url) and say what is wrong
version_added: 0.1.0
description:
  - Takes a dict of variable name to value (a list value has each element checked) and returns one message
    per value that is not of the kind, naming the variable and the value.
  - C(path) is an absolute path of letters, digits and C(. _ - + @ /), without C(..) components (safe to put into a unit
    file or a shell command, quoted or not). Empty values are skipped for kinds other than C(name).
  - C(name) is a letter or digit followed by letters, digits, C(. _ -).
  - C(address) is an IPv4 or IPv6 address or a DNS name. C(ip) is an IPv4 or IPv6 address.
  - C(network) is an IPv4 or IPv6 address or network in CIDR form without host bits.
  - C(device) is a C(/dev/) path. C(url) is an C(http), C(https) or C(file) URL without blanks or quotes.
  - C(port) is a whole number from 1 to 65535.
options:
  _input:
    description: Variable name to value (or list of values).
    type: dict
    required: true
  kind:
    description: What the values must be.
    type: str
    required: true
    choices: [path, name, address, ip, network, device, url, port]
"""

EXAMPLES = r"""
- name: Refuse unsafe paths
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
  vars:
    __problems: "{{ {'etcd_data_dir': etcd_data_dir} | quorum.etcd.etcd_input_problems('path') }}"
"""

RETURN = r"""
_value:
  description: One message per value that is not of the kind; empty when all are.
  type: list
  elements: str
"""

import ipaddress
import re

from ansible.errors import AnsibleFilterError

_PATH = re.compile(r"/[A-Za-z0-9._+@/-]*\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_DNS = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z")
_DEVICE = re.compile(r"/dev/[A-Za-z0-9._:+@/-]+\Z")
_URL = re.compile(r"(https?|file)://[^\s'\"\\`$]+\Z")

_EXPECTED = {
    "path": "an absolute path of letters, digits and . _ - + @ / without .. components",
    "name": "a letter or digit followed by letters, digits, '.', '_' or '-'",
    "address": "an IP address or a DNS name",
    "ip": "an IPv4 or IPv6 address",
    "network": "an IP address or a CIDR network without host bits (such as 10.0.0.0/24)",
    "device": "a /dev/ path",
    "url": "an http://, https:// or file:// URL without blanks or quotes",
    "port": "a whole number from 1 to 65535",
}


def _ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def is_kind(value, kind):
    if kind == "port":
        if isinstance(value, bool):
            return False
        text = str(value)
        return re.match(r"[0-9]{1,5}\Z", text) is not None and 1 <= int(text) <= 65535
    if not isinstance(value, str):
        return False
    if kind == "path":
        return _PATH.match(value) is not None and ".." not in value.split("/")
    if kind == "name":
        return _NAME.match(value) is not None
    if kind == "ip":
        return _ip(value)
    if kind == "address":
        return _ip(value) or (_DNS.match(value) is not None and not re.match(r"[0-9.]+\Z", value))
    if kind == "network":
        try:
            ipaddress.ip_network(value, strict=True)
            return "\n" not in value and value.strip() == value
        except ValueError:
            return False
    if kind == "device":
        return _DEVICE.match(value) is not None and ".." not in value.split("/")
    if kind == "url":
        return _URL.match(value) is not None
    raise AnsibleFilterError("etcd_input_problems: unknown kind '%s'" % kind)


def etcd_input_problems(values, kind):
    if not isinstance(values, dict):
        raise AnsibleFilterError("etcd_input_problems expects a dict of variable name to value")
    if kind not in _EXPECTED:
        raise AnsibleFilterError("etcd_input_problems: unknown kind '%s'" % kind)
    problems = []
    for name, value in values.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if item is None or (item == "" and kind not in ("name", "port")):
                continue
            if not is_kind(item, kind):
                problems.append("%s must be %s, not %r" % (name, _EXPECTED[kind], item))
    return problems


class FilterModule(object):
    def filters(self):
        return {"etcd_input_problems": etcd_input_problems}
