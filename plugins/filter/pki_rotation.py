# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a CA rotation stands, read from the controller PKI directory (pki_rotation_state), and which phases
rotate_ca.yml runs (pki_rotation_phases). Read-only; the work is plugins/module_utils/_pki.py, the changes the action
quorum.etcd.etcd_pki_ca. Documentation beside this file (NAME.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.module_utils import _pki


def pki_rotation_state(controller_dir):
    try:
        return _pki.rotation_state(str(controller_dir))
    except _pki.PkiError as e:
        raise AnsibleFilterError(str(e))


def pki_rotation_phases(requested, phase):
    try:
        return _pki.phases_to_run(str(requested), str(phase or ""))
    except _pki.PkiError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {"pki_rotation_state": pki_rotation_state, "pki_rotation_phases": pki_rotation_phases}
