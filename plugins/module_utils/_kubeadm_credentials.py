# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Join credentials minted or reused on a control plane: token, CA pins, certificate key.

Private to kubeha.kubeadm: the names here may change in any release. mint_join_credentials()
is the one implementation behind kubeha.kubeadm.kubeadm_join_credentials and the
join_credentials option of kubeha.kubeadm.kubeadm_init. Every secret it sees goes into the
session's secrets, so that nothing it reports can quote one.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import (
    INIT_CONFIG_FIELDS,
    join_command,
    kubeadm_config_api_version,
    set_config_field,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_output import (
    format_timestamp,
    parse_certificate_key,
    parse_duration,
    parse_init_output,
    parse_kubeconfig_server,
    parse_token_create,
    parse_token_list,
    parse_upload_certs_output,
    select_reusable_token,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_pki import ca_cert_hashes_from_file
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import Session, config_error

if TYPE_CHECKING:
    from collections.abc import Mapping

CREDENTIAL_KINDS = ("worker", "control_plane")
# kubeadm deletes the kubeadm-certs Secret two hours after an upload (DefaultCertTokenDuration).
CERTIFICATE_KEY_LIFETIME = datetime.timedelta(hours=2)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def validate_durations(session: Session, params: Mapping[str, Any]) -> tuple[datetime.timedelta, datetime.timedelta]:
    """(token_ttl, token_min_ttl) parsed, or a KubeadmError that names the option to fix."""
    try:
        ttl = parse_duration(params.get("token_ttl") or "2h")
        min_ttl = parse_duration(params.get("token_min_ttl") or "1h")
    except ValueError as exc:
        raise session.error(str(exc)) from None
    if ttl.total_seconds() <= 0:
        raise session.error("token_ttl must be a positive duration")
    # token_min_ttl only matters when tokens may be reused.
    if params.get("token_reuse", True) and ttl <= min_ttl:
        raise session.error("token_ttl must be longer than token_min_ttl, or a new token would never be reused")
    return ttl, min_ttl


def _upload_certs(session: Session, params: Mapping[str, Any], tmpdir: str) -> str:
    """Upload the control-plane certificates encrypted with a new key; return the key.

    The key is generated first and handed to the upload explicitly (so a repeated upload with
    it is idempotent), through --config because kubeadm will not mix --certificate-key with
    it; the config also names kubeadm's own version so the phase does not look one up online.
    """
    config = params.get("config") or {}
    user_init = config.get("InitConfiguration") or {}
    key = user_init.get("certificateKey")
    if not key:
        outcome = session.check(
            session.run([session.kubeadm, "certs", "certificate-key"]), "kubeadm certs certificate-key"
        )
        try:
            key = parse_certificate_key(outcome.stdout)
        except ValueError as exc:
            raise session.error(str(exc), result=outcome) from None
    session.secrets.add(key)
    version = session.version()
    api_version = kubeadm_config_api_version(version)
    documents: dict[str, dict[str, Any]] = {
        "InitConfiguration": {"apiVersion": api_version, "kind": "InitConfiguration", "certificateKey": key},
        "ClusterConfiguration": {
            "apiVersion": api_version,
            "kind": "ClusterConfiguration",
            "kubernetesVersion": "v{}.{}.{}".format(*version),
        },
    }
    user_cluster = config.get("ClusterConfiguration") or {}
    for field in ("certificatesDir", "etcd"):  # what decides which certificates are uploaded
        if field in user_cluster:
            documents["ClusterConfiguration"][field] = user_cluster[field]
    try:
        for option in ("apiserver_advertise_address", "cri_socket"):
            kind, path = INIT_CONFIG_FIELDS[option]
            set_config_field(documents, api_version, kind, path, params.get(option) or None, option=option)
    except ValueError as exc:
        raise config_error(session, exc) from None
    path = os.path.join(tmpdir, "kubeadm-upload-certs.yaml")
    argv = [session.kubeadm, "init", "phase", "upload-certs", "--upload-certs", "--config", path]
    outcome = session.check(session.run_with_config(argv, path, documents), "kubeadm init phase upload-certs")
    printed = parse_upload_certs_output(outcome.stdout)
    if printed is not None and printed.lower() != key.lower():
        raise session.error(
            "kubeadm init phase upload-certs used another certificate key than the one given", result=outcome
        )
    if "Skipping phase" in outcome.stdout:
        raise session.error("kubeadm init phase upload-certs skipped the upload", result=outcome)
    return key


def _cluster_identity(
    session: Session, params: Mapping[str, Any], root: str, init_stdout: str | None
) -> tuple[str, list[str]]:
    """(API server endpoint, CA cert hashes): from admin.conf and pki/ca.crt, as kubeadm does."""
    admin_conf = os.path.join(root, "admin.conf")
    parsed_init: dict[str, Any] = {}
    if init_stdout:
        try:
            parsed_init = parse_init_output(init_stdout)
        except ValueError:
            parsed_init = {}
    endpoint = None
    if os.path.exists(admin_conf):
        with open(admin_conf, encoding="utf-8", errors="replace") as handle:
            endpoint = parse_kubeconfig_server(handle.read())
    endpoint = endpoint or parsed_init.get("api_server_endpoint") or params.get("control_plane_endpoint")
    if not endpoint:
        raise session.error(f"cannot tell the API server endpoint: no server in {admin_conf}")
    ca_crt = os.path.join(root, "pki", "ca.crt")
    try:
        hashes = ca_cert_hashes_from_file(ca_crt)
    except (OSError, ValueError) as exc:
        if not parsed_init.get("discovery_token_ca_cert_hashes"):
            raise session.error(f"cannot compute the CA cert hash from {ca_crt}: {exc}") from None
        hashes = parsed_init["discovery_token_ca_cert_hashes"]
    return endpoint, hashes


def _bootstrap_token(
    session: Session, params: Mapping[str, Any], *, admin_conf: str, check_mode: bool, now: datetime.datetime
) -> tuple[str | None, datetime.datetime | None, bool]:
    """(token, expiry, reused): a valid token with enough life left, else a new short-lived one.

    In check mode nothing is created and the token of a would-be creation is None.
    """
    ttl, min_ttl = validate_durations(session, params)
    listed = session.check(
        session.run([session.kubeadm, "token", "list", "-o", "json", "--kubeconfig", admin_conf]), "kubeadm token list"
    )
    try:
        tokens = parse_token_list(listed.stdout)
    except ValueError as exc:
        raise session.error(str(exc), result=listed) from None
    session.secrets.update(token.token for token in tokens)
    reusable = select_reusable_token(tokens, now, min_ttl) if params.get("token_reuse", True) else None
    if reusable is not None:
        return reusable.token, reusable.expires, True
    if check_mode:
        return None, None, False
    argv = [session.kubeadm, "token", "create", "--ttl", params.get("token_ttl") or "2h", "--kubeconfig", admin_conf]
    created = session.check(session.run(argv), "kubeadm token create")
    try:
        token = parse_token_create(created.stdout)
    except ValueError as exc:
        raise session.error(str(exc), result=created) from None
    session.secrets.add(token)
    return token, now + ttl, False


def mint_join_credentials(
    session: Session,
    params: Mapping[str, Any],
    *,
    kind: str,
    root: str,
    tmpdir: str,
    check_mode: bool,
    now: datetime.datetime | None = None,
    init_stdout: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """(credentials, minted) for joining a node of kind (worker or control_plane).

    A token that can join nodes and has more than token_min_ttl left is reused (unless
    token_reuse is false), else one living token_ttl is created; the CA pins come from
    pki/ca.crt; for a control plane the certificates are uploaded under a new key, unless
    init_stdout (a kubeadm init --upload-certs that just ran) already printed one.
    minted tells whether anything was created. In check mode nothing is, and the values
    that would be are None.
    """
    if kind not in CREDENTIAL_KINDS:
        raise session.error(f"kind must be one of {', '.join(CREDENTIAL_KINDS)}, got {kind!r}")
    moment = now or utc_now()
    endpoint, hashes = _cluster_identity(session, params, root, init_stdout)
    admin_conf = os.path.join(root, "admin.conf")
    token, expires, reused = _bootstrap_token(session, params, admin_conf=admin_conf, check_mode=check_mode, now=moment)
    minted = not reused
    key = key_expires = None
    if kind == "control_plane":
        minted = True
        key = parse_upload_certs_output(init_stdout) if init_stdout else None
        if key is None and not check_mode:
            key = _upload_certs(session, params, tmpdir)
        key_expires = moment + CERTIFICATE_KEY_LIFETIME if key else None
    credentials: dict[str, Any] = {
        "api_server_endpoint": endpoint,
        "token": token,
        "token_id": token.split(".", 1)[0] if token else None,
        "token_expires": format_timestamp(expires) if expires else None,
        "token_reused": reused,
        "discovery_token_ca_cert_hashes": hashes,
        "certificate_key": key,
        "certificate_key_expires": format_timestamp(key_expires) if key_expires else None,
    }
    credentials["worker_join_command"] = join_command(credentials)
    credentials["control_plane_join_command"] = join_command(credentials, control_plane=True)
    return credentials, minted
