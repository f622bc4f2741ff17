# Copyright: kubeha developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the collection: every role variable the inventory sets, checked before any host changes.

Type and choices come from each role's ``meta/argument_specs.yml`` (the check a role runs at
its start, done here for every host at once); ranges and formats, which an argument spec cannot
say, from the tables below. A variable with a role's prefix that no spec knows is a warning
(a typo has no effect). Secret options (``no_log``) never reach validation: ``validate.yml``
leaves them out, and they are skipped here too.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from pathlib import Path
from typing import Any, Callable

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils._checks_common import integer

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = ("cni", "control_plane_join", "kubeadm_init", "loadbalancer", "prerequisites", "worker_join")

PORT = (1, 65535)
POSITIVE = (1, None)
# Every int option of every role has its range here (a unit test holds the specs to it).
RANGES: dict[str, tuple[int, int | None]] = {
    "cni_calico_block_size": (20, 128),
    "cni_wait_timeout": POSITIVE,
    "control_plane_join_apiserver_bind_port": PORT,
    "control_plane_join_etcd_client_port": PORT,
    "control_plane_join_etcd_peer_port": PORT,
    "control_plane_join_health_timeout": POSITIVE,
    "kubeadm_init_apiserver_bind_port": PORT,
    "kubeadm_init_endpoint_check_timeout": POSITIVE,
    "kubeadm_init_restart_timeout": POSITIVE,
    "loadbalancer_frontend_port": PORT,
    "loadbalancer_check_rise": POSITIVE,
    "loadbalancer_check_fall": POSITIVE,
    "loadbalancer_server_maxconn": (0, None),
    "loadbalancer_server_maxqueue": (0, None),
    "loadbalancer_server_weight": (0, 256),
    "loadbalancer_server_fall": POSITIVE,
    "loadbalancer_server_rise": POSITIVE,
    "loadbalancer_verify_timeout": POSITIVE,
    "loadbalancer_keepalived_vip_prefix": (1, 128),
    "loadbalancer_keepalived_virtual_router_id": (1, 255),
    "loadbalancer_keepalived_advert_int": (1, 255),
    "loadbalancer_keepalived_check_interval": POSITIVE,
    "loadbalancer_keepalived_check_fall": POSITIVE,
    "loadbalancer_keepalived_check_rise": POSITIVE,
    "prerequisites_kubectl_max_minor_skew": (0, 1),
    "worker_join_apiserver_bind_port": PORT,
}


def _network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def _address_or_empty(value: str) -> bool:
    if value == "":
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _pattern(regex: str) -> Callable[[str], bool]:
    compiled = re.compile(regex)
    return lambda value: bool(compiled.match(value))


DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN = _pattern(rf"^(?=.{{1,253}}$){DNS_LABEL}(\.{DNS_LABEL})*$")
GO_DURATION = _pattern(r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$")
HAPROXY_TIME = _pattern(r"^[0-9]+(us|ms|s|m|h|d)?$")
URL = _pattern(r"^https?://[^\s/]+(/\S*)?$")
HOST_PORT = _pattern(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
VERSION = _pattern(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")


def _or_empty(check: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda value: value == "" or check(value)


# Formats of string options: (test, what it must be). Free text has no entry, nor what a
# cross-cutting check covers with the host's facts (loadbalancer_keepalived_interface: _checks_topology).
FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "cni_calico_version": (_pattern(r"^v[0-9]+\.[0-9]+\.[0-9]+$"), "a Calico release tag such as v3.32.1"),
    "cni_pod_network_cidr": (_network, "a network in CIDR notation, e.g. 192.168.0.0/16"),
    "cni_calico_manifest_base_url": (URL, "an http(s) URL"),
    "control_plane_join_api_server_endpoint": (_or_empty(HOST_PORT), "host:port (or empty)"),
    "control_plane_join_advertise_address": (_address_or_empty, "an IP address (or empty)"),
    "control_plane_join_node_name": (SUBDOMAIN, "a node name (RFC 1123 subdomain, lower case)"),
    "control_plane_join_cri_socket": (_pattern(r"^unix:///\S+$"), "a unix:///path socket URL"),
    "control_plane_join_token_ttl": (GO_DURATION, "a duration such as 1h or 30m"),
    "kubeadm_init_control_plane_endpoint": (_or_empty(HOST_PORT), "host:port (or empty)"),
    "kubeadm_init_kubernetes_version": (_or_empty(VERSION), "a version x.y.z (or empty)"),
    "kubeadm_init_cluster_name": (SUBDOMAIN, "a cluster name (RFC 1123 subdomain, lower case)"),
    "kubeadm_init_pod_network_cidr": (_network, "a network in CIDR notation"),
    "kubeadm_init_service_cidr": (_network, "a network in CIDR notation"),
    "kubeadm_init_dns_domain": (SUBDOMAIN, "a DNS domain (RFC 1123 subdomain, lower case), e.g. cluster.local"),
    "kubeadm_init_advertise_address": (_address_or_empty, "an IP address (or empty)"),
    "kubeadm_init_node_name": (SUBDOMAIN, "a node name (RFC 1123 subdomain, lower case)"),
    "kubeadm_init_cri_socket": (_pattern(r"^unix:///\S+$"), "a unix:///path socket URL"),
    "kubeadm_init_token_ttl": (GO_DURATION, "a duration such as 2h or 30m"),
    "kubeadm_init_admin_user": (_or_empty(_pattern(r"^[a-z_][a-z0-9_-]{0,31}$")), "a user name (or empty)"),
    "loadbalancer_frontend_bind_address": (
        lambda v: v in ("*", "") or _address_or_empty(v),
        "an IP address (0.0.0.0 or the IPv6 wildcard for every address)",
    ),
    "loadbalancer_health_check_path": (_pattern(r"^/\S*$"), "a path starting with /"),
    "loadbalancer_check_inter": (HAPROXY_TIME, "an haproxy time such as 10s or 500ms"),
    "loadbalancer_check_downinter": (HAPROXY_TIME, "an haproxy time such as 5s"),
    "loadbalancer_server_slowstart": (HAPROXY_TIME, "an haproxy time such as 60s"),
    "loadbalancer_timeout_connect": (HAPROXY_TIME, "an haproxy time such as 5s"),
    "loadbalancer_timeout_client": (HAPROXY_TIME, "an haproxy time such as 1h"),
    "loadbalancer_timeout_server": (HAPROXY_TIME, "an haproxy time such as 1h"),
    "loadbalancer_timeout_check": (HAPROXY_TIME, "an haproxy time such as 5s"),
    "loadbalancer_keepalived_vip": (_address_or_empty, "an IP address (or empty)"),
    "prerequisites_kubernetes_version": (_or_empty(VERSION), "a version x.y.z (or empty)"),
    "prerequisites_package_repository_base": (URL, "an http(s) URL"),
    "prerequisites_containerd_repository_url": (_or_empty(URL), "an http(s) URL (or empty)"),
    "prerequisites_containerd_repository_key_url": (_or_empty(URL), "an http(s) URL (or empty)"),
    "worker_join_api_server_endpoint": (_or_empty(HOST_PORT), "host:port (or empty)"),
    "worker_join_node_name": (SUBDOMAIN, "a node name (RFC 1123 subdomain, lower case)"),
    "worker_join_node_address": (_address_or_empty, "an IP address (or empty)"),
    "worker_join_cri_socket": (_pattern(r"^unix:///\S+$"), "a unix:///path socket URL"),
    "worker_join_token_ttl": (GO_DURATION, "a duration such as 1h"),
    "worker_join_token_min_ttl": (GO_DURATION, "a duration such as 30m"),
}


@cache
def role_options() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every option of every role's entry points: name -> (role, its spec)."""
    options: dict[str, tuple[str, dict[str, Any]]] = {}
    for role in ROLES:
        specs = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        for entry_point in specs.values():
            for name, spec in (entry_point.get("options") or {}).items():
                options.setdefault(name, (role, spec))
    return options


def _without_required(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with `required` dropped at the top (a playbook passes those, the user does not)."""
    return {k: v for k, v in spec.items() if k != "required"}


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def inputs(checker: Any) -> None:
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for host in checker.everyone:
        given = (checker.hosts.get(host) or {}).get("inputs")
        if not isinstance(given, dict):
            continue
        for name in sorted(given):
            for severity, message, fix in problems(str(name), given[name]):
                found.setdefault((severity, str(name), message, fix), []).append(host)
    for (severity, name, message, fix), hosts in found.items():
        checker.report.add(severity, hosts, name, message, fix)


def problems(name: str, value: Any) -> list[tuple[str, str, str]]:
    """(severity, message, fix) for one role variable as the inventory sets it."""
    known = role_options().get(name)
    if known is None:
        role = next((r for r in ROLES if name.startswith(f"{r}_")), "")
        return [
            (
                "warning",
                f"is not an option of the {role} role, so it has no effect (a typo?).",
                f"check the name against roles/{role}/README.md, or remove {name}.",
            )
        ]
    role, spec = known
    if spec.get("no_log"):
        return []
    result = ArgumentSpecValidator({name: _without_required(spec)}).validate({name: value})
    if result.error_messages:
        kind = spec.get("type", "str")
        if spec.get("elements"):
            kind = f"{kind} of {spec['elements']}"
        if spec.get("choices"):
            choices = ", ".join(str(c) for c in spec["choices"])
            message, wanted = f"'{_shown(value)}' is not one of {choices}.", f"one of {choices}"
        else:
            message, wanted = (
                f"'{_shown(value)}' is not a valid {kind}: {result.error_messages[0]}.",
                f"a value of type {kind}",
            )
        return [("error", message, f"set {name} to {wanted}, as roles/{role}/README.md describes.")]
    checked = result.validated_parameters.get(name)
    if name in RANGES and not isinstance(checked, bool):
        low, high = RANGES[name]
        number = integer(checked)
        if number is not None and (number < low or (high is not None and number > high)):
            span = f"{low}-{high}" if high is not None else f"{low} or more"
            return [("error", f"{number} is out of range ({span}).", f"set {name} to {span}.")]
    if name in FORMATS and isinstance(checked, str):
        test, what = FORMATS[name]
        if not test(checked):
            return [("error", f"'{_shown(checked)}' is not {what}.", f"set {name} to {what}.")]
    return []
