"""tools/benchmark without a lab: its arguments, its page, its callback and its inventory.

The real measurement needs the lab and minutes of CPU; here the command's argument handling,
the page rendered from a recorded result set, the callback on a local play and the inventory
of the extra nodes are checked.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCHMARK = ROOT / "tools" / "benchmark"
FIXTURE = ROOT / "tests" / "unit" / "fixtures" / "benchmark_results.json"


def load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("kubeha_benchmark_tool", str(BENCHMARK))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def command(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARK), *argv], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def ansible(program: str, argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """An Ansible command of this venv, with none of the caller's ANSIBLE_* settings but these."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / program), *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_names_every_step_and_option() -> None:
    result = command("--help")
    assert result.returncode == 0, result.stderr
    for word in ("--measure", "--runs", "--quick", "--ansible-cfg", "--render", "--keep", "--lock", "add20", "noop28"):
        assert word in result.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--measure", "noop,warp"], "unknown step warp"),
        (["--measure", ","], "(none given)"),
        (["--runs", "0"], "--runs must be at least 1"),
        (["--runs", "two"], "invalid int value"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_stop_before_anything_runs(argv: list[str], message: str) -> None:
    result = command(*argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: tools/benchmark" in result.stderr


def test_quick_is_the_seed_topology_once() -> None:
    args = load().parse_args(["--quick", "--runs", "5"])
    assert args.measure == ["cold", "noop", "check"]
    assert args.runs == 1


def table(lines: list[str], header: str) -> list[str]:
    """The rows under a header line, to the blank line that ends the table; every row as wide."""
    start = lines.index(header)
    end = lines.index("", start)
    assert all(line.count("|") == header.count("|") for line in lines[start:end]), lines[start:end]
    return lines[start + 2 : end]


def test_the_page_from_a_recorded_result_set(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    result = command("--render", str(FIXTURE), "--output", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert "kubeadm test double" in text
    assert "not a real Kubernetes cluster" in text
    assert "2 cores (AMD EPYC), 23 GiB memory" in text
    assert "load average as the runs started: 0.5 to 2.5" in text
    assert "forks = 30, pipelining = True" in text
    lines = text.splitlines()
    header = "| step | hosts | runs | wall median (s) | min | max | changed | tasks per host (mean / max) |"
    rows = table(lines, header)
    # Median 25 of 30/20/25; changed and tasks of that median run; new hosts' changes apart.
    assert rows[0] == "| no-op re-run, 6 hosts | 6 | 3 | 25.0 | 20.0 | 30.0 | 0 | 31 / 41 |"
    assert rows[1] == "| no-op re-run, 6 hosts, playbooks at abc1234 | 6 | 1 | 50.0 | 50.0 | 50.0 | 0 | 40 / 40 |"
    assert rows[2] == "| add 2 workers (to 8 hosts) | 8 | 1 | 50.0 | 50.0 | 50.0 | 13 (1 existing) | 50 / 60 |"
    split_header = "| step | validate | prerequisites | worker joins | other plays |"
    split = table(lines, split_header)
    assert split[0] == "| no-op re-run, 6 hosts | 5.0 | 17.5 |  |  |"
    assert split[1] == "| no-op re-run, 6 hosts, playbooks at abc1234 | 10.0 |  |  |  |"
    assert split[2] == "| add 2 workers (to 8 hosts) |  |  | 30.0 | 2.0 |"
    assert "- adding 20 workers / adding 2" not in text  # no add20 in this set
    assert len(rows) == 3
    assert len(split) == 3
    # A --compare pair: these playbooks' median over the other checkout's.
    assert "- noop: these playbooks / those at abc1234: 0.50" in text


def test_the_page_names_the_command_as_typed(tmp_path: Path) -> None:
    results = json.loads(FIXTURE.read_text())
    page = tmp_path / "performance.md"
    for arguments, shown in (("--runs 3", "`tools/benchmark --runs 3`,"), ("", "`tools/benchmark`,")):
        results["meta"]["command"] = arguments
        recorded = tmp_path / "results.json"
        recorded.write_text(json.dumps(results))
        result = command("--render", str(recorded), "--output", str(page))
        assert result.returncode == 0, result.stderr
        assert shown in page.read_text()


def test_the_extra_inventory_extends_the_lab(tmp_path: Path) -> None:
    benchmark = load()
    extra = tmp_path / "extra.yml"
    benchmark.extra_inventory(extra, benchmark.WORKERS_2 + benchmark.WORKERS_20 + benchmark.CONTROL_PLANE)
    result = ansible(
        "ansible-inventory",
        ["-i", "inventories/lab", "-i", str(extra), "--list"],
        ROOT,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    listing = json.loads(result.stdout)
    assert len(listing["_meta"]["hostvars"]) == 29
    assert listing["control_plane"]["hosts"][-1] == "kubeha-lab-cp4"
    assert len(listing["workers"]["hosts"]) == 24
    w24 = listing["_meta"]["hostvars"]["kubeha-lab-w24"]
    assert w24["kubeha_node_address"] == "172.28.50.44"
    assert w24["kubeha_node_name"] == "w24"
    assert w24["ansible_connection"] == "community.docker.docker"


PLAY = """
- name: Two local hosts
  hosts: all
  connection: local
  gather_facts: false
  tags: [kubeha_prerequisites]
  tasks:
    - name: Ok
      ansible.builtin.debug:
        msg: hello
    - name: Changed on a only
      ansible.builtin.command: "true"
      changed_when: inventory_hostname == 'a'
    - name: Skipped
      ansible.builtin.debug:
        msg: never
      when: false
- name: Untagged
  hosts: a
  connection: local
  gather_facts: false
  tasks:
    - name: Once
      ansible.builtin.debug:
        msg: once
"""


def test_the_callback_records_plays_tasks_and_changes(tmp_path: Path) -> None:
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "hosts.ini").write_text(
        f"a ansible_python_interpreter={sys.executable}\nb ansible_python_interpreter={sys.executable}\n"
    )
    record = tmp_path / "record.json"
    result = ansible(
        "ansible-playbook",
        ["-i", "hosts.ini", "play.yml"],
        tmp_path,
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "tools" / "benchmark_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="kubeha_benchmark",
        KUBEHA_BENCHMARK_RECORD=str(record),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(record.read_text())
    assert [p["name"] for p in data["plays"]] == ["Two local hosts", "Untagged"]
    assert data["plays"][0]["tags"] == ["kubeha_prerequisites"]
    assert all(p["seconds"] >= 0 for p in data["plays"])
    assert data["seconds"] >= sum(p["seconds"] for p in data["plays"])
    assert data["hosts"] == {
        "a": {"executed": 3, "changed": 1, "failed": 0},
        "b": {"executed": 2, "changed": 0, "failed": 0},
    }
    assert load().phase_of(data["plays"][0]) == "prerequisites"
    assert load().phase_of(data["plays"][1]) == "other plays"


def test_the_example_configuration_is_read_as_the_readme_says(tmp_path: Path) -> None:
    """ANSIBLE_CONFIG pointed at the example (as the README and tools/benchmark do) gives its settings."""
    example = ROOT / load().EXAMPLE_CFG
    result = ansible(
        "ansible-config", ["dump", "--only-changed", "--format", "json"], tmp_path, ANSIBLE_CONFIG=str(example)
    )
    assert result.returncode == 0, result.stderr
    settings = {entry["name"]: entry["value"] for entry in json.loads(result.stdout) if "name" in entry}
    assert settings["DEFAULT_FORKS"] == 30
    assert settings["ANSIBLE_PIPELINING"] is True


def test_a_run_that_stops_keeps_what_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The result set is saved after every step: a step that fails leaves the earlier ones recorded,
    and the lab it started is removed."""
    benchmark = load()
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(benchmark, "lab_exists", lambda: False)
    monkeypatch.setattr(benchmark, "lab", lambda *argv: calls.append(argv))
    monkeypatch.setattr(benchmark, "run_meta", lambda argv, cfg: {"command": " ".join(argv)})

    def playbook_run(step: dict, inventories: list, env: dict, log: Path, tree: Path) -> dict:
        if step["name"] == "check":
            raise SystemExit("benchmark: step check failed (rc 2)")
        return {"seconds": 1.0, "plays": [], "hosts": {}}

    monkeypatch.setattr(benchmark, "playbook_run", playbook_run)
    saved: list[dict] = []
    args = benchmark.parse_args(["--measure", "cold,noop,check", "--runs", "1", "--ansible-cfg", "none"])
    with pytest.raises(SystemExit, match="step check failed"):
        benchmark.measure(args, ["--quick"], saved.append)
    assert [m["name"] for m in saved[-1]["measurements"]] == ["cold", "noop"]
    assert calls[-1] == ("down",)
