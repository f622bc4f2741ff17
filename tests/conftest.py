"""Project-wide pytest wiring: where the repository is, and the figures scenarios measured.

Scenario tests print lines `KUBEHA-FIGURE <name>: <value>`; they are collected from the
scenario logs and repeated at the end of the run, so CI output shows what was measured.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts"

# The collection under test is importable as ansible_collections.kubeha.kubeadm.
sys.path.insert(0, str(ROOT / ".venv" / "collections"))

FIGURES: list[str] = []


def load_script(path: Path, name: str) -> ModuleType:
    """A Python file outside any package (a tool, a plugin file, test equipment) loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def record_figures(log: str) -> None:
    FIGURES.extend(line.split("KUBEHA-FIGURE ", 1)[1] for line in log.splitlines() if "KUBEHA-FIGURE " in line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("measured figures")
        for figure in FIGURES:
            terminalreporter.write_line(figure)
