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


def test_fqdn_comes_from_local_files_only(tmp_path, monkeypatch):
    probe = load()

    def no_dns(*args, **kwargs):
        raise AssertionError("the probe asked DNS")

    monkeypatch.setattr(probe.socket, "getfqdn", no_dns)
    monkeypatch.setattr(probe.socket, "gethostbyname", no_dns)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.0.0.1 m1.example.org m1 # the member\n")
    assert probe.fqdn("m1", str(hosts)) == "m1.example.org"
    assert probe.fqdn("m1.corp.example", str(hosts)) == "m1.corp.example"
    assert probe.fqdn("m2", str(hosts)) == "m2"
    assert probe.fqdn("m1", str(tmp_path / "missing")) == "m1"


def test_the_trusted_ca_is_the_one_the_configuration_names(tmp_path):
    probe = load()
    conf = tmp_path / "etcd.conf.yml"
    conf.write_text("name: m1\nclient-transport-security:\n  trusted-ca-file: /etc/etcd/tls/ca.crt\n")
    assert probe.ca_in_use(str(conf)) == "/etc/etcd/tls/ca.crt"
    assert probe.ca_in_use(str(tmp_path / "none.yml")) == ""


def test_etcd_state_reads_data_marker_and_release(tmp_path):
    probe = load()
    (tmp_path / "data" / "member").mkdir(parents=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "started-abc").write_text("")
    (tmp_path / "opt").mkdir()
    os.symlink("etcd-v3.5.30", str(tmp_path / "opt" / "current"))
    assert probe.etcd_state(str(tmp_path / "data"), str(tmp_path / "opt"), str(tmp_path / "run")) == \
        {"data": True, "running": True, "installed": "3.5.30"}
    assert probe.etcd_state(str(tmp_path / "x"), str(tmp_path / "y"), str(tmp_path / "z")) == \
        {"data": False, "running": False, "installed": ""}
