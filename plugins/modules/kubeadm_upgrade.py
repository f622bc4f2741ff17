#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_upgrade
short_description: Plan a kubeadm upgrade, or upgrade this node with kubeadm upgrade apply or node
version_added: 0.1.0
description:
  - V(plan) reads C(kubeadm upgrade plan -o json) on a control plane and returns it as typed facts - the current and
    target version of every component per node, the state of the component config APIs, and whether kubeadm itself
    must be upgraded first. Only the machine-readable output is read (kubeadm 1.30 or later), never the text table.
  - V(apply) runs C(kubeadm upgrade apply vX.Y.Z --yes) on the first control plane; V(node) runs
    C(kubeadm upgrade node) on every other control plane and on workers, after V(apply) has run on the first.
  - What the node runs is read from its files, before and after. On a control plane it is the oldest version among the
    images of its C(kube-apiserver), C(kube-controller-manager) and C(kube-scheduler) static pod manifests (a
    half-upgraded control plane is not at the target). On a worker it is the version its kubelet binary reports
    (C(kubelet --version)); C(kubeadm upgrade node) only rewrites a worker's kubelet configuration, so a worker
    reaches the target when its kubelet package is upgraded.
  - A node already at O(version) is left alone (no kubeadm command that changes anything runs). For V(apply) the
    cluster's C(kubeadm-config) must name O(version) too (read with kubectl). On such a node a failed
    C(kubeadm upgrade plan) (another control plane down, for example) is a warning, and RV(plan) has the local
    versions only; with V(plan) it is a failure.
  - Before anything changes, the version policy is checked and the run refused with the fix - a downgrade
    (RV(failure_category=downgrade)), a skipped minor (V(skipped_minor)), a kubeadm that is not of the target's minor
    or older than the target (V(version_skew)). kubeadm's own refusals and failures are classified the same way,
    plus V(unhealthy_control_plane), V(etcd) and V(timeout).
attributes:
  check_mode:
    support: full
    description:
      - Runs only C(kubeadm version) and, on a control plane, C(kubeadm upgrade plan) (read only), returns the plan with
        RV(ignore:changed) true when the node is not at O(version), and changes nothing. A kubeadm older than the target
        is a warning then (the package upgrade that precedes a real run did not happen), not a failure.
  idempotent:
    support: full
    description:
      - A node at O(version) reports no change and is not touched. A worker's version is its kubelet's, so
        V(node) on a worker runs C(kubeadm upgrade node) again until its kubelet package is upgraded (kubeadm makes
        that second run a no-op).
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
options:
  action:
    description:
      - V(plan) reads the upgrade plan and never changes anything.
      - V(apply) upgrades the first control plane (and the cluster's configuration in C(kubeadm-config)).
      - V(node) upgrades another control plane, or a worker, to the release V(apply) wrote to C(kubeadm-config).
    type: str
    required: true
    choices: [plan, apply, node]
  version:
    description:
      - The target Kubernetes release, V(X.Y.Z) (a leading V(v) is accepted). Required for V(apply) and V(node).
      - For V(plan), optional - without it kubeadm plans to its own version (it never fetches remote versions
        here; an air-gapped kubeadm falls back to its own).
      - For V(node) the release kubeadm upgrades to is the one V(apply) wrote to the cluster's configuration; a
        control plane left at another release is reported as a failure (V(version_skew)).
    type: str
  certificate_renewal:
    description:
      - Let kubeadm renew the certificates it manages on this node (its default). V(false) passes
        C(--certificate-renewal=false).
    type: bool
    default: true
  ignore_preflight_errors:
    description:
      - Names of kubeadm checks whose errors become warnings (C(--ignore-preflight-errors)), for example
        V(CoreDNSUnsupportedPlugins). None by default; V(ControlPlaneNodesReady) or V(all) hide real problems.
    type: list
    elements: str
    default: []
  kubelet_path:
    description:
      - The kubelet executable, whose version is a worker's. By default C(kubelet) is looked up on E(PATH),
        C(/usr/bin) and C(/usr/local/bin).
    type: path
  kubectl_path:
    description:
      - The kubectl executable, with which V(apply) on a control plane already at O(version) reads the cluster's
        C(kubeadm-config) (through this node's C(admin.conf)) - an apply that stopped after the manifests and before
        it wrote the new release there is run again. By default C(kubectl) is looked up on E(PATH), C(/usr/bin) and
        C(/usr/local/bin); without it that check is skipped with a warning.
    type: path
notes:
  - Order of an HA upgrade (the one kubeadm documents) - upgrade the kubeadm package on the first control plane,
    V(apply) there, then on each other control plane one at a time the kubeadm package and V(node), then the
    workers; upgrade and restart each node's kubelet after its kubeadm step.
  - The last control plane's V(node) upgrades CoreDNS and kube-proxy (the first one's V(apply) skips them while
    other control planes still run the old release).
  - There is no timeout option - C(kubeadm upgrade) has no such flag; its static-pod wait is 5 minutes per component.
  - Returned versions are V(X.Y.Z) without a V(v), as O(version) and C(kubeha_kubernetes_version) are written;
    component versions are kubeadm's own strings.
requirements:
  - kubeadm 1.30 or later (C(-o json) output API v1alpha3 for C(upgrade plan)), run as root on the node.
seealso:
  - module: kubeha.kubeadm.kubeadm_node_info
  - name: Upgrading kubeadm clusters
    description: The upgrade order kubeadm documents, and what each step does.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Plan the upgrade to 1.37.1 on the first control plane
  kubeha.kubeadm.kubeadm_upgrade:
    action: plan
    version: 1.37.1
  register: upgrade_plan

- name: Say whether kubeadm must be upgraded first
  ansible.builtin.debug:
    msg: >-
      kubeadm {{ upgrade_plan.plan.kubeadm_version }},
      upgrade it first: {{ upgrade_plan.plan.kubeadm_upgrade_required }}

- name: Upgrade the first control plane
  kubeha.kubeadm.kubeadm_upgrade:
    action: apply
    version: 1.37.1

- name: Upgrade another control plane or a worker
  kubeha.kubeadm.kubeadm_upgrade:
    action: node
    version: 1.37.1
"""

RETURN = r"""
plan:
  description:
    - The upgrade plan. On a control plane from C(kubeadm upgrade plan -o json); on a worker (which cannot run it)
      only the versions, with no components.
  returned: always
  type: dict
  contains:
    kubeadm_version:
      description: The installed kubeadm's version (C(kubeadm version -o short)).
      type: str
      sample: 1.37.1
    cluster_version:
      description:
        - The cluster's version as kubeadm reads it (the kube-proxy row of the plan). When kubeadm has nothing to
          upgrade, this control plane's version. V(null) on a worker.
      type: str
      sample: 1.36.5
    target_version:
      description: O(version), else kubeadm's own version.
      type: str
      sample: 1.37.1
    kubeadm_upgrade_required:
      description: Whether the installed kubeadm is older than the target, so its package must be upgraded first.
      type: bool
    description:
      description: kubeadm's description of the upgrade (V(stable version), V(version in the v1.37 series)); V(null)
        when there is nothing to upgrade.
      type: str
      sample: stable version
    available_upgrades:
      description: The control-plane versions kubeadm offers, oldest first.
      type: list
      elements: str
      sample: [1.37.1]
    components:
      description:
        - The components of the upgrade to the target, as kubeadm lists them (kubelet per node, the control-plane
          components and etcd per control plane, kube-proxy, CoreDNS, kubeadm). Empty when there is nothing to upgrade.
      type: list
      elements: dict
      contains:
        name:
          description: kubeadm's component name.
          type: str
          sample: kube-apiserver
        node:
          description: The node it runs on; V(null) for cluster-wide components (kube-proxy, CoreDNS, kubeadm).
          type: str
          sample: cp1
        current_version:
          description: Its current version, as kubeadm prints it.
          type: str
          sample: v1.36.5
        new_version:
          description: Its version after the upgrade.
          type: str
          sample: v1.37.1
    config_apis:
      description: The component config APIs as this kubeadm understands them.
      type: list
      elements: dict
      contains:
        group:
          description: The API group.
          type: str
          sample: kubelet.config.k8s.io
        current_version:
          description: The version the cluster's config uses; V(null) when kubeadm found none.
          type: str
          sample: v1beta1
        preferred_version:
          description: The version this kubeadm writes.
          type: str
          sample: v1beta1
        manual_upgrade_required:
          description: Whether the config must be migrated by hand before the upgrade.
          type: bool
node_role:
  description: What kubeadm's files make of this node - V(control_plane) or V(worker).
  returned: always
  type: str
  sample: control_plane
node_version_before:
  description:
    - The node's version before the run - on a control plane the oldest of its control-plane manifests' image versions,
      on a worker its kubelet's. V(null) when a manifest is missing or unreadable.
  returned: always
  type: str
  sample: 1.36.5
node_version_after:
  description: The node's version after the run, read the same way (equal to RV(node_version_before) when nothing ran).
  returned: always
  type: str
  sample: 1.37.1
stdout:
  description: What C(kubeadm upgrade apply) or C(kubeadm upgrade node) printed (or the kubeadm command that failed),
    secrets removed.
  returned: when kubeadm upgraded the node, or a kubeadm command failed
  type: str
stderr:
  description: Its standard error, secrets removed.
  returned: when kubeadm upgraded the node, or a kubeadm command failed
  type: str
commands:
  description: The kubeadm, kubelet and kubectl commands that ran.
  returned: always
  type: list
  elements: list
  sample:
    - ["/usr/bin/kubeadm", "version", "-o", "short"]
    - ["/usr/bin/kubeadm", "upgrade", "plan", "v1.37.1", "-o", "json"]
failure_category:
  description:
    - Why the run failed, when it did (see the collection's troubleshooting page) - V(version_skew), V(skipped_minor),
      V(downgrade), V(unhealthy_control_plane), V(etcd), V(timeout), V(preflight), V(kubelet_unhealthy),
      V(endpoint_unreachable) or V(unknown). The message adds an explanation and the fix.
  returned: failure
  type: str
  sample: skipped_minor
rc:
  description: The exit status of the kubeadm command that failed.
  returned: when a kubeadm command failed
  type: int
  sample: 1
cmd:
  description: The kubeadm command line that failed.
  returned: when a kubeadm command failed
  type: list
  elements: str
"""

import functools  # noqa: E402

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_BASE_ARGSPEC,
    run_module,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_upgrade import upgrade_node  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_BASE_ARGSPEC,
            "action": {"type": "str", "required": True, "choices": ["plan", "apply", "node"]},
            "version": {"type": "str"},
            "certificate_renewal": {"type": "bool", "default": True},
            "ignore_preflight_errors": {"type": "list", "elements": "str", "default": []},
            "kubelet_path": {"type": "path"},
            "kubectl_path": {"type": "path"},
        },
        required_if=[("action", "apply", ["version"]), ("action", "node", ["version"])],
        supports_check_mode=True,
    )
    found = {
        name: module.params.get(f"{name}_path") or module.get_bin_path(name, opt_dirs=["/usr/bin", "/usr/local/bin"])
        for name in ("kubelet", "kubectl")
    }
    run_module(module, functools.partial(upgrade_node, **found), KUBERNETES_DIR)


if __name__ == "__main__":
    main()
