"""plugins/module_utils/_kubeadm_errors.py: failure classification on both of kubeadm's error envelopes."""

from __future__ import annotations

import re

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import (
    FAILURE_CATEGORIES,
    classify_failure,
    describe_failure,
    error_text,
    failed_preflight_checks,
)
from conftest import fixture_section, fixture_sections, read_fixture

STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher\n"


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
    # 1.36: the etcd client's MemberPromote retry (FailedPrecondition) and the ConfigMap lines.
    noisy = read_fixture("F19_join_cp_v1.36.1_spaces.txt") + "error: error execution phase kubelet-start: new\n"
    cases.append(pytest.param(noisy, "unknown", id="v1.36.1-member-promote-retries-are-not-etcd-failures"))
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
    assert category in FAILURE_CATEGORIES
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
