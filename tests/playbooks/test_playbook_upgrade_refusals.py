"""playbooks/upgrade.yml refuses a move the version gates do not allow, before any change (and scale_out.yml a cluster
that does not exist).

The three "members" are the controller itself (ansible_connection local), each with an install directory of its own
whose `current` link names the release it runs; no etcd runs, so the guard takes the versions from the links (as it
does for stopped members). A refused run must leave every member's files as they were and download nothing. Where
the run must get further than the version gates (the flag check of a 3.6 target, the v2store check of a 3.5 -> 3.6
step), no real 3.6 binary exists on this machine: a fake release archive (its `etcd --help` and `etcdutl`) stands in,
put in the download cache with its checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from ansible_collections.quorum.etcd.plugins.filter.etcd_config import KEYS_36

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIRROR = os.path.join(REPO, ".lab", "mirror")
HOSTS = ("m1", "m2", "m3")


def _tree(tmp_path, host, version, etcdutl_says="No custom content found in v2store."):
    """A member's directories: the release VERSION unpacked and linked as current, etcdutl in the bin directory."""
    root = tmp_path / host
    release = root / "opt" / ("etcd-v%s" % version)
    release.mkdir(parents=True)
    (release / "README.md").write_text("etcd %s\n" % version)
    os.symlink(release.name, root / "opt" / "current")
    (root / "bin").mkdir()
    etcdutl = root / "bin" / "etcdutl"
    etcdutl.write_text("#!/bin/sh\necho '%s'\n" % etcdutl_says)
    etcdutl.chmod(0o755)
    for sub in ("etc", "data", "pki"):
        (root / sub).mkdir()
    return {"etcd_install_dir": str(root / "opt"), "etcd_bin_dir": str(root / "bin"), "etcd_config_dir": str(root / "etc"),
            "etcd_data_dir": str(root / "data"), "etcd_pki_dir": str(root / "pki")}


def _files(tmp_path):
    """Every path under the members' trees with its link target: what a refused run must not change (the download
    cache is outside)."""
    out = []
    for host in HOSTS:
        for dirpath, dirnames, filenames in os.walk(tmp_path / host):
            for name in sorted(dirnames + filenames):
                p = os.path.join(dirpath, name)
                out.append((p, os.readlink(p) if os.path.islink(p) else ""))
    return sorted(out)


def run_upgrade(tmp_path, running, target, extra=None, etcdutl_says=None, playbook="upgrade.yml"):
    hosts = {}
    for i, host in enumerate(HOSTS):
        hv = {"ansible_host": "127.0.0.%d" % (i + 1), "ansible_connection": "local",
              "ansible_python_interpreter": sys.executable}
        hv.update(_tree(tmp_path, host, running[i], **({"etcdutl_says": etcdutl_says} if etcdutl_says else {})))
        hosts[host] = hv
    inv = {"etcd": {"hosts": hosts},
           "all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}
    (tmp_path / "hosts.yml").write_text(json.dumps(inv))
    variables = {"etcd_release_base_url": "file://" + MIRROR, "etcd_download_dir": str(tmp_path / "cache"),
                 "etcd_pki_controller_dir": str(tmp_path / "controller-pki"), "etcd_version": target,
                 "etcd_backup_now_dir": str(tmp_path / "backups")}
    variables.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"), ANSIBLE_NOCOLOR="1")
    before = _files(tmp_path)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         "-e", json.dumps(variables), os.path.join(REPO, "playbooks", playbook)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    out = " ".join((proc.stdout + proc.stderr).split())  # the output callback wraps long lines
    return proc, out, before


def refused_before_any_change(tmp_path, proc, out, before, *words):
    assert proc.returncode != 0, out[-3000:]
    for w in words:
        assert w in out, out[-3000:]
    assert _files(tmp_path) == before, "the refused run changed a member's files"
    assert not os.path.exists(tmp_path / "backups"), "the refused run took a snapshot"
    assert not os.path.exists(tmp_path / "cache") or not os.listdir(tmp_path / "cache"), "the refused run downloaded"


@pytest.mark.parametrize("running,target,words", [
    (("3.5.30", "3.5.30", "3.5.30"), "3.7.1", ["skips a minor release", "3.6 first"]),
    (("3.6.14", "3.6.14", "3.6.14"), "3.5.30", ["is a downgrade from 3.6", "use the downgrade playbook"]),
    (("3.5.33", "3.5.33", "3.5.33"), "3.6.2", ["3.6.2 is below 3.6.4, the lowest release to upgrade to from 3.5"]),
    (("3.5.30", "3.5.30", "3.5.30"), "3.5.2", ["known-bad release"]),
    (("3.5.33", "3.5.30", "3.5.33"), "3.6.14", ["every member must run 3.5.32 or newer first; below it: m2",
                                                "https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/"]),
])
def test_version_gate_refusals(tmp_path, running, target, words):
    refused_before_any_change(tmp_path, *run_upgrade(tmp_path, running, target), *words)


def _fake_release(tmp_path, version, help_flags):
    """A release archive whose etcd prints a help text listing HELP_FLAGS, cached with its checksum."""
    buf = io.BytesIO()
    top = "etcd-v%s-linux-amd64" % version
    scripts = {"etcd": "#!/bin/sh\ncat <<'EOF'\nUsage:\n  etcd [flags]\n%s\nEOF\n"
                       % "\n".join("  --%s ''" % f for f in sorted(help_flags)),
               "etcdctl": "#!/bin/sh\nexit 1\n", "etcdutl": "#!/bin/sh\nexit 1\n", "README.md": "fake %s\n" % version}
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in scripts.items():
            data = text.encode()
            info = tarfile.TarInfo("%s/%s" % (top, name))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "cache").mkdir(exist_ok=True)
    path = tmp_path / "cache" / ("%s.tar.gz" % top)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_a_leftover_key_the_target_does_not_know_is_refused_before_any_switch(tmp_path):
    """The rendered 3.6 configuration holds warning-unary-request-duration (from etcd_extra_config); the target's
    `etcd --help` (a fake 3.6.14: no such binary on this machine) has no such flag: refused, naming the key, with the
    current links untouched (the target was unpacked beside, nothing switched)."""
    sha = _fake_release(tmp_path, "3.6.14", KEYS_36 - {"warning-unary-request-duration"})
    proc, out, _before = run_upgrade(tmp_path, ("3.5.33",) * 3, "3.6.14",
                                     {"etcd_release_sha256": sha,
                                      "etcd_extra_config": {"warning-unary-request-duration": "300ms"}})
    assert proc.returncode != 0, out[-3000:]
    assert "etcd 3.6.14 does not know the configuration key(s) warning-unary-request-duration" in out, out[-3000:]
    assert "etcdutl check v2store: no custom content on m1, m2, m3" in out
    for host in HOSTS:
        assert os.readlink(tmp_path / host / "opt" / "current") == "etcd-v3.5.33", "a member was switched"
    assert not os.path.exists(tmp_path / "backups"), "a snapshot was taken before the configuration check"


def test_custom_v2store_content_stops_the_35_to_36_step_with_the_upstream_remedy(tmp_path):
    sha = _fake_release(tmp_path, "3.6.14", KEYS_36)
    proc, out, before = run_upgrade(tmp_path, ("3.5.33",) * 3, "3.6.14", {"etcd_release_sha256": sha},
                                    etcdutl_says="detected custom content in v2store: /registry-v2/x")
    assert proc.returncode != 0, out[-3000:]
    assert "the v2store of m1 holds custom content" in out and "--snapshot-count=1" in out, out[-3000:]
    assert "write-only-skip-check" in out
    assert _files(tmp_path) == before


def test_the_downgrade_playbook_refuses_a_35_cluster(tmp_path):
    """3.5 has no downgrade API: a patch downgrade is upgrade.yml's plain rolling switch, said before any change."""
    proc, out, before = run_upgrade(tmp_path, ("3.5.30",) * 3, "3.5.16", playbook="downgrade.yml")
    refused_before_any_change(tmp_path, proc, out, before, "a patch move is a plain rolling switch",
                              "run the upgrade playbook with -e etcd_version=3.5.16")


def test_scale_out_without_any_member_data_is_refused_by_the_guard_before_any_change(tmp_path):
    """playbooks/scale_out.yml on members none of which has data: there is no cluster to scale out. The guard (with
    the host probe it takes) refuses before the first change; the members' files stay as they were."""
    proc, out, before = run_upgrade(tmp_path, ("3.5.30",) * 3, "3.5.30", playbook="scale_out.yml")
    assert proc.returncode != 0, out[-3000:]
    assert "No host of the group has etcd data, so there is no cluster to scale out" in out, out[-3000:]
    assert "PLAY [Deploy etcd members]" in out and "Measure time, network, disk" not in out, out[-3000:]
    assert _files(tmp_path) == before, "the refused run changed a member's files"
