"""The read-only host modules (etcd_host_info, etcd_preflight_info, etcd_disk_info) and their shared runner
(plugins/module_utils/_probe.py): parsing, the account read, check mode, and one real run of each module."""

from __future__ import annotations

import hashlib
import json
import os
import pwd

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _probe
from ansible_collections.quorum.etcd.plugins.modules import etcd_disk_info, etcd_host_info, etcd_preflight_info

probe = etcd_host_info


# -- the shared runner ----------------------------------------------------------------------------------------------

class FakeModule:
    def __init__(self, timeout_bin="/usr/bin/timeout", error=None):
        self.calls = []
        self.timeout_bin = timeout_bin
        self.error = error

    def get_bin_path(self, name, opt_dirs=None):
        return self.timeout_bin

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if self.error:
            raise self.error
        return 0, "out", "err"


def test_runner_limits_time_and_never_raises():
    module = FakeModule()
    run = _probe.CommandRunner(module)
    assert run(["systemctl", "show"], 20) == (0, "out", "err")
    argv, kwargs = module.calls[0]
    assert argv == ["/usr/bin/timeout", "-k", "5", "20", "systemctl", "show"]
    assert kwargs["handle_exceptions"] is False and kwargs["expand_user_and_vars"] is False
    assert kwargs["environ_update"]["PATH"] == _probe.SYSTEM_PATH
    missing = _probe.CommandRunner(FakeModule(timeout_bin=None, error=OSError(2, "No such file")))
    assert missing(["nft", "list", "tables"])[0] == 127
    assert missing.module.calls[0][0] == ["nft", "list", "tables"]


def test_read_text(tmp_path):
    (tmp_path / "f").write_bytes(b"caf\xc3\xa9\xff")
    assert _probe.read_text(str(tmp_path / "f")) == "caf\u00e9\ufffd"
    assert _probe.read_text(str(tmp_path / "missing")) == ""


# -- etcd_host_info --------------------------------------------------------------------------------------------------

def test_units_are_read_in_one_call_and_matched_by_id():
    calls = []
    out = ("Id=etcd-backup.timer\nActiveState=active\nUnitFileState=enabled\n\n"
           "Id=quorum-etcd-firewall.service\nActiveState=inactive\nUnitFileState=\n")

    def fake_run(cmd, timeout=20):
        calls.append(cmd)
        return 0, out, ""

    units = probe.units(["etcd-backup.timer", "quorum-etcd-firewall.service"], fake_run)
    assert len(calls) == 1 and calls[0][:2] == ["systemctl", "show"]
    assert units == {"etcd-backup.timer": {"active": "active", "enabled": "enabled"},
                     "quorum-etcd-firewall.service": {"active": "inactive", "enabled": ""}}


def test_units_without_systemd_are_unknown():
    assert probe.units(["etcd-backup.timer"], lambda cmd, timeout=20: (127, "", "")) == \
        {"etcd-backup.timer": {"active": "", "enabled": ""}}
    assert probe.units([], None) == {}


def test_nft_tables():
    def run(cmd, timeout=20):
        return 0, "table inet quorum_etcd\ntable ip nat\n", ""

    assert probe.nft_tables(run, "/usr/sbin/nft") == ["inet quorum_etcd", "ip nat"]
    assert probe.nft_tables(run, None) == []
    assert probe.nft_tables(lambda cmd, timeout=20: (1, "", "denied"), "/usr/sbin/nft") == []


def test_account_of_an_existing_and_a_missing_user():
    me = pwd.getpwuid(os.getuid())
    acc = probe.account(me.pw_name, "no-such-group-quorum")
    assert acc["user"]["uid"] == me.pw_uid and acc["user"]["home"] == me.pw_dir
    assert acc["group"] is None
    assert probe.account("no-such-user-quorum", "no-such-group-quorum") == {"user": None, "group": None}


def test_account_whose_primary_group_has_no_name(monkeypatch):
    me = pwd.getpwuid(os.getuid())

    def no_group(gid):
        raise KeyError(gid)

    monkeypatch.setattr(probe.grp, "getgrgid", no_group)
    assert probe.account(me.pw_name, "x")["user"]["group"] is None


def test_fqdn_comes_from_local_files_only(tmp_path, monkeypatch):
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
    conf = tmp_path / "etcd.conf.yml"
    conf.write_text("name: m1\nclient-transport-security:\n  trusted-ca-file: /etc/etcd/tls/ca.crt\n")
    assert probe.ca_in_use(str(conf)) == "/etc/etcd/tls/ca.crt"
    assert probe.ca_in_use(str(tmp_path / "none.yml")) == ""


def test_etcd_state_reads_data_marker_and_release(tmp_path):
    (tmp_path / "data" / "member").mkdir(parents=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "started-abc").write_text("")
    (tmp_path / "run" / "started.digest").write_text("digest\n")
    (tmp_path / "opt" / "etcd-v3.5.30").mkdir(parents=True)
    (tmp_path / "opt" / "etcd-v3.5.30" / "etcdutl").write_text("")
    (tmp_path / "opt" / "etcd-v3.5.16").mkdir()  # unpacking stopped before etcdutl: not complete
    os.symlink("etcd-v3.5.30", str(tmp_path / "opt" / "current"))
    (tmp_path / "systemd" / "multi-user.target.wants").mkdir(parents=True)
    os.symlink("/etc/systemd/system/etcd.service", str(tmp_path / "systemd" / "multi-user.target.wants" / "etcd.service"))
    conf = tmp_path / "etcd.conf.yml"
    conf.write_text("name: m1\n")
    assert probe.etcd_state(str(tmp_path / "data"), str(tmp_path / "opt"), str(tmp_path / "run"), str(conf),
                            str(tmp_path / "systemd")) == \
        {"data": True, "running": True, "installed": "3.5.30", "current": "etcd-v3.5.30", "releases": ["etcd-v3.5.30"],
         "enabled": True, "config_exists": True, "config": "name: m1\n",
         "started_digest_sha1": hashlib.sha1(b"digest\n").hexdigest()}
    assert probe.etcd_state(str(tmp_path / "x"), str(tmp_path / "y"), str(tmp_path / "z"), "", str(tmp_path / "s")) == \
        {"data": False, "running": False, "installed": "", "current": "", "releases": [], "enabled": False,
         "config_exists": False, "config": "", "started_digest_sha1": ""}


def test_current_resolving_outside_the_install_dir_is_not_a_release(tmp_path):
    (tmp_path / "elsewhere" / "etcd-v3.5.30").mkdir(parents=True)
    (tmp_path / "opt").mkdir()
    os.symlink(str(tmp_path / "elsewhere" / "etcd-v3.5.30"), str(tmp_path / "opt" / "current"))
    state = probe.etcd_state(str(tmp_path), str(tmp_path / "opt"), str(tmp_path), "", str(tmp_path))
    assert state["installed"] == "3.5.30" and state["current"] == ""


def test_pki_state_reads_live_generation_generations_links_and_the_directory(tmp_path):
    pki = tmp_path / "pki"
    (pki / "generations" / "ab12").mkdir(parents=True)
    (pki / "generations" / "cd34").mkdir()
    (pki / "generations" / "cd34.tmp").mkdir()  # not an id
    (pki / "generations" / "ab12" / "generation-ab12").write_text("")
    os.symlink("generations/ab12", str(pki / "live"))
    os.symlink("live/server.crt", str(pki / "server.crt"))
    (pki / "old.crt").write_text("x")
    os.chmod(str(pki), 0o750)
    state = probe.pki_state(str(pki))
    me = pwd.getpwuid(os.getuid()).pw_name
    assert state["dir"]["owner"] == me and state["dir"]["mode"] == "0750"
    assert state["live"] == "ab12" and state["generations"] == ["ab12", "cd34"]
    assert state["links"] == [str(pki / "live"), str(pki / "server.crt")]
    assert probe.pki_state(str(tmp_path / "none")) == {"dir": None, "live": "", "generations": [], "links": []}
    assert probe.pki_state(None) == {"dir": None, "live": "", "generations": [], "links": []}


@pytest.mark.parametrize("check", [False, True])
def test_host_info_runs_as_a_module_and_in_check_mode(run_module, tmp_path, check):
    conf = tmp_path / "etcd.conf.yml"
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    conf.write_text("trusted-ca-file: '%s'\n" % ca)
    me = pwd.getpwuid(os.getuid()).pw_name
    res = run_module(etcd_host_info, dict(user=me, group="root", units=[], config=str(conf),
                                          ca_cert=str(tmp_path / "other.crt"), data_dir=str(tmp_path),
                                          install_dir=str(tmp_path), run_dir=str(tmp_path / "run")), check=check)
    assert not res.failed and res["changed"] is False
    assert set(res) >= {"hostname", "fqdn", "container", "ssh_client", "tools", "account", "units", "nft_tables",
                        "ca_file", "ca_pem", "etcd"}
    assert res["account"]["user"]["uid"] == os.getuid()
    assert res["ca_file"] == str(ca) and "BEGIN CERTIFICATE" in res["ca_pem"]
    assert res["etcd"]["data"] is False and res["etcd"]["running"] is False and res["etcd"]["installed"] == ""
    assert res["etcd"]["config_exists"] is True and res["pki"]["dir"] is None and len(res["probe_id"]) == 32
    assert set(res["tools"]) == {"nft", "ssh", "scp", "rsync"}


def test_host_info_rejects_unknown_options(run_module):
    res = run_module(etcd_host_info, dict(no_such_option=1))
    assert res.failed and "no_such_option" in res["msg"]


# -- etcd_preflight_info ---------------------------------------------------------------------------------------------

def test_time_sync_reads_services_sync_and_chrony_offset():
    answers = {
        "systemctl": (3, "active\ninactive\ninactive\ninactive\ninactive\ninactive\n", ""),
        "timedatectl": (0, "yes\n", ""),
        "chronyc": (0, "A1B2,10.0.0.1,3,1700000000.1,-0.000250,0.1\n", ""),
    }
    seen = []

    def run(cmd, timeout=30):
        seen.append(cmd[0])
        return answers[cmd[0]]

    t = etcd_preflight_info.time_sync(run)
    assert t["services"] == ["chrony"] and t["synchronized"] is True
    assert t["offset_ms"] == pytest.approx(0.25)
    assert seen == ["systemctl", "timedatectl", "chronyc"]
    none = etcd_preflight_info.time_sync(lambda cmd, timeout=30: (127, "", "missing"))
    assert none == {"services": [], "synchronized": None, "offset_ms": None}


def test_fio_without_fio_and_with_a_failing_fio(tmp_path):
    assert etcd_preflight_info.fio_latency(str(tmp_path), "1m", None, None) == {"error": "fio is not installed"}
    failed = etcd_preflight_info.fio_latency(str(tmp_path), "1m", lambda cmd, t: (1, "", "no space"), "/usr/bin/fio")
    assert failed == {"error": "fio failed: no space"}
    garbled = etcd_preflight_info.fio_latency(str(tmp_path), "1m", lambda cmd, t: (0, "oops", ""), "/usr/bin/fio")
    assert garbled["error"].startswith("fio printed no JSON report")
    assert os.listdir(str(tmp_path)) == []  # the work directory is removed


def test_fio_report_is_read(tmp_path):
    report = {"jobs": [{"sync": {"lat_ns": {"mean": 1500000.0, "N": 9000,
                                            "percentile": {"99.000000": 4200000}}}}]}
    seen = []

    def run(cmd, timeout):
        seen.append((cmd, timeout))
        return 0, "fio-3.33\n" + json.dumps(report), ""

    res = etcd_preflight_info.fio_latency(str(tmp_path), "2m", run, "/usr/bin/fio")
    assert res == {"path": str(tmp_path), "size": "2m", "p99_ms": 4.2, "mean_ms": 1.5, "syncs": 9000}
    assert seen[0][0][0] == "/usr/bin/fio" and "--fdatasync=1" in seen[0][0] and seen[0][1] == 900


def test_memory_is_read_from_meminfo(tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal:       16384 kB\nMemFree: 1 kB\n")
    assert etcd_preflight_info.memory_bytes(str(tmp_path / "meminfo")) == 16384 * 1024
    assert etcd_preflight_info.memory_bytes(str(tmp_path / "none")) == 0


@pytest.mark.parametrize("check", [False, True])
def test_preflight_info_runs_as_a_module(run_module, tmp_path, check):
    res = run_module(etcd_preflight_info, dict(data_dir=str(tmp_path / "etcd"), ports=[1], devices=["/dev/nonexistent-q"],
                                               peers={"self": "127.0.0.1"}, rtt_port=1, samples=2),
                     check=check)
    assert not res.failed and res["changed"] is False
    assert res["cpus"] >= 1 and res["memory_bytes"] > 0
    assert res["data"]["path"] == str(tmp_path) and res["data"]["has_etcd_data"] is False
    assert res["devices"] == {"/dev/nonexistent-q": {"exists": False}}
    assert res["ports"] == {"1": {"listening": False, "processes": [], "foreign": []}}
    assert res["peers"]["self"]["samples"] == 2 and res["peers"]["self"]["address"] == "127.0.0.1"
    assert "fio" not in res


def test_preflight_info_fio_only_measures_nothing_else(run_module, tmp_path, monkeypatch):
    def not_found(name):
        raise ValueError(name)

    monkeypatch.setattr(etcd_preflight_info, "get_bin_path", not_found)
    res = run_module(etcd_preflight_info, dict(data_dir=str(tmp_path), fio=True, fio_only=True))
    assert not res.failed and res["changed"] is False
    assert res["fio"] == {"error": "fio is not installed"}
    assert not set(res) & {"cpus", "time", "data", "ports", "peers"}


def test_preflight_info_reports_an_unresolvable_peer(run_module):
    res = run_module(etcd_preflight_info, dict(peers={"m2": "no-such-host.invalid"}, samples=1))
    assert not res.failed and res["peers"]["m2"]["error"].startswith("cannot resolve no-such-host.invalid")
    assert res["peers"]["m2"]["clock_offset_ms"] is None
    assert res["peers"]["m2"]["clock_method"] == "peer address unresolved"


# -- etcd_disk_info --------------------------------------------------------------------------------------------------

def test_blkid_export_is_parsed():
    out = "DEVNAME=/dev/sdb\nUUID=1234\nTYPE=xfs\nLABEL=etcd-data\n"
    seen = []

    def run(cmd, timeout=30):
        seen.append(cmd)
        return 0, out, ""

    assert etcd_disk_info.blkid("/dev/sdb", run) == {"DEVNAME": "/dev/sdb", "UUID": "1234", "TYPE": "xfs",
                                                     "LABEL": "etcd-data"}
    assert seen == [["blkid", "-p", "-o", "export", "/dev/sdb"]]
    assert etcd_disk_info.blkid("/dev/sdc", lambda cmd, timeout=30: (2, "", "")) == {}


def test_missing_devices_and_array():
    def run(cmd, timeout=30):
        return 127, "", ""

    assert etcd_disk_info.describe_devices(["/dev/nonexistent-q"], run, {}, set()) == \
        {"/dev/nonexistent-q": {"exists": False}}
    assert etcd_disk_info.describe_array("/dev/md/nonexistent-q", run) == {"path": "/dev/md/nonexistent-q",
                                                                           "exists": False}
    assert etcd_disk_info.describe_target("", run) == {"path": "", "exists": False}


@pytest.mark.parametrize("check", [False, True])
def test_disk_info_runs_as_a_module(run_module, tmp_path, check):
    (tmp_path / "member").mkdir()
    res = run_module(etcd_disk_info, dict(devices=["/dev/nonexistent-q1", "/dev/nonexistent-q2"], array_name="q-none",
                                          data_dir=str(tmp_path) + "/"), check=check)
    assert not res.failed and res["changed"] is False
    assert res["devices"] == {"/dev/nonexistent-q1": {"exists": False}, "/dev/nonexistent-q2": {"exists": False}}
    assert res["array"] == {"path": "/dev/md/q-none", "exists": False}
    assert res["target"] == {"path": "/dev/md/q-none", "exists": False}
    assert res["data_dir"] == {"mountpoint": False, "mounted_devno": "", "exists": True, "has_etcd_data": True}
    assert set(res["tools"]) == {"mdadm", "mkfs.xfs", "mkfs.ext4", "update-initramfs"}
    assert isinstance(res["mdadm_conf"], str)
