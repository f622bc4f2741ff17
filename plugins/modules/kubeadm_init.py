#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_init
short_description: Initialise the first Kubernetes control plane with kubeadm, and mint join credentials
version_added: 0.1.0
description:
  - Runs C(kubeadm init) on a node that has not been initialised yet, and does nothing on one that has
    (a control plane, recognised by C(/etc/kubernetes/kubelet.conf) together with
    C(/etc/kubernetes/manifests/kube-apiserver.yaml)).
  - When asked with O(join_credentials), returns what other nodes need to join the cluster, as typed
    values rather than scraped text, with the same code as M(kubeha.kubeadm.kubeadm_join_credentials)
    (which mints on any control plane of a running cluster). A bootstrap token that is valid for joins and has more than
    O(token_min_ttl) left is reused; otherwise a token living O(token_ttl) is created. The CA cert
    hashes are computed from C(/etc/kubernetes/pki/ca.crt). For V(control_plane), the control-plane
    certificates are uploaded again, encrypted with a new certificate key that is valid for 2 hours.
  - A failed C(kubeadm init) is classified (see RV(failure_category)) and, unless O(reset_on_failure=false),
    followed by C(kubeadm reset --force), because the files a failed init leaves behind would make the
    next run believe the node is initialised.
  - A node where an init was interrupted half-way (kubeconfig files without C(kubelet.conf), or a
    C(bootstrap-kubelet.conf)) is reset before C(kubeadm init) runs.
  - Commands run as argument lists in the C locale; tokens and certificate keys are scrubbed from
    every failure message and returned command line.
options:
  control_plane_endpoint:
    description:
      - The address every control plane shares, C(host) or C(host:port), usually the load balancer in
        front of the API servers (C(--control-plane-endpoint)).
      - Without it no further control plane can join the cluster.
    type: str
  pod_network_cidr:
    description:
      - The pod network (C(--pod-network-cidr), C(networking.podSubnet)); must match the CNI's pool.
    type: str
  service_cidr:
    description:
      - The service network (C(--service-cidr)); kubeadm's default is C(10.96.0.0/12).
    type: str
  kubernetes_version:
    description:
      - The control plane version to deploy, for example V(v1.32.4) (C(--kubernetes-version)).
      - Also decides the configuration apiVersion when O(config) is used; without it, the version of
        the kubeadm binary (C(kubeadm version -o short)) decides.
    type: str
  apiserver_advertise_address:
    description:
      - The address this node's API server advertises (C(--apiserver-advertise-address)).
    type: str
  config:
    description:
      - kubeadm configuration documents, keyed by kind. Supported kinds are C(InitConfiguration),
        C(ClusterConfiguration), C(KubeletConfiguration) and C(KubeProxyConfiguration); the value is the
        body of the document without C(apiVersion) and C(kind).
      - The module adds the apiVersion, C(kubeadm.k8s.io/v1beta4) for Kubernetes 1.31 and later and
        C(kubeadm.k8s.io/v1beta3) before, and converts C(extraArgs) and C(kubeletExtraArgs) between the
        map form of v1beta3 and the list of C(name)/C(value) items of v1beta4, so one configuration works
        with both. A body that names its own C(apiVersion) keeps it.
      - The other options are merged into these documents, because kubeadm does not accept most flags
        together with C(--config); an option and the configuration that disagree are an error.
      - The file is written with mode C(0600) into the module's temporary directory and removed as soon
        as kubeadm has read it.
      - A bootstrap token or certificate key written here shows up in the module invocation; keep
        secrets out of it.
    type: dict
  upload_certs:
    description:
      - Upload the control-plane certificates during init (C(--upload-certs)), encrypted with a key that
        is then returned in RV(join_credentials.certificate_key) if O(join_credentials=control_plane).
      - Not needed for O(join_credentials=control_plane), which uploads them when it is asked anyway.
    type: bool
    default: false
  join_credentials:
    description:
      - Which join credentials to return in RV(join_credentials).
      - V(none) returns none and, on an initialised node, runs nothing.
      - V(worker) returns a bootstrap token, the CA cert hashes and the API server endpoint.
      - V(control_plane) also uploads the control-plane certificates with a new certificate key and returns
        that key. This invalidates any key handed out before, so control planes must join one at a time
        with the newest key.
    type: str
    choices: [none, worker, control_plane]
    default: none
  token_ttl:
    description:
      - The lifetime of a bootstrap token the module creates, as a duration such as V(2h) or V(90m).
    type: str
    default: 2h
  token_min_ttl:
    description:
      - A token is reused only while it has more than this left; must be shorter than O(token_ttl).
        Ignored when O(token_reuse=false).
    type: str
    default: 1h
  token_reuse:
    description:
      - Whether an existing token with more than O(token_min_ttl) left may be returned instead of
        creating one. V(false) mints a fresh token every time (just-in-time joins).
    type: bool
    default: true
attributes:
  check_mode:
    description: Predicts RV(ignore:changed) from the node's files and the cluster's token list without
      initialising the node, creating a token or uploading certificates.
  idempotent:
    support: partial
    details:
      - Idempotent unless O(join_credentials=control_plane) or O(token_reuse=false), which mint every run.
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
  - kubeha.kubeadm._kubeadm.node
notes:
  - Run it as root on the first control plane. Only that node needs it; later control planes join with
    M(kubeha.kubeadm.kubeadm_join).
  - Register the result in a task with C(no_log=true) when O(join_credentials) is not V(none), because
    RV(join_credentials) holds secrets. Other hosts read them from C(hostvars), without them being written anywhere.
  - Minting credentials (a new token, or a certificate upload) reports C(changed); reusing a token does not.
  - Expiry times are UTC, ISO 8601 (V(2025-05-12T15:14:15Z)).
requirements:
  - kubeadm 1.28 or later on the node, and C(/etc/kubernetes/admin.conf) for the token commands.
seealso:
  - module: kubeha.kubeadm.kubeadm_join_credentials
  - module: kubeha.kubeadm.kubeadm_join
  - name: kubeadm init
    description: kubeadm's reference for C(kubeadm init) and its phases.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-init/
  - name: Creating Highly Available Clusters with kubeadm
    description: The stacked etcd topology this collection builds.
    link: https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/high-availability/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Initialise the first control plane behind the load balancer
  kubeha.kubeadm.kubeadm_init:
    control_plane_endpoint: k8s-api.example.com:6443
    pod_network_cidr: 10.244.0.0/16
    kubernetes_version: v1.32.4
    cri_socket: unix:///var/run/containerd/containerd.sock

- name: Initialise from a configuration, and return what control planes need to join
  kubeha.kubeadm.kubeadm_init:
    config:
      ClusterConfiguration:
        controlPlaneEndpoint: k8s-api.example.com:6443
        networking:
          podSubnet: 10.244.0.0/16
        apiServer:
          extraArgs:
            audit-log-maxage: "30"
      KubeletConfiguration:
        cgroupDriver: systemd
    kubernetes_version: v1.32.4
    join_credentials: control_plane
  register: kubeadm_init_result
  no_log: true

- name: Join a worker with the credentials minted on the first control plane (cp1)
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: "{{ credentials.api_server_endpoint }}"
    token: "{{ credentials.token }}"
    discovery_token_ca_cert_hashes: "{{ credentials.discovery_token_ca_cert_hashes }}"
  vars:
    credentials: "{{ hostvars['cp1'].kubeadm_init_result.join_credentials }}"
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
        - V(none), V(control_plane), V(worker), or V(interrupted) (an init or join that stopped half-way).
      type: str
      sample: control_plane
    init_node:
      description: Whether C(super-admin.conf) exists, which kubeadm 1.29+ writes on the init node only.
      type: bool
      sample: true
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
initialized:
  description: Whether this run ran C(kubeadm init) successfully.
  returned: always
  type: bool
  sample: false
reset_before_init:
  description: Whether the node was (or in check mode, would be) reset first because an init had been interrupted.
  returned: always
  type: bool
  sample: false
config_api_version:
  description: The apiVersion of the rendered kubeadm configuration, when O(config) was used.
  returned: always
  type: str
  sample: kubeadm.k8s.io/v1beta4
join_credentials:
  description:
    - What other nodes need to join. V(null) when O(join_credentials=none), and in check mode on a node
      that would be initialised first.
    - Contains secrets. In check mode, values that would be created are V(null).
  returned: always
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
      description:
        - The key that decrypts the uploaded control-plane certificates, with O(join_credentials=control_plane).
          B(Secret).
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
      description:
        - A ready-made C(kubeadm join) command line for a control plane, when a certificate key was minted. B(Secret).
      type: str
      sample: kubeadm join k8s-api.example.com:6443 --token ... --control-plane --certificate-key ...
commands:
  description: The kubeadm command lines that ran, in order, with secrets replaced by C(<redacted>).
  returned: always, also on failure
  type: list
  elements: list
  sample: [["/usr/bin/kubeadm", "token", "list", "-o", "json", "--kubeconfig", "/etc/kubernetes/admin.conf"]]
stdout:
  description: What C(kubeadm init) printed on standard output, secrets redacted.
  returned: when kubeadm init ran, and on failure
  type: str
stderr:
  description: What C(kubeadm init) printed on standard error, secrets redacted.
  returned: when kubeadm init ran, and on failure
  type: str
failure_category:
  description:
    - Why the module failed. V(already_initialized), V(already_joined), V(preflight), V(token_invalid),
      V(ca_hash_mismatch), V(endpoint_unreachable), V(certificate_key_expired), V(certificate_key_invalid),
      V(etcd_unhealthy), V(kubelet_unhealthy) or V(unknown). The message adds an explanation and the fix.
  returned: failure
  type: str
  sample: kubelet_unhealthy
reset_after_failure:
  description: Whether the node was reset after a failed C(kubeadm init).
  returned: when kubeadm init failed
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
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import init_node  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_COMMON_ARGSPEC,
    run_module,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_COMMON_ARGSPEC,
            "control_plane_endpoint": {"type": "str"},
            "pod_network_cidr": {"type": "str"},
            "service_cidr": {"type": "str"},
            "kubernetes_version": {"type": "str"},
            "apiserver_advertise_address": {"type": "str"},
            "config": {"type": "dict"},
            "upload_certs": {"type": "bool", "default": False},
            "join_credentials": {"type": "str", "choices": ["none", "worker", "control_plane"], "default": "none"},
            "token_ttl": {"type": "str", "default": "2h", "no_log": False},
            "token_min_ttl": {"type": "str", "default": "1h", "no_log": False},
            "token_reuse": {"type": "bool", "default": True, "no_log": False},
        },
        supports_check_mode=True,
    )
    run_module(module, init_node, KUBERNETES_DIR)


if __name__ == "__main__":
    main()
