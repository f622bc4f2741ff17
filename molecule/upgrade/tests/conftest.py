"""The upgrade drills use the HA drills' helpers (molecule/drills/tests/drills.py) on this scenario's
containers, and the scenarios' shared helpers (molecule/resources/tests/helpers.py) they build on."""

from __future__ import annotations

import sys
from pathlib import Path

MOLECULE = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(MOLECULE / "drills" / "tests"), str(MOLECULE / "resources" / "tests")]
