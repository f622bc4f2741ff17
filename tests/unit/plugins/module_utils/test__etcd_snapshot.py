"""_etcd_snapshot: save, check, checksum, prune and restore, with a fake etcdctl/etcdutl.

The fake answers with the outputs etcd 3.4's etcdctl and 3.5's etcdutl print (captured from
Debian's packages): JSON status on stdout after 3.5 etcdctl's deprecation notice, ``Error: ...``
lines on failure.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _etcd_snapshot as snap
from ansible_collections.kubeha.kubeadm.plugins.module_utils._etcd import EtcdError

NOW = datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)
STATUS_34 = '{"hash":3591374193,"revision":3,"totalKey":6,"totalSize":20480}\n'
STATUS_35_ETCDCTL = "Deprecated: Use `etcdutl snapshot status` instead.\n\n" + STATUS_34
SECRET = b"\x00bbolt-content-with-a-Secret: c3VwZXJzZWNyZXQ=\n"


class FakeTools:
    """etcdctl/etcdutl stand-ins: records argv and environment, writes what the real ones write."""

    def __init__(self, status: str = STATUS_34, save_rc: int = 0, status_rc: int = 0, restore_rc: int = 0) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.status, self.save_rc, self.status_rc, self.restore_rc = status, save_rc, status_rc, restore_rc

    def __call__(self, argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
        self.calls.append((argv, environ))
        verb = argv[argv.index("snapshot") + 1]
        if verb == "save":
            if self.save_rc:
                return self.save_rc, "", "Error: context deadline exceeded\n"
            with open(argv[-1], "wb") as handle:
                handle.write(SECRET)
            os.chmod(argv[-1], 0o600)
            return 0, f"Snapshot saved at {argv[-1]}\n", '{"level":"info","msg":"saved"}\n'
        if verb == "status":
            if self.status_rc:
                return self.status_rc, "", "Error: invalid database\n"
            return 0, self.status, ""
        if verb == "restore":
            if self.restore_rc:
                return self.restore_rc, "", 'Error: data-dir "x" exists\n'
            data_dir = next(a.split("=", 1)[1] for a in argv if a.startswith("--data-dir="))
            os.makedirs(os.path.join(data_dir, "member", "snap"))
            os.makedirs(os.path.join(data_dir, "member", "wal"))
            return 0, "", '{"level":"info","msg":"restored snapshot"}\n'
        raise AssertionError(argv)


@pytest.fixture
def client_files(tmp_path) -> dict:
    pki = tmp_path / "pki"
    pki.mkdir()
    for name in ("ca.crt", "healthcheck-client.crt", "healthcheck-client.key"):
        (pki / name).write_text("not read here\n")
    return {
        "endpoint": "https://127.0.0.1:2379",
        "ca_path": str(pki / "ca.crt"),
        "client_cert": str(pki / "healthcheck-client.crt"),
        "client_key": str(pki / "healthcheck-client.key"),
        "timeout": 5,
    }


def save_params(client_files: dict, directory, **extra) -> dict:
    return {**client_files, "dest_dir": str(directory), "prefix": "kubeha", "retention": 3, **extra}


def test_parse_status_34_35_and_36() -> None:
    assert snap.parse_status(STATUS_34).as_dict() == {
        "hash": "d6100571",
        "revision": 3,
        "total_keys": 6,
        "total_size": 20480,
        "version": None,
    }
    assert snap.parse_status(STATUS_35_ETCDCTL).revision == 3
    six = snap.parse_status('{"hash":36842089,"revision":9902,"totalKey":1081,"totalSize":13664256,"version":"3.6.0"}')
    assert (six.total_keys, six.version) == (1081, "3.6.0")
    with pytest.raises(EtcdError, match=r"no status object"):
        snap.parse_status("Deprecated: Use `etcdutl snapshot status` instead.\n\n")


def test_tools_prefers_etcdutl_and_needs_etcdctl() -> None:
    both = snap.find_tools({"etcdctl": "/usr/bin/etcdctl", "etcdutl": "/usr/bin/etcdutl"}.get)
    assert both.offline == "/usr/bin/etcdutl"
    only = snap.find_tools({"etcdctl": "/usr/bin/etcdctl"}.get)
    assert (only.etcdutl, only.offline) == (None, "/usr/bin/etcdctl")
    with pytest.raises(EtcdError, match=r"etcdctl was not found.*etcdctl_path"):
        snap.find_tools({}.get)


def test_save_checks_checksums_and_keeps_files_private(tmp_path, client_files) -> None:
    fake = FakeTools()
    directory = tmp_path / "backups"
    result = snap.save_snapshot(
        save_params(client_files, directory),
        fake,
        snap.Tools("/usr/bin/etcdctl"),
        now=NOW,
        clock=iter([1.0, 1.5]).__next__,
    )
    assert result["changed"] is True
    assert result["name"] == "kubeha-20261201T090000Z.db"
    assert result["sha256"] == hashlib.sha256(SECRET).hexdigest()
    assert result["size"] == len(SECRET)
    assert result["status"]["revision"] == 3
    assert result["seconds"] == 0.5
    save_argv, save_env = fake.calls[0]
    assert save_argv == [
        "/usr/bin/etcdctl",
        "--endpoints=https://127.0.0.1:2379",
        f"--cacert={client_files['ca_path']}",
        f"--cert={client_files['client_cert']}",
        f"--key={client_files['client_key']}",
        "--dial-timeout=5s",
        "--command-timeout=60s",
        "snapshot",
        "save",
        str(directory / ".kubeha-20261201T090000Z.db.part"),
    ]
    assert save_env["ETCDCTL_API"] == "3"
    # The status of the saved file, before it got its final name.
    assert fake.calls[1][0] == ["/usr/bin/etcdctl", "snapshot", "status", save_argv[-1], "-w", "json"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(os.listdir(directory)) == ["kubeha-20261201T090000Z.db", "kubeha-20261201T090000Z.db.sha256"]
    for name in os.listdir(directory):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert (directory / "kubeha-20261201T090000Z.db.sha256").read_text() == (
        f"{result['sha256']}  kubeha-20261201T090000Z.db\n"
    )
    assert "c3VwZXJzZWNyZXQ" not in json.dumps(result)


def test_save_prunes_beyond_retention_and_only_its_prefix(tmp_path, client_files) -> None:
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o755)
    old = [f"kubeha-2026110{day}T090000Z.db" for day in range(1, 5)]
    for name in [*old, "other-20261101T090000Z.db", "notes.txt"]:
        (directory / name).write_text("x")
        (directory / f"{name}.sha256").write_text("x")
    result = snap.save_snapshot(save_params(client_files, directory), FakeTools(), snap.Tools("etcdctl"), now=NOW)
    assert result["pruned"] == old[:2]
    kept = snap.snapshots_in(str(directory), "kubeha")
    assert kept == [*old[2:], "kubeha-20261201T090000Z.db"]
    assert not (directory / f"{old[0]}.sha256").exists()
    assert (directory / "other-20261101T090000Z.db").exists()
    assert (directory / "notes.txt").exists()
    # An existing directory is tightened too.
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_check_mode_takes_nothing_and_says_what_it_would_prune(tmp_path, client_files) -> None:
    directory = tmp_path / "backups"
    directory.mkdir()
    for day in range(1, 4):
        (directory / f"kubeha-2026110{day}T090000Z.db").write_text("x")
    fake = FakeTools()
    result = snap.save_snapshot(
        save_params(client_files, directory), fake, snap.Tools("etcdctl"), check_mode=True, now=NOW
    )
    assert result["changed"] is True
    assert result["path"] is None
    assert result["pruned"] == ["kubeha-20261101T090000Z.db"]
    assert fake.calls == []
    assert len(os.listdir(directory)) == 3


def test_a_failed_save_or_a_bad_snapshot_leaves_nothing(tmp_path, client_files) -> None:
    directory = tmp_path / "backups"
    with pytest.raises(EtcdError, match=r"snapshot save from https://127.0.0.1:2379 failed: Error: context deadline"):
        snap.save_snapshot(save_params(client_files, directory), FakeTools(save_rc=1), snap.Tools("etcdctl"), now=NOW)
    with pytest.raises(EtcdError, match=r"not a readable etcd snapshot: Error: invalid database"):
        snap.save_snapshot(save_params(client_files, directory), FakeTools(status_rc=1), snap.Tools("etcdctl"), now=NOW)
    assert os.listdir(directory) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"retention": 0}, "retention must be at least 1"), ({"prefix": "../x"}, "prefix '../x' must be")],
)
def test_bad_options_fail_before_any_command(tmp_path, client_files, extra, message) -> None:
    fake = FakeTools()
    with pytest.raises(EtcdError, match=message):
        snap.save_snapshot(save_params(client_files, tmp_path / "b", **extra), fake, snap.Tools("etcdctl"), now=NOW)
    assert fake.calls == []
    assert not (tmp_path / "b").exists()


def test_missing_client_key_is_named(tmp_path, client_files) -> None:
    os.remove(client_files["client_key"])
    with pytest.raises(EtcdError, match=r"healthcheck-client.key \(client_key\) does not exist"):
        snap.save_snapshot(save_params(client_files, tmp_path / "b"), FakeTools(), snap.Tools("etcdctl"), now=NOW)


# --- restore ------------------------------------------------------------------------------


@pytest.fixture
def restore_params(tmp_path) -> dict:
    snapshot = tmp_path / "s.db"
    snapshot.write_bytes(SECRET)
    data = tmp_path / "etcd"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0.wal").write_text("old")
    return {
        "snapshot": str(snapshot),
        "sha256": hashlib.sha256(SECRET).hexdigest(),
        "name": "cp2",
        "initial_cluster": "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380",
        "initial_cluster_token": "kubeha-restore-1",
        "initial_advertise_peer_urls": "https://10.0.0.12:2380",
        "data_dir": str(data),
    }


def test_restore_uses_etcdutl_moves_old_data_aside(tmp_path, restore_params) -> None:
    fake = FakeTools()
    tools = snap.Tools("/usr/bin/etcdctl", "/usr/bin/etcdutl")
    result = snap.restore_snapshot(restore_params, fake, tools, now=NOW, etcd_running=lambda: False)
    data = restore_params["data_dir"]
    assert fake.calls[1][0] == [
        "/usr/bin/etcdutl",
        "snapshot",
        "restore",
        restore_params["snapshot"],
        "--name=cp2",
        "--initial-cluster=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380",
        "--initial-cluster-token=kubeha-restore-1",
        "--initial-advertise-peer-urls=https://10.0.0.12:2380",
        f"--data-dir={data}.kubeha-restore",
    ]
    assert result["previous_data"] == f"{data}.before-restore-20261201T090000Z"
    assert (tmp_path / "etcd.before-restore-20261201T090000Z" / "member" / "wal" / "0.wal").read_text() == "old"
    assert sorted(os.listdir(os.path.join(data, "member"))) == ["snap", "wal"]
    assert os.listdir(os.path.join(data, "member", "wal")) == []
    assert not os.path.exists(f"{data}.kubeha-restore")
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert result["status"]["revision"] == 3


def test_restore_refuses_a_wrong_checksum_a_running_etcd_and_a_missing_member(tmp_path, restore_params) -> None:
    tools = snap.Tools("etcdctl")
    fake = FakeTools()
    with pytest.raises(EtcdError, match=r"has sha256 .* not the expected 00ff"):
        snap.restore_snapshot({**restore_params, "sha256": "00ff"}, fake, tools, etcd_running=lambda: False)
    assert fake.calls == []
    with pytest.raises(EtcdError, match=r"still answers on 127.0.0.1:2379"):
        snap.restore_snapshot(restore_params, fake, tools, etcd_running=lambda: True)
    with pytest.raises(EtcdError, match=r"no entry for this member"):
        snap.restore_snapshot({**restore_params, "name": "cp9"}, fake, tools, etcd_running=lambda: False)
    assert all(call[0][2] == "status" for call in fake.calls)
    assert os.listdir(os.path.join(restore_params["data_dir"], "member", "wal")) == ["0.wal"]


def test_restore_failure_and_check_mode_change_nothing(tmp_path, restore_params) -> None:
    tools = snap.Tools("etcdctl")
    with pytest.raises(EtcdError, match=r"snapshot restore of .* failed: Error: data-dir"):
        snap.restore_snapshot(restore_params, FakeTools(restore_rc=1), tools, etcd_running=lambda: False)
    checked = snap.restore_snapshot(restore_params, FakeTools(), tools, check_mode=True, etcd_running=lambda: False)
    assert checked["changed"] is True
    assert os.listdir(os.path.join(restore_params["data_dir"], "member", "wal")) == ["0.wal"]
    assert sorted(os.listdir(tmp_path)) == ["etcd", "s.db"]


def test_restore_into_an_empty_data_dir(tmp_path, restore_params) -> None:
    empty = tmp_path / "fresh"
    result = snap.restore_snapshot(
        {**restore_params, "data_dir": str(empty)}, FakeTools(), snap.Tools("etcdctl"), etcd_running=lambda: False
    )
    assert result["previous_data"] is None
    assert os.listdir(empty) == ["member"]
