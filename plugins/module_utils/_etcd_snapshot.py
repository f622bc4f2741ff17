# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""etcd snapshots for kubeha.kubeadm's etcd_snapshot and etcd_snapshot_restore modules.

Private to the collection: the names here may change in any release. A snapshot is taken with
``etcdctl snapshot save`` (the v3 Snapshot stream, with the client certificate kubeadm makes for
etcd's health checks), checked with ``snapshot status`` and restored with ``snapshot restore``.
etcd 3.5 and later ship those two in etcdutl (etcdctl 3.5 still has them, deprecated, and 3.6
dropped them); etcd 3.4 has no etcdutl, so etcdctl does all three there.

A snapshot holds every Secret of the cluster: files are written 0600 into 0700 directories,
and no result or error ever carries snapshot content or key material (etcdctl names files only).
Commands go through a ``runner`` callable ``(argv, environ) -> (rc, stdout, stderr)`` so unit
tests drive every branch with a fake one. Runs on the managed node: standard library only,
Python 3.9+.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import time
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import EtcdError, check_client_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Runner = Callable[[list[str], "dict[str, str]"], tuple[int, str, str]]

# etcdctl 3.4 speaks the v2 API unless told otherwise; 3.5+ ignore the variable's v3 value.
ETCDCTL_ENV = {"ETCDCTL_API": "3", "LC_ALL": "C"}
SNAPSHOT_SUFFIX = ".db"
CHECKSUM_SUFFIX = ".sha256"
# A snapshot name: <prefix>-<UTC time>.db, so that names sort by age.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
PREFIX_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


@dataclasses.dataclass(frozen=True)
class Tools:
    """The etcd client programs found: etcdctl always; etcdutl on etcd 3.5 and later."""

    etcdctl: str
    etcdutl: str | None = None

    @property
    def offline(self) -> str:
        """The program for snapshot status and restore (they read files, not a member)."""
        return self.etcdutl or self.etcdctl


@dataclasses.dataclass(frozen=True)
class SnapshotStatus:
    hash: int
    revision: int
    total_keys: int
    total_size: int
    version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hash": format(self.hash, "08x"),
            "revision": self.revision,
            "total_keys": self.total_keys,
            "total_size": self.total_size,
            "version": self.version,
        }


def find_tools(which: Callable[[str], str | None], etcdctl: str | None = None, etcdutl: str | None = None) -> Tools:
    """The client programs: the paths given, else those on PATH; fails naming what is missing."""
    ctl = etcdctl or which("etcdctl")
    if not ctl:
        raise EtcdError(
            "etcdctl was not found on this host: install the etcd client of the cluster's etcd minor"
            " (Debian: etcd-client) on the control planes, or set etcdctl_path."
        )
    return Tools(ctl, etcdutl or which("etcdutl"))


def module_glue(module: Any) -> tuple[Runner, Tools]:
    """The runner over AnsibleModule.run_command and the client programs its options name."""

    def runner(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
        return module.run_command(argv, check_rc=False, environ_update=environ)

    def which(name: str) -> str | None:
        return module.get_bin_path(name, opt_dirs=["/usr/bin", "/usr/local/bin"])

    return runner, find_tools(which, module.params["etcdctl_path"], module.params["etcdutl_path"])


def parse_status(stdout: str) -> SnapshotStatus:
    """``snapshot status -w json``: one JSON object, after etcdctl 3.5's deprecation notice."""
    for raw in reversed(stdout.splitlines()):
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        try:
            return SnapshotStatus(
                hash=int(data["hash"]),
                revision=int(data["revision"]),
                total_keys=int(data["totalKey"]),
                total_size=int(data["totalSize"]),
                version=str(data["version"]) if data.get("version") else None,
            )
        except (KeyError, TypeError, ValueError):
            break
    raise EtcdError("snapshot status printed no status object (hash, revision, totalKey, totalSize)")


def _said(stdout: str, stderr: str) -> str:
    """The error line etcdctl/etcdutl printed (``Error: ...``), else the last line; short."""
    lines = [line.strip() for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or lines or ["no output"])[-1][:300]


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_status(runner: Runner, tools: Tools, path: str) -> SnapshotStatus:
    """The snapshot's hash, revision, keys and size; fails when it is not a valid etcd database."""
    rc, stdout, stderr = runner([tools.offline, "snapshot", "status", path, "-w", "json"], dict(ETCDCTL_ENV))
    if rc != 0:
        raise EtcdError(f"{path} is not a readable etcd snapshot: {_said(stdout, stderr)}", rc=rc)
    return parse_status(stdout)


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def ensure_private_dir(path: str) -> bool:
    """Create ``path`` 0700 (parents as needed) or tighten it to 0700; True when that changed it."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)
        return True
    if os.stat(path).st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
        return True
    return False


def snapshots_in(directory: str, prefix: str) -> list[str]:
    """The snapshot file names of ``prefix`` in ``directory``, oldest first."""
    if not os.path.isdir(directory):
        return []
    pattern = re.compile(rf"\A{re.escape(prefix)}-\d{{8}}T\d{{6}}Z{re.escape(SNAPSHOT_SUFFIX)}\Z")
    return sorted(name for name in os.listdir(directory) if pattern.match(name))


def _unique_name(directory: str, prefix: str, now: datetime.datetime) -> str:
    moment = now
    for _attempt in range(120):
        name = f"{prefix}-{moment.strftime(STAMP_FORMAT)}{SNAPSHOT_SUFFIX}"
        if not os.path.exists(os.path.join(directory, name)):
            return name
        moment += datetime.timedelta(seconds=1)
    raise EtcdError(f"no free snapshot name in {directory} for {now.strftime(STAMP_FORMAT)}")


def save_snapshot(
    params: Mapping[str, Any],
    runner: Runner,
    tools: Tools,
    *,
    check_mode: bool = False,
    now: datetime.datetime | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Take a snapshot into ``dest_dir``, check it, checksum it, keep the newest ``retention``."""
    directory, prefix, retention = params["dest_dir"], params["prefix"], params["retention"]
    if not PREFIX_RE.match(prefix or ""):
        raise EtcdError(
            f"prefix {prefix!r} must be letters, digits, '.', '_' or '-' (and start with a letter or digit)"
        )
    if retention < 1:
        raise EtcdError(f"retention must be at least 1 (the snapshot just taken), got {retention}")
    check_client_files(params["ca_path"], params["client_cert"], params["client_key"])
    now = now or datetime.datetime.now(datetime.timezone.utc)
    existing = snapshots_in(directory, prefix)
    result: dict[str, Any] = {"changed": True, "endpoint": params["endpoint"], "dest_dir": directory}
    if check_mode:
        # The run would add one snapshot and then prune beyond the retention count.
        keep = retention - 1
        result.update(path=None, pruned=existing[: max(len(existing) - keep, 0)], tools=dataclasses.asdict(tools))
        return result
    ensure_private_dir(directory)
    name = _unique_name(directory, prefix, now)
    final = os.path.join(directory, name)
    partial = os.path.join(directory, f".{name}.part")
    argv = [
        tools.etcdctl,
        f"--endpoints={params['endpoint']}",
        f"--cacert={params['ca_path']}",
        f"--cert={params['client_cert']}",
        f"--key={params['client_key']}",
        f"--dial-timeout={params['timeout']}s",
        f"--command-timeout={max(params['timeout'], 60)}s",
        "snapshot",
        "save",
        partial,
    ]
    started = clock()
    rc, stdout, stderr = runner(argv, dict(ETCDCTL_ENV))
    took = clock() - started
    try:
        if rc != 0:
            raise EtcdError(
                f"etcdctl snapshot save from {params['endpoint']} failed: {_said(stdout, stderr)}."
                " Run it on a control plane whose etcd member is healthy, or set endpoint.",
                rc=rc,
                cmd=argv,
            )
        os.chmod(partial, 0o600)
        status = snapshot_status(runner, tools, partial)
        digest = sha256_of(partial)
        os.replace(partial, final)
    finally:
        for leftover in (partial, partial + ".part"):
            if os.path.exists(leftover):
                os.remove(leftover)
    _write_private(final + CHECKSUM_SUFFIX, f"{digest}  {name}\n")
    pruned = prune(directory, prefix, retention)
    result.update(
        path=final,
        name=name,
        checksum_path=final + CHECKSUM_SUFFIX,
        sha256=digest,
        size=os.path.getsize(final),
        status=status.as_dict(),
        seconds=round(took, 3),
        pruned=pruned,
        tools=dataclasses.asdict(tools),
    )
    return result


def prune(directory: str, prefix: str, retention: int) -> list[str]:
    """Remove the oldest snapshots of ``prefix`` (and their checksums) beyond ``retention``."""
    names = snapshots_in(directory, prefix)
    gone = names[: max(len(names) - retention, 0)]
    for name in gone:
        for path in (os.path.join(directory, name), os.path.join(directory, name + CHECKSUM_SUFFIX)):
            if os.path.exists(path):
                os.remove(path)
    return gone


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def restore_snapshot(
    params: Mapping[str, Any],
    runner: Runner,
    tools: Tools,
    *,
    check_mode: bool = False,
    now: datetime.datetime | None = None,
    etcd_running: Callable[[], bool] = lambda: port_open("127.0.0.1", 2379),
) -> dict[str, Any]:
    """Restore ``snapshot`` as this member's data in ``data_dir``; the old data is moved aside.

    Refuses while a local etcd answers on the client port (its data would be replaced under
    it), and when the snapshot's sha256 differs from ``sha256``.
    """
    snapshot, data_dir = params["snapshot"], params["data_dir"].rstrip("/") or "/"
    digest = _check_restore(params, etcd_running)
    status = snapshot_status(runner, tools, snapshot)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    aside = f"{data_dir}.before-restore-{now.strftime(STAMP_FORMAT)}"
    result: dict[str, Any] = {
        "changed": True,
        "snapshot": snapshot,
        "sha256": digest,
        "status": status.as_dict(),
        "data_dir": data_dir,
        "previous_data": aside if _has_entries(data_dir) else None,
        "name": params["name"],
        "initial_cluster_token": params["initial_cluster_token"],
        "tools": dataclasses.asdict(tools),
    }
    if check_mode:
        return result
    staging = f"{data_dir}.kubeha-restore"
    if os.path.exists(staging):
        shutil.rmtree(staging)  # left by an earlier run that failed
    argv = [
        tools.offline,
        "snapshot",
        "restore",
        snapshot,
        f"--name={params['name']}",
        f"--initial-cluster={params['initial_cluster']}",
        f"--initial-cluster-token={params['initial_cluster_token']}",
        f"--initial-advertise-peer-urls={params['initial_advertise_peer_urls']}",
        f"--data-dir={staging}",
    ]
    rc, stdout, stderr = runner(argv, dict(ETCDCTL_ENV))
    if rc != 0:
        if os.path.exists(staging):
            shutil.rmtree(staging)
        raise EtcdError(f"snapshot restore of {snapshot} failed: {_said(stdout, stderr)}. Nothing was changed.", rc=rc)
    # The data directory may be a mount point (kubeadm mounts it into the etcd pod): its entries
    # move, not the directory itself.
    if result["previous_data"]:
        ensure_private_dir(aside)
        for entry in os.listdir(data_dir):
            shutil.move(os.path.join(data_dir, entry), os.path.join(aside, entry))
    ensure_private_dir(data_dir)
    for entry in os.listdir(staging):
        shutil.move(os.path.join(staging, entry), os.path.join(data_dir, entry))
    os.rmdir(staging)
    return result


def _check_restore(params: Mapping[str, Any], etcd_running: Callable[[], bool]) -> str:
    """Everything that must hold before a restore changes anything; returns the snapshot's sha256."""
    snapshot = params["snapshot"]
    if not os.path.isfile(snapshot):
        raise EtcdError(f"snapshot {snapshot} does not exist on this host: copy it here first.")
    wanted = (params.get("sha256") or "").strip().lower()
    digest = sha256_of(snapshot)
    if wanted and digest != wanted:
        raise EtcdError(
            f"snapshot {snapshot} has sha256 {digest}, not the expected {wanted}: it is damaged or another"
            " file. Nothing was changed."
        )
    for option in ("name", "initial_cluster", "initial_cluster_token", "initial_advertise_peer_urls"):
        if not (params.get(option) or "").strip():
            raise EtcdError(f"{option} must not be empty.")
    if f"{params['name']}=" not in params["initial_cluster"]:
        raise EtcdError(
            f"initial_cluster ({params['initial_cluster']}) has no entry for this member ({params['name']}=<peer URL>)."
        )
    if etcd_running():
        raise EtcdError(
            "an etcd member still answers on 127.0.0.1:2379: stop it first (move its static pod manifest out of"
            " /etc/kubernetes/manifests and wait), then restore. Nothing was changed."
        )
    return digest


def _has_entries(path: str) -> bool:
    return os.path.isdir(path) and bool(os.listdir(path))
