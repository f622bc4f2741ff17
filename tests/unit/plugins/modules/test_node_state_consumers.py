"""Every role and playbook decides "is this node joined?" as the kubeadm modules do.

The decisions are the real `when:` expressions of the roles' and remove_node.yml's tasks,
evaluated by Ansible's templar on what kubeha.kubeadm.kubeadm_node_info returns for each layout
of kubeadm's files; the modules' own verdict (kubeadm_join in check mode) is the reference. An
interrupted join, in any of its forms, is pending everywhere and is reset by remove_node.yml.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.kubeha.kubeadm.plugins.modules import (
    kubeadm_join,
    kubeadm_join_credentials,
    kubeadm_node_info,
)
from conftest import REPO

CONTROL_PLANE = ["admin.conf", "kubelet.conf", "manifests/kube-apiserver.yaml", "manifests/etcd.yaml", "pki/ca.crt"]
# layout -> (files kubeadm left, role kubeadm_node_info must report)
LAYOUTS = {
    "bare": ([], "none"),
    "CA placed by hand": (["pki/ca.crt"], "none"),
    "initialised control plane": ([*CONTROL_PLANE, "super-admin.conf"], "control_plane"),
    "joined control plane": (CONTROL_PLANE, "control_plane"),
    "worker": (["kubelet.conf", "pki/ca.crt"], "worker"),
    "worker join stopped in TLS bootstrap": (["bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
    "join stopped before bootstrap cleanup": (["kubelet.conf", "bootstrap-kubelet.conf", "pki/ca.crt"], "interrupted"),
    "control-plane join stopped before etcd-join": (
        ["admin.conf", "kubelet.conf", "manifests/kube-apiserver.yaml", "pki/ca.crt"],
        "interrupted",
    ),
    "init stopped before kubelet-start": (
        ["admin.conf", "super-admin.conf", "manifests/kube-apiserver.yaml", "manifests/etcd.yaml", "pki/ca.crt"],
        "interrupted",
    ),
}
PENDING = {"none", "interrupted"}


def find_task(path: pathlib.Path, name: str) -> dict[str, Any]:
    """The task called ``name`` in a tasks file or playbook, looking inside blocks and plays."""
    stack = list(yaml.safe_load(path.read_text()))
    while stack:
        item = stack.pop(0)
        if item.get("name") == name and "block" not in item and "tasks" not in item:
            return item
        for key in ("block", "tasks", "rescue", "always"):
            stack.extend(item.get(key) or [])
    raise AssertionError(f"{path.relative_to(REPO)} has no task {name!r}")


def trusted(value: Any) -> Any:
    """Task text as Ansible loads it from a role: trusted as a template, nested values included."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def templar(variables: dict[str, Any]) -> Templar:
    return Templar(loader=DataLoader(), variables=variables)


def runs(task: dict[str, Any], variables: dict[str, Any]) -> bool:
    """Whether the task's `when:` lets it run, with the task's own `vars:` that it reads."""
    variables = dict(variables)
    conditions = task.get("when", [])
    conditions = conditions if isinstance(conditions, list) else [conditions]
    for name, value in (task.get("vars") or {}).items():
        if any(name in str(condition) for condition in conditions):
            variables[name] = templar(variables).template(trusted(value))
    return all(templar(variables).evaluate_conditional(trust_as_template(str(c))) for c in conditions)


def node_info(harness, files: list[str]) -> dict[str, Any]:
    harness.place(files)
    version = {"stdout": "v1.33.4\n"}
    case = {"runs": [{"argv": [str(harness.kubeadm), "version", "-o", "short"], **version},
                     {"argv": [str(harness.kubeadm), "--version"], "stdout": "Kubernetes v1.33.4\n"}]}  # fmt: skip
    outcome = harness.run(kubeadm_node_info, case)
    assert outcome.kind == "exit", outcome.payload
    return outcome.payload


def join_verdict(harness, control_plane: bool) -> str:
    """What kubeadm_join, in check mode, says it would do on the node as it is: join, nothing, or fail."""
    params = {
        "api_server_endpoint": "k8s-api.example.com:6443",
        "token": "abcdef.0123456789abcdef",
        "discovery_token_ca_cert_hashes": [harness.ca["hash"]],
        "control_plane": control_plane,
    }
    outcome = harness.run(kubeadm_join, {"check_mode": True, "params": params})
    if outcome.kind == "fail":
        return "fail"
    return "join" if outcome.payload["changed"] else "nothing"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_consumer_decides_as_the_modules_do(harness, layout: str) -> None:
    files, role = LAYOUTS[layout]
    info = node_info(harness, files)
    assert info["node_state"]["role"] == role
    pending = role in PENDING
    play = {"inventory_hostname": "node1", "ansible_play_hosts": ["node1"], "ansible_check_mode": False}

    # kubeadm_init: the endpoint check (and so the init) runs on a node still to initialise.
    init = find_task(
        REPO / "roles/kubeadm_init/tasks/main.yml", "Prove that the control-plane endpoint forwards to this node"
    )
    assert runs(init, {**play, "__kubeadm_init_node": info, "kubeadm_init_endpoint_check": True}) is pending

    # control_plane_join: refuses a worker, joins a pending node, cleans up an interrupted one.
    cp_tasks = REPO / "roles/control_plane_join/tasks"
    cp_vars = {**play, "__control_plane_join_node": info}
    refusal = find_task(cp_tasks / "main.yml", "Fail when this node has joined as a worker")["ansible.builtin.assert"]
    refused = templar(cp_vars).evaluate_conditional(trust_as_template(refusal["that"])) is False
    cp_joins = runs(find_task(cp_tasks / "main.yml", "Join this control plane"), cp_vars)
    cp_cleans = runs(find_task(cp_tasks / "join.yml", "Stop the kubelet an interrupted join left running"), cp_vars)
    expected = "fail" if refused else "join" if cp_joins else "nothing"
    assert join_verdict(harness, control_plane=True) == expected
    assert cp_joins is pending
    assert cp_cleans is (role == "interrupted")

    # worker_join: the play's pending list and the join task agree with kubeadm_join as a worker.
    worker = {
        **play,
        "__worker_join_node": info,
        "hostvars": {"node1": {"inventory_hostname": "node1", "__worker_join_node": info}},
    }
    worker_tasks = REPO / "roles/worker_join/tasks"
    noted = find_task(worker_tasks / "main.yml", "Note this play's workers that are still to join")
    pending_hosts = templar(worker).template(
        trust_as_template(noted["ansible.builtin.set_fact"]["__worker_join_pending"])
    )
    worker["__worker_join_pending"] = pending_hosts
    assert runs(find_task(worker_tasks / "main.yml", "Join the pending workers"), worker) is pending
    assert (pending_hosts == ["node1"]) is pending
    join = find_task(worker_tasks / "join.yml", "Join as a worker")
    assert runs(join, worker) is pending
    assert join_verdict(harness, control_plane=False) == ("join" if pending else "nothing")

    # remove_node.yml: kubeadm reset runs wherever kubeadm left anything (every role but none).
    reset = find_task(REPO / "playbooks/remove_node.yml", "Run kubeadm reset (it removes this node's etcd member too)")
    assert runs(reset, {**play, "__remove_node_info": info}) is (role != "none")


def test_worker_token_freshness_is_judged_by_the_module(harness) -> None:
    """worker_join hands token_min_ttl to kubeadm_join_credentials as given: 1h30m means 90 minutes.

    The role once parsed the duration in Jinja and read 1h30m as 60 s, reusing a token with 30
    minutes left. Here the role's own mint task, rendered with token_min_ttl 1h30m, meets such a
    token and must mint a new one.
    """
    task = find_task(
        REPO / "roles/worker_join/tasks/join.yml", "Mint or reuse worker credentials on the chosen control plane"
    )
    args = task["kubeha.kubeadm.kubeadm_join_credentials"]
    rendered = templar({"worker_join_token_ttl": "2h", "worker_join_token_min_ttl": "1h30m"}).template(trusted(args))
    assert rendered == {"kind": "worker", "token_ttl": "2h", "token_min_ttl": "1h30m", "token_reuse": True}
    list_argv = [str(harness.kubeadm), "token", "list", "-o", "json", "--kubeconfig", str(harness.root / "admin.conf")]
    thirty_minutes_left = {
        "fixture": "constructed_token_list_after_init.json",
        "replace": [["2025-05-13T12:00:00Z", "2025-05-12T13:30:00Z"]],
    }
    case = {
        "node": CONTROL_PLANE,
        "params": rendered,
        "runs": [
            {"argv": list_argv, "stdout": thirty_minutes_left},
            {"argv": [*list_argv[:2], "create", "--ttl", "2h", *list_argv[-2:]], "stdout": "x1y2z3.abcdefghij012345\n"},
        ],
    }  # fmt: skip
    outcome = harness.run(kubeadm_join_credentials, case)
    assert outcome.kind == "exit", outcome.payload
    assert outcome.payload["join_credentials"]["token_reused"] is False
    # And no duration is parsed in the role any more.
    role_text = "".join(p.read_text() for p in (REPO / "roles/worker_join").rglob("*.yml"))
    assert "regex_search" not in role_text
    assert "timestamp()" not in role_text
