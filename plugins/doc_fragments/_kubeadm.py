# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation the kubeha.kubeadm kubeadm modules share.

Private to the collection. The matching argument specs are KUBEADM_BASE_ARGSPEC and
KUBEADM_COMMON_ARGSPEC in plugins/module_utils/_kubeadm_session.py. RETURN stays in each
module: Ansible merges fragments into DOCUMENTATION only.
"""

from __future__ import annotations


class ModuleDocFragment:
    # Every kubeadm module: where kubeadm is, and the attributes they have in common (a module
    # states its own check-mode behaviour, and narrows idempotent when it mints).
    DOCUMENTATION = r"""
options:
  kubeadm_path:
    description:
      - The kubeadm executable. By default C(kubeadm) is looked up on E(PATH), C(/usr/bin) and C(/usr/local/bin).
    type: path
attributes:
  check_mode:
    support: full
    description: Predicts RV(ignore:changed) from the node's files without changing the node.
  diff_mode:
    support: none
    description: Nothing to show as a diff.
  idempotent:
    support: full
    description: A second run with the same arguments reports no change and changes nothing.
  platform:
    support: full
    platforms: posix
    description: Linux nodes with kubeadm installed.
"""

    # The modules that run kubeadm init or join on their node (kubeha.kubeadm._kubeadm.node).
    NODE = r"""
options:
  cri_socket:
    description:
      - The container runtime socket, for example V(unix:///var/run/containerd/containerd.sock)
        (C(--cri-socket)). Also given to C(kubeadm reset).
    type: str
  node_name:
    description:
      - The Node name of this node (C(--node-name)); kubeadm defaults to the host name.
    type: str
  ignore_preflight_errors:
    description:
      - Names of preflight checks whose errors become warnings (C(--ignore-preflight-errors)),
        for example V(NumCPU). None by default; V(all) is accepted but hides real problems.
    type: list
    elements: str
    default: []
  reset_on_failure:
    description:
      - Run C(kubeadm reset --force) when kubeadm fails, so that the next run starts from a clean node
        (the files a failed run leaves behind would make it look initialised or joined).
      - Never done when the failure is that the node already runs Kubernetes (RV(failure_category) is
        V(already_initialized) or V(already_joined)).
      - C(kubeadm reset) on a failed control plane also removes its etcd member when the cluster is reachable.
    type: bool
    default: true
"""
