"""The pure parts of plugins/module_utils/_kubeadm.py, on real kubeadm outputs."""

from __future__ import annotations

import datetime
import hashlib
import json
import re

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kubeadm
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import (
    BootstrapToken,
    NodeState,
    build_config_documents,
    build_init_argv,
    build_init_documents,
    build_join_argv,
    build_join_documents,
    build_reset_argv,
    ca_cert_hashes,
    ca_cert_hashes_from_file,
    classify_failure,
    describe_failure,
    error_text,
    failed_preflight_checks,
    kubeadm_config_api_version,
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
    probe_node_state,
    redact,
    render_config,
    select_reusable_token,
    validate_join_values,
)
from conftest import NOW, fixture_section, fixture_sections, read_fixture
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher\n"
CONTROL_PLANE_FILES = [
    "admin.conf",
    "kubelet.conf",
    "manifests/kube-apiserver.yaml",
    "manifests/etcd.yaml",
    "pki/ca.crt",
]
UTC = datetime.timezone.utc
STACKED_APISERVER = (
    "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --etcd-servers=https://127.0.0.1:2379\n"
)


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
    bad = BootstrapToken("not-a-token", "", None, ("authentication", "signing"), (_kubeadm.DEFAULT_NODE_TOKEN_GROUP,))
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
    assert _kubeadm.format_timestamp(NOW + datetime.timedelta(hours=2)) == "2025-05-12T15:00:00Z"


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
# Failure classification, on both error envelopes


def to_envelope_le_1_33(text: str) -> str:
    """kubeadm <=1.33: no 'error: ' prefix; the preflight block inside the phase error."""
    if "error: error execution phase preflight: preflight checks failed" in text:
        text = text.replace("error: error execution phase preflight: preflight checks failed\n", "")
        text = text.replace(
            "[preflight] Some fatal errors occurred:",
            "error execution phase preflight: [preflight] Some fatal errors occurred:",
        )
    return re.sub(r"(?m)^error: ", "", text)


def to_envelope_ge_1_34(text: str) -> str:
    """kubeadm 1.34+ (PR #132080): 'error: ' prefix; the preflight block printed on its own."""
    text = to_envelope_le_1_33(text)
    if "error execution phase preflight: [preflight] Some fatal errors occurred:" in text:
        text = text.replace(
            "error execution phase preflight: [preflight] Some fatal errors occurred:",
            "[preflight] Some fatal errors occurred:",
        )
        hint = "To see the stack trace"
        text = text.replace(hint, "error: error execution phase preflight: preflight checks failed\n" + hint, 1)
    return re.sub(r"(?m)^error execution phase", "error: error execution phase", text)


def preflight_ip_forward() -> str:
    """Derived from F13: the same envelope with a check that is neither 'already' case (FACTS 8.3 text)."""
    text = fixture_section("F13_preflight_join_on_joined_node.txt", 0)
    start = text.index("\t[ERROR")
    end = text.index("[preflight] If you know")
    line = (
        "\t[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n"
    )
    return text[:start] + line + text[end:]


FAILURES = [
    ("F13_preflight_join_on_joined_node.txt", 0, "already_joined"),
    ("F13_preflight_join_on_joined_node.txt", 1, "already_joined"),
    ("F13_preflight_join_on_joined_node.txt", 2, "already_joined"),
    ("F14_join_discovery_errors.txt", 0, "token_invalid"),
    ("F14_join_discovery_errors.txt", 1, "token_invalid"),
    ("F14_join_discovery_errors.txt", 2, "ca_hash_mismatch"),
    ("F14_join_discovery_errors.txt", 3, "endpoint_unreachable"),
    ("F14_join_discovery_errors.txt", 4, "endpoint_unreachable"),
    ("F14_join_discovery_errors.txt", 5, "endpoint_unreachable"),
    ("F14_join_discovery_errors.txt", 6, "endpoint_unreachable"),
    ("F17_reset_and_kubelet_failure_v1.35.3.txt", 0, "unknown"),
    ("F17_reset_and_kubelet_failure_v1.35.3.txt", 2, "kubelet_unhealthy"),
    ("FACTS_error_texts.txt", 0, "already_initialized"),
    ("FACTS_error_texts.txt", 1, "already_initialized"),
    ("FACTS_error_texts.txt", 2, "certificate_key_expired"),
    ("FACTS_error_texts.txt", 3, "certificate_key_invalid"),
    ("FACTS_error_texts.txt", 4, "etcd_unhealthy"),
    ("FACTS_error_texts.txt", 5, "etcd_unhealthy"),
]


def failure_cases() -> list:
    cases = []
    for fixture, index, category in FAILURES:
        title, text = fixture_sections(fixture)[index]
        name = f"{fixture.split('_', maxsplit=1)[0]}[{index}]-{category}"
        cases.append(pytest.param(text, category, id=f"{name}-as-captured ({title[:30]})"))
        cases.append(pytest.param(to_envelope_le_1_33(text), category, id=f"{name}-le-1.33"))
        cases.append(pytest.param(to_envelope_ge_1_34(text), category, id=f"{name}-ge-1.34"))
    for envelope in (to_envelope_le_1_33, to_envelope_ge_1_34):
        text = envelope(preflight_ip_forward())
        cases.append(pytest.param(text, "preflight", id=f"derived-preflight-{envelope.__name__}"))
    noisy = read_fixture("F04_join_cp_v1.32.7_spaces.txt") + "error execution phase kubelet-start: something new\n"
    cases.append(pytest.param(noisy, "unknown", id="etcd-client-warnings-are-not-etcd-failures"))
    mix = "can not mix '--config' with arguments [certificate-key]\n" + STACK_HINT
    cases.append(pytest.param(mix, "unknown", id="config-mix"))
    listing = (
        'failed to list bootstrap tokens: Get "https://10.0.0.1:6443/api/v1/namespaces/kube-system/secrets": '
        "dial tcp 10.0.0.1:6443: connect: connection refused\n"
    )
    cases.append(pytest.param(listing, "endpoint_unreachable", id="token-list-api-down"))
    return cases


@pytest.mark.parametrize(("text", "category"), failure_cases())
@pytest.mark.parametrize("stream", ["stderr", "stdout"])
def test_classify_failure(text: str, category: str, stream: str) -> None:
    assert category in _kubeadm.FAILURE_CATEGORIES
    streams = {"stdout": "", "stderr": ""}
    streams[stream] = text
    assert classify_failure(**streams) == category


def test_classify_failure_split_streams() -> None:
    """kubeadm init's real split: the kubelet story on stdout, the error on stderr."""
    text = fixture_section("F17_reset_and_kubelet_failure_v1.35.3.txt", 2)
    stdout, stderr = text.split("error: error execution phase")
    assert classify_failure(stdout, "error: error execution phase" + stderr) == "kubelet_unhealthy"


def test_error_text_and_checks() -> None:
    text = fixture_section("F14_join_discovery_errors.txt", 2)
    assert error_text("", text).startswith("error execution phase preflight: couldn't validate the identity")
    assert "To see the stack trace" not in error_text("", text)
    wrapped = fixture_section("F14_join_discovery_errors.txt", 6)
    assert error_text("", wrapped).count("\n") == 2
    assert failed_preflight_checks("", fixture_section("F13_preflight_join_on_joined_node.txt", 2)) == [
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "Port-10250",
        "FileAvailable--etc-kubernetes-pki-ca.crt",
    ]


def test_describe_failure() -> None:
    stderr = fixture_section("FACTS_error_texts.txt", 2)
    message = describe_failure("kubeadm join as control plane", "certificate_key_expired", "", stderr)
    assert message.startswith("kubeadm join as control plane failed (certificate_key_expired): certificate key expired")
    assert "Fix: re-run so that a fresh key is uploaded." in message
    assert (
        "kubeadm said: error execution phase control-plane-prepare/download-certs: error downloading certs" in message
    )
    preflight = describe_failure("kubeadm join", "preflight", "", preflight_ip_forward())
    assert "FileContent--proc-sys-net-ipv4-ip_forward" in preflight
    assert "\n" not in preflight


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


# --------------------------------------------------------------------------------------------
# CA pin


def _certificate(key, *, version_1: bool = False) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd-ca")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(2**70)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
    )
    if not version_1:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _pin(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def test_ca_cert_hash_rsa(ca: dict, tmp_path) -> None:
    path = tmp_path / "ca.crt"
    path.write_text(ca["pem"])
    assert ca_cert_hashes_from_file(str(path)) == [ca["hash"]]


def test_ca_cert_hash_ecdsa_and_bundle() -> None:
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
    bundle = _certificate(first) + b"\n" + _certificate(second)
    assert ca_cert_hashes(bundle) == [_pin(first), _pin(second)]
    assert ca_cert_hashes(_certificate(first).decode()) == [_pin(first)]


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("", "no PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "not valid PEM"),
        ("-----BEGIN CERTIFICATE-----\nAgEB\n-----END CERTIFICATE-----\n", "not a DER certificate"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "truncated"),
    ],
)
def test_ca_cert_hash_rejects(pem: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ca_cert_hashes(pem)


# --------------------------------------------------------------------------------------------
# Node state


@pytest.mark.parametrize(
    ("files", "role"),
    [
        ([], "none"),
        (["pki/ca.crt"], "none"),
        ([*CONTROL_PLANE_FILES, "super-admin.conf"], "control_plane"),
        (CONTROL_PLANE_FILES, "control_plane"),
        (["kubelet.conf", "pki/ca.crt"], "worker"),
        (["kubelet.conf", "bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
        (["bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
        (["admin.conf", "manifests/kube-apiserver.yaml", "pki/ca.crt"], "interrupted"),
        # Stopped in etcd-join: kubelet.conf written, the stacked etcd member not yet.
        (["admin.conf", "kubelet.conf", "manifests/kube-apiserver.yaml", "pki/ca.crt"], "interrupted"),
    ],
)  # fmt: skip
def test_probe_node_state(tmp_path, files: list, role: str) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(STACKED_APISERVER if name.endswith("kube-apiserver.yaml") else "x")
    state = probe_node_state(str(tmp_path))
    assert state.role == role
    assert state.to_dict()["init_node"] is ("super-admin.conf" in files)
    assert state.to_dict()["role"] == role


def test_node_state_default() -> None:
    assert NodeState().role == "none"


@pytest.mark.parametrize(
    ("manifest", "role"),
    [
        (STACKED_APISERVER, "interrupted"),
        (STACKED_APISERVER.replace("127.0.0.1", "[::1]"), "interrupted"),
        # External etcd: no etcd.yaml is expected on the node.
        (STACKED_APISERVER.replace("127.0.0.1", "10.0.0.5"), "control_plane"),
    ],
    ids=["stacked-ipv4", "stacked-ipv6", "external-etcd"],
)
def test_probe_node_state_needs_the_etcd_manifest_only_with_stacked_etcd(tmp_path, manifest: str, role: str) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "kube-apiserver.yaml").write_text(manifest)
    for name in ("admin.conf", "kubelet.conf"):
        (tmp_path / name).write_text("x")
    assert probe_node_state(str(tmp_path)).role == role


# --------------------------------------------------------------------------------------------
# argv and configuration


INIT_PARAMS = {
    "control_plane_endpoint": "k8s-api.example.com:6443",
    "pod_network_cidr": "10.244.0.0/16",
    "service_cidr": None,
    "kubernetes_version": "v1.32.4",
    "apiserver_advertise_address": "10.0.0.11",
    "node_name": "cp1",
    "cri_socket": "unix:///var/run/containerd/containerd.sock",
    "upload_certs": True,
    "ignore_preflight_errors": ["NumCPU", "Mem"],
}


def test_build_init_argv_flags() -> None:
    assert build_init_argv("/usr/bin/kubeadm", INIT_PARAMS) == [
        "/usr/bin/kubeadm", "init",
        "--control-plane-endpoint", "k8s-api.example.com:6443",
        "--pod-network-cidr", "10.244.0.0/16",
        "--kubernetes-version", "v1.32.4",
        "--apiserver-advertise-address", "10.0.0.11",
        "--node-name", "cp1",
        "--cri-socket", "unix:///var/run/containerd/containerd.sock",
        "--upload-certs",
        "--ignore-preflight-errors", "NumCPU,Mem",
    ]  # fmt: skip


def test_build_init_argv_config() -> None:
    assert build_init_argv("kubeadm", INIT_PARAMS, "/run/x/kubeadm-init.yaml") == [
        "kubeadm", "init", "--config", "/run/x/kubeadm-init.yaml", "--upload-certs",
        "--ignore-preflight-errors", "NumCPU,Mem",
    ]  # fmt: skip


def test_build_init_argv_rejects_odd_check_names() -> None:
    with pytest.raises(ValueError, match="not a preflight check name"):
        build_init_argv("kubeadm", {"ignore_preflight_errors": ["NumCPU,--dry-run"]})


@pytest.mark.parametrize(
    ("api_version", "extra_args"),
    [
        ("kubeadm.k8s.io/v1beta4", [{"name": "audit-log-maxage", "value": "30"}]),
        ("kubeadm.k8s.io/v1beta3", {"audit-log-maxage": "30"}),
    ],
)
@pytest.mark.parametrize(
    "given", [{"audit-log-maxage": 30}, [{"name": "audit-log-maxage", "value": "30"}]], ids=["map", "list"]
)
def test_build_init_documents(api_version: str, extra_args, given) -> None:
    params = {
        **INIT_PARAMS,
        "config": {
            "ClusterConfiguration": {"apiServer": {"extraArgs": given}, "networking": {"podSubnet": "10.244.0.0/16"}},
            "KubeletConfiguration": {"cgroupDriver": "systemd"},
        },
    }
    documents = build_init_documents(params, api_version)
    assert documents["ClusterConfiguration"] == {
        "apiVersion": api_version,
        "kind": "ClusterConfiguration",
        "apiServer": {"extraArgs": extra_args},
        "networking": {"podSubnet": "10.244.0.0/16"},
        "controlPlaneEndpoint": "k8s-api.example.com:6443",
        "kubernetesVersion": "v1.32.4",
    }
    assert documents["InitConfiguration"] == {
        "apiVersion": api_version,
        "kind": "InitConfiguration",
        "localAPIEndpoint": {"advertiseAddress": "10.0.0.11"},
        "nodeRegistration": {"name": "cp1", "criSocket": "unix:///var/run/containerd/containerd.sock"},
    }
    assert documents["KubeletConfiguration"]["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    rendered = render_config(documents)
    kinds = [json.loads(part)["kind"] for part in rendered.split("---\n")]
    assert kinds == ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ClusterConfiguration": {"controlPlaneEndpoint": "other:6443"}}, "control_plane_endpoint and config"),
        ({"JoinConfiguration": {}}, "unsupported kind 'JoinConfiguration'"),
        ({"ClusterConfiguration": "text"}, "must be a dictionary"),
        ({"ClusterConfiguration": {"networking": "x"}}, "must be a dictionary"),
        (
            {"ClusterConfiguration": {"apiServer": {"extraArgs": [{"name": "a", "value": 1}, {"name": "a"}]}}},
            "repeated",
        ),
        ({"ClusterConfiguration": {"apiServer": {"extraArgs": ["a=b"]}}}, "name, value"),
    ],
)
def test_build_init_documents_rejects(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_init_documents({**INIT_PARAMS, "config": config}, "kubeadm.k8s.io/v1beta3")


def test_config_keeps_own_api_version() -> None:
    documents = build_config_documents(
        {"ClusterConfiguration": {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "x"}},
        _kubeadm.INIT_KINDS,
        "kubeadm.k8s.io/v1beta4",
    )
    assert documents["ClusterConfiguration"] == {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration"}


HASH = "sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"
JOIN_PARAMS = {
    "api_server_endpoint": "k8s-api.example.com:6443",
    "token": "abcdef.0123456789abcdef",
    "discovery_token_ca_cert_hashes": [HASH],
    "control_plane": True,
    "certificate_key": "a" * 64,
    "apiserver_advertise_address": "10.0.0.12",
    "node_name": "cp2",
    "cri_socket": None,
    "ignore_preflight_errors": [],
}


def test_build_join_argv() -> None:
    assert build_join_argv("kubeadm", JOIN_PARAMS) == [
        "kubeadm", "join", "k8s-api.example.com:6443", "--token", "abcdef.0123456789abcdef",
        "--discovery-token-ca-cert-hash", HASH, "--control-plane", "--certificate-key", "a" * 64,
        "--apiserver-advertise-address", "10.0.0.12", "--node-name", "cp2",
    ]  # fmt: skip
    worker = {**JOIN_PARAMS, "control_plane": False, "ignore_preflight_errors": ["Swap"]}
    assert build_join_argv("kubeadm", worker) == [
        "kubeadm", "join", "k8s-api.example.com:6443", "--token", "abcdef.0123456789abcdef",
        "--discovery-token-ca-cert-hash", HASH, "--node-name", "cp2", "--ignore-preflight-errors", "Swap",
    ]  # fmt: skip
    assert build_join_argv("kubeadm", JOIN_PARAMS, "/t/kubeadm-join.yaml") == [
        "kubeadm", "join", "--config", "/t/kubeadm-join.yaml",
    ]  # fmt: skip


def test_build_join_documents() -> None:
    params = {
        **JOIN_PARAMS,
        "config": {"JoinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": {"node-ip": "10.0.0.12"}}}},
    }
    assert build_join_documents(params, "kubeadm.k8s.io/v1beta4") == {
        "JoinConfiguration": {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "JoinConfiguration",
            "nodeRegistration": {"kubeletExtraArgs": [{"name": "node-ip", "value": "10.0.0.12"}], "name": "cp2"},
            "discovery": {
                "bootstrapToken": {
                    "apiServerEndpoint": "k8s-api.example.com:6443",
                    "token": "abcdef.0123456789abcdef",
                    "caCertHashes": [HASH],
                }
            },
            "controlPlane": {"certificateKey": "a" * 64, "localAPIEndpoint": {"advertiseAddress": "10.0.0.12"}},
        }
    }
    worker = {**JOIN_PARAMS, "control_plane": False, "config": {"JoinConfiguration": {"controlPlane": {}}}}
    with pytest.raises(ValueError, match="controlPlane is set but control_plane is false"):
        build_join_documents(worker, "kubeadm.k8s.io/v1beta4")


def test_build_reset_argv() -> None:
    assert build_reset_argv("kubeadm") == ["kubeadm", "reset", "--force"]
    assert build_reset_argv("kubeadm", "unix:///run/crio/crio.sock") == [
        "kubeadm", "reset", "--force", "--cri-socket", "unix:///run/crio/crio.sock",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"api_server_endpoint": None}, "api_server_endpoint is required"),
        ({"api_server_endpoint": "https://k8s-api.example.com:6443"}, "host:port without a scheme"),
        ({"api_server_endpoint": "k8s-api.example.com"}, "host:port without a scheme"),
        ({"token": None}, "token is required"),
        ({"token": "ABCDEF.0123456789abcdef"}, "not a bootstrap token"),
        ({"discovery_token_ca_cert_hashes": []}, "always pin the cluster CA"),
        ({"discovery_token_ca_cert_hashes": ["sha256:abc"]}, "is not sha256:<64 hex digits>"),
        ({"certificate_key": "xyz"}, "certificate_key is not 64 hex digits"),
    ],
)
def test_validate_join_values(changes: dict, problem: str | None) -> None:
    problems = validate_join_values({**JOIN_PARAMS, **changes}, control_plane=True)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problem in problems[0]
        assert "ABCDEF.0123456789abcdef" not in problems[0]
        assert "xyz" not in problems[0]
