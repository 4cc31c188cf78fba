# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Key reads shared by etcd_key and etcd_key_info (client + result format); private."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdError
from ansible_collections.quorum.etcd.plugins.module_utils._cluster import fail_on_error

# What a value is shown as with hide_value=true.
MASK = 'VALUE_HIDDEN'


class KeyValues(object):
    """Reads keys for a module and turns them into results, masking the values with ``hide_value``.

    A masked value is also added to the module's ``no_log_values``, so Ansible hides it wherever
    else it shows up in the output.
    """

    def __init__(self, module, client, hide_value=False):
        self.module = module
        self.client = client
        self.hide_value = hide_value

    def text(self, value):
        """A value (bytes) as text for the results: None stays None, MASK with hide_value."""
        if value is None:
            return None
        t = to_text(value, errors='surrogate_then_replace')
        if self.hide_value:
            if t:
                self.module.no_log_values.add(t)
            return MASK
        return t

    def kv_out(self, kv, with_value=True):
        """One key of a range or delete answer as a result item (RV kvs)."""
        item = dict(key=to_text(kv['key'], errors='surrogate_then_replace'), create_revision=kv['create_revision'],
                    mod_revision=kv['mod_revision'], version=kv['version'], lease=kv['lease'])
        if with_value:
            item['value'] = self.text(kv['value'])
        return item

    def read(self, key, prefix=False, keys_only=False):
        """Read ``key`` (all keys under it with ``prefix``); fails the module when etcd cannot be read.

        Returns the keys as the client decoded them, and the result values both modules return:
        changed, exists, count, kvs, value (of the one key; None with prefix or keys_only) and revision.
        """
        try:
            found = self.client.range(key, prefix=prefix, keys_only=keys_only)
        except EtcdError as e:
            fail_on_error(self.module, e, prefix='cannot read %s' % key)
        kvs = found['kvs']
        result = dict(changed=False, exists=bool(kvs), count=found['count'], revision=found['revision'],
                      kvs=[self.kv_out(kv, with_value=not keys_only) for kv in kvs], value=None)
        if kvs and not prefix and not keys_only:
            result['value'] = self.text(kvs[0]['value'])
        return kvs, result
