# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options shared by the modules that talk to etcd (argument spec:
    # plugins/module_utils/_client.py connection_argument_spec()), and their action group etcd (meta/runtime.yml),
    # through which module_defaults sets these options once.
    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/quorum.etcd.etcd) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - quorum.etcd.etcd
options:
  endpoints:
    description:
      - etcd client URLs to talk to, tried in order until one answers.
      - Requests fail over to the next endpoint when an endpoint is unreachable, times out,
        fails the TLS handshake or has no leader. Other errors (permission denied, member not
        found, ...) are reported at once.
      - Requests that must not be applied twice (member add, remove and promote, key put and delete) are never
        resent after a timeout or a connection dropped after sending (etcd may have applied them); the modules
        re-read the cluster instead (for example the member list after a member add) and go on when it shows
        the change, or fail saying that the outcome is unknown.
      - The modules speak to etcd's v3 JSON gateway (C(/v3/...)), which etcd serves on its client port.
    type: list
    elements: str
    default: ['https://127.0.0.1:2379']
  ca_cert:
    description:
      - Path of the CA certificate (PEM) that signed the etcd server certificates.
      - When not set, the system trust store is used.
    type: path
  client_cert:
    description:
      - Path of the client certificate (PEM) presented to etcd (etcd C(--client-cert-auth)).
    type: path
  client_key:
    description:
      - Path of the private key (PEM) of O(client_cert).
    type: path
  timeout:
    description:
      - Timeout in seconds for each HTTP request to an endpoint.
    type: float
    default: 5
notes:
  - The modules need no Python library on the managed host beyond what ansible-core provides.
  - The modules that take these options form the action group C(quorum.etcd.etcd), so the connection options can be
    set once with C(module_defaults) and C(group/quorum.etcd.etcd).
'''
