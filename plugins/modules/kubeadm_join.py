#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_join
short_description: Join a node to a Kubernetes cluster with kubeadm, as a worker or a control plane
version_added: 0.1.0
description:
  - Runs C(kubeadm join) on a node that has not joined a cluster, and does nothing on one that has
    (recognised by C(/etc/kubernetes/kubelet.conf); a control plane also has
    C(/etc/kubernetes/manifests/kube-apiserver.yaml)).
  - A node that joined as a worker is never turned into a control plane; the module fails and says how
    to proceed. A control plane asked to join as a worker is left as it is, with a warning.
  - A join that was interrupted half-way (C(bootstrap-kubelet.conf) left behind, or control-plane files
    without C(kubelet.conf)) is cleaned up with C(kubeadm reset --force) before joining again.
  - The cluster CA is always pinned with O(discovery_token_ca_cert_hashes); there is no way to skip the check.
  - A failed join is classified (see RV(failure_category)); the message names the cause and the fix, for
    example C(certificate key expired ... Fix - re-run so that a fresh key is uploaded). Unless
    O(reset_on_failure=false), the node is then reset so that a re-run starts clean.
  - Commands run as argument lists in the C locale; the token and certificate key are scrubbed from every
    failure message and returned command line.
options:
  api_server_endpoint:
    description:
      - C(host:port) of the cluster's API server, usually the load balancer (the control-plane endpoint).
      - Required to join, unless O(config) holds it; not needed on a node that has already joined.
    type: str
  token:
    description:
      - The bootstrap token, C([a-z0-9]{6}.[a-z0-9]{16}), as M(kubeha.kubeadm.kubeadm_join_credentials) returns it.
      - Required to join, unless O(config) holds it.
    type: str
  discovery_token_ca_cert_hashes:
    description:
      - C(sha256:<hex>) pins of the cluster CA's public key (C(--discovery-token-ca-cert-hash)).
      - Required to join, unless O(config) holds them.
    type: list
    elements: str
  control_plane:
    description:
      - Join as a control plane (a stacked etcd member with its own API server) instead of a worker.
    type: bool
    default: false
  certificate_key:
    description:
      - The key that decrypts the control-plane certificates uploaded by
        M(kubeha.kubeadm.kubeadm_join_credentials) with
        O(kubeha.kubeadm.kubeadm_join_credentials#module:kind=control_plane).
        Valid for 2 hours after that upload.
      - Used with O(control_plane=true) only. Without it, the shared certificates must already be on the node.
    type: str
  apiserver_advertise_address:
    description:
      - The address this node's API server advertises, for a control plane (C(--apiserver-advertise-address)).
    type: str
  config:
    description:
      - kubeadm configuration documents, keyed by kind; only C(JoinConfiguration) is supported. The value
        is the body of the document without C(apiVersion) and C(kind).
      - The module adds the apiVersion for the kubeadm binary's version (C(kubeadm.k8s.io/v1beta4) from
        1.31, C(kubeadm.k8s.io/v1beta3) before), converts C(kubeletExtraArgs) between the map and list
        forms, and merges the other options in, because kubeadm does not accept most flags together with
        C(--config); an option and the configuration that disagree are an error.
      - The file is written with mode C(0600) into the module's temporary directory and removed as soon as
        kubeadm has read it.
      - Pass the token and certificate key with O(token) and O(certificate_key), which are kept out of
        logs, rather than in here.
    type: dict
attributes:
  check_mode:
    description: Predicts RV(ignore:changed) from the node's files without joining or resetting it. Missing
      credentials only produce a warning in check mode.
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
  - kubeha.kubeadm._kubeadm.node
notes:
  - Run it as root. Join control planes one at a time (C(serial=1)), because stacked etcd grows one member at
    a time and every new certificate upload replaces the key of the previous one.
  - Tasks that pass the token or certificate key through variables should set C(no_log=true).
requirements:
  - kubeadm 1.28 or later on the node.
seealso:
  - module: kubeha.kubeadm.kubeadm_join_credentials
  - module: kubeha.kubeadm.kubeadm_init
  - name: kubeadm join
    description: kubeadm's reference for C(kubeadm join) and token-based discovery.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Join a worker
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: k8s-api.example.com:6443
    token: "{{ kubeadm_join_token }}"
    discovery_token_ca_cert_hashes:
      - sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9
  no_log: true

- name: Mint a certificate key and a short-lived token on a joined control plane (cp1)
  kubeha.kubeadm.kubeadm_join_credentials:
    kind: control_plane
    token_ttl: 1h
    token_reuse: false
  delegate_to: cp1
  register: minted
  no_log: true

- name: Join a control plane with them
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: "{{ minted.join_credentials.api_server_endpoint }}"
    token: "{{ minted.join_credentials.token }}"
    discovery_token_ca_cert_hashes: "{{ minted.join_credentials.discovery_token_ca_cert_hashes }}"
    control_plane: true
    certificate_key: "{{ minted.join_credentials.certificate_key }}"
    apiserver_advertise_address: "{{ ansible_facts['default_ipv4']['address'] }}"
  no_log: true

- name: Join with a configuration (kubelet arguments), keeping a failed node for inspection
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: k8s-api.example.com:6443
    token: "{{ kubeadm_join_token }}"
    discovery_token_ca_cert_hashes: "{{ kubeadm_ca_cert_hashes }}"
    config:
      JoinConfiguration:
        nodeRegistration:
          kubeletExtraArgs:
            node-ip: 10.0.0.21
    reset_on_failure: false
  no_log: true
"""

RETURN = r"""
node_state:
  description: The kubeadm files found on the node before anything ran, and the role they mean.
  returned: always
  type: dict
  contains:
    role:
      description:
        - V(none), V(control_plane), V(worker), or V(interrupted) (a join or init that stopped half-way).
      type: str
      sample: none
    init_node:
      description: Whether C(super-admin.conf) exists, which kubeadm 1.29+ writes on the init node only.
      type: bool
    admin_conf:
      description: Whether C(/etc/kubernetes/admin.conf) exists.
      type: bool
    super_admin_conf:
      description: Whether C(/etc/kubernetes/super-admin.conf) exists.
      type: bool
    apiserver_manifest:
      description: Whether C(/etc/kubernetes/manifests/kube-apiserver.yaml) exists.
      type: bool
    kubelet_conf:
      description: Whether C(/etc/kubernetes/kubelet.conf) exists.
      type: bool
    bootstrap_kubelet_conf:
      description: Whether C(/etc/kubernetes/bootstrap-kubelet.conf) exists.
      type: bool
    ca_crt:
      description: Whether C(/etc/kubernetes/pki/ca.crt) exists.
      type: bool
    etcd_manifest:
      description: Whether C(/etc/kubernetes/manifests/etcd.yaml) exists (this node runs a stacked etcd member).
      type: bool
    stacked_etcd:
      description:
        - Whether this node's API server manifest points at a local etcd (C(--etcd-servers=https://127.0.0.1:2379)),
          kubeadm's stacked topology.
      type: bool
node_state_after:
  description: The same as RV(node_state), after a successful join.
  returned: when kubeadm join ran successfully
  type: dict
joined_as:
  description: V(worker) or V(control_plane), what the node is (or in check mode, would be) after this run.
  returned: always
  type: str
  sample: control_plane
reset_before_join:
  description: Whether the node was (or in check mode, would be) reset first because a join had been interrupted.
  returned: always
  type: bool
  sample: false
config_api_version:
  description: The apiVersion of the rendered kubeadm configuration, when O(config) was used.
  returned: always
  type: str
  sample: kubeadm.k8s.io/v1beta4
commands:
  description: The kubeadm command lines that ran, in order, with secrets replaced by C(<redacted>).
  returned: always, also on failure
  type: list
  elements: list
  sample:
    - ["/usr/bin/kubeadm", "join", "k8s-api.example.com:6443", "--token", "<redacted>",
       "--discovery-token-ca-cert-hash", "sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"]
stdout:
  description: What C(kubeadm join) printed on standard output, secrets redacted.
  returned: when kubeadm join ran, and on failure
  type: str
stderr:
  description: What C(kubeadm join) printed on standard error, secrets redacted.
  returned: when kubeadm join ran, and on failure
  type: str
failure_category:
  description:
    - Why the module failed. V(already_initialized), V(already_joined), V(preflight), V(token_invalid),
      V(ca_hash_mismatch), V(endpoint_unreachable), V(certificate_key_expired), V(certificate_key_invalid),
      V(etcd_unhealthy), V(kubelet_unhealthy) or V(unknown). The message adds an explanation and the fix.
  returned: failure
  type: str
  sample: certificate_key_expired
reset_after_failure:
  description: Whether the node was reset after a failed C(kubeadm join).
  returned: when kubeadm join failed
  type: bool
rc:
  description: The exit status of the kubeadm command that failed.
  returned: when a kubeadm command failed
  type: int
  sample: 1
cmd:
  description: The kubeadm command line that failed, secrets redacted.
  returned: when a kubeadm command failed
  type: list
  elements: str
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import join_node  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_COMMON_ARGSPEC,
    run_module,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_COMMON_ARGSPEC,
            "api_server_endpoint": {"type": "str"},
            "token": {"type": "str", "no_log": True},
            "discovery_token_ca_cert_hashes": {"type": "list", "elements": "str", "no_log": False},
            "control_plane": {"type": "bool", "default": False},
            "certificate_key": {"type": "str", "no_log": True},
            "apiserver_advertise_address": {"type": "str"},
            "config": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    run_module(module, join_node, KUBERNETES_DIR)


if __name__ == "__main__":
    main()
