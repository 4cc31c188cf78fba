"""Preflight probe: a client, peer or metrics port held by anything but this collection's etcd is reported.

The probe (plugins/modules/etcd_preflight_info.py) runs on the member before the disk, tuning and firewall
roles change anything. Another etcd (a distribution package's /usr/bin/etcd, a kubeadm static pod) holding the port
used to pass because only the process name was compared.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_preflight_info as probe

SERVE = ("import socket, sys, time\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('127.0.0.1', 0)); s.listen(1)\n"
         "print(s.getsockname()[1], flush=True); time.sleep(60)\n")


def _listen_as(name, tmp_path):
    """A listener whose process is called NAME (comm): python started through a symlink of that name."""
    link = tmp_path / name
    link.symlink_to(os.path.realpath(sys.executable))
    proc = subprocess.Popen([str(link), "-c", SERVE], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


@pytest.fixture
def holder(tmp_path, request):
    procs = []

    def start(name):
        proc, port = _listen_as(name, tmp_path)
        procs.append(proc)
        return port

    yield start
    for p in procs:
        p.kill()
        p.wait()


def _wait_listed(port, own):
    for dummy in range(50):
        info = probe.listeners([port], own)[str(port)]
        if info["listening"] and info["processes"]:
            return info
        time.sleep(0.1)
    return info


def test_another_etcd_on_the_port_is_foreign(holder, tmp_path):
    port = holder("etcd")
    info = _wait_listed(port, [str(tmp_path / "opt-etcd")])
    assert info["processes"] == ["etcd"]
    assert len(info["foreign"]) == 1 and info["foreign"][0].startswith("etcd (pid ")


def test_this_collections_etcd_on_the_port_is_fine(holder):
    port = holder("etcd")
    own = os.path.dirname(os.path.realpath(sys.executable))
    info = _wait_listed(port, [own])
    assert info["processes"] == ["etcd"] and info["foreign"] == []


def test_another_service_on_the_port_is_foreign(holder, tmp_path):
    port = holder("nginx")
    info = _wait_listed(port, [os.path.dirname(os.path.realpath(sys.executable))])
    assert info["foreign"] and info["foreign"][0].startswith("nginx (pid ")


def test_free_port_is_not_listening():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert probe.listeners([port], ["/opt/etcd"])[str(port)] == {"listening": False, "processes": [], "foreign": []}


@pytest.mark.parametrize("comm,exe,own", [("etcd", "/opt/etcd/etcd-v3.5.30/etcd", True),
                                          ("etcd", "/opt/etcd/etcd-v3.5.16/etcd (deleted)", True),
                                          ("etcd", "/usr/bin/etcd", False), ("etcd", "/opt/etcdx/etcd", False),
                                          ("etcd", "", False), ("kube-apiserver", "/opt/etcd/x", False)])
def test_own_etcd(comm, exe, own):
    assert probe.is_own_etcd(comm, exe, ["/opt/etcd"]) is own


def test_holder_behind_unreadable_descriptors_is_judged_by_its_uid(holder, monkeypatch):
    """In a container root cannot read another user's /proc/PID/fd (no CAP_SYS_PTRACE): the listener used to pass
    unseen. Now the processes of the socket's owner decide: here the test's own uid runs more than etcd."""
    port = holder("nginx")
    real_listdir = os.listdir

    def listdir(path):
        if path.startswith("/proc/") and path.endswith("/fd"):
            raise PermissionError(path)
        return real_listdir(path)

    monkeypatch.setattr(probe.os, "listdir", listdir)
    info = _wait_listed(port, [os.path.dirname(os.path.realpath(sys.executable))])
    assert info["listening"]
    assert info["foreign"] and info["foreign"][0].startswith("a process of uid %d (" % os.getuid())
    assert "nginx" in info["processes"]


def test_uid_holders_resolve_the_command():
    mates = probe._uid_holders(str(os.getuid()))
    assert any(pid == str(os.getpid()) for pid, comm, exe in mates)
