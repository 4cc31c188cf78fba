#!/usr/bin/python3
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only host probe of quorum.etcd's _common role: what every role needs to know about a member, in one run.

Run by ansible.builtin.script with its parameters as base64-encoded JSON ({"user": ..., "group": ..., "units": [...]});
prints one JSON object {"host": {...}}: names (hostname, FQDN), whether it is a container, the address Ansible
connects from, which tools exist, the etcd account, the state of the collection's systemd units and the nftables
tables loaded. Changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys


def run(cmd, timeout=20):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""


def container():
    for path in ("/run/systemd/container", "/run/container_type"):
        try:
            with open(path) as f:
                return f.read().strip() or "container"
        except OSError:
            pass
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
        out["user"] = {"uid": pw.pw_uid, "gid": pw.pw_gid, "home": pw.pw_dir, "shell": pw.pw_shell, "comment": pw.pw_gecos,
                       "group": primary}
    try:
        out["group"] = {"gid": grp.getgrnam(group).gr_gid}
    except KeyError:
        pass
    return out


def units(names):
    """ActiveState and UnitFileState of each unit ("" when systemd does not know it)."""
    result = dict((n, {"active": "", "enabled": ""}) for n in names)
    if not names:
        return result
    rc, out = run(["systemctl", "show", "--property=Id,ActiveState,UnitFileState", "--"] + list(names))
    if rc != 0:
        return result
    for name, block in zip(names, out.strip().split("\n\n")):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        name = props.get("Id") if props.get("Id") in result else name
        result[name] = {"active": props.get("ActiveState", ""), "enabled": props.get("UnitFileState", "")}
    return result


def nft_tables():
    if not shutil.which("nft"):
        return []
    rc, out = run(["nft", "list", "tables"])
    return [" ".join(line.split()[1:]) for line in out.splitlines() if line.startswith("table ")] if rc == 0 else []


def main():
    p = {"user": "etcd", "group": "etcd", "units": []}
    if len(sys.argv) > 1:
        p.update(json.loads(base64.b64decode(sys.argv[1]).decode("utf-8")))
    result = {
        "hostname": socket.gethostname().split(".")[0],
        "fqdn": socket.getfqdn(),
        "container": container(),
        # The address Ansible connects from (the firewall role lets it reach the client port).
        "ssh_client": (os.environ.get("SSH_CONNECTION", "").split() or [""])[0],
        # Tools the firewall (nft) and backup (off-host copy) roles install when missing; the disk role reads its own.
        "tools": dict((t, bool(shutil.which(t))) for t in ("nft", "ssh", "scp", "rsync")),
        "account": account(p["user"], p["group"]),
        "units": units(p["units"]),
        "nft_tables": nft_tables(),
    }
    print(json.dumps({"host": result}))


if __name__ == "__main__":
    main()
