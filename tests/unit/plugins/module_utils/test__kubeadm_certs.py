"""The certificate helper on kubeadm's check-expiration JSON (fixtures: FACTS-2 part B §5)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kubeadm_certs as certs
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import KubeadmError
from conftest import read_fixture

KUBEADM = "/usr/bin/kubeadm"
CHECK = [KUBEADM, "certs", "check-expiration", "-o", "json"]
FRESH = read_fixture("constructed_certs_expiration_fresh.json")
JOINED_DUE = read_fixture("constructed_certs_expiration_joined_due.json")
TWO_DUE = read_fixture("constructed_certs_expiration_two_due_ca_close.json")
RENEW_ALL = read_fixture("FACTS2_certs_renew_all_v1.34.txt")


class FakeKubeadm:
    """Answers each expected argv in turn with (rc, stdout, stderr)."""

    def __init__(self, *answers: tuple[list[str], tuple[int, str, str]]) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        assert self.answers, f"unexpected command {argv}"
        expected, answer = self.answers.pop(0)
        assert argv == expected
        return answer


def run(runner: FakeKubeadm, check_mode: bool = False, **params):
    result = certs.certificates_node(
        params, runner, kubeadm=KUBEADM, root="/etc/kubernetes", tmpdir="unused", check_mode=check_mode
    )
    assert not runner.answers, f"commands that did not run: {runner.answers}"
    return result


def test_parse_expiration_types_every_entry():
    facts = certs.parse_expiration(FRESH)
    assert [c["name"] for c in facts["certificates"]][:3] == ["admin.conf", "apiserver", "apiserver-etcd-client"]
    apiserver = facts["certificates"][1]
    assert apiserver == {
        "name": "apiserver",
        "missing": False,
        "expires": "2027-06-06T15:28:41Z",
        "residual_seconds": 31449641,
        "residual_days": 364,
        "expired": False,
        "externally_managed": False,
        "ca_name": "ca",
    }
    assert facts["certificates"][2]["ca_name"] == "etcd-ca"
    assert [ca["name"] for ca in facts["certificate_authorities"]] == ["ca", "etcd-ca", "front-proxy-ca"]
    assert "ca_name" not in facts["certificate_authorities"][0]
    assert facts["certificate_authorities"][0]["residual_days"] == 3648


def test_parse_expiration_missing_entry_has_no_times():
    super_admin = certs.parse_expiration(JOINED_DUE)["certificates"][-1]
    assert super_admin["missing"] is True
    assert (super_admin["expires"], super_admin["residual_seconds"], super_admin["residual_days"]) == (None, None, None)
    assert super_admin["expired"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[check-expiration] Reading configuration from the cluster...\n", "printed no JSON"),
        ('{"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3"}', "no CertificateExpirationInfo"),
        ('{"kind": "CertificateExpirationInfo", "apiVersion": "output.kubeadm.k8s.io/v1alpha2"}', "unsupported"),
        (
            json.dumps({"kind": "CertificateExpirationInfo", "apiVersion": certs.OUTPUT_API, "certificates": [{}]}),
            "unexpected",
        ),
    ],
)
def test_parse_expiration_rejects_other_output(text, message):
    with pytest.raises(ValueError, match=message):
        certs.parse_expiration(text)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30 * 86400),
        ("30", 30 * 86400),
        ("30d", 30 * 86400),
        ("720h", 720 * 3600),
        ("7d12h", 7 * 86400 + 12 * 3600),
        (0, 0),
    ],
)
def test_parse_threshold(value, seconds):
    assert certs.parse_threshold(value, "renew_within") == seconds


@pytest.mark.parametrize("value", ["a month", "", "-3", "30 days", -1, "1y"])
def test_parse_threshold_rejects(value):
    with pytest.raises(ValueError, match="renew_within"):
        certs.parse_threshold(value, "renew_within")


def test_read_reports_earliest_and_changes_nothing():
    result = run(FakeKubeadm((CHECK, (0, TWO_DUE, ""))))
    assert result["changed"] is False
    assert result["renewed"] == []
    assert result["due"] == ["apiserver", "front-proxy-client"]
    assert result["earliest_expiry"] == {
        "name": "apiserver",
        "expires": "2027-06-06T15:28:41Z",
        "residual_seconds": 864000,
        "residual_days": 10,
    }
    assert result["earliest_ca_expiry"]["name"] == "etcd-ca"
    assert result["cas_expiring"] == ["etcd-ca"]
    assert len(result["warnings"]) == 1
    assert "The CA etcd-ca expires on 2026-12-23T15:28:41Z (200 days left)" in result["warnings"][0]
    assert "cannot renew a CA" in result["warnings"][0]
    assert result["restart_needed"] is False


def test_renew_renews_only_what_is_due_then_reads_again():
    runner = FakeKubeadm(
        (CHECK, (0, TWO_DUE, "")),
        ([KUBEADM, "certs", "renew", "apiserver"], (0, "certificate for serving the Kubernetes API renewed\n", "")),
        (
            [KUBEADM, "certs", "renew", "front-proxy-client"],
            (0, "certificate for the front proxy client renewed\n", ""),
        ),
        (CHECK, (0, FRESH, "")),
    )
    result = run(runner, state="renewed", renew_within="30d")
    assert result["changed"] is True
    assert result["restart_needed"] is True
    assert result["renewed"] == ["apiserver", "front-proxy-client"]
    assert result["due"] == []
    assert result["certificates"][1]["residual_days"] == 364
    assert result["commands"] == runner.calls


def test_renew_with_nothing_due_is_no_change():
    result = run(FakeKubeadm((CHECK, (0, FRESH, ""))), state="renewed", renew_within="30d", ca_warn_within="30d")
    assert (result["changed"], result["renewed"], result["warnings"]) == (False, [], [])


def test_renew_skips_missing_super_admin_on_a_joined_node():
    names = [c["name"] for c in json.loads(JOINED_DUE)["certificates"] if c["name"] != "super-admin.conf"]
    answers = [(CHECK, (0, JOINED_DUE, ""))]
    answers += [([KUBEADM, "certs", "renew", name], (0, f"{name} renewed\n", "")) for name in names]
    answers.append((CHECK, (0, FRESH, "")))
    result = run(FakeKubeadm(*answers), state="renewed")
    assert result["renewed"] == names
    assert "super-admin.conf" not in result["renewed"]


def test_renew_all_uses_kubeadm_renew_all():
    runner = FakeKubeadm(
        (CHECK, (0, FRESH, "")),
        ([KUBEADM, "certs", "renew", "all", "--cert-dir", "/srv/pki"], (0, RENEW_ALL, "")),
        (CHECK, (0, FRESH, "")),
    )
    runner.answers[0] = ([*CHECK, "--cert-dir", "/srv/pki"], runner.answers[0][1])
    runner.answers[2] = ([*CHECK, "--cert-dir", "/srv/pki"], runner.answers[2][1])
    result = run(runner, state="renewed", renew_all=True, cert_dir="/srv/pki")
    assert result["changed"] is True
    assert len(result["renewed"]) == 11


def test_check_mode_reports_what_would_be_renewed_and_runs_no_renew():
    runner = FakeKubeadm((CHECK, (0, TWO_DUE, "")))
    result = run(runner, check_mode=True, state="renewed")
    assert result["changed"] is True
    assert result["renewed"] == ["apiserver", "front-proxy-client"]
    assert all(call == CHECK for call in runner.calls)


def test_a_failed_renew_is_a_classified_error():
    runner = FakeKubeadm(
        (CHECK, (0, TWO_DUE, "")),
        (
            [KUBEADM, "certs", "renew", "apiserver"],
            (
                1,
                "",
                "error: failed to renew certificate apiserver: open /etc/kubernetes/pki/ca.key: permission denied\n",
            ),
        ),
    )
    with pytest.raises(KubeadmError) as failure:
        run(runner, state="renewed")
    assert "kubeadm certs renew apiserver" in failure.value.msg
    assert failure.value.rc == 1


def test_text_output_instead_of_json_fails_clearly():
    text = "CERTIFICATE   EXPIRES\nadmin.conf   Jun 06, 2027 15:28 UTC\n"
    with pytest.raises(KubeadmError, match="printed no JSON"):
        run(FakeKubeadm((CHECK, (0, text, ""))))


def test_bad_threshold_fails_before_kubeadm_runs():
    runner = FakeKubeadm()
    with pytest.raises(KubeadmError, match="renew_within must be"):
        run(runner, state="renewed", renew_within="soon")
    assert runner.calls == []
