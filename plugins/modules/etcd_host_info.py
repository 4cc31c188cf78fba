#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_host_info
short_description: Read what the quorum.etcd roles need to know about a member host
version_added: 0.1.0
description:
  - Reads, in one run on the member, its names, whether it is a container, the address Ansible connects from, which
    tools exist, the etcd system account, the state of the collection's systemd units, the nftables tables loaded,
    the trusted CA the etcd configuration names and the state of etcd (data, running, installed release).
  - Changes nothing. The roles of quorum.etcd run it once per member and run (C(roles/_common/tasks/probe.yml)).
  - No DNS query is made; the fully qualified name comes from local files only.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.attributes
  - quorum.etcd.attributes.info_module
options:
  user:
    description: The system user etcd runs as.
    type: str
    default: etcd
  group:
    description: The group of O(user).
    type: str
    default: etcd
  units:
    description: systemd units whose active and enabled states are read (one C(systemctl show) call).
    type: list
    elements: str
    default: []
  ca_cert:
    description:
      - Trusted CA file read when the etcd configuration O(config) names none (or does not exist).
    type: path
  config:
    description:
      - etcd's configuration file; its C(trusted-ca-file) is the CA file read, so a move of the certificate
        directory still compares the CA etcd really uses.
    type: path
  data_dir:
    description: etcd's data directory (whether C(member/) exists in it).
    type: path
    default: /var/lib/etcd
  install_dir:
    description: Where releases are unpacked; its C(current) link names the installed release.
    type: path
    default: /opt/etcd
  run_dir:
    description: etcd's runtime directory; a C(started-*) marker in it (written at each start) means etcd runs.
    type: path
    default: /run/etcd
notes:
  - The CA certificate is public; no key is read.
'''

EXAMPLES = r'''
- name: Read the member host
  quorum.etcd.etcd_host_info:
    user: etcd
    group: etcd
    units: [etcd-backup.timer]
    config: /etc/etcd/etcd.conf.yml
    ca_cert: /etc/etcd/pki/ca.crt
  register: __etcd_host

- name: Show whether etcd runs
  ansible.builtin.debug:
    msg: "{{ __etcd_host.etcd.running }}"
'''

RETURN = r'''
hostname:
  description: The kernel host name, without domain.
  returned: always
  type: str
  sample: etcd-1
fqdn:
  description: The host name when it holds a dot, else the first name in C(/etc/hosts) that begins with it and a dot.
  returned: always
  type: str
  sample: etcd-1.example.org
container:
  description: The container manager when the host is a container (C(podman), C(docker), ...), else empty.
  returned: always
  type: str
ssh_client:
  description: The address the SSH connection comes from (empty without SSH).
  returned: always
  type: str
tools:
  description: Whether C(nft), C(ssh), C(scp) and C(rsync) are installed.
  returned: always
  type: dict
  sample: {nft: true, ssh: true, scp: true, rsync: false}
account:
  description: The etcd account.
  returned: always
  type: dict
  contains:
    user:
      description: The user (uid, gid, home, shell, comment, group), or null when it does not exist.
      type: dict
    group:
      description: The group (gid), or null when it does not exist.
      type: dict
units:
  description: Per unit of O(units), C(active) (ActiveState) and C(enabled) (UnitFileState), empty when unknown.
  returned: always
  type: dict
  sample: {etcd-backup.timer: {active: active, enabled: enabled}}
nft_tables:
  description: The nftables tables loaded (C(family name)).
  returned: always
  type: list
  elements: str
  sample: [inet quorum_etcd]
ca_file:
  description: The trusted CA file read (the one the configuration names, else O(ca_cert)).
  returned: always
  type: str
ca_pem:
  description: That file's text (empty when it does not exist).
  returned: always
  type: str
etcd:
  description: The state of etcd on the member.
  returned: always
  type: dict
  contains:
    data:
      description: Whether the data directory holds C(member/).
      type: bool
    running:
      description: Whether etcd runs (a start marker exists in O(run_dir)).
      type: bool
    installed:
      description: The release the C(current) link points at (C(3.5.30)), empty when none.
      type: str
'''

import grp
import os
import pwd
import socket

from ansible.module_utils.common.process import get_bin_path

from ansible_collections.quorum.etcd.plugins.module_utils._probe import read_text, run_probe


def which(name):
    try:
        return get_bin_path(name)
    except ValueError:
        return None


def container():
    for path in ("/run/systemd/container", "/run/container_type"):
        if os.path.exists(path):
            return read_text(path).strip() or "container"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    if os.path.exists("/.dockerenv"):
        return "docker"
    return ""


def account(user, group):
    out = {"user": None, "group": None}
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        pw = None
    if pw is not None:
        try:
            primary = grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:  # a primary group without a name: the account differs from what the roles want
            primary = None
        out["user"] = {"uid": pw.pw_uid, "gid": pw.pw_gid, "home": pw.pw_dir, "shell": pw.pw_shell,
                       "comment": pw.pw_gecos, "group": primary}
    try:
        out["group"] = {"gid": grp.getgrnam(group).gr_gid}
    except KeyError:
        pass
    return out


def units(names, run):
    """ActiveState and UnitFileState of each unit ("" when systemd does not know it), in one systemctl call."""
    result = dict((n, {"active": "", "enabled": ""}) for n in names)
    if not names:
        return result
    rc, out, dummy = run(["systemctl", "show", "--property=Id,ActiveState,UnitFileState", "--"] + list(names), 20)
    if rc != 0:
        return result
    for name, block in zip(names, out.strip().split("\n\n")):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        name = props.get("Id") if props.get("Id") in result else name
        result[name] = {"active": props.get("ActiveState", ""), "enabled": props.get("UnitFileState", "")}
    return result


def nft_tables(run, nft=None):
    if not nft:
        return []
    rc, out, dummy = run([nft, "list", "tables"], 20)
    return [" ".join(line.split()[1:]) for line in out.splitlines() if line.startswith("table ")] if rc == 0 else []


def fqdn(hostname, hosts_file="/etc/hosts"):
    """The host's fully qualified name from local files only (no DNS query, which can flicker and would change the
    certificates' names): the kernel host name when it holds a dot, else the first name in /etc/hosts that begins
    with the short name and a dot; the short name when neither exists."""
    if "." in hostname:
        return hostname
    for line in read_text(hosts_file).splitlines():
        names = line.split("#", 1)[0].split()[1:]
        if hostname in names:
            for name in names:
                if name.startswith(hostname + ".") and not name.endswith("."):
                    return name
    return hostname


def ca_in_use(config_file):
    """The trusted CA file etcd's configuration names ("" when there is no configuration): the CA the running
    member trusts, even when etcd_pki_dir is being moved elsewhere."""
    for line in read_text(config_file).splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key == "trusted-ca-file":
            return value.strip().strip("'\"")
    return ""


def etcd_state(data_dir, install_dir, run_dir="/run/etcd"):
    """Whether the member has data, whether etcd runs (the marker the unit's ExecStartPre writes into its runtime
    directory, which systemd removes when etcd stops) and the release the current link points at ("" when none)."""
    try:
        running = any(n.startswith("started") for n in os.listdir(run_dir))
    except OSError:
        running = False
    try:
        current = os.path.basename(os.readlink(os.path.join(install_dir, "current")))
    except OSError:
        current = ""
    return {"data": os.path.isdir(os.path.join(data_dir, "member")), "running": running,
            "installed": current[len("etcd-v"):] if current.startswith("etcd-v") else ""}


def gather(params, run):
    name = socket.gethostname()
    trusted = (ca_in_use(params["config"]) if params["config"] else "") or params["ca_cert"] or ""
    tools = dict((t, which(t)) for t in ("nft", "ssh", "scp", "rsync"))
    return {
        "hostname": name.split(".")[0],
        "fqdn": fqdn(name),
        "container": container(),
        # The address Ansible connects from (the firewall role lets it reach the client port).
        "ssh_client": (os.environ.get("SSH_CONNECTION", "").split() or [""])[0],
        # Tools the firewall (nft) and backup (off-host copy) roles install when missing; the disk role reads its own.
        "tools": dict((t, bool(path)) for t, path in tools.items()),
        "account": account(params["user"], params["group"]),
        "units": units(params["units"], run),
        "nft_tables": nft_tables(run, tools["nft"]),
        # The trusted CA installed on the member (public), compared with the controller's before any change.
        "ca_file": trusted,
        "ca_pem": read_text(trusted) if trusted else "",
        "etcd": etcd_state(params["data_dir"], params["install_dir"], params["run_dir"]),
    }


def main():
    run_probe(dict(
        user=dict(type="str", default="etcd"),
        group=dict(type="str", default="etcd"),
        units=dict(type="list", elements="str", default=[]),
        ca_cert=dict(type="path"),
        config=dict(type="path"),
        data_dir=dict(type="path", default="/var/lib/etcd"),
        install_dir=dict(type="path", default="/opt/etcd"),
        run_dir=dict(type="path", default="/run/etcd"),
    ), gather)


if __name__ == "__main__":
    main()
