# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubeadm reset for kubeha.kubeadm's kubeadm_reset module: probe, decide, act.

Private to the collection: the names here may change in any release. The node needs a reset
when kubeadm's files say it is (or was half-way to being) part of a cluster, or when anything
is left in the directories kubeadm reset empties; otherwise nothing runs and nothing changes.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import build_reset_argv
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR, probe_node_state
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Session

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Runner

# The directories kubeadm reset empties, relative to the Kubernetes directory.
RESET_DIRS = ("manifests", "pki")
ETCD_WIPED_RE = re.compile(r"^\[reset\] Deleted contents of the etcd data directory: (?P<path>\S+)", re.MULTILINE)
ETCD_MEMBER_KEPT_RE = re.compile(r"\[reset\] Failed to remove etcd member: (?P<why>.*?), please manually remove")


def leftovers(root: str = KUBERNETES_DIR) -> list[str]:
    """What kubeadm left under ``root`` that a reset removes (file names, not contents)."""
    state = probe_node_state(root).to_dict()
    found = [name for name, present in state.items() if present is True and name not in ("init_node", "stacked_etcd")]
    for directory in RESET_DIRS:
        path = os.path.join(root, directory)
        if os.path.isdir(path) and os.listdir(path):
            found.append(f"{directory}/")
    return found


def reset_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str = "kubeadm",
    root: str = KUBERNETES_DIR,
    check_mode: bool = False,
) -> dict[str, Any]:
    """The kubeadm_reset module's work. Raises KubeadmError when kubeadm reset fails."""
    session = Session(runner, kubeadm)
    before = probe_node_state(root)
    found = leftovers(root)
    result: dict[str, Any] = {
        "changed": bool(found),
        "node_state": before.to_dict(),
        "leftovers": found,
        "etcd_data_deleted": None,
        "etcd_member_kept": None,
        "commands": session.commands,
        "warnings": session.warnings,
    }
    if not found or check_mode:
        return result
    argv = build_reset_argv(session.kubeadm, params.get("cri_socket"))
    if params.get("cleanup_tmp_dir"):
        argv.append("--cleanup-tmp-dir")
    outcome = session.check(session.run(argv), "kubeadm reset")
    wiped = ETCD_WIPED_RE.search(outcome.stdout)
    kept = ETCD_MEMBER_KEPT_RE.search(outcome.stderr)
    result.update(
        etcd_data_deleted=wiped["path"] if wiped else None,
        etcd_member_kept=kept["why"] if kept else None,
        node_state_after=probe_node_state(root).to_dict(),
        stdout=session.scrub(outcome.stdout),
        stderr=session.scrub(outcome.stderr),
    )
    if kept:
        session.warnings.append(
            "kubeadm reset could not remove this node's etcd member (" + kept["why"] + "); remove it on a"
            " healthy control plane (kubeha.kubeadm.etcd_member) unless the whole cluster is being reset."
        )
    return result
