"""Helpers shared by the molecule scenarios' tests: the lab environment, playbook runs, commands on the lab hosts,
etcdctl from the controller and a writer under load.

One module for every scenario: each scenario's tests directory holds a symlink to molecule/shared/tests/quorum_lab.py
(and test_cluster.py where a scenario runs the shared cluster checks). Names only get added here; interface changes
are announced in docs/design.md (Testing).
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.request

import yaml

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")
# The scenario's CA and client certificates on the controller (etcd_pki_controller_dir in .config/molecule/config.yml).
PKI = os.path.join(EPHEMERAL, "pki")
INVENTORY_FILE = os.environ.get("MOLECULE_INVENTORY_FILE", "")
# The directory of molecule's inventory (its host_vars and group_vars files beside it): what ansible-playbook -i takes.
INVENTORY = os.path.dirname(INVENTORY_FILE)
ETCDCTL = os.path.join(REPO, ".lab", "bin", "etcdctl")


def lab_env():
    """The environment the Makefile gives: podman settings, the checkout as the collection, plain output."""
    return dict(
        os.environ,
        CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"),
        ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
        # molecule's verifier exports ANSIBLE_FORCE_COLOR=true, which wins over NOCOLOR: tests read plain text.
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
    )


# Podman settings of the lab (the same environment: lab_env() sets CONTAINERS_CONF).
PODMAN_ENV = lab_env()


def playbook_cmd(inventory, name, *extra):
    """ansible-playbook -i INVENTORY playbooks/NAME -e EXTRA... (INVENTORY: a path, or a list of paths)."""
    cmd = ["ansible-playbook"]
    for i in ([inventory] if isinstance(inventory, str) else inventory):
        cmd += ["-i", i]
    cmd.append(os.path.join(REPO, "playbooks", name))
    for e in extra:
        cmd += ["-e", e]
    return cmd


def run_playbook(name, *extra, inventory=None, check=True, timeout=1800):
    """Run playbooks/NAME of the checkout against the scenario's inventory (or INVENTORY: a path or a list), with
    plain output; with CHECK, a failed run fails the test with the end of its output. Returns the process."""
    proc = subprocess.run(playbook_cmd(inventory or INVENTORY, name, *extra), capture_output=True, text=True,
                          env=lab_env(), cwd=REPO, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def recap(text):
    """The PLAY RECAP of a playbook's output: {host: {"ok": n, "changed": n, "unreachable": n, "failed": n, ...}}."""
    out = {}
    for host, counts in re.findall(r"^(\S+)[ \t]+:[ \t]+((?:\w+=\d+[ \t]*)+)$", text, re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return out


def task_output(text, task):
    """The lines a task printed (from its TASK line to the next TASK or PLAY line)."""
    start = text.find("TASK [%s]" % task)
    if start < 0:
        return ""
    end = min([i for i in (text.find("\nTASK [", start + 1), text.find("\nPLAY", start + 1)) if i >= 0] or [len(text)])
    return text[start:end]


def inventory_members(group="etcd"):
    """The hosts of GROUP in molecule's inventory of the scenario, sorted."""
    with open(INVENTORY_FILE) as f:
        inv = yaml.safe_load(f)
    hosts = []

    def walk(node):
        for name, sub in (node or {}).get("children", {}).items():
            if name == group:
                hosts.extend(sorted((sub or {}).get("hosts", {})))
            walk(sub)

    walk(inv.get("all", inv))
    if not hosts:
        hosts = sorted((inv.get(group) or {}).get("hosts", {}))
    return sorted(set(hosts))


def podman_ip(name):
    """The address of lab host NAME on its network."""
    out = subprocess.run(
        ["podman", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],
        check=True, capture_output=True, text=True, env=PODMAN_ENV,
    )
    return out.stdout.strip()


def sh(host, script, check=True, timeout=600):
    """sh -c SCRIPT as root on lab host HOST (podman exec); with CHECK, a non-zero exit raises."""
    return subprocess.run(["podman", "exec", host, "sh", "-c", script], capture_output=True, text=True,
                          env=PODMAN_ENV, check=check, timeout=timeout)


def etcdctl(*args, endpoints, cert=True, check=True, timeout="5s"):
    """The controller's etcdctl against ENDPOINTS (URLs) with the scenario's CA and admin client certificate
    (CERT=False: none); with CHECK, a non-zero exit fails the test with etcdctl's error."""
    cmd = [ETCDCTL, "--endpoints", ",".join(endpoints), "--cacert", os.path.join(PKI, "ca.crt"),
           "--dial-timeout", "3s", "--command-timeout", timeout]
    if cert:
        cmd += ["--cert", os.path.join(PKI, "clients", "admin.crt"), "--key", os.path.join(PKI, "clients", "admin.key")]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def wait_for(what, predicate, timeout=120, interval=1):
    """Poll PREDICATE until it is true; after TIMEOUT seconds fail the test naming WHAT."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(interval)


class Writer(threading.Thread):
    """About 20 puts/s through the JSON gateway with failover across the endpoints; a put fails only if no endpoint
    took it within 10 s. Every acknowledged key is remembered and read back by assert_readable()."""

    def __init__(self, ips, ca=None, cert=None, key=None, prefix="/writer/"):
        """IPS: the client addresses to write through (port 2379). CA, CERT, KEY default to the scenario's CA and
        admin client certificate."""
        super().__init__(daemon=True)
        self.ips = list(ips)
        self.prefix = prefix
        self.ctx = ssl.create_default_context(cafile=ca or os.path.join(PKI, "ca.crt"))
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(cert or os.path.join(PKI, "clients", "admin.crt"),
                                 key or os.path.join(PKI, "clients", "admin.key"))
        self.stop = threading.Event()
        self.acked = {}
        self.failed = 0
        self.errors = []

    def call(self, ip, path, body, timeout=2):
        req = urllib.request.Request("https://%s:2379%s" % (ip, path), data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
            return json.loads(r.read())

    @staticmethod
    def b64(text):
        return base64.b64encode(text.encode()).decode()

    def run(self):
        i = 0
        while not self.stop.is_set():
            key, value = "%s%06d" % (self.prefix, i), "v%d" % i
            deadline = time.monotonic() + 10
            attempt, last, done = 0, "", False
            while not done and time.monotonic() < deadline:
                ip = self.ips[(i + attempt) % len(self.ips)]
                attempt += 1
                try:
                    self.call(ip, "/v3/kv/put", {"key": self.b64(key), "value": self.b64(value)})
                    done = True
                except Exception as e:  # pylint: disable=broad-except  # an endpoint may be restarting: fail over
                    last = "%s: %s" % (ip, e)
                    if attempt % len(self.ips) == 0:
                        time.sleep(0.2)
            if done:
                self.acked[key] = value
            else:
                self.failed += 1
                self.errors.append(last)
            i += 1
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.join(30)

    def assert_readable(self):
        """Every acknowledged write is there with its value (one linearizable range read of the prefix)."""
        end = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
        last = None
        for ip in self.ips:
            try:
                # All the keys in one answer (a long run writes thousands): more time than a put gets.
                out = self.call(ip, "/v3/kv/range", {"key": self.b64(self.prefix), "range_end": self.b64(end)},
                                timeout=30)
                break
            except Exception as e:  # pylint: disable=broad-except
                last = e
        else:
            raise AssertionError("no endpoint answered the read-back: %s" % last)
        stored = dict((base64.b64decode(kv["key"]).decode(), base64.b64decode(kv["value"]).decode())
                      for kv in out.get("kvs", []))
        lost = [k for k, v in self.acked.items() if stored.get(k) != v]
        assert self.acked, "the writer wrote nothing"
        assert not lost, "acknowledged writes not readable: %s" % lost[:10]
