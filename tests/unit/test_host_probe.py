"""The _common role's host probe script (roles/_common/files/etcd_host_probe.py): parsing and the account read."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pwd
import subprocess
import sys

PROBE = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "_common", "files", "etcd_host_probe.py")


def load():
    spec = importlib.util.spec_from_file_location("etcd_host_probe", PROBE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_units_are_read_in_one_call_and_matched_by_id(monkeypatch):
    probe = load()
    calls = []
    out = ("Id=etcd-backup.timer\nActiveState=active\nUnitFileState=enabled\n\n"
           "Id=quorum-etcd-firewall.service\nActiveState=inactive\nUnitFileState=\n")

    def fake_run(cmd, timeout=20):
        calls.append(cmd)
        return 0, out

    monkeypatch.setattr(probe, "run", fake_run)
    units = probe.units(["etcd-backup.timer", "quorum-etcd-firewall.service"])
    assert len(calls) == 1 and calls[0][:2] == ["systemctl", "show"]
    assert units == {"etcd-backup.timer": {"active": "active", "enabled": "enabled"},
                     "quorum-etcd-firewall.service": {"active": "inactive", "enabled": ""}}


def test_units_without_systemd_are_unknown(monkeypatch):
    probe = load()
    monkeypatch.setattr(probe, "run", lambda cmd, timeout=20: (127, ""))
    assert probe.units(["etcd-backup.timer"]) == {"etcd-backup.timer": {"active": "", "enabled": ""}}


def test_nft_tables(monkeypatch):
    probe = load()
    monkeypatch.setattr(probe.shutil, "which", lambda name: "/usr/sbin/nft")
    monkeypatch.setattr(probe, "run", lambda cmd, timeout=20: (0, "table inet quorum_etcd\ntable ip nat\n"))
    assert probe.nft_tables() == ["inet quorum_etcd", "ip nat"]


def test_account_of_an_existing_and_a_missing_user():
    probe = load()
    me = pwd.getpwuid(os.getuid())
    acc = probe.account(me.pw_name, "no-such-group-quorum")
    assert acc["user"]["uid"] == me.pw_uid and acc["user"]["home"] == me.pw_dir
    assert acc["group"] is None
    assert probe.account("no-such-user-quorum", "no-such-group-quorum") == {"user": None, "group": None}


def test_account_whose_primary_group_has_no_name(monkeypatch):
    probe = load()
    me = pwd.getpwuid(os.getuid())

    def no_group(gid):
        raise KeyError(gid)

    monkeypatch.setattr(probe.grp, "getgrgid", no_group)
    assert probe.account(me.pw_name, "x")["user"]["group"] is None


def test_the_script_prints_one_json_object():
    args = base64.b64encode(json.dumps({"user": "root", "group": "root", "units": []}).encode()).decode()
    proc = subprocess.run([sys.executable, PROBE, args], capture_output=True, text=True, check=True)
    host = json.loads(proc.stdout)["host"]
    assert set(host) >= {"hostname", "fqdn", "container", "ssh_client", "tools", "account", "units", "nft_tables"}
    assert host["account"]["user"]["uid"] == 0
