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
    description: Whether the generation must be written (it is not the live one).
    type: bool
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
    items = [{"dest": pki_dir, "state": "directory", "owner": "root", "group": group, "mode": "0750"}]
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
