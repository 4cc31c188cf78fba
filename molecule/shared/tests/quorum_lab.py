"""Helpers shared by the molecule scenarios' tests: the lab environment, playbook runs and a writer under load."""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
import urllib.request

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())


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


def playbook_cmd(inventory, name, *extra):
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", name)]
    for e in extra:
        cmd += ["-e", e]
    return cmd


class Writer(threading.Thread):
    """About 20 puts/s through the JSON gateway with failover across the endpoints; a put fails only if no endpoint
    took it within 10 s. Every acknowledged key is remembered and read back by assert_readable()."""

    def __init__(self, ips, ca, cert, key, prefix="/writer/"):
        super().__init__(daemon=True)
        self.ips = list(ips)
        self.prefix = prefix
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(cert, key)
        self.stop = threading.Event()
        self.acked = {}
        self.failed = 0
        self.errors = []

    def call(self, ip, path, body):
        req = urllib.request.Request("https://%s:2379%s" % (ip, path), data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, context=self.ctx, timeout=2) as r:
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
                out = self.call(ip, "/v3/kv/range", {"key": self.b64(self.prefix), "range_end": self.b64(end)})
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
