"""The version gate file (meta/etcd_version_gates.yml): well-formed, one line per entry with its reason and upstream
link, the 3.5 -> 3.6 floor history kept, and the 3.6 / 3.7 paths that no binary on this machine can prove."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.quorum.etcd.plugins.filter import cluster_guard
from ansible_collections.quorum.etcd.plugins.filter.etcd_config import etcd_config

GATES = cluster_guard.GATES_FILE


@pytest.fixture(scope="module")
def gates():
    with open(GATES) as f:
        return yaml.safe_load(f)


def test_the_file_is_where_the_filter_reads_it_and_valid(gates):
    assert os.path.basename(os.path.dirname(GATES)) == "meta"
    assert cluster_guard.gate_file_problems(gates) == []
    assert cluster_guard.load_gates() == gates


def test_every_entry_is_one_line_with_a_reason_and_a_link():
    with open(GATES) as f:
        lines = [line for line in f if line.lstrip().startswith("- {")]
    assert len(lines) >= 20
    for line in lines:
        assert line.rstrip().endswith("}"), line
        assert "reason: " in line and "link: \"https://" in line, line


@pytest.mark.parametrize("mutation,words", [
    (lambda g: g["known_bad"][0].pop("link"), "known_bad[0]: no https link"),
    (lambda g: g["known_risky"][0].update(reason=""), "known_risky[0]: no reason"),
    (lambda g: g["known_risky"][1].update(versions="3.5.9-3.5.1"), "empty range"),
    (lambda g: g["minor_steps"][0].update(source_floor="3.5"), "is not a release"),
    (lambda g: g.pop("refused_config"), "refused_config: missing or empty"),
])
def test_a_broken_gate_file_is_refused_with_the_place(gates, tmp_path, mutation, words):
    broken = yaml.safe_load(yaml.safe_dump(gates))
    mutation(broken)
    path = tmp_path / "gates.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(Exception) as err:
        cluster_guard.load_gates(str(path))
    assert words in str(err.value)


def test_the_35_to_36_floor_keeps_its_history(gates):
    history = [h for h in gates["floor_history"] if h["step"] == "3.5->3.6"]
    assert [h["floor"] for h in history] == ["3.5.20", "3.5.26", "3.5.32"]
    step = [s for s in gates["minor_steps"] if (s["from"], s["to"]) == ("3.5", "3.6")][0]
    assert step["source_floor"] == history[-1]["floor"], "the current floor is the last line of its history"
    assert step["checks"] == ["v2store"]
    assert "upgrade_3_6" in step["link"]


def test_the_36_to_37_floor(gates):
    step = [s for s in gates["minor_steps"] if (s["from"], s["to"]) == ("3.6", "3.7")][0]
    assert step["source_floor"] == "3.6.11" and "upgrade_3_7" in step["link"]


@pytest.mark.parametrize("version,reason", [
    ("3.5.3", "defragmentation"),
    ("3.5.19", "learner promotion persisted only in the v2store"),
    ("3.5.22", "racing a snapshot apply"),
    ("3.6.4", "racing a snapshot apply"),
    ("3.6.3", "bootstrap replaying a learner promotion"),
    ("3.5.29", "cannot be added while another member is down"),
    ("3.6.10", "cannot be added while another member is down"),
    ("3.5.30", "silently promotes a learner"),
    ("3.6.11", "silently promotes a learner"),
    ("3.5.32", "3.5.33 is the recommended floor"),
    ("3.6.13", "3.6.14 is the recommended floor"),
    ("3.7.0", "3.7.1 is the recommended floor"),
])
def test_known_risky_releases_are_warned(version, reason):
    text = " ".join(cluster_guard.version_warnings({"m1": version}, version))
    assert reason in text


@pytest.mark.parametrize("version", ["3.5.33", "3.6.14", "3.7.1"])
def test_the_recommended_floors_are_not_warned(version):
    assert cluster_guard.version_warnings({"m1": version}, version) == []


def _rendered(version):
    settings = {"name": "m1", "data-dir": "/var/lib/etcd", "snapshot-count": 10000, "heartbeat-interval": 100,
                "election-timeout": 1000, "corrupt-check-time": "5m", "compact-hash-check-time": "1m",
                "client-transport-security": {"cert-file": "/etc/etcd/pki/server.crt", "client-cert-auth": True}}
    return etcd_config(settings, version, {"InitialCorruptCheck": True, "CompactHashCheck": True})


@pytest.mark.parametrize("source,target", [("3.5.33", "3.6.14"), ("3.6.14", "3.7.1")])
def test_each_minor_step_passes_the_gates_and_renders_a_config_the_target_accepts(source, target):
    """The 3.6 and 3.7 paths, proven here only (no 3.6/3.7 binary on the lab machines): the guard lets the step
    through, the plan asks for the step's checks, and the configuration rendered for the target holds no refused v2
    setting and no key outside the target's flags (a help text made of the target's known keys)."""
    running = {"m1": source, "m2": source, "m3": source}
    assert cluster_guard.version_guard(running, target) == []
    plan = cluster_guard.upgrade_plan(running, target)
    assert plan["kind"] == "minor" and plan["to_switch"] == ["m1", "m2", "m3"]
    assert plan["checks"] == (["v2store"] if target.startswith("3.6") else [])
    config = _rendered(target)
    assert cluster_guard.refused_config_problems(config, target) == []
    assert not [k for k in config if k.startswith("experimental-")]
    from ansible_collections.quorum.etcd.plugins.filter.etcd_config import KEYS_36, KEYS_37
    known = KEYS_36 if target.startswith("3.6") else KEYS_37
    help_text = "\n".join("  --%s ''" % k for k in sorted(known))
    assert cluster_guard.flag_problems(config, help_text, target) == []
    # The same settings rendered for the source keep their 3.5 names: the target's help would not know them.
    if source.startswith("3.5"):
        assert cluster_guard.flag_problems(_rendered(source), help_text, target)


@pytest.mark.parametrize("source,target", [("3.6.14", "3.5.33"), ("3.7.1", "3.6.14")])
def test_each_minor_downgrade_step_passes_the_downgrade_guard(source, target):
    assert cluster_guard.downgrade_guard({"m1": source, "m2": source}, target) == []
    assert "downgrade playbook" in cluster_guard.version_guard({"m1": source, "m2": source}, target)[0]
