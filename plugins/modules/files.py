#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: files
short_description: Write files, directories and links only where they differ, in one remote call
version_added: 0.1.0
description:
  - Takes a list of wanted files (from a template, a string or a controller file), directories and symbolic links,
    compares each with what the host has (type, content by SHA-1, link target, owner, group, mode) and writes only
    what differs. A run with nothing to change costs one remote call, whatever the number of items.
  - Templates and controller files are read on the controller by the action plugin of the same name, like
    M(ansible.builtin.template) and M(ansible.builtin.copy) do (from the role's C(templates/) and C(files/)
    directories), and sent with the module's single call.
  - Every item is compared before anything is written; an item that cannot be done (a directory where a file is
    wanted, an unknown owner, a file that must exist and does not) fails the task with nothing written.
  - Items are then written in their order. A file is written to a temporary file in its directory, with its mode and
    owner set and validated (O(items[].validate)), then renamed over the old one, so readers see the old file or
    the new one, never a partial one. When only the owner, group or mode differ, they are changed in place.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff]
attributes:
  check_mode:
    details: Reports what would change (RV(changed_paths), RV(results)) without writing anything.
  diff_mode:
    details:
      - Shows the old and new content of text files (not of secret items, not above 100 KiB) and the old and new
        type, owner, group, mode or link target.
options:
  items:
    description:
      - What the host should have, in the order it is written (a directory before the files in it).
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path on the host.
        type: path
        required: true
      state:
        description:
          - V(file) a regular file with the content of O(items[].template), O(items[].content) or O(items[].src).
            Without any of them the file must exist (it is not created; the task fails when it is missing, before
            anything is written; in check mode it warns), a link to it is followed, and only its owner, group and
            mode are managed.
          - V(directory) a directory (missing parents are created). A link to a directory serves as the directory.
          - V(link) a symbolic link to O(items[].src). A file or link at O(items[].dest) is replaced by one rename;
            a directory is never replaced.
        type: str
        choices: [file, directory, link]
        default: file
      template:
        description:
          - A Jinja2 template, found like M(ansible.builtin.template)'s C(src) (the role's C(templates/) directory
            first) and rendered on the controller with the task's variables.
          - Mutually exclusive with O(items[].content) and O(items[].src).
        type: str
      content:
        description:
          - The content of the file, as a string. Mutually exclusive with O(items[].template) and O(items[].src).
        type: str
      src:
        description:
          - For a file, a file on the controller, found like M(ansible.builtin.copy)'s C(src) (the role's C(files/)
            directory first), copied byte for byte.
          - For a link, the target of the link (written as given).
        type: str
      content_base64:
        description:
          - Set by the action plugin (the content it rendered or read, base64-encoded); not to be set in a task.
        type: str
      owner:
        description: Owner (name or number). Unset, the owner of an existing file is kept (new ones get the writer's).
        type: str
      group:
        description: Group (name or number). Unset, the group of an existing file is kept.
        type: str
      mode:
        description:
          - Permissions as an octal number, quoted (V('0644')). Unset, the mode of an existing file is kept and a new
            file gets the umask's. Not for links.
        type: raw
      secret:
        description:
          - The content is never shown, neither in the diff nor in the results (keys, credentials).
        type: bool
        default: false
      validate:
        description:
          - A command run on the temporary file before it replaces O(items[].dest) (C(%s) is its path); when it
            fails, the file is not written and the task fails. Not run in check mode.
          - Without C(%s) the command is run as it is, still before the file is written.
        type: str
      force:
        description:
          - V(false) creates the file, directory or link only when nothing is at O(items[].dest), and leaves what is
            there as it is (for example a directory another package owns).
        type: bool
        default: true
      atomic:
        description:
          - V(false) writes a file in place (open, truncate, write) instead of through a temporary file and a rename,
            for kernel files such as C(/proc/sys/...) that cannot be replaced.
        type: bool
        default: true
  owner:
    description: Default owner of the items that do not set O(items[].owner).
    type: str
  group:
    description: Default group of the items that do not set O(items[].group).
    type: str
notes:
  - SELinux contexts and file attributes other than owner, group and mode are not managed.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
'''

EXAMPLES = r'''
- name: Write the configuration, its directory and a link to it
  quorum.etcd.files:
    owner: root
    group: root
    items:
      - {dest: /etc/example, state: directory, mode: "0755"}
      - {dest: /etc/example/example.conf, template: example.conf.j2, mode: "0644"}
      - {dest: /etc/example/current.conf, state: link, src: example.conf}
      - {dest: /etc/example/token, content: "{{ example_token }}", mode: "0600", secret: true}
      - {dest: /etc/nftables.d/example.nft, template: example.nft.j2, mode: "0644", validate: /usr/sbin/nft -c -f %s}
  register: example_files_result

- name: Reload the service when its configuration changed
  ansible.builtin.systemd_service:
    name: example.service
    state: reloaded
  when: "'/etc/example/example.conf' in example_files_result.changed_paths"
'''

RETURN = r'''
changed_paths:
  description: The items' O(items[].dest) that were written (in check mode, that would be written), in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/example/example.conf]
results:
  description: One entry per item, in order (never the content).
  returned: always
  type: list
  elements: dict
  contains:
    dest:
      description: The item's path.
      type: str
    state:
      description: The item's wanted type.
      type: str
    before_state:
      description: What was there before (V(absent), V(file), V(directory), V(link) or V(other)).
      type: str
    changed:
      description: Whether the item was (or would be) written or changed.
      type: bool
    reasons:
      description: What differed, for example C(missing), C(content differs), C(mode is 0600, wanted 0644).
      type: list
      elements: str
  sample:
    - {dest: /etc/example/example.conf, state: file, before_state: file, changed: true, reasons: [content differs]}
'''

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.quorum.etcd.plugins.module_utils._files import FilesError, apply

ITEM_OPTIONS = dict(
    dest=dict(type='path', required=True),
    state=dict(type='str', choices=['file', 'directory', 'link'], default='file'),
    template=dict(type='str'),
    content=dict(type='str'),
    src=dict(type='str'),
    content_base64=dict(type='str', no_log=True),
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw'),
    secret=dict(type='bool', default=False),
    validate=dict(type='str'),
    force=dict(type='bool', default=True),
    atomic=dict(type='bool', default=True),
)


def normalise(params):
    """The items as _files.apply takes them: content as bytes (None for a file without content), top-level owner
    and group defaults applied. Raises FilesError for an item the action plugin should have refused."""
    items = []
    for raw in params['items']:
        item = dict(raw)
        state = item['state']
        if item.get('template') is not None:
            raise FilesError('%s: templates are rendered by the action plugin quorum.etcd.files' % item['dest'])
        if item.get('content_base64') is not None:
            item['content'] = base64.b64decode(item.pop('content_base64'))
        elif item.get('content') is not None:
            item['content'] = to_bytes(item['content'], errors='surrogate_or_strict')
        if state == 'link':
            if not item.get('src') or item.get('content') is not None:
                raise FilesError('%s: a link needs src (its target) and no content' % item['dest'])
        elif state == 'directory':
            if item.get('content') is not None or item.get('src'):
                raise FilesError('%s: a directory takes no content or src' % item['dest'])
        elif item.get('src') and item.get('content') is None:
            raise FilesError('%s: src files are read by the action plugin quorum.etcd.files' % item['dest'])
        for key in ('owner', 'group'):
            if item.get(key) is None:
                item[key] = params.get(key)
        items.append(item)
    return items


def main():
    module = AnsibleModule(
        argument_spec=dict(
            items=dict(type='list', elements='dict', required=True, options=ITEM_OPTIONS),
            owner=dict(type='str'),
            group=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    try:
        items = normalise(module.params)
        results, changed_paths, diff, warnings = apply(items, check_mode=module.check_mode, diff_mode=module._diff,
                                                       run_command=module.run_command)
    except FilesError as e:
        module.fail_json(msg=to_native(e), changed=bool(e.written), changed_paths=e.written)
    except OSError as e:
        module.fail_json(msg=to_native(e), changed=False, changed_paths=[])
    for warning in warnings:
        module.warn(warning)
    out = dict(changed=bool(changed_paths), changed_paths=changed_paths, results=results)
    if module._diff:
        out['diff'] = diff
    module.exit_json(**out)


if __name__ == '__main__':
    main()
