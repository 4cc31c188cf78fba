"""Make ``ansible_collections.quorum.etcd`` importable from this checkout.

When the checkout already lives at ``.../ansible_collections/quorum/etcd`` (as under ansible-test), its
grand-grandparent goes on sys.path.  Otherwise a temporary tree
``<tmp>/ansible_collections/quorum/etcd -> <repo>`` (a symlink) is made and removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def setup():
    parts = REPO.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "quorum"] and parts[-1] == "etcd":
        root = os.sep.join(parts[:-3])
    else:
        root = os.environ.get("QUORUM_ETCD_COLLECTION_ROOT")
        if not root:
            root = tempfile.mkdtemp(prefix="quorum-etcd-collection-")
            atexit.register(shutil.rmtree, root, True)
        link = os.path.join(root, "ansible_collections", "quorum", "etcd")
        if not os.path.exists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(REPO, link)
    if root not in sys.path:
        sys.path.insert(0, root)
    # Drop a stale ansible_collections namespace package cached before the path changed.
    for name in list(sys.modules):
        if name == "ansible_collections" or name.startswith("ansible_collections.quorum"):
            del sys.modules[name]
    return root
