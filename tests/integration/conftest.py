"""Integration test fixtures: a real etcd cluster (binary from the lab mirror) with real TLS."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(os.path.dirname(HERE), "unit")
sys.path.insert(0, UNIT)
sys.path.insert(0, HERE)

import collection_path  # noqa: E402

collection_path.setup()

from etcd_local import ETCD_VERSION, TARBALL, EtcdCluster, extract_etcd  # noqa: E402
from helpers import module_runner  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real etcd binary (from the lab mirror); "
                                       "starts a local etcd cluster on 127.0.0.1")


@pytest.fixture(scope="module")
def etcd_binary(tmp_path_factory):
    binary = extract_etcd(str(tmp_path_factory.mktemp("etcd-bin")))
    if binary is None:
        pytest.skip("etcd %s release tarball (with etcd) not found at %s (build it with: bash lab/build-mirror.sh)"
                    % (ETCD_VERSION, TARBALL))
    return binary


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
