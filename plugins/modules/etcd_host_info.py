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
    the trusted CA the etcd configuration names, the state of etcd (data, running, enabled, installed and unpacked
    releases, configuration, the digest the running etcd started with) and of the certificate directory (live
    generation, generations present, links).
  - Changes nothing. The roles of quorum.etcd run it at the start of each play that changes members (the guard,
    C(roles/_common/tasks/probe.yml)); the pki and etcd roles read their state from it instead of reading the
    member again, and run it again when what it read may have changed (RV(probe_id) tells a second run of a role).
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
  systemd_dir:
    description: Where the etcd unit is installed; C(multi-user.target.wants/etcd.service) in it means enabled.
    type: path
    default: /etc/systemd/system
  pki_dir:
    description: The member's certificate directory (C(etcd_pki_dir)); its state is returned as RV(pki).
    type: path
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
    current:
      description: >-
        The directory of O(install_dir) the C(current) link resolves to (C(etcd-v3.5.30)), empty when it resolves
        elsewhere or nowhere.
      type: str
    releases:
      description: The release directories of O(install_dir) that are complete (C(etcdutl), unpacked last, exists).
      type: list
      elements: str
    enabled:
      description: Whether C(multi-user.target.wants/etcd.service) exists in O(systemd_dir).
      type: bool
    config_exists:
      description: Whether O(config) exists.
      type: bool
    config:
      description: The text of O(config) (paths and settings, no secrets), empty when absent.
      type: str
    started_digest_sha1:
      description: SHA-1 of C(started.digest) in O(run_dir), the digest the running etcd started with; empty when none.
      type: str
pki:
  description: The state of O(pki_dir); empty values when O(pki_dir) is not given or does not exist.
  returned: always
  type: dict
  contains:
    dir:
      description: Owner, group and mode (C(0750)) of O(pki_dir), or null when it does not exist.
      type: dict
    live:
      description: The id of the live generation (its C(live/generation-ID) marker), empty when none.
      type: str
    generations:
      description: The generation directories present (hexadecimal ids).
      type: list
      elements: str
    links:
      description: The paths in O(pki_dir) that are symbolic links.
      type: list
      elements: str
probe_id:
  description: A random id of this run of the probe; a role notes the id it used, so it reads again on a second run.
  returned: always
  type: str
'''

import grp
import hashlib
import os
import pwd
import re
import socket
import stat
import uuid

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


def etcd_state(data_dir, install_dir, run_dir="/run/etcd", config_file="", systemd_dir="/etc/systemd/system"):
    """Whether the member has data, whether etcd runs (the marker the unit's ExecStartPre writes into its runtime
    directory, which systemd removes when it stops) and is enabled, the release the current link points at ("" when
    none), the complete release directories, the configuration's text and the digest the running etcd started with."""
    try:
        running = any(n.startswith("started") for n in os.listdir(run_dir))
    except OSError:
        running = False
    link = os.path.join(install_dir, "current")
    try:
        current = os.path.basename(os.readlink(link))
    except OSError:
        current = ""
    resolved = os.path.realpath(link) if os.path.lexists(link) else ""
    try:
        names = sorted(os.listdir(install_dir))
    except OSError:
        names = []
    started = read_bytes(os.path.join(run_dir, "started.digest"))
    return {"data": os.path.isdir(os.path.join(data_dir, "member")), "running": running,
            "installed": current[len("etcd-v"):] if current.startswith("etcd-v") else "",
            "current": os.path.basename(resolved)
            if resolved and os.path.dirname(resolved) == os.path.realpath(install_dir) and os.path.isdir(resolved)
            else "",
            "releases": [n for n in names if n.startswith("etcd-v")
                         and os.path.isfile(os.path.join(install_dir, n, "etcdutl"))],
            "enabled": os.path.lexists(os.path.join(systemd_dir, "multi-user.target.wants", "etcd.service")),
            "config_exists": bool(config_file) and os.path.isfile(config_file),
            "config": read_text(config_file) if config_file else "",
            "started_digest_sha1": hashlib.sha1(started).hexdigest() if started is not None else ""}


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except (OSError, IOError):
        return None


def pki_state(pki_dir):
    """The certificate directory as the pki role installs it: its owner, group and mode, the live generation (the
    marker live/generation-ID), the generation directories present and the paths that are links (into live/)."""
    out = {"dir": None, "live": "", "generations": [], "links": []}
    if not pki_dir:
        return out
    try:
        st = os.stat(pki_dir)
    except OSError:
        return out
    if not stat.S_ISDIR(st.st_mode):
        return out
    out["dir"] = {"owner": name_of(pwd.getpwuid, st.st_uid), "group": name_of(grp.getgrgid, st.st_gid),
                  "mode": "%04o" % stat.S_IMODE(st.st_mode)}
    try:
        out["live"] = next((n[len("generation-"):] for n in sorted(os.listdir(os.path.join(pki_dir, "live")))
                            if n.startswith("generation-")), "")
    except OSError:
        pass
    gens = os.path.join(pki_dir, "generations")
    try:
        out["generations"] = [n for n in sorted(os.listdir(gens))
                              if re.match(r"^[0-9a-f]+\Z", n) and os.path.isdir(os.path.join(gens, n))]
    except OSError:
        pass
    out["links"] = [os.path.join(pki_dir, n) for n in sorted(os.listdir(pki_dir))
                    if os.path.islink(os.path.join(pki_dir, n))]
    return out


def name_of(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


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
        "etcd": etcd_state(params["data_dir"], params["install_dir"], params["run_dir"], params["config"] or "",
                           params["systemd_dir"]),
        "pki": pki_state(params["pki_dir"]),
        "probe_id": uuid.uuid4().hex,
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
        systemd_dir=dict(type="path", default="/etc/systemd/system"),
        pki_dir=dict(type="path"),
    ), gather)


if __name__ == "__main__":
    main()
