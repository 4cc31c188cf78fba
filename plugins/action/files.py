# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller half of quorum.etcd.files: renders the items' templates and reads their controller files (from the
calling role's templates/ and files/, like ansible.builtin.template and copy), then runs the module of the same name
once with every item's content (base64, a no_log option: secrets stay out of logs and the host's journal)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase

_ITEM_KEYS = frozenset(('dest', 'state', 'template', 'content', 'src', 'owner', 'group', 'mode', 'secret', 'validate',
                        'force', 'atomic'))


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('items', 'owner', 'group'))

    def _render(self, path, task_vars):
        """A template rendered like the template lookup (and the template module) render it."""
        lookup = self._shared_loader_obj.lookup_loader.get('ansible.builtin.template', loader=self._loader,
                                                           templar=self._templar)
        variables = dict(task_vars)
        variables.setdefault('ansible_search_path', self._task.get_search_path())
        return lookup.run([path], variables=variables)[0]

    def _item(self, index, raw, task_vars):
        if not isinstance(raw, dict):
            raise AnsibleActionFail('items[%d] must be a dict, not %r' % (index, raw))
        unknown = sorted(set(raw) - _ITEM_KEYS)
        if unknown:
            raise AnsibleActionFail('items[%d]: unknown keys %s' % (index, ', '.join(unknown)))
        dest = raw.get('dest')
        if not isinstance(dest, string_types) or not dest.startswith('/'):
            raise AnsibleActionFail('items[%d]: dest must be an absolute path, not %r' % (index, dest))
        item = dict((k, v) for k, v in raw.items() if k not in ('template', 'content', 'src') and v is not None)
        state = raw.get('state') or 'file'
        sources = [k for k in ('template', 'content', 'src') if raw.get(k) is not None]
        if state == 'link':
            if sources != ['src']:
                raise AnsibleActionFail('%s: a link takes src (its target) and no template or content' % dest)
            item['src'] = raw['src']
            return item
        if state == 'directory':
            if sources:
                raise AnsibleActionFail('%s: a directory takes no template, content or src' % dest)
            return item
        if len(sources) > 1:
            raise AnsibleActionFail('%s: template, content and src are mutually exclusive' % dest)
        if not sources:
            return item  # a file that must exist; only its owner, group and mode are managed
        try:
            if sources[0] == 'template':
                data = to_bytes(self._render(self._find_needle('templates', raw['template']), task_vars),
                                errors='surrogate_or_strict')
            elif sources[0] == 'src':
                with open(to_bytes(self._find_needle('files', raw['src']), errors='surrogate_or_strict'), 'rb') as f:
                    data = f.read()
            else:
                data = to_bytes(raw['content'], errors='surrogate_or_strict')
        except AnsibleError as e:
            raise AnsibleActionFail('%s: %s' % (dest, to_text(e)))
        except (IOError, OSError) as e:
            raise AnsibleActionFail('%s: cannot read %s: %s' % (dest, raw.get('src'), to_text(e)))
        item['content_base64'] = to_text(base64.b64encode(data))
        return item

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = dict()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        items = self._task.args.get('items')
        if not isinstance(items, list):
            raise AnsibleActionFail('items must be a list of dicts')
        module_args = dict((k, v) for k, v in self._task.args.items() if k != 'items' and v is not None)
        module_args['items'] = [self._item(i, raw, task_vars) for i, raw in enumerate(items)]

        module_result = self._execute_module(module_name='quorum.etcd.files', module_args=module_args,
                                             task_vars=task_vars)
        # The module's invocation repeats every item's content (masked, but long): keep it out of the output.
        module_result.pop('invocation', None)
        result.update(module_result)
        return result
