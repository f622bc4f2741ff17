"""plugins/module_utils/_etcd.py: the quorum arithmetic, the parsers, the transport, the workflows."""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
import urllib.error
from email.message import Message

import pytest
from ansible.module_utils.urls import SSLValidationError
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _etcd
from fake_etcd import CP1, CP2, CP3, ENDPOINT, LEARNER_CP4, STALE_CP4, FakeEtcd, key_lines, write_pki

# --------------------------------------------------------------------------------------------
# Quorum arithmetic


@pytest.mark.parametrize(
    ("voting", "needed", "tolerated"),
    [(0, 1, 0), (1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (6, 4, 2), (7, 4, 3)],
)
def test_quorum_size_and_fault_tolerance(voting: int, needed: int, tolerated: int) -> None:
    assert _etcd.quorum_size(voting) == needed
    assert _etcd.fault_tolerance(voting) == tolerated


@pytest.mark.parametrize(
    ("voting", "healthy", "unknown", "ok", "tolerates"),
    [
        (3, 3, 0, True, 1),
        (3, 2, 0, True, 0),
        (3, 1, 0, False, 0),
        (3, 0, 0, False, 0),
        (2, 1, 0, False, 0),
        (4, 3, 0, True, 0),
        (5, 5, 0, True, 2),
        (3, 1, 2, None, 0),
        (3, 1, 1, None, 0),
        (5, 1, 1, False, 0),
        (0, 0, 0, False, 0),
    ],
)
def test_quorum_verdict(voting: int, healthy: int, unknown: int, ok: bool | None, tolerates: int) -> None:
    verdict = _etcd.Quorum(voting=voting, healthy=healthy, unknown=unknown)
    assert verdict.ok is ok
    assert verdict.tolerates == tolerates
    assert verdict.as_dict() == {
        "voting": voting,
        "needed": _etcd.quorum_size(voting),
        "healthy": healthy,
        "unknown": unknown,
        "ok": ok,
        "tolerates": tolerates,
    }


def _members(*entries: dict) -> list[_etcd.Member]:
    return _etcd.parse_members({"members": list(entries)})


def test_quorum_counts_unstarted_members_and_never_learners() -> None:
    members = _members(CP1, CP2, CP3, STALE_CP4)
    healthy = {m.id: _etcd.Health(_etcd.HEALTHY) for m in members[:3]}
    healthy[members[3].id] = _etcd.Health(_etcd.UNSTARTED)
    # The unstarted member votes: four voters need three.
    assert _etcd.quorum(members, healthy) == _etcd.Quorum(voting=4, healthy=3)
    # Without it, three voters.
    assert _etcd.quorum(members, healthy, removing=[members[3].id]) == _etcd.Quorum(voting=3, healthy=3)
    learners = _members(CP1, CP2, CP3, LEARNER_CP4)
    assert _etcd.quorum(learners, {m.id: _etcd.Health(_etcd.HEALTHY) for m in learners}).voting == 3


def test_quorum_after_removing_a_healthy_member_with_another_one_down() -> None:
    members = _members(CP1, CP2, CP3)
    health = {
        members[0].id: _etcd.Health(_etcd.HEALTHY),
        members[1].id: _etcd.Health(_etcd.HEALTHY),
        members[2].id: _etcd.Health(_etcd.UNREACHABLE, "timed out"),
    }
    assert _etcd.quorum(members, health).ok is True
    assert _etcd.quorum(members, health, removing=[members[1].id]).ok is False
    assert _etcd.quorum(members, health, removing=[members[2].id]).ok is True


def test_members_not_asked_are_unknown() -> None:
    members = _members(CP1, CP2, CP3)
    verdict = _etcd.quorum(members, {members[0].id: _etcd.Health(_etcd.HEALTHY)})
    assert (verdict.healthy, verdict.unknown, verdict.ok) == (1, 2, None)


# --------------------------------------------------------------------------------------------
# Parsers


def test_parse_members_as_etcd_lists_them() -> None:
    cp1, stale, learner = _members(CP1, STALE_CP4, LEARNER_CP4)
    assert cp1 == _etcd.Member(
        id=10276657743932975437,
        name="cp1",
        peer_urls=("https://10.0.0.11:2380",),
        client_urls=("https://10.0.0.11:2379",),
        learner=False,
    )
    assert cp1.hex_id == "8e9e05c52164694d"
    assert cp1.started
    assert not stale.started
    assert stale.client_urls == ()
    assert stale.label == "unstarted (https://10.0.0.14:2380)"
    assert learner.learner
    assert learner.started


def test_parse_members_rejects_a_member_without_an_id() -> None:
    with pytest.raises(_etcd.EtcdError, match="without a numeric ID"):
        _etcd.parse_members({"members": [{"name": "cp1"}]})


@pytest.mark.parametrize(
    ("status", "body", "state", "detail"),
    [
        (200, b'{"health":"true"}', _etcd.HEALTHY, ""),
        (200, b'{"health":"true","reason":""}', _etcd.HEALTHY, ""),
        (503, b'{"health":"false"}', _etcd.UNHEALTHY, "health 'false' (HTTP 503): no leader, or an alarm"),
        (503, b'{"health":"false","reason":"RAFT NO LEADER"}', _etcd.UNHEALTHY, "(HTTP 503): RAFT NO LEADER"),
        (200, b'{"health":"false"}', _etcd.UNHEALTHY, "health 'false' (HTTP 200)"),
        (500, b"internal error", _etcd.UNHEALTHY, "not JSON"),
        (200, b'["true"]', _etcd.UNHEALTHY, "unexpected"),
    ],
)
def test_parse_health(status: int, body: bytes, state: str, detail: str) -> None:
    health = _etcd.parse_health(status, body)
    assert health.state == state
    assert detail in health.detail


def test_health_tristate() -> None:
    assert _etcd.Health(_etcd.HEALTHY).healthy is True
    assert _etcd.Health(_etcd.UNHEALTHY).healthy is False
    assert _etcd.Health(_etcd.UNSTARTED).healthy is False
    assert _etcd.Health(_etcd.UNREACHABLE).healthy is None
    assert _etcd.Health(_etcd.UNCHECKED).healthy is None


@pytest.mark.parametrize(
    ("peer_url", "name", "matched"),
    [
        ("https://10.0.0.14:2380", None, True),
        ("https://10.0.0.14:2380/", None, True),
        ("HTTPS://10.0.0.14:2380", None, True),
        ("https://10.0.0.14:2379", None, False),
        (None, "cp4", False),
        (None, "", False),
        ("", None, False),
    ],
)
def test_matching_an_unstarted_member(peer_url: str | None, name: str | None, matched: bool) -> None:
    (stale,) = _members(STALE_CP4)
    assert _etcd.matches(stale, peer_url, name) is matched


def test_matching_ipv6_peer_urls() -> None:
    (entry,) = _members({"ID": "1", "name": "cp1", "peerURLs": ["https://[fd00::a]:2380"]})
    assert _etcd.matches(entry, "https://[FD00::A]:2380")
    assert not _etcd.matches(entry, "https://fd00::a:2380")


# --------------------------------------------------------------------------------------------
# Transport


def _transport_raising(error: BaseException):
    def opener(*_args, **_kwargs):
        raise error

    return _etcd.url_transport("/ca", "/cert", "/key", 5, opener)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "Connection refused"),
        (urllib.error.URLError(socket.timeout()), "timed out"),
        (socket.timeout("timed out"), "timed out"),
        (ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "CERTIFICATE_VERIFY_FAILED"),
        (SSLValidationError("Failed to validate the SSL certificate"), "validate the SSL certificate"),
        (http.client.RemoteDisconnected("Remote end closed connection"), "closed connection"),
        (ValueError("unknown url type: 'htps'"), "unknown url type"),
    ],
)
def test_transport_reports_no_answer_as_unreachable(error: BaseException, reason: str) -> None:
    send = _transport_raising(error)
    with pytest.raises(_etcd.Unreachable) as raised:
        send("GET", "https://10.0.0.13:2379/health", None)
    assert raised.value.msg.startswith("https://10.0.0.13:2379/health: ")
    assert reason in raised.value.msg


def test_transport_returns_an_http_error_as_an_answer() -> None:
    body = b'{"error":"etcdserver: unhealthy cluster","code":14}'
    error = urllib.error.HTTPError("https://x", 503, "error", Message(), io.BytesIO(body))
    assert _transport_raising(error)("POST", "https://x", {}) == (503, body)


def test_transport_passes_the_client_certificate_and_json() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    send = _etcd.url_transport("/p/ca.crt", "/p/client.crt", "/p/client.key", 7, fake.open_url)
    status, body = send("POST", ENDPOINT + "/v3/cluster/member/list", {})
    assert status == 200
    assert len(json.loads(body)["members"]) == 3
    assert fake.options[-1] == {
        "headers": {"Content-Type": "application/json"},
        "validate_certs": True,
        "ca_path": "/p/ca.crt",
        "client_cert": "/p/client.crt",
        "client_key": "/p/client.key",
        "timeout": 7,
        "use_proxy": False,
        "follow_redirects": "none",
    }


def test_missing_certificate_files_are_named(tmp_path) -> None:
    pki = write_pki(tmp_path)["params"]
    (tmp_path / "pki" / "etcd" / "healthcheck-client.crt").unlink()
    with pytest.raises(_etcd.EtcdError) as raised:
        _etcd.client_from_params({**pki, "endpoint": ENDPOINT, "timeout": 5})
    assert raised.value.msg.startswith(f"{pki['client_cert']} (client_cert) does not exist on this host")


def test_real_open_url_on_a_closed_port_never_shows_the_key(tmp_path) -> None:
    """The real transport against a loopback port nobody listens on, with a real key file."""
    written = write_pki(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _etcd.client_from_params({**written["params"], "endpoint": f"https://127.0.0.1:{port}", "timeout": 2})
    with pytest.raises(_etcd.Unreachable) as raised:
        _etcd.member_info(client)
    assert f"cannot reach etcd at https://127.0.0.1:{port} to list its members" in raised.value.msg
    dumped = json.dumps(raised.value.fail_kwargs())
    assert all(line not in dumped for line in key_lines(written["key_pem"]))


def test_real_open_url_with_a_broken_key_never_shows_it(tmp_path) -> None:
    """A key file that is not a key: the TLS setup fails, and its contents stay out of the error."""
    written = write_pki(tmp_path)
    broken = "-----BEGIN PRIVATE KEY-----\nTm90QUtleUJ1dEFTZWNyZXRUaGF0TXVzdE5vdExlYWs=\n-----END PRIVATE KEY-----\n"
    (tmp_path / "pki" / "etcd" / "healthcheck-client.key").write_text(broken)
    client = _etcd.client_from_params({**written["params"], "endpoint": "https://127.0.0.1:1", "timeout": 2})
    with pytest.raises(_etcd.EtcdError) as raised:
        _etcd.member_info(client)
    dumped = json.dumps(raised.value.fail_kwargs())
    assert "cannot reach etcd at https://127.0.0.1:1" in dumped
    assert "Tm90QUtleUJ1dEFTZWNyZXRUaGF0TXVzdE5vdExlYWs" not in dumped


# --------------------------------------------------------------------------------------------
# Workflows


def _client(fake: FakeEtcd) -> _etcd.EtcdClient:
    return _etcd.EtcdClient(ENDPOINT, _etcd.url_transport("/ca", "/cert", "/key", 5, fake.open_url))


def test_member_info_on_a_healthy_cluster() -> None:
    result = _etcd.member_info(_client(FakeEtcd([CP1, CP2, CP3], leader=CP2)))
    assert [(m["name"], m["leader"], m["health"], m["healthy"]) for m in result["members"]] == [
        ("cp1", False, "healthy", True),
        ("cp2", True, "healthy", True),
        ("cp3", False, "healthy", True),
    ]
    assert result["leader_id"] == format(int(CP2["ID"]), "x")
    assert result["endpoint_member"]["name"] == "cp1"
    assert result["quorum"] == {"voting": 3, "needed": 2, "healthy": 3, "unknown": 0, "ok": True, "tolerates": 1}
    assert result["unhealthy"] == []
    assert result["changed"] is False


def test_member_info_with_a_stale_unstarted_member() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    result = _etcd.member_info(_client(fake))
    stale = result["members"][3]
    assert stale == {
        "id": format(int(STALE_CP4["ID"]), "x"),
        "name": "",
        "peer_urls": ["https://10.0.0.14:2380"],
        "client_urls": [],
        "started": False,
        "learner": False,
        "leader": False,
        "health": "unstarted",
        "healthy": False,
        "health_detail": "never started: it has no client URL",
    }
    assert result["quorum"]["voting"] == 4
    assert result["quorum"]["needed"] == 3
    assert result["quorum"]["ok"] is True
    assert result["unhealthy"] == ["unstarted (https://10.0.0.14:2380): never started: it has no client URL"]
    # Nobody is asked for the unstarted member's health: it has no URL.
    assert not [url for _m, url, _p in fake.calls if "10.0.0.14" in url]


def test_member_info_with_a_learner() -> None:
    result = _etcd.member_info(_client(FakeEtcd([CP1, CP2, CP3, LEARNER_CP4])))
    assert [m["learner"] for m in result["members"]] == [False, False, False, True]
    assert result["quorum"]["voting"] == 3
    assert result["members"][3]["health"] == "healthy"


def test_member_info_when_two_of_three_are_down() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP2, how="refused")
    fake.down(CP3, how="timeout")
    fake.no_quorum()
    result = _etcd.member_info(_client(fake))
    assert [m["health"] for m in result["members"]] == ["unhealthy", "unreachable", "unreachable"]
    assert [m["healthy"] for m in result["members"]] == [False, None, None]
    assert [m["leader"] for m in result["members"]] == [False, False, False]
    assert result["leader_id"] is None
    assert result["quorum"]["ok"] is False
    assert result["unhealthy"] == [
        "cp1 (https://10.0.0.11:2380): health 'false' (HTTP 503): no leader, or an alarm",
        "cp2 (https://10.0.0.12:2380): https://10.0.0.12:2379/health: Connection refused",
        "cp3 (https://10.0.0.13:2380): https://10.0.0.13:2379/health: timed out",
    ]


def test_member_info_asks_only_the_endpoint_when_told() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    result = _etcd.member_info(_client(fake), health_checks="endpoint")
    assert [url for _m, url, _p in fake.calls if url.endswith("/health")] == [ENDPOINT + "/health"]
    assert result["endpoint_member"]["health"] == "healthy"
    assert [m["health"] for m in result["members"]] == ["healthy", "unchecked", "unchecked"]
    assert result["quorum"]["ok"] is None
    assert result["unhealthy"] == []


def test_member_info_without_health_checks_or_status() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.status_missing = True
    result = _etcd.member_info(_client(fake), health_checks="none")
    assert not [url for _m, url, _p in fake.calls if url.endswith("/health")]
    assert [m["leader"] for m in result["members"]] == [None, None, None]
    assert result["quorum"]["unknown"] == 3


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_member_info_waits_until_every_member_is_healthy() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3, how="refused")
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            fake.behaviour.clear()  # cp3 is back after the second pause

    result = _etcd.member_info(_client(fake), wait_timeout=30, sleep=sleep, clock=clock)
    assert result["unhealthy"] == []
    assert clock.sleeps == [3.0, 3.0]


def test_member_info_returns_the_last_round_when_the_wait_is_over() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    clock = Clock()
    result = _etcd.member_info(_client(fake), wait_timeout=7, sleep=clock.sleep, clock=clock)
    assert result["unhealthy"] == ["unstarted (https://10.0.0.14:2380): never started: it has no client URL"]
    assert clock.sleeps == [3.0, 3.0, 1.0]


def test_member_info_without_a_wait_asks_once() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP2)
    clock = Clock()
    result = _etcd.member_info(_client(fake), sleep=clock.sleep, clock=clock)
    assert len(result["unhealthy"]) == 1
    assert clock.sleeps == []


def test_member_info_fails_when_the_endpoint_does_not_answer() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP1, how="refused")
    with pytest.raises(_etcd.Unreachable) as raised:
        _etcd.member_info(_client(fake))
    assert raised.value.msg == (
        "cannot reach etcd at https://127.0.0.1:2379 to list its members"
        " (https://127.0.0.1:2379/v3/cluster/member/list: Connection refused)."
        " Run this on a control plane whose etcd member runs, or set endpoint."
    )


def test_member_info_fails_on_an_answer_that_is_not_json() -> None:
    fake = FakeEtcd([CP1])
    fake.behaviour[ENDPOINT] = "http_error"
    with pytest.raises(_etcd.EtcdError, match=r"refused to list its members: internal error \(HTTP 500\)"):
        _etcd.member_info(_client(fake))


def test_removing_a_stale_member_then_nothing() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    first = _etcd.remove_member(_client(fake), peer_url="https://10.0.0.14:2380")
    assert first["changed"] is True
    assert [m["peer_urls"] for m in first["removed"]] == [["https://10.0.0.14:2380"]]
    assert first["quorum"]["ok"] is True
    assert fake.removals() == [STALE_CP4["ID"]]
    assert fake.names() == ["cp1", "cp2", "cp3"]
    second = _etcd.remove_member(_client(fake), peer_url="https://10.0.0.14:2380")
    assert second["changed"] is False
    assert second["removed"] == []
    assert second["quorum"] is None
    assert fake.removals() == [STALE_CP4["ID"]]


def test_removal_refused_when_the_rest_would_lose_quorum() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3)
    with pytest.raises(_etcd.EtcdError) as raised:
        _etcd.remove_member(_client(fake), name="cp2")
    assert raised.value.msg.startswith(
        "removing cp2 (https://10.0.0.12:2380) would break etcd's quorum: 1 of the 2 voting members that would"
        " stay are healthy, and a quorum of 2 needs 2 (not healthy: cp3 (https://10.0.0.13:2380):"
        " https://10.0.0.13:2379/health: timed out). Nothing was changed."
    )
    assert raised.value.extra["quorum"]["ok"] is False
    assert fake.removals() == []
    assert fake.names() == ["cp1", "cp2", "cp3"]


def test_removal_refused_in_check_mode_too() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3)
    with pytest.raises(_etcd.EtcdError, match="would break etcd's quorum"):
        _etcd.remove_member(_client(fake), name="cp2", check_mode=True)


def test_removing_the_member_that_is_down_keeps_quorum() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3)
    result = _etcd.remove_member(_client(fake), peer_url="https://10.0.0.13:2380")
    assert result["changed"] is True
    assert result["quorum"] == {"voting": 2, "needed": 2, "healthy": 2, "unknown": 0, "ok": True, "tolerates": 0}
    assert fake.names() == ["cp1", "cp2"]


def test_allow_quorum_loss_removes_anyway() -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3)
    result = _etcd.remove_member(_client(fake), name="cp2", allow_quorum_loss=True)
    assert result["changed"] is True
    assert result["quorum"]["ok"] is False
    assert fake.names() == ["cp1", "cp3"]


def test_check_mode_predicts_without_removing() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    result = _etcd.remove_member(_client(fake), peer_url="https://10.0.0.14:2380", check_mode=True)
    assert result["changed"] is True
    assert [m["name"] for m in result["members"]] == ["cp1", "cp2", "cp3"]
    assert fake.removals() == []


def test_removing_a_learner_never_needs_the_others() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, LEARNER_CP4])
    fake.down(CP2, CP3)
    result = _etcd.remove_member(_client(fake), name="cp4")
    assert result["changed"] is True
    # The voting members are not even asked: the quorum does not depend on a learner.
    assert not [url for _m, url, _p in fake.calls if url.endswith("/health")]
    assert result["quorum"]["ok"] is None
    assert fake.names() == ["cp1", "cp2", "cp3"]


def test_a_member_removed_meanwhile_is_no_change() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    client = _client(fake)
    listed = client.member_list().members
    fake.members = fake.members[:3]
    assert client.remove(listed[3]) is False


def test_etcd_refusing_the_removal_is_reported() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    fake.remove_error = (503, {"error": "etcdserver: unhealthy cluster", "code": 14})
    with pytest.raises(_etcd.EtcdError) as raised:
        _etcd.remove_member(_client(fake), peer_url="https://10.0.0.14:2380")
    assert raised.value.msg == (
        "etcd at https://127.0.0.1:2379 refused to remove member unstarted (https://10.0.0.14:2380):"
        " etcdserver: unhealthy cluster (HTTP 503)"
    )


def test_an_empty_name_never_matches_unstarted_members() -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    with pytest.raises(_etcd.EtcdError, match="both are empty"):
        _etcd.remove_member(_client(fake), name="")
    assert fake.removals() == []
