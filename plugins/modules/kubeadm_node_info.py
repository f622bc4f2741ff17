#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_node_info
short_description: Tell what kubeadm has made of this node, and which kubeadm and kubelet it has
version_added: 0.1.0
description:
  - Reads the files kubeadm leaves under C(/etc/kubernetes) and answers what the node is - bare, a control
    plane (the one that initialised the cluster, or a joined one), a worker, or a node whose init or join
    stopped half-way - and whether its API server uses a stacked etcd.
  - The answer is the same one M(kubeha.kubeadm.kubeadm_init) and M(kubeha.kubeadm.kubeadm_join) act on
    (their RV(kubeha.kubeadm.kubeadm_join#module:node_state)), so a play that reads it decides as the modules do.
  - Also reports the versions C(kubeadm version -o short) and C(kubelet --version) print, or V(null) for a
    binary that is not installed.
  - Changes nothing on the node and makes no API call.
attributes:
  check_mode:
    support: full
    description: Runs the same read-only probes in check mode, so its answer is true there too.
options:
  kubectl_client:
    description:
      - Also report the client version C(kubectl version --client) prints, in RV(kubectl_version), so that
        one call answers for all three binaries.
    type: bool
    default: false
  runtime:
    description:
      - Also report, in RV(runtime), what validation checks besides kubeadm's files - containerd's version, the
        kubelet package's state, the release the control plane's API server runs and the cgroup file system -
        so that the node is read once.
    type: bool
    default: false
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
notes:
  - C(kubelet) and C(kubectl) are looked up on E(PATH), C(/usr/bin) and C(/usr/local/bin).
requirements:
  - Read access to C(/etc/kubernetes) (run it as root).
seealso:
  - module: kubeha.kubeadm.kubeadm_init
  - module: kubeha.kubeadm.kubeadm_join
  - name: kubeadm reset
    description: How kubeadm cleans up a node, for example one whose join was interrupted.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Read what kubeadm left on this node
  kubeha.kubeadm.kubeadm_node_info:
  register: node

- name: Join only nodes that have not joined, or whose join stopped half-way
  kubeha.kubeadm.kubeadm_join:
    api_server_endpoint: k8s-api.example.com:6443
    token: "{{ kubeadm_join_token }}"
    discovery_token_ca_cert_hashes: "{{ kubeadm_ca_cert_hashes }}"
  when: node.node_state.role in ['none', 'interrupted']
  no_log: true

- name: Stop when a worker would be turned into a control plane
  ansible.builtin.assert:
    that: node.node_state.role != 'worker'
    fail_msg: "{{ inventory_hostname }} has joined as a worker; reset it before it joins as a control plane."
"""

RETURN = r"""
node_state:
  description: The kubeadm files found on the node, and the role they mean.
  returned: always
  type: dict
  contains:
    role:
      description:
        - V(none) - no kubeadm files (a bare or reset node). C(pki/ca.crt) alone, certificates placed by hand
          for a control-plane join, still counts as V(none).
        - V(control_plane) - C(kubelet.conf) and the API server manifest, and with a stacked etcd also
          C(manifests/etcd.yaml); RV(node_state.init_node) tells the initialising node from a joined one.
        - V(worker) - C(kubelet.conf) without the API server manifest.
        - V(interrupted) - an init or join that stopped half-way - C(bootstrap-kubelet.conf) left behind,
          kubeconfig files or the API server manifest without C(kubelet.conf), or a stacked control plane
          without C(manifests/etcd.yaml) (kubeadm writes C(kubelet.conf) before etcd-join). The kubeadm
          modules reset such a node before they init or join it.
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
kubeadm_version:
  description: The version C(kubeadm version -o short) prints, V(null) when kubeadm is not installed.
  returned: always
  type: str
  sample: v1.33.4
kubelet_version:
  description: The version C(kubelet --version) prints, V(null) when the kubelet is not installed.
  returned: always
  type: str
  sample: v1.33.4
kubectl_version:
  description: The client version C(kubectl version --client) reports, V(null) when kubectl is not installed.
  returned: when O(kubectl_client=true)
  type: str
  sample: v1.37.1
runtime:
  description: The container runtime, the kubelet package, the running release and the cgroups.
  returned: when O(runtime=true)
  type: dict
  contains:
    containerd_version:
      description: What C(containerd --version) prints, V(null) when containerd is not installed.
      type: str
      sample: containerd containerd.io 2.1.9 5a2a8fa
    kubelet_package:
      description:
        - The kubelet package as the package manager records it, C(<status>=<version>) (only C(installed) is
          installed), V(null) when it knows no such package. The kubelet itself is a daemon - its package tells
          the version that will run.
      type: str
      sample: installed=1.37.1-1.1
    running_version:
      description:
        - The version of the C(kube-apiserver) image in this control plane's static Pod manifest, V(null) without one.
      type: str
      sample: 1.37.1
    cgroup_filesystem:
      description:
        - The file system mounted on C(/sys/fs/cgroup) as C(stat -f -c %T) names it - C(cgroup2fs) for cgroup v2,
          C(tmpfs) for v1; V(null) when nothing is mounted there.
      type: str
      sample: cgroup2fs
commands:
  description: The version commands that ran.
  returned: always
  type: list
  elements: list
  sample: [["/usr/bin/kubeadm", "version", "-o", "short"], ["/usr/bin/kubelet", "--version"]]
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import node_info  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_BASE_ARGSPEC,
)

BIN_DIRS = ["/usr/bin", "/usr/local/bin"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_BASE_ARGSPEC,
            "kubectl_client": {"type": "bool", "default": False},
            "runtime": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )

    def run(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})

    result = node_info(
        run,
        kubeadm=module.params.get("kubeadm_path") or module.get_bin_path("kubeadm", opt_dirs=BIN_DIRS),
        kubelet=module.get_bin_path("kubelet", opt_dirs=BIN_DIRS),
        root=KUBERNETES_DIR,
        kubectl=module.get_bin_path("kubectl", opt_dirs=BIN_DIRS) if module.params["kubectl_client"] else False,
        containerd=module.get_bin_path("containerd", opt_dirs=BIN_DIRS) if module.params["runtime"] else False,
        package_tools={tool: module.get_bin_path(tool) for tool in ("dpkg-query", "rpm")},
    )
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
