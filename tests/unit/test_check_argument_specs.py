"""Unit tests of tests/check_argument_specs.py (run by make lint): roles whose defaults and argument specifications
agree pass, each kind of disagreement is named; a tasks_from without its entry point is named."""

import importlib.util
import os

import pytest
import yaml

_SPEC = importlib.util.spec_from_file_location(
    "check_argument_specs", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "check_argument_specs.py"))
cas = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cas)


def _role(root, name, defaults=None, specs=None, deps=None):
    base = root / "roles" / name
    (base / "meta").mkdir(parents=True)
    if defaults is not None:
        (base / "defaults").mkdir()
        (base / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    if specs is not None:
        (base / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": specs}))
    (base / "meta" / "main.yml").write_text(yaml.safe_dump({"dependencies": [{"role": "quorum.etcd." + d} for d in deps or []]}))


def _entry(**options):
    return {"short_description": "x", "options": options}


@pytest.fixture(name="roles")
def fixture_roles(tmp_path):
    _role(tmp_path, "_common", {"etcd_bin_dir": "/usr/local/bin"},
          {"main": _entry(etcd_bin_dir={"type": "path", "default": "/usr/local/bin"})})
    return tmp_path


def test_agreeing_roles_pass(roles):
    _role(roles, "backup",
          {"etcd_backup_retention_days": 30, "etcd_backup_enabled": True, "etcd_backup_now_dir": "{{ x | dirname }}/backups",
           "etcd_backup_opts": ["-o", "BatchMode=yes"]},
          {"main": _entry(etcd_backup_retention_days={"type": "int", "default": 30},
                          etcd_backup_enabled={"type": "bool", "default": True},
                          etcd_backup_opts={"type": "list", "elements": "str", "default": ["-o", "BatchMode=yes"]},
                          # from the dependency's defaults
                          etcd_bin_dir={"type": "path", "default": "/usr/local/bin"},
                          # a per-host variable without a default
                          etcd_member_name={"type": "str"}),
           "snapshot": _entry(etcd_backup_now_dir={"type": "path", "description": "Defaults to backups beside the PKI."})},
          deps=["_common"])
    assert cas.check(str(roles)) == []
    assert cas.main(["x", str(roles)]) == 0


def test_a_default_no_entry_point_declares(roles):
    _role(roles, "tuning", {"etcd_tuning_enabled": True}, {"main": _entry()})
    assert cas.check(str(roles)) == [
        "roles/tuning: defaults/main.yml sets etcd_tuning_enabled, which no entry point of meta/argument_specs.yml declares"]


def test_a_role_without_specification(roles):
    _role(roles, "monitoring", {"etcd_monitoring_enabled": True})
    assert len(cas.check(str(roles))) == 1


def test_different_defaults(roles):
    _role(roles, "disk", {"etcd_disk_raid_level": 10, "etcd_disk_fstype": "xfs"},
          {"main": _entry(etcd_disk_raid_level={"type": "int", "default": 1}, etcd_disk_fstype={"type": "str", "default": "xfs"}),
           "validate": _entry(etcd_disk_fstype={"type": "str", "default": "ext4"})})
    problems = cas.check(str(roles))
    assert problems == [
        "roles/disk: entry point validate declares etcd_disk_fstype with the default 'ext4', the defaults set 'xfs'",
        "roles/disk: entry point main declares etcd_disk_raid_level with the default 1, the defaults set 10"]


def test_a_declared_default_no_defaults_file_sets(roles):
    _role(roles, "restore", {}, {"main": _entry(etcd_dr_snapshot={"type": "str", "default": "latest"},
                                                etcd_bin_dir={"type": "path", "default": "/usr/local/bin"})}, deps=["_common"])
    assert cas.check(str(roles)) == [
        "roles/restore: entry point main declares etcd_dr_snapshot with the default 'latest', but no defaults/main.yml"
        " the role sees sets it (its own or a dependency's)"]


def test_a_dependency_default_is_not_seen_without_the_dependency(roles):
    _role(roles, "tuning", {}, {"main": _entry(etcd_bin_dir={"type": "path", "default": "/usr/local/bin"})})
    assert len(cas.check(str(roles))) == 1


def test_a_missing_declared_default(roles):
    _role(roles, "pki", {"etcd_pki_key_size": 2048}, {"main": _entry(etcd_pki_key_size={"type": "int"})})
    assert cas.check(str(roles)) == ["roles/pki: entry point main declares etcd_pki_key_size without its default 2048 (defaults/main.yml)"]


def test_a_computed_default_declares_none(roles):
    _role(roles, "pki", {"etcd_pki_ca_common_name": "{{ etcd_cluster_name }}-etcd-ca"},
          {"main": _entry(etcd_pki_ca_common_name={"type": "str", "default": "{{ etcd_cluster_name }}-etcd-ca"})})
    problems = cas.check(str(roles))
    assert len(problems) == 1 and "is computed in defaults/main.yml" in problems[0]


def test_types_are_compared_as_the_option_reads_them(roles):
    _role(roles, "etcd", {"etcd_a": 8589934592, "etcd_b": "1h", "etcd_c": False, "etcd_d": "10", "etcd_e": ""},
          {"main": _entry(etcd_a={"type": "int", "default": 8589934592}, etcd_b={"type": "str", "default": "1h"},
                          etcd_c={"type": "bool", "default": "no"}, etcd_d={"type": "int", "default": 10},
                          etcd_e={"type": "str", "default": None})})
    problems = cas.check(str(roles))
    assert problems == ["roles/etcd: entry point main declares etcd_c with the default 'no', the defaults set False",
                        "roles/etcd: entry point main declares etcd_e with the default None, the defaults set ''"]


def test_public_variables_are_prefixed(roles):
    _role(roles, "monitoring", {"prometheus_port": 9090}, {"main": _entry(prometheus_port={"type": "int", "default": 9090})})
    assert cas.check(str(roles)) == ["roles/monitoring: defaults/main.yml sets prometheus_port, which is not prefixed etcd_ (a public variable)"]


def test_main_prints_each_problem(roles, capsys):
    _role(roles, "tuning", {"etcd_tuning_enabled": True}, {"main": _entry()})
    assert cas.main(["x", str(roles)]) == 1
    out = capsys.readouterr()
    assert "roles/tuning: defaults/main.yml sets etcd_tuning_enabled" in out.out
    assert "1 problem(s)" in out.err


def test_every_tasks_from_has_an_entry_point(roles):
    _role(roles, "etcd", {}, {"main": _entry(), "converged": _entry()}, deps=["_common"])
    (roles / "playbooks").mkdir()
    (roles / "playbooks" / "site.yml").write_text(yaml.safe_dump([{
        "hosts": "etcd",
        "pre_tasks": [{"name": "a", "ansible.builtin.include_role": {"name": "quorum.etcd._common", "tasks_from": "guard.yml"}}],
        "tasks": [{"name": "b", "ansible.builtin.include_role": {"name": "quorum.etcd.etcd", "tasks_from": "converged.yml"}},
                  {"name": "c", "block": [{"name": "d", "import_role": {"name": "quorum.etcd.etcd", "tasks_from": "set_aside"}}]},
                  {"name": "e", "ansible.builtin.include_role": {"name": "quorum.etcd.{{ item }}", "tasks_from": "validate"}},
                  {"name": "f", "ansible.builtin.include_role": {"name": "community.general.x", "tasks_from": "y.yml"}}]}]))
    (roles / "roles" / "etcd" / "tasks").mkdir()
    (roles / "roles" / "etcd" / "tasks" / "main.yml").write_text(yaml.safe_dump([
        {"name": "g", "ansible.builtin.include_role": {"name": "quorum.etcd._common", "tasks_from": "health.yml"}}]))
    assert cas.check(str(roles)) == [
        "playbooks/site.yml: tasks_from guard.yml of role quorum.etcd._common has no entry point guard in roles/_common/meta/argument_specs.yml",
        "playbooks/site.yml: tasks_from set_aside of role quorum.etcd.etcd has no entry point set_aside in roles/etcd/meta/argument_specs.yml",
        "roles/etcd/tasks/main.yml: tasks_from health.yml of role quorum.etcd._common has no entry point health in roles/_common/meta/argument_specs.yml"]


def test_a_directory_without_meta_main_is_not_checked(roles, capsys):
    (roles / "roles" / "monitoring" / "defaults").mkdir(parents=True)
    (roles / "roles" / "monitoring" / "defaults" / "main.yml").write_text("prometheus_port: 9090\n")
    assert cas.check(str(roles)) == []
    assert "roles/monitoring: no meta/main.yml, not checked" in capsys.readouterr().err
