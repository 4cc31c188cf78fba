"""Membership life cycle under load, in ordered steps (each a test; once a step fails, the later ones are skipped
and name it, molecule/membership/tests/conftest.py): scale 3 -> 5 through a scale-out killed (SIGKILL) between the
start and the promotion of a learner that an earlier run had added without starting, and resumed by the next run;
remove two, refuse a removal that breaks quorum, replace a member whose host was destroyed, then a setting change
that restarts every member in turn (leader last) and removes an unstarted learner that is not in the inventory. A
writer outside the cluster's hosts writes about 20 keys/s throughout; at the end no write has failed, every
acknowledged write is readable and every member reports the same hashkv, and a rerun changes nothing. Last, with the
writer stopped, the two spare hosts bootstrap a cluster of their own: the run is killed after the first member created
data, the next run refuses with the way out, and etcd_bootstrap_reset moves the partial data aside and bootstraps
again with a new initial cluster token.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
import quorum_lab
from quorum_lab import INVENTORY, REPO, Writer, lab_env, recap, sh, task_output, wait_for

# Every test here is a step of one life cycle, in this order.
pytestmark = pytest.mark.incremental

NET_PREFIX = "10.89.83"
HOSTS = ["etcd-mm-%d" % i for i in range(1, 6)]
IP = {h: "%s.%d" % (NET_PREFIX, 10 + int(h.rsplit("-", 1)[1])) for h in HOSTS}
ENV = lab_env()


def playbook_cmd(name, extra, inventories=()):
    if not any(e.startswith("etcd_cluster_group=") for e in extra):
        extra = tuple(extra) + ("etcd_cluster_group=etcd_initial",)
    return quorum_lab.playbook_cmd([INVENTORY] + list(inventories), name, *extra)


def playbook(name, *extra, check=True, inventories=()):
    """Run a playbook of the collection; the cluster is the group etcd_initial unless extra vars say otherwise."""
    proc = subprocess.run(playbook_cmd(name, extra, inventories), capture_output=True, text=True, env=ENV, cwd=REPO,
                          check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def playbook_killed(name, *extra, marker, before_kill=None, inventories=()):
    """Run a playbook and SIGKILL it (its whole process group) once ``marker`` (a task line) appears in its output,
    after ``before_kill()`` returned. Returns the output up to the kill."""
    proc = subprocess.Popen(playbook_cmd(name, extra, inventories), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=dict(ENV, PYTHONUNBUFFERED="1"), cwd=REPO, start_new_session=True)
    out = []
    killed = False
    try:
        for line in proc.stdout:
            out.append(line)
            if marker in line:
                if before_kill is not None:
                    before_kill()
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
    finally:
        if not killed:
            proc.kill()
        proc.wait(60)
    assert killed, "marker %r never appeared:\n%s" % (marker, "".join(out[-80:]))
    return "".join(out)


def config_token(host):
    text = sh(host, "cat /etc/etcd/etcd.conf.yml").stdout
    return re.search(r"^initial-cluster-token: (\S+)$", text, re.M).group(1)


def etcdctl(*args, hosts=None, check=True):
    return quorum_lab.etcdctl(*args, endpoints=["https://%s:2379" % IP[h] for h in (hosts or HOSTS[:3])], check=check,
                              timeout="10s")


def members():
    out = etcdctl("member", "list", "-w", "json", hosts=HOSTS[:3])
    return json.loads(out.stdout)["members"]


def voters():
    return sorted(m["name"] for m in members() if not m.get("isLearner"))


def leader(hosts):
    status = json.loads(etcdctl("endpoint", "status", "-w", "json", hosts=hosts).stdout)
    lead = status[0]["Status"]["leader"]
    url = [s["Endpoint"] for s in status if s["Status"]["header"]["member_id"] == lead][0]
    return [h for h in hosts if "https://%s:2379" % IP[h] == url][0]


def unit_times(host):
    """Monotonic µs (one clock for all containers) when etcd's main process started and when it reported ready."""
    out = subprocess.run(["podman", "exec", host, "systemctl", "show", "etcd",
                          "-p", "ExecMainStartTimestampMonotonic", "-p", "ActiveEnterTimestampMonotonic"],
                         capture_output=True, text=True, env=ENV, check=True).stdout
    props = dict(line.split("=", 1) for line in out.split())
    return int(props["ExecMainStartTimestampMonotonic"]), int(props["ActiveEnterTimestampMonotonic"])


def wait_healthy(hosts, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        proc = etcdctl("endpoint", "health", hosts=hosts, check=False)
        if proc.returncode == 0:
            return
        assert time.monotonic() < deadline, proc.stderr
        time.sleep(2)


@pytest.fixture(scope="module")
def writer():
    """The writer of the whole life cycle: started by the first step, stopped and checked by the data step."""
    w = Writer([IP[h] for h in HOSTS])
    w.start()
    yield w
    w.finish()


def test_01_three_members_share_one_random_initial_cluster_token(writer):
    assert writer.is_alive()
    assert voters() == HOSTS[:3]
    # A new cluster's initial cluster token is its name and a random part, the same on every member.
    tokens = {config_token(h) for h in HOSTS[:3]}
    assert len(tokens) == 1 and re.match(r"^molecule-mm-[0-9a-f]{12}$", tokens.pop())


def test_02_a_scale_out_killed_between_a_learners_start_and_its_promotion():
    """An earlier run added etcd-mm-4 (member add) and stopped before starting it: the next run starts it. That run
    is killed (SIGKILL) between the start of the learner and its promotion."""
    etcdctl("member", "add", "etcd-mm-4", "--learner", "--peer-urls=https://%s:2380" % IP["etcd-mm-4"])

    def learner_started():
        # What the killed task had asked systemd for (the kill may land before the job was queued).
        sh("etcd-mm-4", "systemctl start etcd")
        wait_for("etcd-mm-4 started as a learner",
                 lambda: [m for m in members() if m.get("name") == "etcd-mm-4" and m.get("isLearner")])

    playbook_killed("scale_out.yml", "etcd_cluster_group=etcd",
                    marker="TASK [quorum.etcd.etcd : Start etcd on the joining host]", before_kill=learner_started)
    assert [m["name"] for m in members() if m.get("isLearner")] == ["etcd-mm-4"]


def test_03_the_next_scale_out_resumes_and_grows_the_cluster_to_five():
    """The learner left by the killed run is promoted, then etcd-mm-5 joins as a learner and is promoted; the run ends
    with the convergence check."""
    out = playbook("scale_out.yml", "etcd_cluster_group=etcd")
    assert "changed: [etcd-mm-1] => (item=etcd-mm-4)" in task_output(
        out.stdout, "quorum.etcd.etcd : Promote those learners once they have caught up"), out.stdout[-6000:]
    assert "Converged: 5 started voting members" in out.stdout
    assert voters() == HOSTS
    assert not [m for m in members() if m.get("isLearner")]


def test_04_remove_member_removes_two_members_one_at_a_time():
    """Remove one (4 left: warned), then another (3 left); the removed hosts' etcd is stopped, their data moved aside."""
    out = playbook("remove_member.yml", "etcd_cluster_group=etcd", "etcd_remove_member=etcd-mm-5")
    assert "even count" in out.stdout
    assert voters() == HOSTS[:4]
    playbook("remove_member.yml", "etcd_cluster_group=etcd", "etcd_remove_member=etcd-mm-4")
    assert voters() == HOSTS[:3]
    for h in HOSTS[3:]:
        assert sh(h, "systemctl is-active etcd", check=False).stdout.strip() != "active"
        aside = sh(h, "ls -d /var/lib/etcd/member.removed-*", check=False)
        assert aside.returncode == 0, "data of %s was not moved aside" % h


def test_05_a_removal_that_would_break_quorum_is_refused():
    """With one member stopped, removing another would leave 1 healthy voter of 2: refused, nothing changes."""
    subprocess.run(["podman", "exec", "etcd-mm-3", "systemctl", "stop", "etcd"], check=True, env=ENV)
    try:
        out = playbook("remove_member.yml", "etcd_remove_member=etcd-mm-2", check=False)
        assert out.returncode != 0
        assert "quorum" in out.stdout.lower()
        assert voters() == HOSTS[:3]
    finally:
        subprocess.run(["podman", "exec", "etcd-mm-3", "systemctl", "start", "etcd"], check=True, env=ENV)
    wait_healthy(HOSTS[:3])


def test_06_a_member_whose_host_died_is_refused_by_site_and_replaced_by_replace_member():
    """etcd-mm-3's host dies and comes back empty."""
    subprocess.run(["podman", "rm", "-f", "-t", "0", "etcd-mm-3"], check=True, env=ENV, capture_output=True)
    subprocess.run(["pkill", "-f", "ssh: .*%s" % IP["etcd-mm-3"]], env=ENV, check=False)  # stale SSH control masters
    subprocess.run(["bash", os.path.join(REPO, "lab", "up.sh")], check=True, env=dict(
        ENV, LAB_HOSTS="etcd-mm-3", LAB_NET="quorum-etcd-mm", LAB_SUBNET=NET_PREFIX + ".0/24",
        LAB_IMAGE="localhost/quorum-etcd-host:bookworm"))
    # site.yml alone refuses to rejoin a member that lost its data ...
    out = playbook("site.yml", check=False)
    assert out.returncode != 0 and "replace_member" in out.stdout
    # ... replace_member removes the old id and joins the host anew.
    playbook("replace_member.yml", "etcd_replace_member=etcd-mm-3")
    assert voters() == HOSTS[:3]
    wait_healthy(HOSTS[:3])


def test_07_a_setting_change_restarts_members_one_at_a_time_leader_last_and_removes_a_stray_learner():
    """A learner added but never started whose peer URL is not in the inventory (etcd-mm-5 is not in etcd_initial):
    the run removes it (no data, no vote). A setting that needs a restart: the members restart one at a time behind
    the health gate, the leader last, while the writer keeps writing."""
    etcdctl("member", "add", "stray", "--learner", "--peer-urls=https://%s:2380" % IP["etcd-mm-5"])
    lead = leader(HOSTS[:3])
    before = {h: unit_times(h) for h in HOSTS[:3]}
    out = playbook("site.yml", "etcd_log_level=warn")
    order = re.findall(r"TASK \[quorum\.etcd\.etcd : Restart etcd on (\S+)\]", out.stdout)
    assert sorted(order) == HOSTS[:3], out.stdout[-4000:]
    assert order[-1] == lead, "leader %s was not restarted last: %s" % (lead, order)
    after = {h: unit_times(h) for h in order}
    for h in order:
        assert after[h][0] > before[h][1], "%s was not restarted" % h
    for prev, nxt in zip(order, order[1:]):
        assert after[prev][1] < after[nxt][0], "%s restarted before %s was ready again" % (nxt, prev)
    assert "Remove learners that were added but never started" in out.stdout
    assert not [m for m in members() if IP["etcd-mm-5"] in ",".join(m.get("peerURLs", []))]
    assert len(members()) == 3
    wait_healthy(HOSTS[:3])


def test_08_no_write_failed_every_acknowledged_write_is_readable_and_the_members_agree(writer):
    """The writer ran through steps 1-7: no failed write, every acknowledged key readable with its value, one
    hashkv on every member."""
    time.sleep(2)  # a few writes after the last restart
    writer.finish()
    assert len(writer.acked) > 100, "the writer made only %d writes" % len(writer.acked)
    assert writer.failed == 0, writer.errors[:5]
    writer.assert_readable()
    hashes = json.loads(etcdctl("endpoint", "hashkv", "-w", "json", hosts=HOSTS[:3]).stdout)
    assert len(hashes) == 3
    assert len({h["HashKV"]["hash"] for h in hashes}) == 1, hashes


def test_09_a_rerun_of_site_with_the_same_settings_changes_nothing():
    out = playbook("site.yml", "etcd_log_level=warn")
    counts = recap(out.stdout)
    assert set(HOSTS[:3]) <= set(counts), out.stdout[-3000:]
    assert all(c["changed"] == 0 for c in counts.values()), counts


def test_10_a_bootstrap_killed_after_the_first_member_created_data_is_reset_only_when_confirmed(tmp_path):
    """The spare hosts etcd-mm-4 and etcd-mm-5 (removed in step 4: etcd stopped, data moved aside) bootstrap a cluster
    of their own. No writer: a cluster that never formed serves nobody."""
    spare = HOSTS[3:]
    inventory = tmp_path / "spare.yml"
    inventory.write_text("etcd_spare:\n  hosts:\n" + "".join("    %s: {}\n" % h for h in spare))
    group = ("etcd_cluster_group=etcd_spare",)
    for h in spare:
        assert sh(h, "test -e /var/lib/etcd/member", check=False).returncode != 0
    # etcd on etcd-mm-5 cannot start until the test says so (a drop-in outside the collection's files): etcd-mm-4
    # starts alone, creates its data and waits for a quorum that never comes.
    sh("etcd-mm-5", "mkdir -p /etc/systemd/system/etcd.service.d && printf '[Service]\\nExecStartPre=/bin/sh -c "
                    "\"while [ ! -e /run/quorum-test-go ]; do sleep 1; done\"\\n' "
                    "> /etc/systemd/system/etcd.service.d/hold.conf && systemctl daemon-reload")
    try:
        playbook_killed("site.yml", *group, inventories=(str(inventory),),
                        marker="TASK [quorum.etcd.etcd : Enable and start etcd]",
                        before_kill=lambda: wait_for("data on etcd-mm-4", lambda: sh(
                            "etcd-mm-4", "test -d /var/lib/etcd/member", check=False).returncode == 0))
    finally:
        sh("etcd-mm-5", "systemctl stop etcd; rm -f /etc/systemd/system/etcd.service.d/hold.conf; "
                        "systemctl daemon-reload", check=False)
    assert sh("etcd-mm-5", "test -e /var/lib/etcd/member", check=False).returncode != 0
    partial_token = config_token("etcd-mm-4")

    # The next run says what happened and what to do, and changes nothing.
    out = playbook("site.yml", *group, check=False, inventories=(str(inventory),))
    assert out.returncode != 0
    assert "did not complete" in out.stdout and "-e etcd_bootstrap_reset=molecule-mm" in out.stdout, out.stdout[-4000:]
    assert sh("etcd-mm-4", "test -d /var/lib/etcd/member", check=False).returncode == 0

    # Confirmed: the partial data is moved aside (never deleted) and the cluster is bootstrapped with a new token.
    out = playbook("site.yml", *group, "etcd_bootstrap_reset=molecule-mm", inventories=(str(inventory),))
    assert "Converged: 2 started voting members" in out.stdout
    assert sh("etcd-mm-4", "ls -d /var/lib/etcd/member.partial-*").stdout.strip()
    tokens = {config_token(h) for h in spare}
    assert len(tokens) == 1
    token = tokens.pop()
    assert re.match(r"^molecule-mm-[0-9a-f]{12}$", token) and token != partial_token
    status = json.loads(etcdctl("endpoint", "status", "-w", "json", hosts=spare).stdout)
    assert len({s["Status"]["header"]["cluster_id"] for s in status}) == 1
    main = json.loads(etcdctl("endpoint", "status", "-w", "json", hosts=HOSTS[:1]).stdout)
    assert status[0]["Status"]["header"]["cluster_id"] != main[0]["Status"]["header"]["cluster_id"]
