"""Static layer: linters with no blanket skips, ansible-test sanity, and the built artifact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.static


def run(argv: list[str], timeout: int = 900, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["ansible-lint", "--offline"], id="ansible-lint"),
        pytest.param(["yamllint", "--strict", "."], id="yamllint"),
        pytest.param(["ruff", "check", "."], id="ruff-check"),
        pytest.param(["ruff", "format", "--check", "."], id="ruff-format"),
        pytest.param(["antsibull-changelog", "lint"], id="changelog-fragments"),
    ],
)
def test_linter_is_clean(argv: list[str]) -> None:
    result = run(argv)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def test_no_sanity_ignores() -> None:
    ignores = [p for p in (ROOT / "tests" / "sanity").glob("ignore-*.txt") if p.read_text().strip()]
    assert not ignores, f"sanity ignore entries are not allowed: {ignores}"


def test_ansible_test_sanity() -> None:
    result = run([str(ROOT / "tools" / "sanity")], timeout=1500)
    assert result.returncode == 0, f"ansible-test sanity failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def roles() -> list[str]:
    return sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", roles())
def test_role_has_spec_defaults_and_readme(role: str) -> None:
    path = ROOT / "roles" / role
    for required in ("meta/argument_specs.yml", "meta/main.yml", "defaults/main.yml", "README.md"):
        assert (path / required).is_file(), f"roles/{role} lacks {required}"


def test_role_readme_tables_match_argument_specs() -> None:
    result = run([sys.executable, str(ROOT / "tools" / "role_docs.py"), "--check"])
    assert result.returncode == 0, result.stderr


# kubeadm's files the playbooks read on a control plane; playbooks/vars/cluster.yml names them once.
KUBEADM_PATHS = ("/etc/kubernetes/admin.conf", "/etc/kubernetes/pki/ca.crt")


def test_playbooks_name_kubeadm_files_only_in_the_cluster_variables() -> None:
    home = ROOT / "playbooks" / "vars" / "cluster.yml"
    assert all(path in home.read_text() for path in KUBEADM_PATHS), f"{home} no longer names {KUBEADM_PATHS}"
    written = [
        f"{playbook.relative_to(ROOT)}:{number}: {line.strip()}"
        for playbook in sorted((ROOT / "playbooks").rglob("*.yml"))
        if playbook != home
        for number, line in enumerate(playbook.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#") and any(path in line for path in KUBEADM_PATHS)
    ]
    assert not written, "use __kubeha_admin_conf / __kubeha_cluster_ca from playbooks/vars/cluster.yml:\n" + "\n".join(
        written
    )


# A URL whose host is a template followed by ":<port>": an IPv6 address would need brackets there.
BARE_HOST_URL = re.compile(r"https?://\{\{[^}]*\}\}:")


def test_urls_put_addresses_and_ports_together_with_the_hostport_filter() -> None:
    """Every URL templated from an address and a port goes through kubeha.kubeadm.hostport."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for top in ("playbooks", "roles")
        for path in sorted((ROOT / top).rglob("*"))
        if path.suffix in (".yml", ".j2")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BARE_HOST_URL.search(line)
    ]
    assert not found, "write the host and port as {{ address | kubeha.kubeadm.hostport(port) }}:\n" + "\n".join(found)
