"""Real etcd processes on 127.0.0.1 with real TLS, for the integration and playbook tests.

Shared by tests/integration/conftest.py and tests/playbooks (which put this directory on sys.path).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import time

import collection_path
from etcd_pki import CA
from helpers import free_port

REPO = collection_path.REPO
ETCD_VERSION = os.environ.get("ETCD_VERSION", "3.5.30")
TARBALL = os.environ.get(
    "ETCD_TARBALL",
    os.path.join(REPO, ".lab", "mirror", "v%s" % ETCD_VERSION, "etcd-v%s-linux-amd64.tar.gz" % ETCD_VERSION),
)


def extract_etcd(target):
    """The etcd binary of the lab mirror's release tarball, extracted into ``target``; None without the tarball."""
    if not os.path.exists(TARBALL):
        return None
    member = "etcd-v%s-linux-amd64/etcd" % ETCD_VERSION
    with tarfile.open(TARBALL) as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            return None
        info.name = "etcd"
        tar.extract(info, target)
    return os.path.join(target, "etcd")


class Member:
    def __init__(self, name, workdir):
        self.name = name
        self.client_port = free_port()
        self.peer_port = free_port()
        self.client_url = "https://127.0.0.1:%d" % self.client_port
        self.peer_url = "https://127.0.0.1:%d" % self.peer_port
        self.data_dir = os.path.join(workdir, "data-%s" % name)
        self.log = os.path.join(workdir, "%s.log" % name)
        self.proc = None


class EtcdCluster:
    """Real etcd processes on 127.0.0.1 with client and peer certificate auth."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.ca = CA(os.path.join(workdir, "pki"))
        self.server_cert, self.server_key = self.ca.issue("member")  # server + client usage (peers)
        self.client_cert, self.client_key = self.ca.issue("admin", server=False)
        self.members = {}

    def conn(self, *names):
        names = names or [n for n, m in self.members.items() if m.proc]
        return dict(endpoints=[self.members[n].client_url for n in names], ca_cert=self.ca.cert_path,
                    client_cert=self.client_cert, client_key=self.client_key, timeout=3)

    def new_member(self, name):
        m = Member(name, self.workdir)
        self.members[name] = m
        return m

    def start(self, name, initial_cluster, state="new"):
        m = self.members[name]
        ca = self.ca.cert_path
        args = [
            self.binary, "--name", name, "--data-dir", m.data_dir,
            "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
            "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial_cluster, "--initial-cluster-state", state,
            "--initial-cluster-token", "quorum-it",
            "--client-cert-auth", "--trusted-ca-file", ca, "--cert-file", self.server_cert,
            "--key-file", self.server_key,
            "--peer-client-cert-auth", "--peer-trusted-ca-file", ca, "--peer-cert-file", self.server_cert,
            "--peer-key-file", self.server_key,
            "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn",
        ]
        log = open(m.log, "ab")
        m.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def stop(self, name):
        m = self.members[name]
        if m.proc is not None:
            m.proc.terminate()
            try:
                m.proc.wait(5)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(5)
            m.proc = None

    def close(self):
        for name in list(self.members):
            self.stop(name)

    def wait_healthy(self, names, timeout=20):
        from ansible_collections.quorum.etcd.plugins.module_utils._client import EtcdClient, EtcdError
        deadline = time.time() + timeout
        pending = list(names)
        while pending:
            name = pending[0]
            m = self.members[name]
            if m.proc is not None and m.proc.poll() is not None:
                raise RuntimeError("etcd %s exited (%s):\n%s" % (name, m.proc.returncode, open(m.log).read()[-3000:]))
            try:
                c = EtcdClient([m.client_url], self.ca.cert_path, self.client_cert, self.client_key, timeout=1)
                if c.health()["health"]:
                    pending.pop(0)
                    continue
            except EtcdError:
                pass
            if time.time() > deadline:
                raise RuntimeError("etcd %s not healthy after %ss:\n%s" % (name, timeout, open(m.log).read()[-3000:]))
            time.sleep(0.1)
