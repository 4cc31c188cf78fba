#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_release
short_description: Unpack the binaries of an etcd release archive into a version directory
version_added: 0.3.0
description:
  - Installs the programs of an etcd release (C(etcd), C(etcdctl), C(etcdutl) and the release's C(README.md) by
    default) from a release archive on the controller into a version directory on the host, for example
    C(/opt/etcd/etcd-v3.5.30). Nothing else of the archive is written.
  - The action plugin of the same name asks the host first; only when a file is missing does it send the archive
    (one transfer), check its SHA-256 on the host, and unpack it there.
  - Each file is written to a temporary file in the version directory and renamed into place, and the last file of
    O(files) is written last. A run interrupted in the middle leaves that file missing, and the next run unpacks
    again. Files that are already there are not compared (a release directory is never changed in place).
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment: [quorum.etcd.attributes, quorum.etcd.attributes.check_and_diff]
attributes:
  check_mode:
    details: Reports the files it would write; the archive is not sent.
  diff_mode:
    details: Lists the files written (or that would be).
options:
  src:
    description:
      - The release archive (C(.tar.gz)) on the controller, whose files sit in one top directory (as etcd's releases
        do); read by the action plugin.
    type: path
    required: true
  dest:
    description: The version directory on the host; created (with its parents) when missing.
    type: path
    required: true
  files:
    description:
      - The files to install, by name under the archive's top directory, in the order they are written.
      - The last one is the marker of a complete installation (write the one a role checks for last).
    type: list
    elements: str
    default: [etcd, etcdctl, README.md, etcdutl]
  sha256:
    description:
      - The archive's expected SHA-256 (hexadecimal), checked on the host after the transfer. Unset, the action
        plugin computes it from O(src) on the controller.
    type: str
  check_first:
    description:
      - Whether the action plugin asks the host which files are missing before it sends the archive. V(false) sends
        it at once, for a caller that already knows a file is missing (the etcd role reads the release directories
        with its host probe); the host still writes only the files that are missing. Check mode always asks first.
    type: bool
    default: true
  archive:
    description: Set by the action plugin (the archive's temporary path on the host); not to be set in a task.
    type: path
notes:
  - Files are owned by root with the permissions the archive gives them (C(0755) for etcd's programs).
seealso:
  - module: ansible.builtin.unarchive
'''

EXAMPLES = r'''
- name: Unpack etcd 3.5.30
  quorum.etcd.etcd_release:
    src: /var/cache/etcd/etcd-v3.5.30-linux-amd64.tar.gz
    dest: /opt/etcd/etcd-v3.5.30
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
'''

RETURN = r'''
missing:
  description: The files of O(files) that were not in O(dest) before the run.
  returned: always
  type: list
  elements: str
  sample: [etcd, etcdctl, README.md, etcdutl]
written:
  description: The paths written (in check mode, that would be written), in order.
  returned: always
  type: list
  elements: str
  sample: [/opt/etcd/etcd-v3.5.30/etcd]
'''

import hashlib
import os
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native


class ReleaseError(Exception):
    pass


def missing_files(dest, files):
    """The names of ``files`` that are not regular files in ``dest``."""
    return [name for name in files if not os.path.isfile(os.path.join(dest, name))]


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name(member):
    """The member's name under the archive's top directory, or None for anything deeper or not a regular file."""
    parts = member.name.strip("/").split("/")
    return parts[1] if len(parts) == 2 and member.isreg() else None


def unpack(archive_path, dest, files, sha256=None):
    """Write ``files`` from the archive into ``dest``: one pass over the compressed stream writes each wanted file to
    a temporary file in ``dest``; then they are renamed into place in the order of ``files`` (the last one last).
    Returns the paths written."""
    if sha256:
        actual = sha256_of(archive_path)
        if actual != sha256.lower():
            raise ReleaseError("the archive's sha256 is %s on the host, expected %s (a damaged transfer?)"
                               % (actual, sha256.lower()))
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o755)
    wanted, temporary = set(files), {}
    try:
        with tarfile.open(archive_path, "r|*") as archive:
            for member in archive:
                name = _name(member)
                if name not in wanted or name in temporary:
                    continue
                source = archive.extractfile(member)
                fd, temporary[name] = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=dest)
                with os.fdopen(fd, "wb") as out:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        out.write(block)
                    out.flush()
                    os.fchmod(out.fileno(), member.mode & 0o755)
                    os.fchown(out.fileno(), 0, 0)
                    os.fsync(out.fileno())
        absent = [name for name in files if name not in temporary]
        if absent:
            raise ReleaseError("the archive has no %s in its top directory" % ", ".join(absent))
        written = []
        for name in files:
            os.rename(temporary[name], os.path.join(dest, name))
            del temporary[name]
            written.append(os.path.join(dest, name))
        return written
    finally:
        for tmp in temporary.values():
            try:
                os.unlink(tmp)
            except OSError:
                pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            files=dict(type="list", elements="str", default=["etcd", "etcdctl", "README.md", "etcdutl"]),
            sha256=dict(type="str"),
            archive=dict(type="path"),
            check_first=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    dest, files = module.params["dest"], module.params["files"]
    missing = missing_files(dest, files)
    result = dict(changed=bool(missing), missing=missing, written=[])
    if missing and module._diff:
        result["diff"] = dict(before_header=dest, after_header=dest, before="".join(n + "\n" for n in files if n not in missing),
                              after="".join(n + "\n" for n in files))
    if not missing or module.check_mode or not module.params["archive"]:
        # Nothing to do, or the action plugin's first call (it sends the archive only when something is missing).
        if missing:
            result["written"] = [os.path.join(dest, name) for name in files]
        module.exit_json(**result)
    try:
        result["written"] = unpack(module.params["archive"], dest, files, module.params["sha256"])
    except (ReleaseError, tarfile.TarError, OSError) as e:
        module.fail_json(msg="%s: %s" % (dest, to_native(e)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
