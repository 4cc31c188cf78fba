# -*- coding: utf-8 -*-
# Copyright: quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus scrape targets of the members: which port each job scrapes, and the labels that name a member."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_scrape_targets
short_description: Prometheus static_configs for the members' etcd metrics and node_exporter
version_added: 0.5.0
description:
  - The scrape targets the C(monitoring) role writes into Prometheus' configuration, from the member table
    (C(__etcd_member_table), made by the C(quorum.etcd.member_table) filter), one entry per member in inventory order.
  - C(etcd) - etcd's metrics; with O(scheme=http) the plain-HTTP metrics listener (O(metrics_port)), with
    O(scheme=https) C(/metrics) on the client port (O(client_port)), where Prometheus presents a client certificate.
  - C(node) - node_exporter on O(node_exporter_port) (the backup and pki roles' textfile metrics come through it).
  - Each target is C(ADDRESS:PORT), an IPv6 address in brackets. Its labels are O(labels) (the cluster label) and
    C(instance), the member's inventory name, in both jobs, so etcd's and node_exporter's series of a member line up.
options:
  _input:
    description: The member table (C(__etcd_member_table)), each entry with C(host) and C(address).
    type: list
    elements: dict
    required: true
  scheme:
    description: C(etcd_monitoring_metrics_scheme).
    type: str
    choices: [http, https]
    required: true
  metrics_port:
    description: C(etcd_metrics_port), scraped with O(scheme=http).
    type: int
    required: true
  client_port:
    description: C(etcd_client_port), scraped with O(scheme=https).
    type: int
    required: true
  node_exporter_port:
    description: C(etcd_monitoring_node_exporter_port).
    type: int
    required: true
  labels:
    description:
      - 'Labels every target gets (C({etcd_monitoring_cluster_label: etcd_cluster_name})); C(instance) is always the
        member''s inventory name.'
    type: dict
    default: {}
"""

EXAMPLES = r"""
__etcd_monitoring_targets: >-
  {{ __etcd_member_table | quorum.etcd.etcd_scrape_targets(etcd_monitoring_metrics_scheme, etcd_metrics_port,
     etcd_client_port, etcd_monitoring_node_exporter_port, {etcd_monitoring_cluster_label: etcd_cluster_name}) }}
# __etcd_monitoring_targets.etcd and __etcd_monitoring_targets.node are the static_configs of the two jobs:
#   [{"targets": ["10.0.0.11:2381"], "labels": {"cluster": "prod", "instance": "etcd-1"}}, ...]
"""

RETURN = r"""
_value:
  description: The static_configs of both jobs.
  type: dict
  contains:
    etcd:
      description: One entry per member, C(targets) (one C(ADDRESS:PORT)) and C(labels).
      type: list
      elements: dict
    node:
      description: The same for node_exporter.
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.member_table import url_host

SCHEMES = ("http", "https")


def _static_configs(members, port, labels):
    return [{"targets": ["%s:%s" % (url_host(str(m["address"])), int(port))],
             "labels": dict(labels, instance=str(m["host"]))}
            for m in members]


def etcd_scrape_targets(members, scheme, metrics_port, client_port, node_exporter_port, labels=None):
    if scheme not in SCHEMES:
        raise AnsibleFilterError("etcd_scrape_targets: scheme must be one of %s, not %r" % (", ".join(SCHEMES), scheme))
    labels = dict((str(k), str(v)) for k, v in (labels or {}).items())
    if "instance" in labels:
        raise AnsibleFilterError("etcd_scrape_targets: the instance label is the member's inventory name; "
                                 "name the cluster label otherwise")
    members = list(members or [])
    return {
        "etcd": _static_configs(members, metrics_port if scheme == "http" else client_port, labels),
        "node": _static_configs(members, node_exporter_port, labels),
    }


class FilterModule(object):
    def filters(self):
        return {"etcd_scrape_targets": etcd_scrape_targets}
