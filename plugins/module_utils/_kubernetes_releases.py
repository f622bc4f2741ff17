# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes releases kubeha.kubeadm installs: the one place the support window is defined.

Private to the collection. Moving the window when upstream releases a minor: add it to
SUPPORTED_MINORS, drop the oldest one from it and give that one its end-of-life date in
EXISTING_ONLY_MINORS (dropping the minor that was there), then move the default version
(``kubeha_kubernetes_version`` in playbooks/vars/cluster.yml) to the newest patch of the newest
minor. tests/static checks that the default lies inside the window.
"""

from __future__ import annotations

# The three minors upstream maintains (each gets about 14 months of patches).
SUPPORTED_MINORS: tuple[int, ...] = (35, 36, 37)
# Past upstream's end of life: accepted only for a cluster that already runs it (so that it can
# be maintained and upgraded), with a warning. Minor -> end-of-life date.
EXISTING_ONLY_MINORS: dict[int, str] = {34: "2026-10-28"}


def window_text() -> str:
    """'1.35 to 1.37', for messages."""
    return f"1.{SUPPORTED_MINORS[0]} to 1.{SUPPORTED_MINORS[-1]}"


# kubeadm feature gates that kubeadm removed, with the first minor that rejects them
# (an unknown gate is an error there): never render them for that minor or later.
KUBEADM_REMOVED_FEATURE_GATES: dict[str, int] = {
    "EtcdLearnerMode": 33,
    "WaitForAllControlPlaneComponents": 35,
    "ControlPlaneKubeletLocalMode": 36,
    "NodeLocalCRISocket": 37,
    "PublicKeysECDSA": 37,
}
