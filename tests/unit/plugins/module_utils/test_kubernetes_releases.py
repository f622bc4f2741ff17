"""The support window is defined once; the default version and every shipped example follow it."""

from __future__ import annotations

import re

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kubernetes_releases as releases

from tests.conftest import ROOT


def default_version() -> str:
    cluster = yaml.safe_load((ROOT / "playbooks" / "vars" / "cluster.yml").read_text())
    match = re.search(r"kubeha_kubernetes_version \| default\('([0-9.]+)'\)", cluster["__kubeha_kubernetes_version"])
    assert match, cluster["__kubeha_kubernetes_version"]
    return match[1]


def minor(version: str) -> int:
    return int(version.lstrip("v").split(".")[1])


def test_the_window_is_three_consecutive_minors_after_the_existing_only_ones() -> None:
    supported = releases.SUPPORTED_MINORS
    assert list(supported) == list(range(supported[0], supported[0] + 3))
    assert all(m < supported[0] for m in releases.EXISTING_ONLY_MINORS)
    assert releases.window_text() == f"1.{supported[0]} to 1.{supported[-1]}"


def test_the_default_version_is_the_newest_supported_minor() -> None:
    assert minor(default_version()) == releases.SUPPORTED_MINORS[-1]


def test_the_double_claims_the_default_version_by_default() -> None:
    text = (ROOT / "tests" / "kubeadm_double" / "kdouble" / "versions.py").read_text()
    assert f'DEFAULT_VERSION = "v{default_version()}"' in text


@pytest.mark.parametrize(
    "path",
    [
        "inventories/lab/group_vars/all.yml",
        "inventories/sandbox/group_vars/all.yml",
        "inventories/control-plane-vip/group_vars/all.yml",
        "molecule/default/molecule.yml",
        "molecule/cp_loadbalancer/molecule.yml",
        "molecule/drills/molecule.yml",
        "molecule/validate/molecule.yml",
    ],
)
def test_examples_and_scenarios_use_the_default_version(path: str) -> None:
    (found,) = re.findall(r"kubeha_kubernetes_version: ([0-9.]+)", (ROOT / path).read_text())
    assert found == default_version()


def test_no_removed_feature_gate_in_the_rendered_kubeadm_configuration() -> None:
    rendered = (ROOT / "roles" / "kubeadm_init" / "vars" / "main.yml").read_text()
    for gate in releases.KUBEADM_REMOVED_FEATURE_GATES:
        assert gate not in rendered
