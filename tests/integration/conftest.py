"""Integration test fixtures: a real etcd cluster (binary from the lab mirror) with real TLS."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(os.path.dirname(HERE), "unit")
sys.path.insert(0, UNIT)

import collection_path  # noqa: E402

collection_path.setup()

from etcd_pki import CA  # noqa: E402
from helpers import free_port, module_runner  # noqa: E402

REPO = collection_path.REPO
ETCD_VERSION = os.environ.get("ETCD_VERSION", "3.5.30")
TARBALL = os.environ.get(
    "ETCD_TARBALL",
    os.path.join(REPO, ".lab", "mirror", "v%s" % ETCD_VERSION, "etcd-v%s-linux-amd64.tar.gz" % ETCD_VERSION),
)


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real etcd binary (from the lab mirror); "
                                       "starts a local etcd cluster on 127.0.0.1")


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


@pytest.fixture(scope="module")
def etcd_binary(tmp_path_factory):
    if not os.path.exists(TARBALL):
        pytest.skip("etcd %s release tarball not found at %s (build it with: bash lab/build-mirror.sh)"
                    % (ETCD_VERSION, TARBALL))
    target = str(tmp_path_factory.mktemp("etcd-bin"))
    member = "etcd-v%s-linux-amd64/etcd" % ETCD_VERSION
    with tarfile.open(TARBALL) as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            pytest.skip("%s has no %s" % (TARBALL, member))
        info.name = "etcd"
        tar.extract(info, target)
    return os.path.join(target, "etcd")


@pytest.fixture(scope="module")
def etcd_cluster(etcd_binary, tmp_path_factory):
    cluster = EtcdCluster(etcd_binary, str(tmp_path_factory.mktemp("etcd-cluster")))
    names = ["it1", "it2", "it3"]
    for n in names:
        cluster.new_member(n)
    initial = ",".join("%s=%s" % (n, cluster.members[n].peer_url) for n in names)
    try:
        for n in names:
            cluster.start(n, initial)
        cluster.wait_healthy(names)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def run_module(capsys):
    return module_runner(capsys)
