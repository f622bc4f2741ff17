# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Documentation the kubeha.kubeadm etcd modules share: which etcd member to ask, with which certificate.

Private to the collection. The matching argument spec is CLIENT_ARGUMENT_SPEC in
plugins/module_utils/_etcd.py.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - The etcd client URL of the member that lists (and removes) members, usually this node's own.
      - Health checks go to each member's first advertised client URL.
    type: str
    default: https://127.0.0.1:2379
  ca_path:
    description:
      - The CA that signed etcd's serving certificates.
    type: path
    default: /etc/kubernetes/pki/etcd/ca.crt
  client_cert:
    description:
      - The client certificate presented to etcd. The default is the one kubeadm creates on every
        stacked-etcd control plane for etcd's health checks.
    type: path
    default: /etc/kubernetes/pki/etcd/healthcheck-client.crt
  client_key:
    description:
      - The private key of O(client_cert). Only its path is used; the key never appears in a result
        or error.
    type: path
    default: /etc/kubernetes/pki/etcd/healthcheck-client.key
  timeout:
    description:
      - Seconds to wait for each answer from etcd.
    type: int
    default: 5
notes:
  - etcd is reached through its v3 HTTP/JSON gateway on the client port, never through a proxy.
requirements:
  - A stacked etcd member set up by kubeadm (or another one with the same certificates), etcd 3.4 or later.
"""
