"""`kubeadm reset`: remove the etcd member only when kubeadm-config can be read, then clean the node."""

from __future__ import annotations

import os
import shutil
import sys

import yaml

from . import httpc, manifests, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, klog, out, parse
from .common import ADMIN_CONF, COMMON, KUBE, PKI, etcd_endpoints, go_transport_error, systemctl
from .etcd import Etcd, EtcdError

RESET_FLAGS = {
    **COMMON,
    "force": "bool",
    "cert-dir": "str",
    "cri-socket": "str",
    "ignore-preflight-errors": "list",
    "kubeconfig": "str",
    "skip-phases": "list",
    "dry-run": "bool",
    "cleanup-tmp-dir": "bool",
    "config": "str",
}


# --- reset ----------------------------------------------------------------------------------
def cmd_reset(argv: list[str], release: versions.Release) -> int:  # noqa: PLR0912 - reset phases in order
    values, _positional, _given = parse(argv, FlagSpec(RESET_FLAGS, {"f": "force"}), release)
    kubeconfig = values.get("kubeconfig", ADMIN_CONF)
    have_config = False
    admin = None
    if os.path.exists(kubeconfig):
        out('[reset] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
        if release.minor >= 35:  # F17's wording
            out("[reset] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.")
        else:
            out("[reset] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
        admin = Client.from_kubeconfig(kubeconfig)
        url = f"{admin.server}/api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s"
        try:
            admin.call("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", timeout=10)
            have_config = True
        except httpc.HTTPError as err:
            klog(
                "W",
                "reset.go:141",
                "[reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to "
                f"get config map: {err.json().get('message', err)}",
            )
        except OSError as exc:
            klog(
                "W",
                "reset.go:141",
                "[reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to "
                f'get config map: Get "{url}": {go_transport_error(exc, admin.server.replace("https://", ""))}',
            )
    klog(
        "W",
        "preflight.go:55",
        "[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.",
    )
    if not values.get("force"):
        sys.stdout.write("[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        if answer.lower() != "y":
            raise Fail(
                release.phase_error("preflight", "won't proceed; the user didn't answer (Y|y) in order to continue")
            )
    out("[preflight] Running pre-flight checks")
    etcd_manifest = f"{manifests.MANIFESTS}/etcd.yaml"
    wipe_etcd = False
    if os.path.exists(etcd_manifest):
        if have_config and admin is not None:
            try:
                remove_etcd_member(admin)
                wipe_etcd = True
            except (EtcdError, httpc.HTTPError, OSError) as err:
                klog(
                    "W",
                    "removeetcdmember.go:61",
                    f"[reset] Failed to remove etcd member: {err}, please manually "
                    "remove this etcd member using etcdctl",
                )
        else:
            klog("W", "removeetcdmember.go:105", "[reset] No kubeadm config, using etcd pod spec to get data directory")
            wipe_etcd = True
    elif not have_config:
        # No kubeadm config and no etcd pod spec (a worker): kubeadm falls back to the default
        # data directory and empties it all the same (FACTS-2 part B §7, real 1.34 worker output).
        klog("W", "removeetcdmember.go:105", "[reset] No kubeadm config, using etcd pod spec to get data directory")
        wipe_etcd = True
    else:
        out("[reset] No etcd config found. Assuming external etcd")
        out("[reset] Please, manually reset etcd to prevent further issues")
    if wipe_etcd:
        out("[reset] Deleted contents of the etcd data directory: /var/lib/etcd")
    out("[reset] Stopping the kubelet service")
    systemctl("stop", "kubelet")
    if wipe_etcd:
        clear_dir("/var/lib/etcd")
    out('[reset] Unmounting mounted directories in "/var/lib/kubelet"')
    dirs = [manifests.MANIFESTS, "/var/lib/kubelet", PKI]
    if values.get("cleanup-tmp-dir"):  # kubeadm's backups of upgraded manifests and etcd data
        dirs.append(os.path.join(KUBE, "tmp"))
    for path in dirs:
        clear_dir(path)
    out(f"[reset] Deleting contents of directories: [{' '.join(dirs)}]")
    files = [
        f"{KUBE}/{n}"
        for n in (
            "admin.conf",
            "super-admin.conf",
            "kubelet.conf",
            "bootstrap-kubelet.conf",
            "controller-manager.conf",
            "scheduler.conf",
        )
    ]
    for path in files:
        if os.path.exists(path):
            os.remove(path)
    out(f"[reset] Deleting files: [{' '.join(files)}]")
    out()
    if release.minor <= 30:  # the note before it pointed to the documentation (FACTS-2 part B §7)
        out("The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d")
        out()
        out("The reset process does not reset or clean up iptables rules or IPVS tables.")
        out('If you wish to reset iptables, you must do so manually by using the "iptables" command.')
        out()
        out("If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)")
        out("to reset your system's IPVS tables.")
        out()
        out("The reset process does not clean your kubeconfig files and you must remove them manually.")
        out("Please, check the contents of the $HOME/.kube/config file.")
        return 0
    out("The reset process does not perform cleanup of CNI plugin configuration,")
    out("network filtering rules and kubeconfig files.")
    out()
    out("For information on how to perform this cleanup manually, please see:")
    out("    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/")
    out()
    return 0


def remove_etcd_member(admin: Client) -> None:
    with open(f"{manifests.MANIFESTS}/etcd.yaml", encoding="utf-8") as handle:
        command = yaml.safe_load(handle)["spec"]["containers"][0]["command"]
    peer = next(a.split("=", 1)[1] for a in command if a.startswith("--initial-advertise-peer-urls="))
    own = next(a.split("=", 1)[1] for a in command if a.startswith("--advertise-client-urls="))
    endpoints = etcd_endpoints(admin)
    ordered = [e for e in endpoints if e != own] + [own]
    client = Etcd.for_apiserver(ordered, timeout=10)
    members = client.members()
    if len(members) == 1 and peer in members[0].get("peerURLs", []):
        return  # the only remaining member: kubeadm skips the removal and just wipes the data
    for member in members:
        if peer in member.get("peerURLs", []):
            client.member_remove(member["ID"])


def clear_dir(path: str) -> None:
    if not os.path.isdir(path):
        return
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        else:
            os.remove(full)
