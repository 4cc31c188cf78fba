"""EtcdClient against the fake HTTPS gateway: encoding, failover and typed errors."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import _client as C
from helpers import free_port


def client(pki, cluster, endpoints=None, **kw):
    args = dict(ca_cert=pki.ca.cert_path, client_cert=pki.client_cert, client_key=pki.client_key, timeout=2)
    args.update(kw)
    return C.EtcdClient(endpoints or [cluster.url(cluster.order[0])], **args)


def test_member_list_and_uint64_ids(pki, cluster):
    resp = client(pki, cluster).member_list()
    ids = sorted(int(m["ID"]) for m in resp["members"])
    assert ids == sorted(cluster.order) and all(i > 2 ** 53 for i in ids)
    assert cluster.calls[-1][2] == {"linearizable": True}


def test_kv_roundtrip_and_prefix(pki, cluster):
    c = client(pki, cluster)
    c.put("/a/1", "x")
    c.put("/a/2", b"\xff\x00binary")
    c.put("/b", "y")
    got = c.range("/a/", prefix=True)
    assert [kv["key"] for kv in got["kvs"]] == [b"/a/1", b"/a/2"] and got["count"] == 2
    assert got["kvs"][1]["value"] == b"\xff\x00binary"
    assert c.range("/a/1")["kvs"][0]["version"] == 1
    deleted = c.delete_range("/a/", prefix=True, prev_kv=True)
    assert deleted["deleted"] == 2 and len(deleted["prev_kvs"]) == 2
    assert c.range("/a/", prefix=True)["count"] == 0


def test_prefix_range_end():
    assert C.prefix_range_end("/a/") == b"/a0"
    assert C.prefix_range_end(b"a\xff") == b"b"
    assert C.prefix_range_end(b"") == b"\x00"


def test_failover_to_next_endpoint(pki, cluster):
    dead = "https://127.0.0.1:%d" % free_port()
    c = client(pki, cluster, endpoints=[dead, cluster.url(cluster.order[1])])
    assert c.status()["header"]["member_id"] == str(cluster.order[1])
    assert c._preferred == 1


def test_unreachable_all(pki, cluster):
    c = client(pki, cluster, endpoints=["https://127.0.0.1:%d" % free_port(), "https://127.0.0.1:%d" % free_port()])
    with pytest.raises(C.EtcdConnectionError) as e:
        c.status()
    assert "all 2 endpoints failed" in str(e.value) and "unreachable" in str(e.value)


def test_wrong_ca_is_tls_error(pki, cluster):
    c = client(pki, cluster, ca_cert=pki.other_ca.cert_path)
    with pytest.raises(C.EtcdTLSError) as e:
        c.member_list()
    assert "TLS/certificate problem" in str(e.value) and "CERTIFICATE_VERIFY_FAILED" in str(e.value)
    assert e.value.kind == "tls"


def test_untrusted_client_cert_is_reported(pki, cluster):
    c = client(pki, cluster, client_cert=pki.other_cert, client_key=pki.other_key)
    with pytest.raises(C.EtcdConnectionError) as e:  # EtcdTLSError or a reset with a TLS hint
        c.member_list()
    assert "TLS" in str(e.value)


def test_typed_gateway_errors(pki, cluster):
    c = client(pki, cluster)
    with pytest.raises(C.EtcdNotFoundError) as e:
        c.member_remove(12345)
    assert "member not found" in str(e.value) and "NOT_FOUND" in str(e.value) and e.value.status == 404
    cluster.denied_paths.add("/v3/kv/put")
    with pytest.raises(C.EtcdAuthError) as e:
        c.put("k", "v")
    assert "permission denied" in str(e.value)
    with pytest.raises(C.EtcdNotLeaderError):
        c.move_leader(cluster.order[2], endpoint=cluster.url(cluster.order[1]))


def test_no_leader_after_quorum_loss(pki, cluster):
    c = client(pki, cluster)
    cluster.stop(cluster.order[1])
    cluster.stop(cluster.order[2])
    with pytest.raises(C.EtcdNoLeaderError) as e:
        c.member_list()
    assert "no leader" in str(e.value)
    assert c.health()["health"] is False


def test_timeout(pki):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepts the TCP connection, never speaks TLS
    try:
        c = C.EtcdClient(["https://127.0.0.1:%d" % s.getsockname()[1]], ca_cert=pki.ca.cert_path, timeout=0.3)
        with pytest.raises(C.EtcdTimeoutError) as e:
            c.status()
        assert "timeout" in str(e.value)
    finally:
        s.close()


def test_invalid_endpoint():
    with pytest.raises(ValueError):
        C.EtcdClient(["127.0.0.1:2379"])


def test_error_parsing_variants():
    e = C.error_from_gateway("https://x", "/v3/cluster/member/promote", 400,
                             b'{"error":"etcdserver: can only promote a learner member which is in sync with leader",'
                             b'"code":9}')
    assert isinstance(e, C.EtcdLearnerNotReadyError) and "not in sync" in str(e)
    assert isinstance(C.error_from_gateway("https://x", "/p", 503, b"not json"), C.EtcdRequestError)
    assert isinstance(C.error_from_gateway("https://x", "/p", 401, b'{"code":16,"message":"etcdserver: invalid auth token"}'),
                      C.EtcdAuthError)
