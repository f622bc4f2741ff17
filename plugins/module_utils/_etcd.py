# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What kubeha.kubeadm's etcd_member_info and etcd_member modules share, and the quorum arithmetic.

Private to the collection: the names here may change in any release. etcd is reached through
its v3 JSON gateway (POST /v3/cluster/member/list, /v3/cluster/member/remove,
/v3/maintenance/status; GET /health) with the client certificate kubeadm's own health checks
use. 64-bit member IDs travel as decimal strings there; results show them in hex, as etcdctl does.

The quorum arithmetic (quorum_size, fault_tolerance, Quorum) is pure and is also imported on
the controller by the cluster_problems filter, so it lives here once. Requests go through a
``transport`` callable ``(method, url, payload) -> (status, body)`` that raises Unreachable,
so unit tests drive every branch with a fake one. Runs on the managed node: standard library
and ansible.module_utils only, Python 3.9+.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import socket
import ssl
import time
import urllib.error
from typing import TYPE_CHECKING, Any

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    Transport = Callable[[str, str, "dict[str, Any] | None"], "tuple[int, bytes]"]

DEFAULT_ENDPOINT = "https://127.0.0.1:2379"
PKI_DIR = "/etc/kubernetes/pki/etcd"
DEFAULT_CA = PKI_DIR + "/ca.crt"
DEFAULT_CLIENT_CERT = PKI_DIR + "/healthcheck-client.crt"
DEFAULT_CLIENT_KEY = PKI_DIR + "/healthcheck-client.key"

# The options both modules take; their documentation is the kubeha.kubeadm._etcd fragment.
CLIENT_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "endpoint": {"type": "str", "default": DEFAULT_ENDPOINT},
    "ca_path": {"type": "path", "default": DEFAULT_CA},
    "client_cert": {"type": "path", "default": DEFAULT_CLIENT_CERT},
    # A path, not the key itself.
    "client_key": {"type": "path", "default": DEFAULT_CLIENT_KEY, "no_log": False},
    "timeout": {"type": "int", "default": 5},
}

# What a member's health check found.
HEALTHY = "healthy"  # /health answered "true": the member sees a leader and serves a quorum read
UNHEALTHY = "unhealthy"  # answered, but not healthy (no leader, an alarm)
UNREACHABLE = "unreachable"  # no answer within the timeout (down, refused, TLS failure)
UNSTARTED = "unstarted"  # added to the cluster but never started: no name, no client URL
UNCHECKED = "unchecked"  # not asked (see the health_checks option)
HEALTH_STATES = (HEALTHY, UNHEALTHY, UNREACHABLE, UNSTARTED, UNCHECKED)


class EtcdError(Exception):
    """A failure to report with fail_json; it never carries certificate or key contents."""

    def __init__(self, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra

    def fail_kwargs(self) -> dict[str, Any]:
        return {"msg": self.msg, **self.extra}


class Unreachable(EtcdError):
    """No HTTP answer at all: connection refused or timed out, TLS failure, bad URL."""


# --------------------------------------------------------------------------------------------
# Quorum arithmetic (pure)


def quorum_size(voting: int) -> int:
    """Members that must be up for etcd to work: a majority of the voting members."""
    return voting // 2 + 1


def fault_tolerance(voting: int) -> int:
    """Voting members that may fail while the rest keep a quorum."""
    return max(voting - quorum_size(voting), 0)


@dataclasses.dataclass(frozen=True)
class Quorum:
    """The verdict on a set of voting members: ``healthy`` answered, ``unknown`` were not asked."""

    voting: int
    healthy: int
    unknown: int = 0

    @property
    def needed(self) -> int:
        return quorum_size(self.voting)

    @property
    def ok(self) -> bool | None:
        """True: a quorum is healthy; False: it cannot be; None: it depends on the unknown ones."""
        if self.healthy >= self.needed:
            return True
        if self.healthy + self.unknown < self.needed:
            return False
        return None

    @property
    def tolerates(self) -> int:
        """How many more of the healthy members may fail before the quorum is lost."""
        return max(self.healthy - self.needed, 0) if self.ok else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "voting": self.voting,
            "needed": self.needed,
            "healthy": self.healthy,
            "unknown": self.unknown,
            "ok": self.ok,
            "tolerates": self.tolerates,
        }


# --------------------------------------------------------------------------------------------
# Members and their health


@dataclasses.dataclass(frozen=True)
class Member:
    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    learner: bool

    @property
    def started(self) -> bool:
        # etcd names a member when it first starts; until then it has no name and no client URL.
        return bool(self.name)

    @property
    def hex_id(self) -> str:
        return format(self.id, "x")

    @property
    def label(self) -> str:
        return f"{self.name or 'unstarted'} ({', '.join(self.peer_urls) or self.hex_id})"


@dataclasses.dataclass(frozen=True)
class Health:
    state: str
    detail: str = ""

    @property
    def healthy(self) -> bool | None:
        """True when healthy; False when it answered without being healthy or never started;
        None when it did not answer or was not asked."""
        if self.state == HEALTHY:
            return True
        if self.state in (UNHEALTHY, UNSTARTED):
            return False
        return None


NOT_ASKED = Health(UNCHECKED)


def quorum(members: Iterable[Member], health: Mapping[int, Health], removing: Iterable[int] = ()) -> Quorum:
    """The verdict on the voting members (learners never vote), without those in ``removing``."""
    gone = set(removing)
    voters = [m for m in members if not m.learner and m.id not in gone]
    states = [health.get(m.id, NOT_ASKED).state for m in voters]
    return Quorum(voting=len(voters), healthy=states.count(HEALTHY), unknown=states.count(UNCHECKED))


def _member_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EtcdError(f"etcd listed a member without a numeric ID ({value!r})") from None


def parse_members(body: Mapping[str, Any]) -> list[Member]:
    """The members of a /v3/cluster/member/list (or member/remove) answer."""
    return [
        Member(
            id=_member_id(item.get("ID")),
            name=str(item.get("name") or ""),
            peer_urls=tuple(item.get("peerURLs") or ()),
            client_urls=tuple(item.get("clientURLs") or ()),
            learner=bool(item.get("isLearner")),
        )
        for item in body.get("members") or []
    ]


def parse_health(status: int, body: bytes) -> Health:
    """A /health answer: {"health":"true"} with 200 when healthy; 503 and "false" otherwise."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return Health(UNHEALTHY, f"HTTP {status}, an answer that is not JSON")
    if not isinstance(data, dict):
        return Health(UNHEALTHY, f"HTTP {status}, an unexpected answer")
    if str(data.get("health")).lower() == "true" and status == 200:
        return Health(HEALTHY)
    # etcd 3.5+ gives a reason; 3.4 only says false (no leader, or an alarm such as NOSPACE).
    reason = str(data.get("reason") or "").strip() or "no leader, or an alarm"
    return Health(UNHEALTHY, f"health {data.get('health')!r} (HTTP {status}): {reason}")


def member_dict(member: Member, health: Health = NOT_ASKED, leader_id: int | None = None) -> dict[str, Any]:
    """A member as the modules return it."""
    return {
        "id": member.hex_id,
        "name": member.name,
        "peer_urls": list(member.peer_urls),
        "client_urls": list(member.client_urls),
        "started": member.started,
        "learner": member.learner,
        "leader": None if leader_id is None else member.id == leader_id,
        "health": health.state,
        "healthy": health.healthy,
        "health_detail": health.detail,
    }


def matches(member: Member, peer_url: str | None = None, name: str | None = None) -> bool:
    if peer_url:
        wanted = _normal_url(peer_url)
        return any(_normal_url(url) == wanted for url in member.peer_urls)
    return bool(name) and member.name == name


def _normal_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


# --------------------------------------------------------------------------------------------
# Transport


def _reason(exc: BaseException) -> str:
    """A short cause; exceptions from urllib and ssl name files at most, never their contents."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and reason is not None:
        exc = reason if isinstance(reason, BaseException) else exc
    strerror = getattr(exc, "strerror", None) if isinstance(exc, OSError) else None
    text = str(strerror or exc).strip() or type(exc).__name__
    if isinstance(exc, (socket.timeout, TimeoutError)) and "timed out" not in text:
        text = "timed out"
    return text.splitlines()[0][:300]


def url_transport(
    ca_path: str, client_cert: str, client_key: str, timeout: int, opener: Callable[..., Any] | None = None
) -> Transport:
    """Requests through ansible.module_utils.urls.open_url with the client certificate.

    Never through a proxy (etcd's client port is for the cluster itself) and never following
    redirects. An HTTP error status is an answer (its body says why); no answer raises Unreachable.
    """
    opener = opener or open_url

    def send(method: str, url: str, payload: dict[str, Any] | None) -> tuple[int, bytes]:
        data = None if payload is None else json.dumps(payload).encode()
        try:
            response = opener(
                url,
                data=data,
                method=method,
                headers={"Content-Type": "application/json"} if data is not None else None,
                validate_certs=True,
                ca_path=ca_path,
                client_cert=client_cert,
                client_key=client_key,
                timeout=timeout,
                use_proxy=False,
                follow_redirects="none",
            )
            return response.getcode(), response.read()
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read() if exc.fp is not None else b""
            except (OSError, http.client.HTTPException):
                body = b""
            return exc.code, body
        except (
            urllib.error.URLError,
            OSError,
            ssl.SSLError,
            http.client.HTTPException,
            UrlConnectionError,
            ValueError,
        ) as exc:
            raise Unreachable(f"{url}: {_reason(exc)}") from None

    return send


def check_client_files(ca_path: str, client_cert: str, client_key: str) -> None:
    """Fail early, naming the option, when a certificate or key file is missing (not read here)."""
    for option, path in (("ca_path", ca_path), ("client_cert", client_cert), ("client_key", client_key)):
        if not os.path.isfile(path):
            raise EtcdError(
                f"{path} ({option}) does not exist on this host: run this on a control plane with"
                f" kubeadm's stacked etcd (it writes the etcd client certificates), or set {option}."
            )


# --------------------------------------------------------------------------------------------
# Client


def _answer_error(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return body.decode("utf-8", "replace").strip().splitlines()[0][:300] if body.strip() else "no details"
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)[:300]
    return str(data)[:300]


@dataclasses.dataclass
class Listing:
    members: list[Member]
    answered_by: int | None  # the ID of the member that answered (the endpoint's own)


class EtcdClient:
    """etcd's v3 API on one endpoint (the member that lists and removes), through ``transport``."""

    def __init__(self, endpoint: str, transport: Transport) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.transport = transport

    def call(self, path: str, payload: dict[str, Any], doing: str) -> dict[str, Any]:
        url = self.endpoint + path
        try:
            status, body = self.transport("POST", url, payload)
        except Unreachable as exc:
            raise Unreachable(
                f"cannot reach etcd at {self.endpoint} to {doing} ({exc.msg}). Run this on a control"
                " plane whose etcd member runs, or set endpoint."
            ) from None
        if status != 200:
            raise EtcdError(f"etcd at {self.endpoint} refused to {doing}: {_answer_error(body)} (HTTP {status})")
        try:
            data = json.loads(body.decode("utf-8", "replace"))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise EtcdError(f"etcd at {self.endpoint} gave an answer that is not a JSON object when asked to {doing}")
        return data

    def member_list(self) -> Listing:
        body = self.call("/v3/cluster/member/list", {}, "list its members")
        answered = (body.get("header") or {}).get("member_id")
        return Listing(parse_members(body), None if answered is None else _member_id(answered))

    def leader_id(self) -> int | None:
        """The leader's ID as the endpoint's member sees it: 0 when it sees none, None when it
        does not say (the leader flags are then unknown, which is no reason to fail)."""
        try:
            body = self.call("/v3/maintenance/status", {}, "report its status")
        except EtcdError:
            return None
        try:
            return int(body.get("leader") or 0)
        except (TypeError, ValueError):
            return None

    def health(self, member: Member, url: str | None = None) -> Health:
        """The member's /health, through its first client URL (or ``url``)."""
        if url is None:
            if not member.client_urls:
                return Health(UNSTARTED, "never started: it has no client URL")
            url = member.client_urls[0]
        try:
            status, body = self.transport("GET", url.rstrip("/") + "/health", None)
        except Unreachable as exc:
            return Health(UNREACHABLE, exc.msg)
        return parse_health(status, body)

    def remove(self, member: Member) -> bool:
        """Remove the member; False when etcd no longer has it (removed meanwhile)."""
        try:
            self.call("/v3/cluster/member/remove", {"ID": str(member.id)}, f"remove member {member.label}")
        except EtcdError as exc:
            if not isinstance(exc, Unreachable) and "member not found" in exc.msg:
                return False
            raise
        return True


def client_from_params(params: Mapping[str, Any], opener: Callable[..., Any] | None = None) -> EtcdClient:
    check_client_files(params["ca_path"], params["client_cert"], params["client_key"])
    transport = url_transport(params["ca_path"], params["client_cert"], params["client_key"], params["timeout"], opener)
    return EtcdClient(params["endpoint"], transport)


# --------------------------------------------------------------------------------------------
# Workflows


def _unhealthy(members: Iterable[Member], health: Mapping[int, Health]) -> list[str]:
    out = []
    for member in members:
        found = health.get(member.id, NOT_ASKED)
        if found.state not in (HEALTHY, UNCHECKED):
            out.append(f"{member.label}: {found.detail or found.state}")
    return out


WAIT_INTERVAL = 3.0


def member_info(
    client: EtcdClient,
    health_checks: str = "all",
    wait_timeout: float = 0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Members, their health (``all``, the ``endpoint``'s own, or ``none``), the leader, the quorum.

    With ``wait_timeout``, asks again every few seconds until every member asked is healthy or
    the time is up, and returns what the last round found: an election or a member that has just
    started takes a few seconds, and a retry loop in YAML would turn the last answer into a bare
    failure.
    """
    deadline = clock() + wait_timeout
    while True:
        result = _member_info_once(client, health_checks)
        left = deadline - clock()
        if not result["unhealthy"] or left <= 0:
            return result
        sleep(min(WAIT_INTERVAL, left))


def _member_info_once(client: EtcdClient, health_checks: str) -> dict[str, Any]:
    listing = client.member_list()
    leader = client.leader_id()
    health: dict[int, Health] = {}
    for member in listing.members:
        if health_checks == "all":
            health[member.id] = client.health(member)
        elif health_checks == "endpoint" and member.id == listing.answered_by:
            health[member.id] = client.health(member, url=client.endpoint)
    described = [member_dict(m, health.get(m.id, NOT_ASKED), leader) for m in listing.members]
    own = [d for m, d in zip(listing.members, described) if m.id == listing.answered_by]
    return {
        "changed": False,
        "endpoint": client.endpoint,
        "members": described,
        "endpoint_member": own[0] if own else None,
        "leader_id": format(leader, "x") if leader else None,
        "quorum": quorum(listing.members, health).as_dict(),
        "unhealthy": _unhealthy(listing.members, health),
    }


def remove_member(
    client: EtcdClient,
    *,
    peer_url: str | None = None,
    name: str | None = None,
    allow_quorum_loss: bool = False,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Remove the members with that peer URL (or name), unless the rest would have no quorum."""
    if not (peer_url or "").strip() and not (name or "").strip():
        # An empty name would match every member that never started.
        raise EtcdError("peer_url or name must name a member: both are empty.")
    members = client.member_list().members
    targets = [m for m in members if matches(m, peer_url, name)]
    staying = [m for m in members if m not in targets]
    if not targets:
        return {
            "changed": False,
            "endpoint": client.endpoint,
            "removed": [],
            "members": [member_dict(m) for m in members],
            "quorum": None,
        }
    # Only the voting members that stay decide the quorum, and only when a voting member goes:
    # a learner never votes, so removing one cannot change the quorum.
    votes_change = any(not m.learner for m in targets)
    health = {m.id: client.health(m) for m in staying if not m.learner} if votes_change else {}
    verdict = quorum(members, health, removing=[m.id for m in targets])
    result = {
        "endpoint": client.endpoint,
        "removed": [member_dict(m) for m in targets],
        "members": [member_dict(m, health.get(m.id, NOT_ASKED)) for m in staying],
        "quorum": verdict.as_dict(),
    }
    if votes_change and not verdict.ok and not allow_quorum_loss:
        sick = _unhealthy(staying, health)
        raise EtcdError(
            f"removing {', '.join(m.label for m in targets)} would break etcd's quorum: {verdict.healthy} of the"
            f" {verdict.voting} voting members that would stay are healthy, and a quorum of {verdict.voting}"
            f" needs {verdict.needed} (not healthy: {'; '.join(sick) or 'none'}). Nothing was changed. Bring"
            " those members back first, or remove them first (a member that is down can be removed while the"
            " others keep their quorum); allow_quorum_loss=true skips this check.",
            **result,
        )
    if check_mode:
        return {"changed": True, **result}
    removed = [m for m in targets if client.remove(m)]
    result["removed"] = [member_dict(m) for m in removed]
    return {"changed": bool(removed), **result}
