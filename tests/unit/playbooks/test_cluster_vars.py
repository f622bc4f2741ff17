"""playbooks/vars/cluster.yml as the plays resolve it, against what validation checks.

ansible-playbook resolves the file's `__kubeha_*` variables on the controller only (every task
runs with the local connection and writes each host's view to a file), for inventories whose
load balancers and control planes have IPv6 addresses; cluster_problems then gets the same
inventory as playbooks/validate.yml would hand it, and must see the same cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.filter import cluster_problems

ROOT = Path(__file__).resolve().parents[3]
VIEW = [
    "__kubeha_control_plane_endpoint",
    "__kubeha_init_host",
    "__kubeha_node_address",
    "__kubeha_node_name",
    "__kubeha_control_planes",
    "__kubeha_api_backends",
    "__kubeha_api_port",
    "__kubeha_remove_nodes",
    "__kubeha_loadbalancer_on_control_planes",
    "__kubeha_loadbalancer_hosts",
    "__kubeha_loadbalancer_port",
]
PLAYBOOK = f"""
- name: Write each host's view of the cluster variables
  hosts: all
  connection: local
  gather_facts: false
  vars_files: [{ROOT}/playbooks/vars/cluster.yml]
  tasks:
    - name: Write the view
      ansible.builtin.copy:
        content: "{{{{ {{{", ".join(f"'{name}': {name}" for name in VIEW)}}} | to_json }}}}"
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}.json"
        mode: "0600"
"""


def inventory(lb_vars: dict[str, Any] | None) -> dict[str, Any]:
    """The inventory, its load balancer lb1 with `lb_vars`; None leaves the group out."""
    lbs = {} if lb_vars is None else {"loadbalancer": {"hosts": {"lb1": {"ansible_host": "fd00::10", **lb_vars}}}}
    return {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable},
            "children": {
                **lbs,
                "control_plane": {
                    "hosts": {
                        "cp1": {"ansible_host": "fd00::21"},
                        "cp2": {"kubeha_node_address": "fd00::22", "kubeha_node_name": "cp-2"},
                        "cp3": {"ansible_host": "192.0.2.23"},
                    }
                },
                "workers": {"hosts": {"w1": {"ansible_host": "fd00::31"}}},
            },
        }
    }


def resolve(
    tmp_path: Path,
    lb_vars: dict[str, Any] | None,
    extra_vars: dict[str, Any],
    playbook: str = PLAYBOOK,
    hosts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every host's view of vars/cluster.yml (what `playbook` writes), as ansible-playbook resolves it,
    on `inventory(lb_vars)` or on the inventory `hosts`."""
    collections = tmp_path / "collections"
    (collections / "ansible_collections" / "kubeha").mkdir(parents=True)
    (collections / "ansible_collections" / "kubeha" / "kubeadm").symlink_to(ROOT)
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(hosts or inventory(lb_vars)))
    (tmp_path / "playbook.yml").write_text(playbook)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_FORCE_COLOR": "0"}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(tmp_path / "inventory.yml"),
            str(tmp_path / "playbook.yml"),
            "-e",
            json.dumps({"out": str(out), **extra_vars}),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


def validation_input(views: dict[str, dict[str, Any]], lb_vars: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    """What playbooks/validate.yml hands to cluster_problems: each host's name and address, its LB settings."""
    members = {"loadbalancer": ["lb1"], "control_plane": ["cp1", "cp2", "cp3"], "workers": ["w1"]}
    hosts = [
        {
            "host": name,
            "node_name": view["__kubeha_node_name"],
            "node_address": view["__kubeha_node_address"],
            "lb": {
                "frontend_port": 6443,
                "keepalived_enabled": bool(lb_vars.get("loadbalancer_keepalived_enabled")) if name == "lb1" else False,
                "keepalived_vip": lb_vars.get("loadbalancer_keepalived_vip", "") if name == "lb1" else "",
            },
        }
        for name, view in views.items()
    ]
    raw = {"kubernetes_version": "1.33.4", "api_port": 6443, "init_host": "", "control_plane_endpoint": ""}
    return {
        "groups": {key: {"name": key, "hosts": names} for key, names in members.items()},
        "hosts": hosts,
        "cluster": {**raw, **cluster},
    }


@pytest.mark.parametrize(
    ("lb_vars", "endpoint"),
    [
        pytest.param({}, "[fd00::10]:6443", id="first-lb"),
        pytest.param(
            {"loadbalancer_keepalived_enabled": True, "loadbalancer_keepalived_vip": "fd00::100"},
            "[fd00::100]:6443",
            id="keepalived-vip",
        ),
    ],
)
def test_the_playbook_uses_the_endpoint_validation_checks(
    tmp_path: Path, lb_vars: dict[str, Any], endpoint: str
) -> None:
    views = resolve(tmp_path, lb_vars, {"kubeha_remove_nodes": "w1, cp3"})
    assert sorted(views) == ["cp1", "cp2", "cp3", "lb1", "w1"]
    assert {view["__kubeha_control_plane_endpoint"] for view in views.values()} == {endpoint}

    data = validation_input(views, lb_vars)
    checker = cluster_problems._Checker(data, lambda _name: False)
    assert checker.cluster["control_plane_endpoint"] == endpoint
    assert checker.layout.init_host == views["cp1"]["__kubeha_init_host"] == "cp1"
    assert checker.layout.control_planes == views["cp1"]["__kubeha_control_planes"]
    # The endpoint the playbook uses, given as is, is one validation accepts.
    data["cluster"]["control_plane_endpoint"] = views["cp1"]["__kubeha_control_plane_endpoint"]
    problems = cluster_problems.collect(data, lambda _name: False)
    assert [p["line"] for p in problems if p["variable"] == "kubeha_control_plane_endpoint"] == []


def test_the_hosts_own_values(tmp_path: Path) -> None:
    views = resolve(tmp_path, {}, {"kubeha_remove_nodes": "w1, cp3", "kubeha_api_port": "7443"})
    assert views["cp2"]["__kubeha_node_address"] == "fd00::22"
    assert views["cp2"]["__kubeha_node_name"] == "cp-2"
    assert views["cp3"]["__kubeha_node_address"] == "192.0.2.23"
    assert views["lb1"]["__kubeha_node_name"] == "lb1"
    assert views["w1"]["__kubeha_api_port"] == 7443
    assert views["w1"]["__kubeha_remove_nodes"] == ["w1", "cp3"]
    assert views["w1"]["__kubeha_api_backends"] == [
        {"name": "cp1", "address": "fd00::21", "port": 7443},
        {"name": "cp2", "address": "fd00::22", "port": 7443},
    ]


def test_cluster_vars_compute_nothing_in_jinja() -> None:
    """The layout is worked out in Python: each expression of vars/cluster.yml has two filters at most."""
    found: list[tuple[str, int]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{name}.{key}", item)
        elif isinstance(value, str):
            filters = len(re.findall(r"(?<!\|)\|(?!\|)", value))
            if filters > 2:
                found.append((name, filters))

    for name, value in yaml.safe_load((ROOT / "playbooks" / "vars" / "cluster.yml").read_text()).items():
        walk(name, value)
    assert found == []


def test_without_load_balancers_the_vip_puts_haproxy_on_the_control_planes(tmp_path: Path) -> None:
    extra = {"kubeha_control_plane_vip": "fd00::50", "kubeha_init_host": "cp2"}
    views = resolve(tmp_path, None, extra)
    assert sorted(views) == ["cp1", "cp2", "cp3", "w1"]
    for name in ("cp1", "cp2", "cp3", "w1"):
        assert views[name]["__kubeha_loadbalancer_on_control_planes"] is True
        assert views[name]["__kubeha_loadbalancer_hosts"] == ["cp2", "cp1", "cp3"]
        assert views[name]["__kubeha_loadbalancer_port"] == 8443
        assert views[name]["__kubeha_control_plane_endpoint"] == "[fd00::50]:8443"
        assert {b["port"] for b in views[name]["__kubeha_api_backends"]} == {6443}
    # With load balancer hosts the VIP is not used (validation reports it); they run haproxy.
    (tmp_path / "plain").mkdir()
    plain = resolve(tmp_path / "plain", {}, extra)
    assert plain["cp1"]["__kubeha_loadbalancer_hosts"] == ["lb1"]
    assert plain["cp1"]["__kubeha_loadbalancer_port"] == 6443
    assert plain["cp1"]["__kubeha_loadbalancer_on_control_planes"] is False


def conditions(task: dict[str, Any]) -> list[str]:
    when = task.get("when", [])
    return [when] if isinstance(when, str) else list(when)


def drain_playbook() -> str:
    """The backend drain and put-back tasks of playbooks/tasks/upgrade_node.yml, their hosts and
    conditions as written there, evaluated on each control plane (nothing delegated, nothing run)."""
    tasks = yaml.safe_load((ROOT / "playbooks" / "tasks" / "upgrade_node.yml").read_text())
    steps = [
        task
        for block in tasks
        for task in block.get("block", [])
        if (task.get("ansible.builtin.include_role") or {}).get("tasks_from") == "backend"
    ]
    written = [
        {
            "name": f"Record {step['vars']['loadbalancer_backend_state']}",
            "ansible.builtin.copy": {
                "content": "{{ {'hosts': __drain_hosts, 'runs': __drain_runs | bool} | to_json }}",
                "dest": f"{{{{ out }}}}/{{{{ inventory_hostname }}}}.{step['vars']['loadbalancer_backend_state']}.json",
                "mode": "0600",
            },
            "vars": {
                "__drain_hosts": step["vars"]["loadbalancer_backend_hosts"],
                "__drain_runs": "{{ " + " and ".join(f"({c})" for c in conditions(step)) + " }}",
            },
        }
        for step in steps
    ]
    assert [task["name"] for task in written] == ["Record drain", "Record ready"]
    play = {
        "name": "Record where upgrade_node.yml drains a control plane's backend",
        "hosts": "control_plane",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [f"{ROOT}/playbooks/vars/cluster.yml", f"{ROOT}/playbooks/vars/upgrade.yml"],
        "vars": {"__upgrade_control_plane": True},
        "tasks": written,
    }
    return yaml.safe_dump([play])


@pytest.mark.parametrize(
    ("lb_vars", "extra", "expected"),
    [
        pytest.param({}, {}, ["lb1"], id="on-the-load-balancer-hosts"),
        pytest.param(
            None, {"kubeha_control_plane_vip": "fd00::50"}, ["cp1", "cp2", "cp3"], id="on-every-control-plane"
        ),
        pytest.param(None, {"kubeha_require_ha": False}, None, id="no-load-balancer-nothing-to-drain"),
    ],
)
def test_an_upgrade_drains_the_backend_on_every_host_that_runs_haproxy(
    tmp_path: Path, lb_vars: dict[str, Any] | None, extra: dict[str, Any], expected: list[str] | None
) -> None:
    views = resolve(tmp_path, lb_vars, extra, drain_playbook())
    for cp in ("cp1", "cp2", "cp3"):
        for state in ("drain", "ready"):
            view = views[f"{cp}.{state}"]
            if expected is None:
                assert view["runs"] is False, (cp, state, view)
            else:
                # With haproxy on the control planes, each one's own haproxy is drained too.
                assert view == {"hosts": expected, "runs": True}, (cp, state)


# A task that writes the hosts of the batch it runs in, one file per batch.
RECORD_BATCH = {
    "name": "Record this batch",
    "ansible.builtin.copy": {
        "content": "{{ ansible_play_batch | to_json }}",
        "dest": "{{ out }}/batch-{{ ansible_play_batch | first }}.json",
        "mode": "0600",
    },
    "run_once": True,
}


def batches_playbook() -> str:
    """upgrade.yml's batch plan and its workers play's `serial`, as written there, each recording
    the batches it makes (nothing else of the plays runs)."""
    plays = {play["name"]: play for play in yaml.safe_load((ROOT / "playbooks" / "upgrade.yml").read_text())}
    plan = plays["Plan the workers' batches"]
    workers = plays["Upgrade the workers, a batch at a time"]
    vars_files = [f"{ROOT}/playbooks/{name}" for name in plan["vars_files"]]
    assert workers["vars_files"] == plan["vars_files"]
    shown = plan["tasks"][0]
    record_plan = {
        "name": "Record the plan",
        "ansible.builtin.copy": {
            "content": "{{ {'plan': __upgrade_batches, 'said': __said} | to_json }}",
            "dest": "{{ out }}/plan.json",
            "mode": "0600",
        },
        "run_once": True,
        "vars": {**shown["vars"], "__said": shown["ansible.builtin.debug"]["msg"]},
    }
    common = {"connection": "local", "gather_facts": False, "vars_files": vars_files}
    return yaml.safe_dump(
        [
            {"name": plan["name"], "hosts": plan["hosts"], **common, "tasks": [record_plan]},
            {
                "name": workers["name"],
                "hosts": workers["hosts"],
                "serial": workers["serial"],
                **common,
                "tasks": [RECORD_BATCH],
            },
        ]
    )


@pytest.mark.parametrize(
    ("count", "inventory_batch", "extra", "sizes"),
    [
        pytest.param(0, None, {}, [], id="no-workers"),
        pytest.param(2, None, {}, [1, 1], id="default-2-workers"),
        pytest.param(21, None, {}, [4, 4, 4, 4, 4, 1], id="default-21-workers"),
        pytest.param(5, "40%", {}, [2, 2, 1], id="inventory"),
        pytest.param(5, "40%", {"kubeha_upgrade_worker_batch": 3}, [3, 2], id="extra-var-over-inventory"),
    ],
)
def test_the_printed_batches_are_the_ones_the_workers_play_runs(
    tmp_path: Path, count: int, inventory_batch: str | None, extra: dict[str, Any], sizes: list[int]
) -> None:
    names = [f"w{i:02}" for i in range(1, count + 1)]  # inventory order: the dump sorts them
    group_vars = {"ansible_python_interpreter": sys.executable}
    if inventory_batch is not None:
        group_vars["kubeha_upgrade_worker_batch"] = inventory_batch
    hosts = {"all": {"vars": group_vars, "children": {"workers": {"hosts": dict.fromkeys(names)}}}}
    written = resolve(tmp_path, None, extra, batches_playbook(), hosts)
    ran = sorted((v for k, v in written.items() if k.startswith("batch-")), key=lambda b: names.index(b[0]))
    assert [len(batch) for batch in ran] == sizes
    assert [h for batch in ran for h in batch] == names
    assert written.get("plan", {"plan": []})["plan"] == ran
    if ran:
        batch = extra.get("kubeha_upgrade_worker_batch", inventory_batch or "20%")
        said = written["plan"]["said"]
        assert said.startswith(f"workers in {len(sizes)} batches of {batch}: w01"), said


def test_validation_gathers_the_package_manager_its_upgrade_check_reads(tmp_path: Path) -> None:
    """validate.yml's fact gathering, as written there, yields ansible_pkg_mgr (apt on this Debian
    controller) and hands the facts to the checks: without it a dnf node would pass unnoticed."""
    tasks = {
        task["name"]: task for task in yaml.safe_load((ROOT / "playbooks" / "validate.yml").read_text())[0]["tasks"]
    }
    gather = tasks["Gather the platform and network facts"]
    handed = tasks["Record this host's view of the cluster"]["ansible.builtin.set_fact"]["__validate_host"]["facts"]
    record = {
        "name": "Record the package manager the checks get",
        "ansible.builtin.copy": {
            "content": "{{ {'pkg_mgr': __handed.pkg_mgr | default('')} | to_json }}",
            "dest": "{{ out }}/{{ inventory_hostname }}.json",
            "mode": "0600",
        },
        "vars": {"__handed": handed},
    }
    play = {"name": "Gather as validate.yml does", "hosts": "w1", "connection": "local", "gather_facts": False}
    written = resolve(tmp_path, {}, {}, yaml.safe_dump([{**play, "tasks": [gather, record]}]))
    assert written["w1"] == {"pkg_mgr": "apt"}


def control_plane_join_playbook() -> str:
    """validate.yml's last task as written there, over a stand-in for its host records (node_role
    from each host's `role`), then ha_cluster.yml's control-plane join play as written there
    (hosts, serial, vars_files), recording each batch it makes."""
    validate = yaml.safe_load((ROOT / "playbooks" / "validate.yml").read_text())[0]
    keep = next(task for task in validate["tasks"] if task["name"].startswith("Keep the cluster layout"))
    plays = {play["name"]: play for play in yaml.safe_load((ROOT / "playbooks" / "ha_cluster.yml").read_text())}
    join = plays["Join the control planes, one at a time"]
    assert validate["vars_files"][0] == join["vars_files"][0] == "vars/cluster.yml"
    common = {"connection": "local", "gather_facts": False, "vars_files": [f"{ROOT}/playbooks/vars/cluster.yml"]}
    record = {
        "name": "Record the host's view",
        "ansible.builtin.set_fact": {"__validate_host": {"node_role": "{{ role }}"}},
        "when": "role is defined",
    }
    return yaml.safe_dump(
        [
            {"name": "Validate (stand-in)", "hosts": "all", **common, "tasks": [record, keep]},
            {"name": join["name"], "hosts": join["hosts"], "serial": join["serial"], **common, "tasks": [RECORD_BATCH]},
        ]
    )


@pytest.mark.parametrize(
    ("roles", "batches"),
    [
        pytest.param(["control_plane"] * 3, [["cp1", "cp2", "cp3"]], id="all-joined-at-once"),
        pytest.param(["control_plane", "none", "control_plane"], [["cp1"], ["cp2"], ["cp3"]], id="one-pending"),
        pytest.param(["control_plane", "interrupted", "control_plane"], [["cp1"], ["cp2"], ["cp3"]], id="interrupted"),
        pytest.param(["control_plane", None, "control_plane"], [["cp1"], ["cp2"], ["cp3"]], id="not-validated"),
    ],
)
def test_control_planes_join_one_at_a_time_unless_every_one_has_joined(
    tmp_path: Path, roles: list[str | None], batches: list[list[str]]
) -> None:
    control_planes = {f"cp{n}": ({} if role is None else {"role": role}) for n, role in enumerate(roles, start=1)}
    hosts = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable},
            "children": {
                "loadbalancer": {"hosts": {"lb1": {"role": ""}}},
                "control_plane": {"hosts": control_planes},
                "workers": {"hosts": {"w1": {"role": "none"}}},
            },
        }
    }
    written = resolve(tmp_path, None, {}, control_plane_join_playbook(), hosts)
    assert sorted(written.values()) == batches
