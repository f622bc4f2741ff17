"""plugins/module_utils/_kubeadm_output.py: parsers of kubeadm's output and redact()."""

from __future__ import annotations

import datetime
import json

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import (
    kubeadm_config_api_version,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_output import (
    DEFAULT_NODE_TOKEN_GROUP,
    BootstrapToken,
    format_timestamp,
    parse_certificate_key,
    parse_duration,
    parse_init_output,
    parse_join_commands,
    parse_kubeconfig_server,
    parse_timestamp,
    parse_token_create,
    parse_token_list,
    parse_upload_certs_output,
    parse_version,
    redact,
    select_reusable_token,
)
from conftest import NOW, fixture_sections, read_fixture

F02 = read_fixture("F02_success_block_ge1.32_tabs.txt")
F03 = read_fixture("F03_init_ha_v1.32.4_spaces.txt")
F07 = read_fixture("F07_init_endpoint_no_uploadcerts_v1.30.1_spaces.txt")
F03_KEY = "43d861fb4825a3ba2477f045569bf8f8f80c41c66c9fee6e245e55b67e29c1cc"
F03_EXPECTED = {
    "api_server_endpoint": "20.20.20.11:6443",
    "token": "ajrbck.gadjppj7nq122dde",
    "discovery_token_ca_cert_hashes": ["sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"],
    "certificate_key": F03_KEY,
}
F03_WORKER_LINE = (
    "        --discovery-token-ca-cert-hash sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9\n"
)
F03_WORKER_END = F03_WORKER_LINE.rstrip("\n")
UPLOAD_CERTS = [text for _title, text in fixture_sections("F09_upload_certs_phase.txt")]
UTC = datetime.timezone.utc


# --------------------------------------------------------------------------------------------
# Variants of the real 1.32.4 output, for layouts kubeadm (or a copy of its output) also produces.


def old_wording(text: str) -> str:
    """<=1.31 sentence (changed by kubernetes PR #128118)."""
    return text.replace(
        "You can now join any number of control-plane nodes running",
        "You can now join any number of the control-plane node running",
    )


def tab_indents(text: str) -> str:
    """kubeadm's own TAB continuation indent (the capture has 8 spaces from a copy)."""
    return text.replace("\n        --", "\n\t--")


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def trailing_spaces(text: str) -> str:
    """Trailing blanks on every line, after the continuation backslashes too."""
    return "".join(line + " \t\n" for line in text.split("\n"))


def worker_trailing_space(text: str) -> str:
    """The worker command ends in 'sha256:<hash> ' (1.24 and 1.34 captures)."""
    return text.replace(F03_WORKER_LINE, F03_WORKER_END + " \n")


def extra_flags(text: str) -> str:
    """cri-dockerd style: one more continuation after the CP command, a flag glued to the worker line."""
    text = text.replace(F03_KEY + "\n", F03_KEY + " \\\n\t--cri-socket=unix:///run/cri-dockerd.sock\n")
    return text.replace(F03_WORKER_LINE, F03_WORKER_END + " \\ --cri-socket unix:///run/cri-dockerd.sock\n")


def without_control_plane_paragraph(text: str) -> str:
    """No --control-plane-endpoint: kubeadm skips straight to the worker paragraph."""
    start = text.index("You can now join any number of")
    return text[:start] + text[text.index("Then you can join any number of worker nodes") :]


def klog_between_paragraphs(text: str) -> str:
    """stdout and stderr captured together: klog lines between the paragraphs."""
    klog = "W0512 13:14:16.780549    3037 warnings.go:70] something the tests made up\n"
    return text.replace("\nThen you can join", "\n" + klog + "Then you can join")


def two_tokens(text: str) -> str:
    """An InitConfiguration with two bootstrapTokens prints the block once per token; the first wins."""
    block = text[text.index("Your Kubernetes control-plane has initialized") :]
    return text + "\n" + block.replace("ajrbck.gadjppj7nq122dde", "zzzzzz.zzzzzzzzzzzzzzzz")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(F03, F03_EXPECTED, id="v1.32.4-8-spaces-klog"),
        pytest.param(old_wording(F03), F03_EXPECTED, id="v1.31-wording"),
        pytest.param(tab_indents(F03), F03_EXPECTED, id="tab-indents"),
        pytest.param(crlf(F03), F03_EXPECTED, id="crlf"),
        pytest.param(trailing_spaces(F03), F03_EXPECTED, id="trailing-spaces"),
        pytest.param(worker_trailing_space(F03), F03_EXPECTED, id="worker-trailing-space"),
        pytest.param(old_wording(tab_indents(worker_trailing_space(F03))), F03_EXPECTED, id="v1.24-shape"),
        pytest.param(extra_flags(F03), F03_EXPECTED, id="extra-flags"),
        pytest.param(klog_between_paragraphs(F03), F03_EXPECTED, id="klog-between"),
        pytest.param(two_tokens(F03), F03_EXPECTED, id="two-tokens"),
        pytest.param(
            without_control_plane_paragraph(F03), {**F03_EXPECTED, "certificate_key": None}, id="no-control-plane"
        ),
        pytest.param(
            F02,
            {
                "api_server_endpoint": "control-plane.kube.internal:6443",
                "token": "1a96uo.crebd39416pz36ur",
                "discovery_token_ca_cert_hashes": [
                    "sha256:2e367f91608bc797dba718d7def553689e5947274ca284b7da110e02897f2d7a"
                ],
                "certificate_key": "b2b054ed9637790bac9f4e8a207dd6d1946801d5ecfe003c0663467620111c6d",
            },
            id="F02-tabs",
        ),
        pytest.param(
            F07,
            {
                "api_server_endpoint": "172.31.7.188:6443",
                "token": "abcdef.0123456789abcdef",
                "discovery_token_ca_cert_hashes": [
                    "sha256:5d6123bbffea4230c2280b71a60ae36a220e65dc97ef6737bde13c50d4f58111"
                ],
                "certificate_key": None,
            },
            id="F07-v1.30.1-no-upload-certs",
        ),
    ],
)
def test_parse_init_output(text: str, expected: dict) -> None:
    assert parse_init_output(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(read_fixture("F05_join_worker_v1.32.7.txt"), id="join-output"),
        pytest.param(read_fixture("F19_join_cp_v1.36.1_spaces.txt"), id="join-cp-output-v1.36.1"),
        pytest.param(read_fixture("F20_join_worker_v1.36.1.txt"), id="join-worker-output-v1.36.1"),
        pytest.param(read_fixture("F09_upload_certs_phase.txt"), id="upload-certs-output"),
        pytest.param(F03[: F03.index("Your Kubernetes control-plane")], id="truncated-before-success"),
    ],
)
def test_parse_init_output_without_join_command(text: str) -> None:
    with pytest.raises(ValueError, match="no 'kubeadm join' command"):
        parse_init_output(text)


def test_parse_init_output_withheld_token() -> None:
    withheld = F03.replace("ajrbck.gadjppj7nq122dde", "<value withheld>")
    with pytest.raises(ValueError, match="no --token value"):
        parse_init_output(withheld)


def test_parse_join_commands_print_join_command() -> None:
    worker, control_plane = (
        parse_join_commands(text) for _title, text in fixture_sections("F10_token_create_print_join_command.txt")
    )
    assert worker == [
        {
            "api_server_endpoint": "control-plane.k8s.example.com:6443",
            "token": "ckmnmm.3f4d1t9r5",  # shortened by the capture's author
            "discovery_token_ca_cert_hashes": ["sha256:5b071e9c1a3012851bc712467a86b3e392c53d7e6ba949d30"],
            "control_plane": False,
            "certificate_key": None,
        }
    ]
    assert control_plane[0]["control_plane"] is True
    assert control_plane[0]["certificate_key"] == "cf7b996798e0f7972065a258c60dfbbcdbed4a1885ff847905a9bf7d9ffcb437"
    assert control_plane[0]["api_server_endpoint"] == "54.82.17.108:6443"


def test_parse_join_commands_equals_form_and_several_hashes() -> None:
    text = "kubeadm join [fd00::10]:6443 --token=abcdef.0123456789abcdef --discovery-token-ca-cert-hash=sha256:aa \\\n"
    text += "    --discovery-token-ca-cert-hash sha256:bb --control-plane"
    assert parse_join_commands(text) == [
        {
            "api_server_endpoint": "[fd00::10]:6443",
            "token": "abcdef.0123456789abcdef",
            "discovery_token_ca_cert_hashes": ["sha256:aa", "sha256:bb"],
            "control_plane": True,
            "certificate_key": None,
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(UPLOAD_CERTS[0], "73171e59d018d2621c456910ae8f860b333bda07b84cec72d79877250444ce3a", id="v1.34"),
        pytest.param(UPLOAD_CERTS[1], "ff40811298fe9ce482442e9b2750fabf7c0222f41aea72aa5f1ce5ddcfd59f7b", id="v1.33"),
        pytest.param(UPLOAD_CERTS[2], "7531149107ebc3caf4990f94d19824aecf39d93b84ee1b9c86aee84c04e76656", id="v1.32.7"),
        pytest.param(F03, F03_KEY, id="init-upload-certs"),
        pytest.param(F07, "23c70979fe4841ee05e7725ce22782b1d1210578ced5a6b5279f8af464d613be", id="v1.30.1-phase"),
        pytest.param(F02, None, id="no-upload"),
        pytest.param("[upload-certs] Skipping phase. Please see --upload-certs\n", None, id="skipped"),
    ],
)
def test_parse_upload_certs_output(text: str, expected: str | None) -> None:
    assert parse_upload_certs_output(text) == expected


def test_parse_certificate_key() -> None:
    key = "ff40811298fe9ce482442e9b2750fabf7c0222f41aea72aa5f1ce5ddcfd59f7b"
    assert parse_certificate_key(key + "\n") == key
    with pytest.raises(ValueError, match="64-hex-digit"):
        parse_certificate_key("error: something\n")


def test_parse_token_create() -> None:
    assert parse_token_create("ckmnmm.3f4d1t3a10nvi9r5\n") == "ckmnmm.3f4d1t3a10nvi9r5"
    with pytest.raises(ValueError, match="no bootstrap token"):
        parse_token_create("")


# --------------------------------------------------------------------------------------------
# Tokens


def test_parse_token_list_concatenated_objects() -> None:
    tokens = parse_token_list(read_fixture("constructed_token_list_after_init.json"))
    assert [token.token for token in tokens] == ["02feuk.y58j1moawikcz1ne", "2u57r3.pb5dba3no1bi88u8"]
    proxy, default = tokens
    assert proxy.usages == ()
    assert proxy.groups == ()
    assert not proxy.can_join_nodes()
    assert default.can_join_nodes()
    assert default.expires == datetime.datetime(2025, 5, 13, 12, tzinfo=datetime.timezone.utc)
    assert default.token_id == "2u57r3"


def test_parse_token_list_other_shapes() -> None:
    one = {"kind": "BootstrapToken", "token": "abcdef.0123456789abcdef", "usages": ["signing"]}
    klog = "W0512 13:14:15.780549    3037 loader.go:1] noise\n"
    assert len(parse_token_list(json.dumps([one, one]))) == 2
    assert len(parse_token_list(json.dumps({"kind": "List", "items": [one]}))) == 1
    assert len(parse_token_list(klog + json.dumps(one, indent=4) + "\n")) == 1
    assert parse_token_list("") == []
    assert parse_token_list(read_fixture("constructed_token_list_forever.json"))[0].expires is None
    with pytest.raises(ValueError, match="invalid JSON"):
        parse_token_list('{"token": ')


@pytest.mark.parametrize(
    ("fixture", "min_ttl", "expected"),
    [
        ("constructed_token_list_after_init.json", "1h", "2u57r3.pb5dba3no1bi88u8"),
        ("constructed_token_list_after_init.json", "23h", None),
        ("constructed_token_list_none_reusable.json", "1h", None),
        ("constructed_token_list_none_reusable.json", "20m", "ckmnmm.3f4d1t3a10nvi9r5"),
        ("constructed_token_list_two_valid.json", "1h", "ckmnmm.3f4d1t3a10nvi9r5"),
        ("constructed_token_list_forever.json", "1h", "4iwa6j.ejrsfqm26jpcshz2"),
    ],
)
def test_select_reusable_token(fixture: str, min_ttl: str, expected: str | None) -> None:
    chosen = select_reusable_token(parse_token_list(read_fixture(fixture)), NOW, parse_duration(min_ttl))
    assert (chosen.token if chosen else None) == expected


def test_select_reusable_token_skips_malformed() -> None:
    bad = BootstrapToken("not-a-token", "", None, ("authentication", "signing"), (DEFAULT_NODE_TOKEN_GROUP,))
    assert select_reusable_token([bad], NOW, datetime.timedelta(hours=1)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("2h0m0s", 7200), ("45s", 45), ("0h", 0)],
)
def test_parse_duration(text: str, expected: int) -> None:
    assert parse_duration(text).total_seconds() == expected


@pytest.mark.parametrize("text", ["", "2d", "h", "1.5h", "-1h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-22T07:16:33Z", datetime.datetime(2021, 11, 22, 7, 16, 33, tzinfo=datetime.timezone.utc)),
        ("2021-11-22T15:16:33+08:00", datetime.datetime(2021, 11, 22, 7, 16, 33, tzinfo=datetime.timezone.utc)),
        ("2021-11-22T07:16:33.123456789Z", datetime.datetime(2021, 11, 22, 7, 16, 33, 123456, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime.datetime) -> None:
    assert parse_timestamp(text) == expected


def test_format_timestamp() -> None:
    assert format_timestamp(NOW + datetime.timedelta(hours=2)) == "2025-05-12T15:00:00Z"


@pytest.mark.parametrize(
    ("text", "version", "api_version"),
    [
        ("v1.28.15\n", (1, 28, 15), "kubeadm.k8s.io/v1beta3"),
        ("v1.30.1", (1, 30, 1), "kubeadm.k8s.io/v1beta3"),
        ("v1.31.0", (1, 31, 0), "kubeadm.k8s.io/v1beta4"),
        ("1.32", (1, 32, 0), "kubeadm.k8s.io/v1beta4"),
        ("stable-1.35", (1, 35, 0), "kubeadm.k8s.io/v1beta4"),
        ("v1.36.0-alpha.1", (1, 36, 0), "kubeadm.k8s.io/v1beta4"),
    ],
)
def test_versions(text: str, version: tuple, api_version: str) -> None:
    assert parse_version(text) == version
    assert kubeadm_config_api_version(version) == api_version


def test_parse_version_none() -> None:
    assert parse_version("latest") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    server: https://k8s-api.example.com:6443\n", "k8s-api.example.com:6443"),
        ('    server: "https://[fd00::1]:6443/"\n', "[fd00::1]:6443"),
        ("clusters: []\n", None),
    ],
)
def test_parse_kubeconfig_server(text: str, expected: str | None) -> None:
    assert parse_kubeconfig_server(text) == expected


# --------------------------------------------------------------------------------------------
# Secrets


def test_redact() -> None:
    key = "43d861fb4825a3ba2477f045569bf8f8f80c41c66c9fee6e245e55b67e29c1cc"
    redacted = redact(F03)
    assert "ajrbck.gadjppj7nq122dde" not in redacted
    assert key not in redacted
    assert "--certificate-key <redacted>" in redacted
    assert "[upload-certs] Using certificate key:\n<redacted>" in redacted
    assert F03_EXPECTED["discovery_token_ca_cert_hashes"][0] in redacted
    other = "d" * 64
    assert redact({"a": [f"key {other.upper()}"]}, [other]) == {"a": ["key <redacted>"]}
    assert redact('"certificateKey": "' + other + '"') == '"certificateKey": "<redacted>"'
    assert redact(7) == 7


@pytest.mark.parametrize(
    "name",
    [
        "F04_join_cp_v1.32.7_spaces.txt",
        "F05_join_worker_v1.32.7.txt",
        "F19_join_cp_v1.36.1_spaces.txt",
        "F20_join_worker_v1.36.1.txt",
    ],
)
def test_successful_joins_carry_no_join_command(name: str) -> None:
    """Successful join outputs (1.32 and 1.36) print no join command, whatever the version's extra lines."""
    text = read_fixture(name)
    assert parse_join_commands(text) == []
    assert "This node has joined the cluster" in text
