"""What Galaxy, Automation Hub and ansible-builder read: galaxy.yml, meta/, the artifact, the EE.

The execution environment's image cannot be built here (its base image sits in a registry these
machines do not reach); `ansible-builder create` writes the full build context offline, and the
collection's meta/execution-environment.yml is read back the way ansible-builder reads it inside
every image that installs this collection.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import ansible
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import ROOT
from tests.static.offline import offline

pytestmark = pytest.mark.static

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
EE_FILE = ROOT / "meta" / "execution-environment.yml"
ARTIFACT = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
# Automation Hub files a collection under at least one of these.
HUB_TAGS = {
    "application",
    "cloud",
    "database",
    "infrastructure",
    "linux",
    "monitoring",
    "networking",
    "security",
    "storage",
    "tools",
    "windows",
}
# What stays in the repository: the harness, the double, CI, build outputs.
NEVER_SHIPPED = ("tests/", "molecule/", "tools/", "requirements/", ".ci/", ".github/", ".config/", "docs/_build/")


def run(argv: list[str], cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's files (tracked or not ignored), plus build outputs that must not ship."""
    copy = tmp_path_factory.mktemp("tree") / "kubeadm"
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    planted_files = ("docs/_build/html/index.html", "tests/output/junit.xml", ".artifacts/run.log", ".a-tool-cache/x")
    for planted in (*planted_files, ARTIFACT):
        (copy / planted).parent.mkdir(parents=True, exist_ok=True)
        (copy / planted).write_text("not content\n")
    return copy


@pytest.fixture(scope="module")
def artifact(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    result = offline(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(tree)], 300)
    assert result.returncode == 0, result.stderr
    return out / ARTIFACT


@pytest.fixture(scope="module")
def members(artifact: Path) -> list[str]:
    with tarfile.open(artifact) as tar:
        return tar.getnames()


def test_galaxy_metadata_is_what_galaxy_and_hub_check() -> None:
    for key in ("namespace", "name", "version", "readme", "authors", "description", "license", "tags"):
        assert GALAXY.get(key), f"galaxy.yml lacks {key}"
    for key in ("repository", "documentation", "issues"):
        assert re.match(r"\Ahttps://\S+\Z", str(GALAXY.get(key, ""))), f"galaxy.yml {key} is not an https URL"
    assert re.match(r"\A\d+\.\d+\.\d+\Z", str(GALAXY["version"])), "version is not semantic"
    assert (ROOT / GALAXY["readme"]).is_file()
    tags = GALAXY["tags"]
    assert len(tags) <= 20, "Galaxy accepts at most 20 tags"
    bad = [t for t in tags if not re.match(r"\A[a-z0-9_]{1,64}\Z", t)]
    assert not bad, f"tags Galaxy refuses: {bad}"
    assert HUB_TAGS & set(tags), f"no Automation Hub tag among {tags} (one of {sorted(HUB_TAGS)})"


def test_requires_ansible_admits_the_tested_core() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    specifier = SpecifierSet(runtime["requires_ansible"])
    core = Version(ansible.__version__)
    assert core in specifier, f"requires_ansible {specifier} excludes the tested ansible-core {core}"
    assert all(s.operator in (">=", ">") for s in specifier), "requires_ansible must not cap the version"


def test_artifact_ships_content_only(artifact: Path, members: list[str]) -> None:
    shipped = set(members)
    expected = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE"}
    expected |= {"meta/runtime.yml", "meta/execution-environment.yml"}
    expected |= {str(p.relative_to(ROOT)) for p in (ROOT / "plugins").rglob("*.py")}
    expected |= {str(p.relative_to(ROOT)) for p in (ROOT / "roles").rglob("*") if p.is_file()}
    expected |= {str(p.relative_to(ROOT)) for p in (ROOT / "playbooks").rglob("*.yml")}
    missing = sorted(expected - shipped)
    assert not missing, f"the artifact lacks {missing[:20]}"
    leaked = sorted(m for m in members if m.startswith(NEVER_SHIPPED) or m.startswith(".") or m.endswith(".tar.gz"))
    assert not leaked, f"must not ship: {leaked[:20]}"


def test_artifact_manifest_carries_the_galaxy_metadata(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        member = tar.extractfile("MANIFEST.json")
        assert member is not None
        info = json.load(member)["collection_info"]
    for key in ("namespace", "name", "version", "tags", "license", "repository", "dependencies"):
        assert info[key] == GALAXY.get(key, {}), f"MANIFEST.json {key}: {info[key]!r}"


@pytest.fixture(scope="module")
def build_context(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ansible-builder create` on the definition, laid out as in a checkout after a build."""
    work = tmp_path_factory.mktemp("ee")
    (work / "meta").mkdir()
    shutil.copy2(EE_FILE, work / "meta" / EE_FILE.name)
    shutil.copy2(artifact, work / ARTIFACT)
    context = work / "context"
    result = offline(
        [str(Path(sys.executable).parent / "ansible-builder"), "create", "-f", "meta/execution-environment.yml",
         "--context", str(context), "--output-filename", "Containerfile", "-v", "3"],
        120,
        cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, f"ansible-builder create failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert "No matches" not in result.stdout + result.stderr, result.stdout[-2000:]
    return context


def test_ee_definition_is_schema_3() -> None:
    definition = yaml.safe_load(EE_FILE.read_text())
    assert definition["version"] == 3
    assert definition["images"]["base_image"]["name"]


def test_ee_build_context_installs_the_collection_and_its_dependencies(build_context: Path, artifact: Path) -> None:
    containerfile = (build_context / "Containerfile").read_text()
    base = yaml.safe_load(EE_FILE.read_text())["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile
    assert "openssh-clients" in containerfile, "no ssh client for the ssh connection"
    assert re.search(r'ANSIBLE_INSTALL_REFS="ansible-core[^"]*ansible-runner', containerfile)
    requirements = yaml.safe_load((build_context / "_build" / "requirements.yml").read_text())
    names = {c["name"] for c in requirements["collections"]}
    assert f"collections/{ARTIFACT}" in names, names
    copied = build_context / "_build" / "collections" / ARTIFACT
    assert copied.is_file(), "the collection artifact is not in the build context"
    digest = hashlib.sha256(copied.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(artifact.read_bytes()).hexdigest()


def test_ee_needs_are_what_the_content_uses() -> None:
    """The execution environment installs this collection and exactly the collections it calls."""
    galaxy = yaml.safe_load(EE_FILE.read_text())["dependencies"]["galaxy"]["collections"]
    installed = {c["name"] for c in galaxy if c.get("type") != "file"}
    used = collections_the_content_calls()
    assert {"ansible.builtin", "kubeha.kubeadm"} <= set(used), "the scan found no FQCN: it is broken"
    needed = set(used) - {"ansible.builtin", f"{GALAXY['namespace']}.{GALAXY['name']}"}
    assert installed == needed, (
        f"the execution environment installs {sorted(installed)}; the content calls {sorted(needed)}"
    )
    assert any(c.get("type") == "file" and ARTIFACT in c["name"] for c in galaxy), galaxy


def test_ee_file_is_safe_as_the_collections_own_metadata(build_context: Path, artifact: Path, tmp_path: Path) -> None:
    """Inside an image, ansible-builder's introspect reads meta/execution-environment.yml again."""
    install = ["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force"]
    result = offline([*install, "--collections-path", str(tmp_path), str(artifact)], 120)
    assert result.returncode == 0, result.stderr
    introspect = build_context / "_build" / "scripts" / "introspect.py"
    result = run([sys.executable, str(introspect), "introspect", str(tmp_path)])
    assert result.returncode == 0, f"introspect fails on the installed collection:\n{result.stderr[-3000:]}"
    assert yaml.safe_load(result.stdout.split("\n", 1)[1]) == {"python": [], "system": []}, result.stdout


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
    declared = GALAXY.get("dependencies") or {}
    assert set(declared) == set(others), f"galaxy.yml dependencies {sorted(declared)}; the content calls {others}"


# The playbooks a user runs by name from an installed collection (ansible-playbook kubeha.kubeadm.<name>).
FQCN_PLAYBOOKS = (
    "ha_cluster",
    "remove_node",
    "validate",
    "summary",
    "kubeconfig",
    "etcd_backup",
    "etcd_restore",
    "reset",
    "loadbalancer",
    "upgrade",
    "certificates",
)
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
    install = ["ansible-galaxy", "collection", "install", "--offline", "-p", str(path), str(artifact)]
    result = offline(install, 300, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (path / "ansible_collections" / "kubeha" / "kubeadm" / "MANIFEST.json").is_file(), result.stdout
    (path / "inventory.yml").write_text(SMALL_INVENTORY)
    return env


def test_every_shipped_playbook_is_runnable_by_fqcn(members: list[str]) -> None:
    shipped = {Path(name).stem for name in members if re.fullmatch(r"playbooks/[^/]+\.ya?ml", name)}
    assert shipped == set(FQCN_PLAYBOOKS + CHECKOUT_ONLY_PLAYBOOKS), (
        "a new playbook needs a snake_case name and a place in FQCN_PLAYBOOKS"
    )


@pytest.mark.parametrize("name", FQCN_PLAYBOOKS)
def test_installed_playbook_passes_syntax_check_by_fqcn(installed: dict[str, str], name: str) -> None:
    collections = Path(installed["ANSIBLE_COLLECTIONS_PATH"])
    argv = ["ansible-playbook", "--syntax-check", "-i", str(collections / "inventory.yml"), f"kubeha.kubeadm.{name}"]
    result = offline(argv, 300, env=installed)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Found in the installed copy, not in the checkout.
    where = collections / "ansible_collections" / "kubeha" / "kubeadm" / "playbooks" / f"{name}.yml"
    assert f"playbook: {where}" in result.stdout, result.stdout
