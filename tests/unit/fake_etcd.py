"""An in-process fake of etcd's v3 JSON gateway: one real HTTPS server (client-cert auth) per member.

It speaks the gateway's JSON (uint64 as strings, base64 bytes, {"code","message"} errors) for the
paths the collection uses, and keeps a tiny model of the cluster: members, leader, learners that are
or are not in sync, members that are down (their port is closed), a key-value store, alarms.
"""

from __future__ import annotations

import base64
import json
import random
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTTP_STATUS = {3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 9: 400, 11: 400, 14: 503, 16: 401}


class GrpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _b(s):
    return base64.b64decode(s or "")


def _e(b):
    return base64.b64encode(b).decode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        cluster, member_id = self.server.cluster, self.server.member_id
        cluster.calls.append((member_id, self.path, None))
        if self.path != "/health":
            return self._send(404, {"code": 5, "message": "Not Found"})
        if cluster.has_quorum():
            return self._send(200, {"health": "true", "reason": ""})
        return self._send(503, {"health": "false", "reason": "RAFT NO LEADER"})

    def do_POST(self):
        cluster, member_id = self.server.cluster, self.server.member_id
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        cluster.calls.append((member_id, self.path, body))
        with cluster.lock:
            fault = cluster.faults.pop(self.path, None)
        if fault == "timeout-before-apply":
            return self._send(504, {"code": 4, "message": "etcdserver: request timed out"})
        try:
            with cluster.lock:
                payload = cluster.handle(member_id, self.path, body)
        except GrpcError as e:
            return self._send(HTTP_STATUS.get(e.code, 500), {"code": e.code, "message": e.message})
        if fault == "timeout-after-apply":
            # etcd applied the request but answered "request timed out" (e.g. a slow commit)
            return self._send(504, {"code": 4, "message": "etcdserver: request timed out, possibly due to "
                                                          "previous leader failure"})
        if fault == "hang-after-apply":
            # applied, but the answer comes after the client gave up (client-side timeout)
            time.sleep(cluster.hang_seconds)
            self.close_connection = True
            return None
        if fault == "drop-after-apply":
            # applied, then the connection drops without an answer
            self.close_connection = True
            return None
        self._send(200, payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # TLS handshake failures etc.: quiet
        pass


class FakeCluster:
    def __init__(self, ca, names=("m1", "m2", "m3"), version="3.5.30"):
        self.ca = ca
        self.cert, self.key = ca.issue("fake-server", client=False)
        self.lock = threading.RLock()
        self.version = version
        self.cluster_id = random.getrandbits(64) | (1 << 63)
        self.members = {}  # id -> dict
        self.order = []
        self.servers = {}
        self.calls = []
        self.alarms = []
        self.kv = {}  # key bytes -> dict(value, create, mod, version)
        self.revision = 1
        self.compact_revision = 0
        self.term = 2
        self.index = 100
        self.denied_paths = set()
        # path -> fault for the next request to that path (any member), used once:
        # timeout-before-apply, timeout-after-apply, hang-after-apply (hang_seconds), drop-after-apply
        self.faults = {}
        self.hang_seconds = 1.5
        self.leader = None
        for i, name in enumerate(names):
            mid = self._new_id()
            self.members[mid] = dict(
                ID=mid, name=name, peerURLs=["https://127.0.0.1:%d" % (42380 + i)],
                clientURLs=[], isLearner=False, in_sync=True, up=False,
                dbSize=24576, dbSizeInUse=16384, defrags=0,
            )
            self.order.append(mid)
            self.start(mid)
        self.leader = self.order[0]

    # -- model ----------------------------------------------------------------------------
    def _new_id(self):
        # large ids (> 2**53) make sure they travel as strings
        return random.getrandbits(64) | (1 << 62)

    def by_name(self, name):
        return [m for m in self.members.values() if m["name"] == name][0]["ID"]

    def url(self, mid):
        return self.members[mid]["clientURLs"][0]

    def voters(self):
        return [m for m in self.members.values() if not m["isLearner"]]

    def has_quorum(self):
        voters = self.voters()
        return sum(1 for m in voters if m["up"]) >= len(voters) // 2 + 1

    def leader_of(self, mid):
        if not self.has_quorum() or not self.members[self.leader]["up"]:
            return 0
        return self.leader

    def start(self, mid, name=None):
        m = self.members[mid]
        if name is not None:
            m["name"] = name
        server = _Server(("127.0.0.1", 0), _Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        ctx.load_verify_locations(self.ca.cert_path)
        ctx.verify_mode = ssl.CERT_REQUIRED
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.cluster = self
        server.member_id = mid
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self.servers[mid] = server
        m["clientURLs"] = ["https://127.0.0.1:%d" % server.server_address[1]]
        m["up"] = True

    def stop(self, mid):
        server = self.servers.pop(mid, None)
        if server is not None:
            server.shutdown()
            server.server_close()
        self.members[mid]["up"] = False

    def close(self):
        for mid in list(self.servers):
            self.stop(mid)

    def public(self, m):
        out = {"ID": str(m["ID"]), "peerURLs": list(m["peerURLs"])}
        if m["name"]:
            out["name"] = m["name"]
        if m["clientURLs"] and m["name"]:
            out["clientURLs"] = list(m["clientURLs"])
        if m["isLearner"]:
            out["isLearner"] = True
        return out

    def member_list(self):
        return [self.public(self.members[mid]) for mid in self.order]

    def header(self, mid):
        return {"cluster_id": str(self.cluster_id), "member_id": str(mid), "revision": str(self.revision),
                "raft_term": str(self.term)}

    def paths_used(self, path):
        return [c for c in self.calls if c[1] == path]

    # -- gateway --------------------------------------------------------------------------
    def handle(self, mid, path, body):
        if path in self.denied_paths:
            raise GrpcError(7, "etcdserver: permission denied")
        h = {"header": self.header(mid)}
        serializable_read = path == "/v3/kv/range" and body.get("serializable")
        if path == "/v3/kv/range" and not serializable_read and self.members[mid]["isLearner"]:
            raise GrpcError(14, "etcdserver: rpc not supported for learner")
        needs_leader = path.startswith("/v3/cluster/member/") and path != "/v3/cluster/member/list" \
            or (path.startswith("/v3/kv/") and not serializable_read) \
            or (path == "/v3/cluster/member/list" and body.get("linearizable"))
        if needs_leader and not self.leader_of(mid):
            raise GrpcError(14, "etcdserver: no leader")
        if path == "/v3/cluster/member/list":
            return dict(h, members=self.member_list())
        if path == "/v3/cluster/member/add":
            urls = body.get("peerURLs") or []
            for m in self.members.values():
                if set(urls) & set(m["peerURLs"]):
                    raise GrpcError(9, "etcdserver: Peer URLs already exists")
            if body.get("isLearner") and sum(1 for m in self.members.values() if m["isLearner"]) >= 1:
                raise GrpcError(9, "etcdserver: too many learner members in cluster")
            new = self._new_id()
            self.members[new] = dict(ID=new, name="", peerURLs=list(urls), clientURLs=[],
                                     isLearner=bool(body.get("isLearner")), in_sync=False, up=False)
            self.order.append(new)
            self.index += 1
            return dict(h, member=self.public(self.members[new]), members=self.member_list())
        if path in ("/v3/cluster/member/remove", "/v3/cluster/member/promote", "/v3/cluster/member/update"):
            target = int(body.get("ID") or 0)
            if target not in self.members:
                raise GrpcError(5, "etcdserver: member not found")
            m = self.members[target]
            if path.endswith("/remove"):
                if target == self.leader:
                    # real etcd would elect a new leader; the tests check the module moved it first
                    raise AssertionError("fake: the leader was removed without moving leadership first")
                self.stop(target)
                del self.members[target]
                self.order.remove(target)
            elif path.endswith("/promote"):
                if not m["isLearner"]:
                    raise GrpcError(9, "etcdserver: can only promote a learner member")
                if not (m["up"] and m["in_sync"]):
                    raise GrpcError(9, "etcdserver: can only promote a learner member which is in sync with leader")
                m["isLearner"] = False
            else:
                m["peerURLs"] = list(body.get("peerURLs") or [])
            self.index += 1
            return dict(h, members=self.member_list())
        if path == "/v3/maintenance/status":
            m = self.members[mid]
            out = dict(h, version=self.version, dbSize=str(m.get("dbSize", 24576)), dbSizeInUse=str(m.get("dbSizeInUse", 16384)),
                       leader=str(self.leader_of(mid)), raftIndex=str(self.index), raftTerm=str(self.term),
                       raftAppliedIndex=str(self.index if m["in_sync"] else 1))
            if m["isLearner"]:
                out["isLearner"] = True
            return out
        if path == "/v3/maintenance/alarm":
            if body.get("action") == "DEACTIVATE":
                gone = [a for a in self.alarms if a[0] == int(body.get("memberID") or 0) and a[1] == body.get("alarm")]
                self.alarms = [a for a in self.alarms if a not in gone]
                return dict(h, alarms=[{"memberID": str(a[0]), "alarm": a[1]} for a in gone])
            return dict(h, alarms=[{"memberID": str(a[0]), "alarm": a[1]} for a in self.alarms])
        if path == "/v3/maintenance/defragment":
            m = self.members[mid]
            m["dbSize"], m["defrags"] = m.get("dbSizeInUse", 16384), m.get("defrags", 0) + 1
            return h
        if path == "/v3/kv/compaction":
            rev = int(body.get("revision") or 0)
            if rev <= self.compact_revision:
                raise GrpcError(11, "etcdserver: mvcc: required revision has been compacted")
            if rev > self.revision:
                raise GrpcError(11, "etcdserver: mvcc: required revision is a future revision")
            self.compact_revision = rev
            return dict(h, header=self.header(mid))
        if path == "/v3/maintenance/transfer-leadership":
            if mid != self.leader:
                raise GrpcError(9, "etcdserver: not leader")
            target = int(body.get("targetID") or 0)
            if target not in self.members or self.members[target]["isLearner"] or not self.members[target]["up"]:
                raise GrpcError(9, "etcdserver: bad leader transferee")
            self.leader = target
            self.term += 1
            return h
        if path in ("/v3/maintenance/hash", "/v3/maintenance/hashkv"):
            return dict(h, hash=12345)
        if path == "/v3/kv/range":
            rev = int(body.get("revision") or 0)
            if rev and rev < self.compact_revision:
                raise GrpcError(11, "etcdserver: mvcc: required revision has been compacted")
            if rev > self.revision:
                raise GrpcError(11, "etcdserver: mvcc: required revision is a future revision")
            keys = self._select(body)
            kvs = [self._kv(k) for k in keys]
            return dict(h, kvs=kvs, count=str(len(kvs))) if kvs else h
        if path == "/v3/kv/put":
            k, v = _b(body["key"]), _b(body.get("value"))
            prev = self._kv(k) if k in self.kv else None
            self.revision += 1
            old = self.kv.get(k)
            self.kv[k] = dict(value=v, create=old["create"] if old else self.revision, mod=self.revision,
                              version=(old["version"] + 1) if old else 1)
            h["header"] = self.header(mid)
            if body.get("prev_kv") and prev:
                h["prev_kv"] = prev
            return h
        if path == "/v3/kv/deleterange":
            keys = self._select(body)
            prev = [self._kv(k) for k in keys]
            for k in keys:
                del self.kv[k]
            if keys:
                self.revision += 1
            out = dict(header=self.header(mid), deleted=str(len(keys)))
            if body.get("prev_kv") and prev:
                out["prev_kvs"] = prev
            return out
        raise GrpcError(5, "Not Found")

    def _select(self, body):
        key = _b(body.get("key"))
        end = _b(body.get("range_end")) if body.get("range_end") else None
        if end is None:
            return [key] if key in self.kv else []
        return sorted(k for k in self.kv if k >= key and (end == b"\x00" or k < end))

    def _kv(self, k):
        d = self.kv[k]
        out = {"key": _e(k), "create_revision": str(d["create"]), "mod_revision": str(d["mod"]),
               "version": str(d["version"])}
        if d["value"]:
            out["value"] = _e(d["value"])
        return out
