# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: what the validation checks (``_checks_*.py``) share.

Each check is a function of the ``cluster_problems`` filter's checker, the object that holds
what validation collected (``cluster``, ``hosts``, the groups ``lbs``, ``cps``, ``workers``,
``nodes``, the ``layout`` the playbooks use, the parsed ``pod_net`` and ``service_net``) and the
``report`` every problem goes to as (host, variable, message, fix).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Union

ALL = "all"
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def address(value: Any) -> Address | None:
    try:
        return ipaddress.ip_address(str(value).strip().strip("[]"))
    except ValueError:
        return None


def integer(value: Any) -> int | None:
    """An int from an int or its decimal text; None for anything else (bool, float, words)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def lb_settings(checker: Any, host: str) -> dict[str, Any]:
    return (checker.hosts.get(host) or {}).get("lb") or {}


def family(version: int) -> str:
    return f"IPv{version}"


def endpoint_host(endpoint: Any) -> str:
    """The host part of `host:port` or `[v6]:port` (brackets dropped); "" when there is none."""
    text = str(endpoint or "").strip()
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else ""
