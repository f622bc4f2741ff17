#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_join_credentials
short_description: Mint or reuse the credentials a node needs to join a kubeadm cluster
version_added: 0.1.0
description:
  - Runs on a control plane of the cluster (a node with C(/etc/kubernetes/admin.conf), C(kubelet.conf) and
    the API server manifest) and returns, as typed values, what another node needs to join it with
    M(kubeha.kubeadm.kubeadm_join) - the API server endpoint, a bootstrap token, the CA cert hashes that pin
    the cluster CA and, for O(kind=control_plane), a certificate key - each with its expiry time.
  - A bootstrap token that can join nodes and has more than O(token_min_ttl) left is reused, unless
    O(token_reuse=false); otherwise a token living O(token_ttl) is created with C(kubeadm token create).
  - The CA cert hashes are computed from C(/etc/kubernetes/pki/ca.crt), the API server endpoint is the
    C(server) of C(/etc/kubernetes/admin.conf).
  - For O(kind=control_plane), the control-plane certificates are uploaded again
    (C(kubeadm init phase upload-certs)) encrypted with a new certificate key, which kubeadm deletes
    2 hours later. Each upload replaces the previous key, so control planes join one at a time.
  - On any other node the module fails before running a command, and says what the node is.
  - Commands run as argument lists in the C locale; tokens and certificate keys are scrubbed from every
    failure message and returned command line.
options:
  kind:
    description:
      - What the credentials are for. V(worker) returns a token, the CA cert hashes and the endpoint;
        V(control_plane) also uploads the control-plane certificates and returns their certificate key.
    type: str
    choices: [worker, control_plane]
    default: worker
  token_ttl:
    description:
      - The lifetime of a bootstrap token the module creates, as a duration such as V(2h), V(90m) or V(1h30m).
    type: str
    default: 2h
  token_min_ttl:
    description:
      - A token is reused only while it has more than this left, as a duration such as V(1h), V(1h30m) or
        V(2h0m0s); must be shorter than O(token_ttl). Ignored when O(token_reuse=false).
    type: str
    default: 1h
  token_reuse:
    description:
      - Whether an existing token with more than O(token_min_ttl) left may be returned instead of creating
        one. V(false) mints a fresh token every time (just-in-time joins).
    type: bool
    default: true
  cri_socket:
    description:
      - The container runtime socket of this node, for example V(unix:///var/run/containerd/containerd.sock),
        named in the configuration of the certificate upload so that kubeadm does not have to detect it.
      - Used with O(kind=control_plane) only.
    type: str
attributes:
  check_mode:
    description:
      - Lists the cluster's tokens (read only) and predicts RV(ignore:changed) without creating a token or
        uploading certificates; values that would be created are V(null).
  idempotent:
    support: partial
    details:
      - A reused token reports no change; O(kind=control_plane) and O(token_reuse=false) mint on every run.
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
notes:
  - Run it as root on (or delegate it to) a healthy control plane, and register the result in a task with
    C(no_log=true), because RV(join_credentials) holds secrets.
  - Minting (a new token, or a certificate upload) reports C(changed); reusing a token does not.
  - Expiry times are UTC, ISO 8601 (V(2025-05-12T15:14:15Z)).
requirements:
  - kubeadm 1.28 or later on the node, and C(/etc/kubernetes/admin.conf).
seealso:
  - module: kubeha.kubeadm.kubeadm_join
  - module: kubeha.kubeadm.kubeadm_init
  - name: kubeadm token
    description: kubeadm's reference for bootstrap tokens.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-token/
  - name: kubeadm init phase upload-certs
    description: How kubeadm shares the control-plane certificates with joining control planes.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-init-phase/#cmd-phase-upload-certs
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Mint worker credentials on cp1, reusing a token that has more than 30 minutes left
  kubeha.kubeadm.kubeadm_join_credentials:
    kind: worker
    token_ttl: 1h
    token_min_ttl: 30m
  delegate_to: cp1
  run_once: true
  register: worker_credentials
  no_log: true

- name: Join this worker with them
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: "{{ worker_credentials.join_credentials.api_server_endpoint }}"
    token: "{{ worker_credentials.join_credentials.token }}"
    discovery_token_ca_cert_hashes: "{{ worker_credentials.join_credentials.discovery_token_ca_cert_hashes }}"
  no_log: true

- name: Mint a fresh certificate key and a short-lived token for the next control plane
  kubeha.kubeadm.kubeadm_join_credentials:
    kind: control_plane
    token_ttl: 1h
    token_reuse: false
  delegate_to: cp1
  register: control_plane_credentials
  no_log: true
"""

RETURN = r"""
join_credentials:
  description:
    - What another node needs to join. Contains secrets. In check mode, values that would be created are V(null).
  returned: success
  type: dict
  contains:
    api_server_endpoint:
      description: C(host:port) of the API server, as C(admin.conf) names it (the control-plane endpoint).
      type: str
      sample: k8s-api.example.com:6443
    token:
      description: A bootstrap token. B(Secret).
      type: str
      sample: abcdef.0123456789abcdef
    token_id:
      description: The public part of the token, as C(kubeadm token list) shows it.
      type: str
      sample: abcdef
    token_expires:
      description: When the token expires, UTC; V(null) for a token that never expires.
      type: str
      sample: "2025-05-12T15:14:15Z"
    token_reused:
      description: Whether an existing token was returned rather than a new one created.
      type: bool
      sample: true
    discovery_token_ca_cert_hashes:
      description:
        - C(sha256:<hex>) of the public key of each cluster CA certificate, for C(--discovery-token-ca-cert-hash).
      type: list
      elements: str
      sample: ["sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"]
    certificate_key:
      description: The key that decrypts the uploaded control-plane certificates, with O(kind=control_plane). B(Secret).
      type: str
      sample: 43d861fb4825a3ba2477f045569bf8f8f80c41c66c9fee6e245e55b67e29c1cc
    certificate_key_expires:
      description: When kubeadm deletes the uploaded certificates (2 hours after the upload), UTC.
      type: str
      sample: "2025-05-12T15:14:15Z"
    worker_join_command:
      description: A ready-made C(kubeadm join) command line for a worker. B(Secret).
      type: str
      sample: kubeadm join k8s-api.example.com:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash ...
    control_plane_join_command:
      description: A ready-made C(kubeadm join) command line for a control plane, with O(kind=control_plane). B(Secret).
      type: str
      sample: kubeadm join k8s-api.example.com:6443 --token ... --control-plane --certificate-key ...
commands:
  description: The kubeadm command lines that ran, in order, with secrets replaced by C(<redacted>).
  returned: always, also on failure
  type: list
  elements: list
  sample: [["/usr/bin/kubeadm", "token", "list", "-o", "json", "--kubeconfig", "/etc/kubernetes/admin.conf"]]
failure_category:
  description:
    - Why the module failed, as for M(kubeha.kubeadm.kubeadm_init), for example V(endpoint_unreachable) when the
      API server does not answer C(kubeadm token list), or V(unknown). The message adds an explanation and the fix.
  returned: failure
  type: str
  sample: endpoint_unreachable
rc:
  description: The exit status of the kubeadm command that failed.
  returned: when a kubeadm command failed
  type: int
  sample: 1
stdout:
  description: What the failed kubeadm command printed on standard output, secrets redacted.
  returned: when a kubeadm command failed
  type: str
stderr:
  description: What the failed kubeadm command printed on standard error, secrets redacted.
  returned: when a kubeadm command failed
  type: str
cmd:
  description: The kubeadm command line that failed, secrets redacted.
  returned: when a kubeadm command failed
  type: list
  elements: str
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import credentials_node  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_BASE_ARGSPEC,
    run_module,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_BASE_ARGSPEC,
            "kind": {"type": "str", "choices": ["worker", "control_plane"], "default": "worker"},
            "token_ttl": {"type": "str", "default": "2h", "no_log": False},
            "token_min_ttl": {"type": "str", "default": "1h", "no_log": False},
            "token_reuse": {"type": "bool", "default": True, "no_log": False},
            "cri_socket": {"type": "str"},
        },
        supports_check_mode=True,
    )
    run_module(module, credentials_node, KUBERNETES_DIR)


if __name__ == "__main__":
    main()
