#!/usr/bin/python3
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only host probe of quorum.etcd's _common role: what every role needs to know about a member, in one run.

Run by ansible.builtin.script with its parameters as base64-encoded JSON ({"user": ..., "group": ..., "units": [...],
"ca_cert": ..., "config": ..., "data_dir": ...,
"install_dir": ...});
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


def fqdn(hostname, hosts_file="/etc/hosts"):
    """The host's fully qualified name from local files only (no DNS query, which can flicker and would change the
    certificates' names): the kernel host name when it holds a dot, else the first name in /etc/hosts that begins
    with the short name and a dot; the short name when neither exists."""
    if "." in hostname:
        return hostname
    try:
        with open(hosts_file) as f:
            lines = f.read().splitlines()
    except OSError:
        return hostname
    for line in lines:
        names = line.split("#", 1)[0].split()[1:]
        if hostname in names:
            for name in names:
                if name.startswith(hostname + ".") and not name.endswith("."):
                    return name
    return hostname


def read_text(path, limit=1 << 20):
    """A small public file's text ("" when it is absent or unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def ca_in_use(config_file):
    """The trusted CA file etcd's configuration names ("" when there is no configuration): the CA the running
    member trusts, even when etcd_pki_dir is being moved elsewhere."""
    for line in read_text(config_file).splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key == "trusted-ca-file":
            return value.strip().strip("'\"")
    return ""


def etcd_state(data_dir, install_dir, run_dir="/run/etcd"):
    """What a guard needs before any change: whether the member has data, whether etcd runs (the marker the
    unit's ExecStartPre writes into its runtime directory, which systemd removes when etcd stops) and the release
    the install directory's current link points at ("" when none)."""
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


def main():
    p = {"user": "etcd", "group": "etcd", "units": [], "ca_cert": "", "config": "", "data_dir": "/var/lib/etcd",
         "install_dir": "/opt/etcd"}
    if len(sys.argv) > 1:
        p.update(json.loads(base64.b64decode(sys.argv[1]).decode("utf-8")))
    name = socket.gethostname()
    trusted = (ca_in_use(p["config"]) if p["config"] else "") or p["ca_cert"]
    result = {
        "hostname": name.split(".")[0],
        "fqdn": fqdn(name),
        "container": container(),
        # The address Ansible connects from (the firewall role lets it reach the client port).
        "ssh_client": (os.environ.get("SSH_CONNECTION", "").split() or [""])[0],
        # Tools the firewall (nft) and backup (off-host copy) roles install when missing; the disk role reads its own.
        "tools": dict((t, bool(shutil.which(t))) for t in ("nft", "ssh", "scp", "rsync")),
        "account": account(p["user"], p["group"]),
        "units": units(p["units"]),
        "nft_tables": nft_tables(),
        # The trusted CA installed on the member (public), compared with the controller's before any change.
        "ca_file": trusted,
        "ca_pem": read_text(trusted) if trusted else "",
        "etcd": etcd_state(p["data_dir"], p["install_dir"]),
    }
    print(json.dumps({"host": result}))


if __name__ == "__main__":
    main()
