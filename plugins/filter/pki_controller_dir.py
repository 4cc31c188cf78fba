# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The default controller PKI directory: tied to the inventory, not to who runs Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pki_controller_dir
short_description: Default controller directory of a cluster's CA and certificates
version_added: 0.3.0
description:
  - Returns C(INVENTORY_DIR/.quorum-etcd/CLUSTER/pki), where C(INVENTORY_DIR) is the first inventory source (its
    directory when it is a file). The CA then does not depend on the user, C(HOME) or C(sudo) of the run.
  - A CA kept at the location of earlier releases (C(~/.quorum-etcd/CLUSTER/pki)) is used while the inventory
    location holds none, so existing clusters keep their CA; move the directory and the old one is no longer read.
options:
  _input:
    description: The inventory sources (the magic variable C(ansible_inventory_sources)).
    type: list
    elements: str
    required: true
  cluster:
    description: The cluster name (C(etcd_cluster_name)).
    type: str
    required: true
  home:
    description: The home directory of earlier releases' default; defaults to C(HOME) of the controller process.
    type: str
"""

EXAMPLES = r"""
etcd_pki_controller_dir: "{{ ansible_inventory_sources | quorum.etcd.pki_controller_dir(etcd_cluster_name) }}"
"""

RETURN = r"""
_value:
  description: Absolute path of the controller PKI directory.
  type: str
"""

import os

from ansible.errors import AnsibleFilterError


def pki_controller_dir(sources, cluster, home=None):
    if not sources:
        raise AnsibleFilterError("pki_controller_dir: no inventory source; set etcd_pki_controller_dir")
    first = os.path.abspath(os.path.expanduser(str(sources[0])))
    base = first if os.path.isdir(first) else os.path.dirname(first)
    wanted = os.path.join(base, ".quorum-etcd", cluster, "pki")
    legacy = os.path.join(home if home is not None else os.environ.get("HOME", "/root"), ".quorum-etcd", cluster, "pki")
    if not os.path.isfile(os.path.join(wanted, "ca.crt")) and os.path.isfile(os.path.join(legacy, "ca.crt")):
        return legacy
    return wanted


class FilterModule(object):
    def filters(self):
        return {"pki_controller_dir": pki_controller_dir}
