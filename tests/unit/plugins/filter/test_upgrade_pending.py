"""The upgrade_pending filter over the rule in plugin_utils/_upgrade.py, on the forms upgrade.yml reads."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.filter import upgrade_pending as plugin


def node(kubelet: str = "v1.37.1", annotations: dict | None = None) -> dict:
    return {
        "metadata": {"name": "cp2", "annotations": annotations or {}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": kubelet}},
    }


DONE = {
    "target": "1.37.1",
    "control_plane": True,
    "apiserver": "apiserver=v1.37.1",
    "kubeadm": "kubeadm=installed=1.37.1-1.1",
    "kubelet": "kubelet=installed=1.37.1-1.1",
    "node": node(),
}


@pytest.mark.parametrize(
    ("change", "pending"),
    [
        ({}, False),
        ({"apiserver": "apiserver=v1.36.5"}, True),
        ({"kubeadm": "kubeadm=installed=1.36.5-1.1"}, True),
        ({"kubelet": "kubelet=installed=1.36.5-1.1"}, True),
        ({"kubelet": "kubelet=config-files=1.37.1-1.1"}, True),
        ({"node": node(kubelet="v1.36.5")}, True),
        ({"node": node(annotations={"kubeha.kubeadm/upgrading": "1.37.1"})}, True),
        ({"node": {}}, False),
        ({"control_plane": False, "apiserver": ""}, False),
    ],
)
def test_pending(change: dict, pending: bool) -> None:
    assert plugin.upgrade_pending({**DONE, **change}) is pending


def test_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match=r"not an x\.y\.z version"):
        plugin.upgrade_pending({**DONE, "target": "latest"})
    with pytest.raises(AnsibleFilterError):
        plugin.upgrade_pending("1.37.1")  # type: ignore[arg-type]
    assert plugin.FilterModule().filters()["upgrade_pending"] is plugin.upgrade_pending
