# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificate expiry and renewal on a control plane: `kubeadm certs check-expiration -o json`
read as typed facts, and `kubeadm certs renew` for what is due.

Private to kubeha.kubeadm: the names here may change in any release. Only the machine-readable
output (output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo, kubeadm 1.30+) is read; the
text table is never scraped. Renewal changes only this node's files: the running API server,
etcd, controller manager and scheduler keep the old certificates until their static pods
restart, which is the playbook's job. CAs are never renewed (kubeadm cannot renew them).
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Session

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Runner

OUTPUT_API = "output.kubeadm.k8s.io/v1alpha3"
DAY = 86400
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_threshold(value: Any, option: str) -> int:
    """Seconds from an integer number of days or a duration like 30d, 720h, 7d12h."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{option} must not be negative, got {value}")
        return value * DAY
    text = str(value).strip()
    if text.isdigit():
        return int(text) * DAY
    match = _DURATION_RE.match(text)
    if not text or not match:
        raise ValueError(f"{option} must be a number of days or a duration like 30d, 720h or 7d12h, got {value!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return days * DAY + hours * 3600 + minutes * 60 + seconds


def _fact(entry: Mapping[str, Any], authority: bool) -> dict[str, Any]:
    missing = bool(entry.get("missing"))
    residual = None if missing else int(entry.get("residualTime") or 0)
    fact = {
        "name": str(entry["name"]),
        "missing": missing,
        "expires": None if missing else entry.get("expirationDate"),
        "residual_seconds": residual,
        "residual_days": None if residual is None else residual // DAY,
        "expired": residual is not None and residual <= 0,
        "externally_managed": bool(entry.get("externallyManaged")),
    }
    if not authority:
        fact["ca_name"] = entry.get("caName") or None
    return fact


def parse_expiration(stdout: str) -> dict[str, list[dict[str, Any]]]:
    """Typed facts from `kubeadm certs check-expiration -o json`; ValueError if it is not that."""
    try:
        info = json.loads(stdout)
    except ValueError as exc:
        raise ValueError(f"kubeadm certs check-expiration -o json printed no JSON: {exc}") from exc
    if not isinstance(info, dict) or info.get("kind") != "CertificateExpirationInfo":
        raise ValueError("kubeadm certs check-expiration -o json printed no CertificateExpirationInfo")
    if info.get("apiVersion") != OUTPUT_API:
        raise ValueError(f"unsupported check-expiration output API {info.get('apiVersion')!r} (expected {OUTPUT_API})")
    try:
        return {
            "certificates": [_fact(entry, False) for entry in info.get("certificates") or []],
            "certificate_authorities": [_fact(entry, True) for entry in info.get("certificateAuthorities") or []],
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected check-expiration entry: {exc}") from exc


def due(certificates: list[dict[str, Any]], within: int, renew_all: bool) -> list[str]:
    """Names kubeadm can renew here and that expire within ``within`` seconds (all of them with renew_all)."""
    renewable = [c for c in certificates if not c["missing"] and not c["externally_managed"]]
    return [c["name"] for c in renewable if renew_all or c["residual_seconds"] < within]


def earliest(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    present = [e for e in entries if not e["missing"]]
    if not present:
        return None
    first = min(present, key=lambda e: e["residual_seconds"])
    return {key: first[key] for key in ("name", "expires", "residual_seconds", "residual_days")}


def _check_expiration(session: Session, cert_dir: str | None) -> dict[str, list[dict[str, Any]]]:
    argv = [session.kubeadm, "certs", "check-expiration", "-o", "json"]
    if cert_dir:
        argv += ["--cert-dir", cert_dir]
    result = session.check(session.run(argv), "kubeadm certs check-expiration")
    try:
        return parse_expiration(result.stdout)
    except ValueError as exc:
        raise session.error(str(exc), result=result) from exc


def certificates_node(
    params: Mapping[str, Any],
    runner: Runner,
    *,
    kubeadm: str,
    root: str,
    tmpdir: str,
    check_mode: bool,
) -> dict[str, Any]:
    """Read the expiry of this control plane's certificates and, with state=renewed, renew what is due.

    ``root`` and ``tmpdir`` are run_module's workflow arguments: kubeadm knows its own directories
    and no file is written here."""
    del root, tmpdir
    session = Session(runner, kubeadm)
    try:
        within = parse_threshold(params.get("renew_within", "30d"), "renew_within")
        ca_within = parse_threshold(params.get("ca_warn_within", "365d"), "ca_warn_within")
    except ValueError as exc:
        raise session.error(str(exc)) from exc
    renew = params.get("state") == "renewed"
    renew_all = bool(params.get("renew_all"))
    cert_dir = params.get("cert_dir")

    facts = _check_expiration(session, cert_dir)
    pending = due(facts["certificates"], within, renew_all)
    renewed: list[str] = []
    if renew and pending:
        renewed = list(pending)
        if not check_mode:
            names = ["all"] if renew_all else pending
            for name in names:
                argv = [session.kubeadm, "certs", "renew", name]
                if cert_dir:
                    argv += ["--cert-dir", cert_dir]
                session.check(session.run(argv), f"kubeadm certs renew {name}")
            facts = _check_expiration(session, cert_dir)
    cas_expiring = [
        ca["name"]
        for ca in facts["certificate_authorities"]
        if not ca["missing"] and ca["residual_seconds"] < ca_within
    ]
    for name in cas_expiring:
        ca = next(c for c in facts["certificate_authorities"] if c["name"] == name)
        session.warnings.append(
            f"The CA {name} expires on {ca['expires']} ({ca['residual_days']} days left). kubeadm certs renew "
            "cannot renew a CA and this module does not: plan a CA rotation (see the kubeadm documentation, "
            "'Manual rotation of CA certificates') before it lapses."
        )
    return {
        "changed": bool(renewed),
        "renewed": renewed,
        "due": due(facts["certificates"], within, False),
        "certificates": facts["certificates"],
        "certificate_authorities": facts["certificate_authorities"],
        "earliest_expiry": earliest(facts["certificates"]),
        "earliest_ca_expiry": earliest(facts["certificate_authorities"]),
        "cas_expiring": cas_expiring,
        "restart_needed": bool(renewed),
        "commands": session.commands,
        "warnings": session.warnings,
    }
