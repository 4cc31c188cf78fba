"""Unit test fixtures: the collection on sys.path, a throw-away PKI and the fake etcd gateway."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import collection_path  # noqa: E402

collection_path.setup()

from etcd_pki import CA  # noqa: E402
from fake_etcd import FakeCluster  # noqa: E402
from helpers import module_runner  # noqa: E402


class Pki:
    def __init__(self, directory):
        self.ca = CA(os.path.join(directory, "ca"))
        self.client_cert, self.client_key = self.ca.issue("client", server=False)
        self.other_ca = CA(os.path.join(directory, "other"), name="other-ca")
        self.other_cert, self.other_key = self.other_ca.issue("other-client", server=False)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def cluster(pki):
    c = FakeCluster(pki.ca)
    yield c
    c.close()


@pytest.fixture
def conn(pki, cluster):
    """Connection options for the modules, pointing at the first member."""
    return dict(endpoints=[cluster.url(cluster.order[0])], ca_cert=pki.ca.cert_path,
                client_cert=pki.client_cert, client_key=pki.client_key, timeout=2)


@pytest.fixture
def run_module(capsys):
    """run_module(module, args, check=False, diff=False) -> the module's JSON result as a dict."""
    return module_runner(capsys)
