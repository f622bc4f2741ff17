"""apt_source through its main(), as Ansible runs it: the key fetched, both files, check mode, errors."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _apt_source
from ansible_collections.kubeha.kubeadm.plugins.modules import apt_source

from tests.unit.conftest import ModuleExit

KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGdummy\n-----END PGP PUBLIC KEY BLOCK-----\n"
URL = "https://repo.test/v1.37/deb/"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the key URL answers; every fetch recorded."""
    answer: dict[str, Any] = {"status": 200, "body": KEY, "msg": "OK", "fetched": []}

    def fetch_url(_module: Any, url: str, **_kwargs: Any) -> tuple[Any, dict[str, Any]]:
        answer["fetched"].append(url)
        body = io.BytesIO(answer["body"].encode()) if answer["status"] == 200 else None
        return body, {"status": answer["status"], "msg": answer["msg"]}

    def leave(kind: str) -> Any:
        def exit_or_fail(_self: Any, **kwargs: Any) -> None:
            raise ModuleExit(kind, kwargs)

        return exit_or_fail

    monkeypatch.setattr(apt_source, "fetch_url", fetch_url)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", leave("exit"))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", leave("fail"))
    return answer


def run(tmp_path: Path, check_mode: bool = False, **params: Any) -> ModuleExit:
    args = {
        "name": "kubernetes",
        "uris": URL,
        "suites": "/",
        "key_url": f"{URL}Release.key",
        "keyrings": str(tmp_path / "keyrings"),
        "sources_dir": str(tmp_path / "sources.list.d"),
        "hint": "Check prerequisites_package_repository_base.",
        **params,
    }
    with (
        patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": True}),
        pytest.raises(ModuleExit) as outcome,
    ):
        apt_source.main()
    return outcome.value


def test_writes_the_key_and_the_stanza_deb822_repository_would_then_changes_nothing(
    tmp_path: Path, served: dict[str, Any]
) -> None:
    outcome = run(tmp_path)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    key, source = tmp_path / "keyrings" / "kubernetes.asc", tmp_path / "sources.list.d" / "kubernetes.sources"
    assert outcome.payload["files"] == [str(key), str(source)]
    assert key.read_text() == KEY
    assert source.read_text() == (f"X-Repolib-Name: kubernetes\nSigned-By: {key}\nSuites: /\nTypes: deb\nURIs: {URL}\n")
    assert stat.S_IMODE(key.stat().st_mode) == 0o644
    assert stat.S_IMODE(source.stat().st_mode) == 0o644
    again = run(tmp_path)
    assert again.payload["changed"] is False
    assert again.payload["files"] == []
    assert served["fetched"] == [f"{URL}Release.key"] * 2
    # A rotated key is a change (and a refresh for the caller).
    served["body"] = KEY.replace("dummy", "rotated")
    rotated = run(tmp_path)
    assert rotated.payload["files"] == [str(key)]
    assert "rotated" in key.read_text()


def test_components_come_first_as_deb822_repository_writes_them(tmp_path: Path) -> None:
    text = _apt_source.stanza("containerd", "https://repo.test/linux/debian", "trixie", "stable", "/etc/apt/keyrings")
    assert text.splitlines() == [
        "Components: stable",
        "X-Repolib-Name: containerd",
        "Signed-By: /etc/apt/keyrings/containerd.asc",
        "Suites: trixie",
        "Types: deb",
        "URIs: https://repo.test/linux/debian",
    ]


def test_check_mode_fetches_the_key_and_writes_nothing(tmp_path: Path, served: dict[str, Any]) -> None:
    outcome = run(tmp_path, check_mode=True)
    assert outcome.payload["changed"] is True
    assert len(outcome.payload["diff"]) == 2
    assert served["fetched"]
    assert not (tmp_path / "keyrings").exists()
    assert not (tmp_path / "sources.list.d").exists()


def test_a_wrong_mode_is_fixed_without_rewriting(tmp_path: Path, served: dict[str, Any]) -> None:
    run(tmp_path)
    source = tmp_path / "sources.list.d" / "kubernetes.sources"
    source.chmod(0o600)
    outcome = run(tmp_path)
    assert outcome.payload["files"] == [str(source)]
    assert outcome.payload["diff"] == []
    assert stat.S_IMODE(source.stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, "", f"cannot read the signing key {URL}Release.key (Not Found)."),
        (
            200,
            "<html>captive portal</html>",
            f"the signing key {URL}Release.key is not an ASCII-armored OpenPGP public key.",
        ),
    ],
)
def test_a_key_that_cannot_be_used_fails_naming_the_url_and_the_variable(
    tmp_path: Path, served: dict[str, Any], status: int, body: str, expected: str
) -> None:
    served.update(status=status, body=body, msg="Not Found" if status == 404 else "OK")
    outcome = run(tmp_path)
    assert outcome.kind == "fail"
    assert outcome.payload["msg"] == f"{expected} Check prerequisites_package_repository_base."
    assert not (tmp_path / "keyrings").exists()


def test_every_returned_key_is_documented(tmp_path: Path, served: dict[str, Any]) -> None:
    documented = set(yaml.safe_load(apt_source.RETURN)) | {"changed", "diff"}
    assert set(run(tmp_path).payload) <= documented
