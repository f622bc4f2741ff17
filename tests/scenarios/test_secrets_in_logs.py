"""After the default scenario: no secret minted during its run appears in its -vvv log.

molecule/resources/tests/test_no_secret_leaks.py (in the default scenario's verifier) collects
the bootstrap tokens, certificate keys and private keys the converge minted and writes them to
`.artifacts/secrets-default.json` (0600); tests/scenarios/test_molecule.py writes the whole
Molecule output to `.artifacts/molecule-default.log`. This test, which runs after both, looks
for every collected secret in that log and in the controller's fact cache when one was enabled.
It fails, never skips, when either file is missing or does not come from the same run; it
removes the secrets file afterwards. Messages show a secret's kind and a short hash only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The scenario whose run is checked (another cluster scenario can be named for a manual check).
SCENARIO = os.environ.get("KUBEHA_SECRETS_SCENARIO", "default")
KINDS = ("tokens", "certificate_keys", "private_keys")

pytestmark = pytest.mark.scenario


def short(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


class Run:
    """The collected secrets and the log; pytest shows fixtures in failure reports, so the repr
    tells only what was collected, never a secret."""

    def __init__(self, secrets: dict, log: str) -> None:
        self.secrets, self.log = secrets, log

    def __iter__(self) -> Iterator[Any]:
        return iter((self.secrets, self.log))

    def __repr__(self) -> str:
        counts = ", ".join(f"{len(self.secrets.get(kind, []))} {kind}" for kind in KINDS)
        return f"<run {self.secrets.get('run')}: secrets withheld ({counts}), log of {len(self.log)} characters>"


@pytest.fixture(scope="module")
def collected(artifacts: Path) -> Run:
    log_path = artifacts / f"molecule-{SCENARIO}.log"
    secrets_path = artifacts / f"secrets-{SCENARIO}.json"
    assert log_path.is_file(), (
        f"{log_path} is missing: run the {SCENARIO} scenario (tests/scenarios/test_molecule.py) first"
    )
    assert secrets_path.is_file(), (
        f"{secrets_path} is missing: the {SCENARIO} scenario's verifier must run "
        "molecule/resources/tests/test_no_secret_leaks.py (verifier.additional_files_or_dirs)"
    )
    try:
        assert secrets_path.stat().st_mode & 0o077 == 0, f"{secrets_path} must be 0600"
        secrets = json.loads(secrets_path.read_text())
    finally:
        secrets_path.unlink()
    return Run(secrets, log_path.read_text(errors="replace"))


def test_the_secrets_come_from_the_logged_run(collected: Run) -> None:
    secrets, log = collected
    assert f"KUBEHA-SECRETS-RUN {secrets['run']}" in log, "the secrets file was not written by the run in the log"


def test_the_log_is_verbose(collected: Run) -> None:
    log = collected.log
    # At -vvv every task prints its connection (e.g. ESTABLISH DOCKER CONNECTION); without it the
    # scan would miss what only verbose output shows.
    assert "ESTABLISH" in log, f"the {SCENARIO} scenario's playbooks did not run at -vvv (provisioner.options.vvv)"


def test_the_log_holds_an_etcd_backup_run(collected: Run) -> None:
    # test_no_secret_leaks.py prints etcd_backup.yml's -vvv output, so its run is scanned too.
    assert "etcd snapshot from " in collected.log, (
        f"the {SCENARIO} scenario's log has no etcd_backup.yml run: its verifier must run test_no_secret_leaks.py"
    )


def test_the_log_holds_a_certificate_renewal_run(collected: Run) -> None:
    # test_no_secret_leaks.py prints certificates.yml's -vvv output (renewing every certificate),
    # and adds the keys the renewal wrote to the collected ones.
    assert "renewed admin.conf" in collected.log, (
        f"the {SCENARIO} scenario's log has no certificates.yml run: its verifier must run test_no_secret_leaks.py"
    )


def test_secrets_were_collected(collected: Run) -> None:
    secrets = collected.secrets
    missing = [kind for kind in KINDS if not secrets.get(kind)]
    assert not missing, f"nothing collected of {missing}: the scan would prove nothing"


def test_no_collected_secret_in_the_log(collected: Run) -> None:
    secrets, log = collected
    leaks = [f"{kind} {short(s)}" for kind in KINDS for s in secrets.get(kind, []) if s in log]
    assert not leaks, f"secrets in .artifacts/molecule-{SCENARIO}.log: {leaks}"


def test_no_collected_secret_in_the_fact_cache(collected: Run) -> None:
    secrets = collected.secrets
    cache = secrets.get("fact_cache") or ""
    if not cache or not Path(cache).is_dir():
        return  # facts were cached in memory only, or the cache went with Molecule's ephemeral dir
    leaks = []
    for path in Path(cache).rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaks += [f"{path}: {kind} {short(s)}" for kind in KINDS for s in secrets.get(kind, []) if s in text]
    assert not leaks, leaks
