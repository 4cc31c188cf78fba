# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A member's certificate generation as quorum.etcd.files items."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pki_install_items
short_description: A member's certificate generation as items of quorum.etcd.files
version_added: 0.3.0
description:
  - The items the pki role writes in one M(quorum.etcd.files) call, in order - the certificate directory; for a new
    generation its directory under C(generations/), each file (certificates C(0644), keys C(0600) as secret items,
    owned by the etcd account), the marker C(generation-ID), then the link C(live) switched to it; last, each named
    path (C(server.crt), ...) as a link into C(live/).
  - Written in that order, a generation is complete before it is live, and the named paths never point to a
    half-written set.
  - Given what the member has (the host probe's C(pki) state as O(new_generation)), it also decides whether anything
    is due - the wanted generation is not live, a named path is not yet a link into C(live/), or the directory's
    owner, group or mode differ - and returns no item when nothing is.
options:
  _input:
    description: The member's files (M(quorum.etcd.pki_member_files#filter) - C(src), C(dest), C(path), C(mode)).
    type: list
    elements: dict
    required: true
  pki_dir:
    description: The certificate directory on the member (C(etcd_pki_dir)).
    type: path
    required: true
  generation:
    description: The wanted generation's id (M(quorum.etcd.pki_generation#filter)).
    type: str
    required: true
  new_generation:
    description:
      - The member's certificate directory as M(quorum.etcd.etcd_host_info) read it (its C(pki) result - C(dir) with
        C(owner), C(group) and C(mode), C(live), C(links)); or a boolean, whether the generation must be written (then
        the items are always returned).
    type: raw
    required: true
  user:
    description: The etcd account, owner of the files.
    type: str
    required: true
  group:
    description: The etcd group.
    type: str
    required: true
"""

EXAMPLES = r"""
__etcd_pki_install_items: >-
  {{ __etcd_pki_member_files | quorum.etcd.pki_install_items(etcd_pki_dir, __etcd_pki_generation, true, 'etcd', 'etcd') }}
"""

RETURN = r"""
_value:
  description: Items for M(quorum.etcd.files).
  type: list
  elements: dict
"""

import posixpath
import re

from ansible.errors import AnsibleFilterError


def pki_install_items(files, pki_dir, generation, new_generation, user, group):
    if not re.match(r"^[0-9a-f]+$", str(generation)):
        raise AnsibleFilterError("pki_install_items: generation %r is not a hexadecimal id" % (generation,))
    directory_item = {"dest": pki_dir, "state": "directory", "owner": "root", "group": group, "mode": "0750"}
    if isinstance(new_generation, dict):
        installed = new_generation
        new_generation = installed.get("live") != generation
        unlinked = [f["path"] for f in files if f["path"] not in (installed.get("links") or [])]
        attributes = dict((k, directory_item[k]) for k in ("owner", "group", "mode"))
        if not new_generation and not unlinked and installed.get("dir") == attributes:
            return []
    items = [directory_item]
    if new_generation:
        directory = posixpath.join(pki_dir, "generations", generation)
        items += [
            {"dest": posixpath.join(pki_dir, "generations"), "state": "directory", "owner": "root", "group": group,
             "mode": "0750"},
            {"dest": directory, "state": "directory", "owner": "root", "group": group, "mode": "0750"},
        ]
        for f in files:
            mode = str(f.get("mode") or "0644")
            items.append({"dest": posixpath.join(directory, f["dest"]), "src": f["src"], "owner": user,
                          "group": group, "mode": mode, "secret": mode == "0600" or f["dest"].endswith(".key")})
        items += [
            {"dest": posixpath.join(directory, "generation-" + generation), "content": generation + "\n",
             "owner": user, "group": group, "mode": "0644"},
            {"dest": posixpath.join(pki_dir, "live"), "state": "link", "src": "generations/" + generation},
        ]
    for f in files:
        items.append({"dest": f["path"], "state": "link", "src": "live/" + posixpath.basename(f["path"])})
    return items


class FilterModule(object):
    def filters(self):
        return {"pki_install_items": pki_install_items}
