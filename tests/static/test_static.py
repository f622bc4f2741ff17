"""Static layer: linters with no blanket skips, ansible-test sanity, and the built artifact."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collection artifact, built as `ansible-galaxy collection build` builds it for Galaxy."""
    out = tmp_path_factory.mktemp("artifact")
    result = run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(ROOT)])
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("kubeha-kubeadm-*.tar.gz")
    return built


def test_built_collection_ships_content_only(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    top = {name.split("/", 1)[0] for name in names}
    missing = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta", "plugins", "roles", "playbooks"} - top
    assert not missing, f"the collection artifact lacks {sorted(missing)}"
    shipped = top & {"tests", "molecule", ".ci", "tools", "requirements", ".venv", ".artifacts", ".config"}
    assert not shipped, f"{sorted(shipped)} must not ship in the collection artifact"


FQCN = re.compile(r"^([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+$")
# A filter, test or lookup named by FQCN inside Jinja.
JINJA_FQCN = re.compile(
    r"(?:\|\s*|\bis\s+(?:not\s+)?|(?:lookup|query)\(\s*['\"])([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+\b"
)


def _task_keys(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _task_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _task_keys(item)


def collections_the_content_calls() -> dict[str, set[str]]:
    """Every collection named by the shipped tasks, templates and plugins, with the files naming it."""
    found: dict[str, set[str]] = {}
    tasks = [*ROOT.glob("playbooks/*.yml"), *ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("roles/*/handlers/*.yml")]
    for path in tasks:
        for key in _task_keys(yaml.safe_load(path.read_text())):
            match = FQCN.match(key)
            if match:
                found.setdefault(match[1], set()).add(str(path.relative_to(ROOT)))
    for path in [*ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("roles/**/*.yml"), *ROOT.glob("roles/**/*.j2")]:
        for name in JINJA_FQCN.findall(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for path in ROOT.glob("plugins/**/*.py"):
        for name in re.findall(r"^from ansible_collections\.(\w+\.\w+)\.", path.read_text(), re.M):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_galaxy_yml_declares_every_collection_the_content_calls() -> None:
    used = collections_the_content_calls()
    assert {"ansible.builtin", "kubeha.kubeadm"} <= set(used), "the scan found no FQCN: it is broken"
    others = {name: sorted(files) for name, files in used.items() if name not in ("ansible.builtin", "kubeha.kubeadm")}
    declared = yaml.safe_load((ROOT / "galaxy.yml").read_text()).get("dependencies") or {}
    assert set(declared) == set(others), f"galaxy.yml dependencies {sorted(declared)}; the content calls {others}"


# The playbooks a user runs by name from an installed collection (ansible-playbook kubeha.kubeadm.<name>).
FQCN_PLAYBOOKS = ("ha_cluster", "remove_node", "validate", "summary", "kubeconfig")
# Kept for the checkout path `ansible-playbook playbooks/ha-cluster.yml`; a hyphen cannot be in an FQCN.
CHECKOUT_ONLY_PLAYBOOKS = ("ha-cluster",)
SMALL_INVENTORY = """\
all:
  children:
    loadbalancer: {hosts: {lb1: {}}}
    control_plane: {hosts: {cp1: {}, cp2: {}, cp3: {}}}
    workers: {hosts: {w1: {}}}
"""


@pytest.fixture(scope="module")
def installed(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The artifact installed into an empty collections path, offline; the environment that sees only it.

    Its dependencies resolve to the collections the `ansible` package installed (no Galaxy here):
    the install fails if galaxy.yml asks for a collection or a version that is not there.
    """
    path = tmp_path_factory.mktemp("collections")
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(path)}
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "-p", str(path), str(artifact)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (path / "ansible_collections" / "kubeha" / "kubeadm" / "MANIFEST.json").is_file(), result.stdout
    (path / "inventory.yml").write_text(SMALL_INVENTORY)
    return env


def test_every_shipped_playbook_is_runnable_by_fqcn(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        shipped = {Path(name).stem for name in tar.getnames() if re.fullmatch(r"playbooks/[^/]+\.ya?ml", name)}
    assert shipped == set(FQCN_PLAYBOOKS + CHECKOUT_ONLY_PLAYBOOKS), (
        "a new playbook needs a snake_case name and a place in FQCN_PLAYBOOKS"
    )


@pytest.mark.parametrize("name", FQCN_PLAYBOOKS)
def test_installed_playbook_passes_syntax_check_by_fqcn(installed: dict[str, str], name: str) -> None:
    collections = Path(installed["ANSIBLE_COLLECTIONS_PATH"])
    argv = ["ansible-playbook", "--syntax-check", "-i", str(collections / "inventory.yml"), f"kubeha.kubeadm.{name}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=installed, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Found in the installed copy, not in the checkout.
    where = collections / "ansible_collections" / "kubeha" / "kubeadm" / "playbooks" / f"{name}.yml"
    assert f"playbook: {where}" in result.stdout, result.stdout


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
