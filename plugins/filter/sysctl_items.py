# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel settings as quorum.etcd.files items: each running value under /proc/sys, and the sysctl file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: sysctl_items
short_description: Kernel settings as items of quorum.etcd.files, now and at boot
version_added: 0.3.0
description:
  - One item per setting, its running value under C(/proc/sys) (written in place, as sysctl does, and compared as
    the kernel shows it - multi-value settings separated by tabs, one newline at the end), then one item for the
    sysctl file that sets them at boot (one C(key=value) line per setting, in order, owned by root, mode 0644).
  - The tuning role writes them with one M(quorum.etcd.files) call, so a rerun after one setting drifted at run
    time writes that one value.
options:
  _input:
    description: The settings, C(key) to value (for example C(vm.swappiness) to 1).
    type: dict
    required: true
  sysctl_file:
    description: The sysctl file, for example C(/etc/sysctl.d/90-quorum-etcd.conf).
    type: path
    required: true
"""

EXAMPLES = r"""
__etcd_tuning_items: "{{ {'vm.swappiness': 1} | quorum.etcd.sysctl_items('/etc/sysctl.d/90-quorum-etcd.conf') }}"
# [{'dest': '/proc/sys/vm/swappiness', 'content': '1\n', 'atomic': False},
#  {'dest': '/etc/sysctl.d/90-quorum-etcd.conf', 'content': 'vm.swappiness=1\n', 'owner': 'root', ...}]
"""

RETURN = r"""
_value:
  description: Items for M(quorum.etcd.files) - C(dest), C(content), and C(atomic) false for the running values.
  type: list
  elements: dict
"""

import re

from ansible.errors import AnsibleFilterError

_KEY = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$")


def _text(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def sysctl_items(settings, sysctl_file):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("sysctl_items: the settings must be a dict, not %r" % (settings,))
    items, lines = [], []
    for key, value in settings.items():
        if not _KEY.match(str(key)):
            raise AnsibleFilterError("sysctl_items: %r is not a kernel setting name (such as vm.swappiness)" % (key,))
        text = _text(value)
        items.append({"dest": "/proc/sys/" + key.replace(".", "/"), "content": "\t".join(text.split()) + "\n",
                      "atomic": False})
        lines.append("%s=%s\n" % (key, text))
    items.append({"dest": sysctl_file, "content": "".join(lines), "owner": "root", "group": "root", "mode": "0644"})
    return items


class FilterModule(object):
    def filters(self):
        return {"sysctl_items": sysctl_items}
