"""Prometheus scrape targets of the members (plugins/filter/etcd_scrape_targets.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_scrape_targets import etcd_scrape_targets
from ansible_collections.quorum.etcd.plugins.filter.member_table import member_table

TABLE = member_table(["etcd-1", "etcd-2", "etcd-3"],
                     {"etcd-1": {"ansible_host": "10.0.0.11"},
                      "etcd-2": {"ansible_host": "fd00::12"},
                      "etcd-3": {"etcd_member_address": "etcd-3.example", "etcd_member_name": "third"}},
                     2380, 2379)


def test_http_scrapes_the_metrics_listener_and_ipv6_is_bracketed():
    out = etcd_scrape_targets(TABLE, "http", 2381, 2379, 9100, {"cluster": "prod"})
    assert out["etcd"] == [
        {"targets": ["10.0.0.11:2381"], "labels": {"cluster": "prod", "instance": "etcd-1"}},
        {"targets": ["[fd00::12]:2381"], "labels": {"cluster": "prod", "instance": "etcd-2"}},
        {"targets": ["etcd-3.example:2381"], "labels": {"cluster": "prod", "instance": "etcd-3"}},
    ]


def test_https_scrapes_the_client_port():
    out = etcd_scrape_targets(TABLE, "https", 2381, 12379, 9100, {"cluster": "prod"})
    assert [c["targets"] for c in out["etcd"]] == [["10.0.0.11:12379"], ["[fd00::12]:12379"], ["etcd-3.example:12379"]]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_node_exporter_targets_do_not_depend_on_the_scheme(scheme):
    out = etcd_scrape_targets(TABLE, scheme, 2381, 2379, 9101, {"cluster": "prod"})
    assert out["node"] == [
        {"targets": ["10.0.0.11:9101"], "labels": {"cluster": "prod", "instance": "etcd-1"}},
        {"targets": ["[fd00::12]:9101"], "labels": {"cluster": "prod", "instance": "etcd-2"}},
        {"targets": ["etcd-3.example:9101"], "labels": {"cluster": "prod", "instance": "etcd-3"}},
    ]


def test_instance_is_the_inventory_name_not_the_member_name_and_labels_are_strings():
    out = etcd_scrape_targets(TABLE, "http", "2381", 2379, "9100", {"etcd_cluster": 7})
    third = out["etcd"][2]
    assert third["labels"] == {"etcd_cluster": "7", "instance": "etcd-3"}
    assert third["targets"] == ["etcd-3.example:2381"]
    assert out["node"][2]["targets"] == ["etcd-3.example:9100"]


def test_labels_are_not_shared_between_targets():
    out = etcd_scrape_targets(TABLE, "http", 2381, 2379, 9100, {"cluster": "prod"})
    out["etcd"][0]["labels"]["extra"] = "x"
    assert "extra" not in out["etcd"][1]["labels"] and "extra" not in out["node"][0]["labels"]


def test_no_members_no_targets():
    assert etcd_scrape_targets([], "https", 2381, 2379, 9100) == {"etcd": [], "node": []}
    assert etcd_scrape_targets(None, "http", 2381, 2379, 9100) == {"etcd": [], "node": []}


def test_unknown_scheme_and_instance_label_are_refused():
    with pytest.raises(AnsibleFilterError, match="scheme must be one of http, https"):
        etcd_scrape_targets(TABLE, "HTTPS", 2381, 2379, 9100)
    with pytest.raises(AnsibleFilterError, match="instance label"):
        etcd_scrape_targets(TABLE, "http", 2381, 2379, 9100, {"instance": "x"})
