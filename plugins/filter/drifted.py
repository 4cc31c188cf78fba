# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which wanted paths differ from what a member has, judged from one ansible.builtin.find result.

The roles read a member's etcd files once (directories, certificates, rendered files: modes, owners, SHA-1) and
call file, copy and template only for what differs. A rerun that has nothing to change then costs one remote call
instead of one per file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: drifted
short_description: Wanted files and directories that are missing or differ on a member
version_added: 0.1.0
description:
  - Compares wanted paths with the C(files) of one M(ansible.builtin.find) result (run with C(get_checksum=true))
    and returns the wanted items that are missing, of another type, or differ in mode, owner, group or content.
  - Content is compared by SHA-1, either of a controller file (C(src)) or of a string (C(content), for example a
    template rendered with P(ansible.builtin.template#lookup)).
options:
  _input:
    description:
      - List of dicts with C(path), C(mode), C(owner), C(group), optional C(state) (V(file), the default, or
        V(directory)) and, for files, C(src) or C(content).
    type: list
    elements: dict
    required: true
  found:
    description: The C(files) list returned by M(ansible.builtin.find).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the configuration only when it differs
  ansible.builtin.template:
    src: etcd.conf.yml.j2
    dest: /etc/etcd/etcd.conf.yml
    mode: "0640"
  when: >-
    [{'path': '/etc/etcd/etcd.conf.yml', 'content': lookup('ansible.builtin.template', 'etcd.conf.yml.j2'),
      'mode': '0640', 'owner': 'root', 'group': 'etcd'}] | quorum.etcd.drifted(found.files) | length > 0
"""

RETURN = r"""
_value:
  description: The wanted items that must be (re)written, each with a C(reason).
  type: list
  elements: dict
"""

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes


def _sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def reason(item, there):
    """Why ``item`` must be written given the find entry ``there`` (None if absent), or None."""
    if not there:
        return "missing"
    state = item.get("state", "file")
    if state == "directory" and not there.get("isdir"):
        return "not a directory"
    if state == "file" and not there.get("isreg"):
        return "not a regular file"
    for key, found_key in (("mode", "mode"), ("owner", "pw_name"), ("group", "gr_name")):
        if item.get(key) is not None and str(item[key]) != str(there.get(found_key)):
            return "%s is %s, wanted %s" % (key, there.get(found_key), item[key])
    if state == "file":
        if "content" in item:
            wanted = hashlib.sha1(to_bytes(item["content"], errors="surrogate_or_strict")).hexdigest()
        elif "src" in item:
            try:
                wanted = _sha1_file(item["src"])
            except (IOError, OSError) as e:
                raise AnsibleFilterError("drifted: cannot read %s: %s" % (item["src"], e))
        else:
            wanted = None
        if wanted is not None and there.get("checksum") != wanted:
            return "content differs"
    return None


def drifted(wanted, found):
    if not isinstance(wanted, list):
        raise AnsibleFilterError("drifted expects a list of dicts")
    by_path = dict((f.get("path"), f) for f in found or [])
    result = []
    for item in wanted:
        why = reason(item, by_path.get(item["path"]))
        if why:
            new = dict(item)
            new.pop("content", None)  # keeps secrets and large text out of loop labels and results
            new["reason"] = why
            result.append(new)
    return result


class FilterModule(object):
    def filters(self):
        return {"drifted": drifted}
