"""Membership life cycle under load: scale 3 -> 5, remove two, refuse a removal that breaks quorum, replace a
member whose host was destroyed, then a setting change that restarts every member in turn (leader last). A writer
outside the cluster's hosts writes about 20 keys/s throughout; at the end no write has failed and every member
reports the same hashkv.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.request
import base64

import pytest

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
INVENTORY = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", "inventory/x"))
ETCDCTL = os.path.join(REPO, ".lab", "bin", "etcdctl")
NET_PREFIX = "10.89.83"
HOSTS = ["etcd-mm-%d" % i for i in range(1, 6)]
IP = {h: "%s.%d" % (NET_PREFIX, 10 + int(h.rsplit("-", 1)[1])) for h in HOSTS}
ENV = dict(
    os.environ,
    CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"),
    ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
    ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
    ANSIBLE_NOCOLOR="1",
)


def playbook(name, *extra, check=True):
    """Run a playbook of the collection; the cluster is the group etcd_initial unless extra vars say otherwise."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(REPO, "playbooks", name)]
    if not any(e.startswith("etcd_cluster_group=") for e in extra):
        extra = extra + ("etcd_cluster_group=etcd_initial",)
    for e in extra:
        cmd += ["-e", e]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def etcdctl(*args, hosts=None, check=True):
    eps = ",".join("https://%s:2379" % IP[h] for h in (hosts or HOSTS[:3]))
    cmd = [ETCDCTL, "--endpoints", eps, "--cacert", os.path.join(PKI, "ca.crt"),
           "--cert", os.path.join(PKI, "clients", "admin.crt"), "--key", os.path.join(PKI, "clients", "admin.key"),
           "--dial-timeout", "3s", "--command-timeout", "10s"]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


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


class Writer(threading.Thread):
    """About 20 puts/s through the JSON gateway with failover; a put fails only if no endpoint took it in 10 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.crt"))
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(os.path.join(PKI, "clients", "admin.crt"), os.path.join(PKI, "clients", "admin.key"))
        self.stop = threading.Event()
        self.ok = 0
        self.failed = 0
        self.errors = []

    def put(self, ip, key, value):
        body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                           "value": base64.b64encode(value.encode()).decode()}).encode()
        req = urllib.request.Request("https://%s:2379/v3/kv/put" % ip, data=body, method="POST")
        with urllib.request.urlopen(req, context=self.ctx, timeout=2) as r:
            json.loads(r.read())

    def run(self):
        i = 0
        while not self.stop.is_set():
            key, value = "/writer/%06d" % i, "v%d" % i
            deadline = time.monotonic() + 10
            done = False
            attempt = 0
            last = ""
            while not done and time.monotonic() < deadline:
                ip = IP[HOSTS[(i + attempt) % len(HOSTS)]]
                attempt += 1
                try:
                    self.put(ip, key, value)
                    done = True
                except Exception as e:  # any endpoint may be down or not a member yet: fail over
                    if attempt % len(HOSTS) == 0:
                        time.sleep(0.2)
                    last = "%s: %s" % (ip, e)
            if done:
                self.ok += 1
            else:
                self.failed += 1
                self.errors.append(last)
            i += 1
            time.sleep(0.05)


@pytest.fixture(scope="module")
def writer():
    w = Writer()
    w.start()
    yield w
    w.stop.set()
    w.join(30)


def test_membership_life_cycle(writer):
    assert voters() == HOSTS[:3]

    # Scale out 3 -> 5: each new host joins as a learner and is promoted.
    playbook("scale_out.yml", "etcd_cluster_group=etcd")
    assert voters() == HOSTS
    assert not [m for m in members() if m.get("isLearner")]

    # Remove one (4 left: warned), then another (3 left).
    out = playbook("remove_member.yml", "etcd_cluster_group=etcd", "etcd_remove_member=etcd-mm-5")
    assert "even count" in out.stdout
    assert voters() == HOSTS[:4]
    playbook("remove_member.yml", "etcd_cluster_group=etcd", "etcd_remove_member=etcd-mm-4")
    assert voters() == HOSTS[:3]
    for h in HOSTS[3:]:
        state = subprocess.run(["podman", "exec", h, "systemctl", "is-active", "etcd"], capture_output=True,
                               text=True, env=ENV, check=False).stdout.strip()
        assert state != "active"
        aside = subprocess.run(["podman", "exec", h, "sh", "-c", "ls -d /var/lib/etcd/member.removed-*"],
                               capture_output=True, text=True, env=ENV, check=False)
        assert aside.returncode == 0, "data of %s was not moved aside" % h

    # With one member stopped, removing another would leave 1 healthy voter of 2: refused, nothing changes.
    subprocess.run(["podman", "exec", "etcd-mm-3", "systemctl", "stop", "etcd"], check=True, env=ENV)
    try:
        out = playbook("remove_member.yml", "etcd_remove_member=etcd-mm-2", check=False)
        assert out.returncode != 0
        assert "quorum" in out.stdout.lower()
        assert voters() == HOSTS[:3]
    finally:
        subprocess.run(["podman", "exec", "etcd-mm-3", "systemctl", "start", "etcd"], check=True, env=ENV)
    wait_healthy(HOSTS[:3])

    # etcd-mm-3's host dies and comes back empty: replace it.
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

    # A setting that needs a restart: the members restart one at a time behind the health gate, the leader last,
    # while the writer keeps writing.
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
    wait_healthy(HOSTS[:3])

    time.sleep(2)
    writer.stop.set()
    writer.join(30)
    assert writer.ok > 100, "the writer made only %d writes" % writer.ok
    assert writer.failed == 0, writer.errors[:5]

    hashes = json.loads(etcdctl("endpoint", "hashkv", "-w", "json", hosts=HOSTS[:3]).stdout)
    assert len(hashes) == 3
    assert len({h["HashKV"]["hash"] for h in hashes}) == 1, hashes
    # a rerun of site.yml (same settings) changes nothing
    out = playbook("site.yml", "etcd_log_level=warn")
    assert "changed=0" in out.stdout and "changed=1" not in out.stdout
