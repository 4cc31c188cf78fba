# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which controller files differ from what a member has, judged from one ansible.builtin.find result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: files_to_install
short_description: Files whose installed copy is missing or differs
version_added: 0.1.0
description:
  - Compares files on the controller with the result of one M(ansible.builtin.find) run with C(get_checksum=true)
    on the member, and returns those that are missing there or differ in content (SHA-1), mode, owner or group.
  - Lets a role read a directory in one remote call and copy only what changed.
options:
  _input:
    description: List of dicts with C(src) (controller path), C(dest) (file name in O(dest_dir)) and C(mode).
    type: list
    elements: dict
    required: true
  dest_dir:
    description: Directory on the member.
    type: path
    required: true
  installed:
    description: The C(files) list returned by M(ansible.builtin.find).
    type: list
    elements: dict
    required: true
  owner:
    description: Wanted owner name.
    type: str
    required: true
  group:
    description: Wanted group name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Copy only what differs
  ansible.builtin.copy:
    src: "{{ item.src }}"
    dest: "/etc/etcd/pki/{{ item.dest }}"
    mode: "{{ item.mode }}"
  loop: "{{ files | quorum.etcd.files_to_install('/etc/etcd/pki', found.files, 'etcd', 'etcd') }}"
"""

RETURN = r"""
_value:
  description: The input items that must be copied.
  type: list
  elements: dict
"""

import hashlib
import os

from ansible.errors import AnsibleFilterError


def _sha1(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def files_to_install(files, dest_dir, installed, owner, group):
    by_path = dict((f.get("path"), f) for f in installed or [])
    result = []
    for item in files:
        try:
            local = _sha1(item["src"])
        except (IOError, OSError, KeyError) as e:
            raise AnsibleFilterError("files_to_install: cannot read %s: %s" % (item.get("src"), e))
        there = by_path.get(os.path.join(dest_dir, item["dest"]))
        if (
            not there
            or there.get("checksum") != local
            or there.get("mode") != item.get("mode")
            or there.get("pw_name") != owner
            or there.get("gr_name") != group
        ):
            result.append(item)
    return result


class FilterModule(object):
    def filters(self):
        return {"files_to_install": files_to_install}
