# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What kubeadm has left on a node, from its files: the one answer to "is this node joined?".

Private to kubeha.kubeadm: the names here may change in any release. Every module and, through
kubeha.kubeadm.kubeadm_node_info, every role and playbook reads NodeState.role instead of
stat rules of its own. Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

KUBERNETES_DIR = "/etc/kubernetes"


@dataclasses.dataclass(frozen=True)
class NodeState:
    """Which of kubeadm's files exist under the Kubernetes directory (/etc/kubernetes)."""

    admin_conf: bool = False
    super_admin_conf: bool = False
    apiserver_manifest: bool = False
    kubelet_conf: bool = False
    bootstrap_kubelet_conf: bool = False
    ca_crt: bool = False
    etcd_manifest: bool = False
    # The API server's manifest points at a local etcd (stacked etcd, kubeadm's default).
    stacked_etcd: bool = False

    @property
    def role(self) -> str:
        """none, control_plane, worker, or interrupted (a join or init that stopped half-way)."""
        if self.bootstrap_kubelet_conf or (
            not self.kubelet_conf and (self.admin_conf or self.super_admin_conf or self.apiserver_manifest)
        ):
            return "interrupted"
        # A control-plane join writes kubelet.conf (kubelet-start) before the etcd-join phase
        # adds the member and writes etcd.yaml: a stacked node without it stopped in between.
        if self.kubelet_conf and self.apiserver_manifest and self.stacked_etcd and not self.etcd_manifest:
            return "interrupted"
        if self.kubelet_conf and self.apiserver_manifest:
            return "control_plane"
        if self.kubelet_conf:
            return "worker"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        state = dataclasses.asdict(self)
        state["role"] = self.role
        # super-admin.conf is written by kubeadm init (1.29+) only, never by a join.
        state["init_node"] = self.super_admin_conf
        return state


NODE_FILES = {
    "admin_conf": "admin.conf",
    "super_admin_conf": "super-admin.conf",
    "apiserver_manifest": "manifests/kube-apiserver.yaml",
    "kubelet_conf": "kubelet.conf",
    "bootstrap_kubelet_conf": "bootstrap-kubelet.conf",
    "ca_crt": "pki/ca.crt",
    "etcd_manifest": "manifests/etcd.yaml",
}
# kubeadm's API server flag for stacked etcd (IPv4 and IPv6 loopback).
LOCAL_ETCD_SERVERS = ("--etcd-servers=https://127.0.0.1:2379", "--etcd-servers=https://[::1]:2379")


def _uses_local_etcd(manifest: str) -> bool:
    try:
        with open(manifest, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return False
    return any(flag in text for flag in LOCAL_ETCD_SERVERS)


def probe_node_state(root: str = KUBERNETES_DIR) -> NodeState:
    """What kubeadm has left on this node, from files only (no API call)."""
    found = {field: os.path.exists(os.path.join(root, name)) for field, name in NODE_FILES.items()}
    return NodeState(**found, stacked_etcd=_uses_local_etcd(os.path.join(root, NODE_FILES["apiserver_manifest"])))
