"""Ordered steps: in a module marked ``pytestmark = pytest.mark.incremental`` the tests are the steps of one story and
run in file order; once a step fails, every later step is skipped with the failed step's name (the cluster is not in
the state the later steps start from)."""

from __future__ import annotations

import pytest

_FAILED = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "incremental: the module's tests are ordered steps; a failure skips the rest")


def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and call.when in ("setup", "call") and item.get_closest_marker("incremental"):
        if not call.excinfo.errisinstance(pytest.skip.Exception):
            _FAILED.setdefault(item.module.__name__, item.name)


def pytest_runtest_setup(item):
    if item.get_closest_marker("incremental"):
        failed = _FAILED.get(item.module.__name__)
        if failed is not None:
            pytest.skip("an earlier step failed: %s" % failed)
