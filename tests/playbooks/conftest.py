"""Shared by the playbook tests: the unit and integration helpers (loopback etcd, free ports) on the import path,
and the checkout visible as the collection quorum.etcd."""

from __future__ import annotations

import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("unit", "integration"):
    path = os.path.join(TESTS, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

import collection_path  # noqa: E402

collection_path.setup()
