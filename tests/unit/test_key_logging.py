"""etcd_key never lets a value reach the managed host's log (issue 9, item 9.1).

AnsibleModule writes one "Invoked with ..." line with the module's arguments to syslog/the journal of the
managed host while it is created (AnsibleModule._log_invocation -> AnsibleModule.log); the tests capture
what it passes to log().
"""

from __future__ import annotations

import pytest
from ansible.module_utils import basic

from ansible_collections.quorum.etcd.plugins.modules import etcd_key

SECRET = "s3cr3t-Value-42"


@pytest.fixture
def logged(monkeypatch):
    lines = []

    def fake_log(self, msg, log_args=None):
        lines.append((msg, dict(log_args or {})))

    monkeypatch.setattr(basic.AnsibleModule, "log", fake_log)
    return lines


@pytest.mark.parametrize("hide", [True, False])
def test_value_not_in_invocation_log(cluster, conn, run_module, logged, hide):
    res = run_module(etcd_key, dict(conn, key="/s/token", value=SECRET, hide_value=hide), diff=True)
    assert not res.failed and res["changed"]
    assert cluster.kv[b"/s/token"]["value"] == SECRET.encode()
    invocations = [(msg, args) for msg, args in logged if msg.startswith("Invoked")]
    assert len(invocations) == 1, logged
    msg, args = invocations[0]
    assert SECRET not in msg and SECRET not in repr(args)
    assert args["value"] == "NOT_LOGGING_PARAMETER"
    assert "key=/s/token" in msg  # the rest of the invocation is still logged
    if hide:
        assert SECRET not in str(res) and res["value"] == "VALUE_HIDDEN"
    else:
        # without hide_value the results show the value as before
        assert res["value"] == SECRET and res["diff"]["after"] == {"/s/token": SECRET}


def test_value_not_logged_in_check_mode_nor_absent(cluster, conn, run_module, logged):
    run_module(etcd_key, dict(conn, key="/s/t", value=SECRET, hide_value=True), check=True)
    run_module(etcd_key, dict(conn, key="/s/t", value=SECRET, state="absent"))
    assert len([m for m, _a in logged if m.startswith("Invoked")]) == 2
    assert all(SECRET not in m and SECRET not in repr(a) for m, a in logged)
