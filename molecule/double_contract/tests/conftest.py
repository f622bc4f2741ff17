"""Make the collection under test importable (ansible_collections.kubeha.kubeadm) from the
checkout's virtualenv, as tests/conftest.py does for the unit tests, and the scenarios' shared
helpers (molecule/resources/tests/helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / ".venv" / "collections"))
sys.path.insert(0, str(ROOT / "molecule" / "resources" / "tests"))
