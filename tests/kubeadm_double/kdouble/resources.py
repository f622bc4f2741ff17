"""The kinds the API double knows (a fixed list of built-ins plus CRDs it was given), discovery
documents for them, and server-side printing (Tables) in the shape kubectl asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import clock

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    singular: str = ""
    subresources: tuple[str, ...] = field(default=())
    # Discovery categories: `kubectl get all` lists the kinds in "all".
    categories: tuple[str, ...] = field(default=())

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def key(self, namespace: str | None, name: str = "") -> str:
        """etcd key of an object, or the prefix of a list (namespace None lists all namespaces)."""
        base = f"/registry/{self.group or 'core'}/{self.plural}/"
        if not self.namespaced:
            return f"{base}_/{name}"
        if namespace is None:
            return base
        return f"{base}{namespace}/{name}"


def _r(group, version, plural, kind, namespaced, *, short=(), sub=(), categories=()):
    return Resource(group, version, plural, kind, namespaced, tuple(short), kind.lower(), tuple(sub), tuple(categories))


ALL = ("all",)


BUILTINS = [
    _r("", "v1", "namespaces", "Namespace", False, short=["ns"], sub=["status"]),
    _r("", "v1", "nodes", "Node", False, short=["no"], sub=["status"]),
    _r("", "v1", "pods", "Pod", True, short=["po"], sub=["status"], categories=ALL),
    _r("", "v1", "configmaps", "ConfigMap", True, short=["cm"]),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "services", "Service", True, short=["svc"], sub=["status"], categories=ALL),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, short=["sa"]),
    _r("", "v1", "endpoints", "Endpoints", True, short=["ep"]),
    _r("", "v1", "events", "Event", True, short=["ev"]),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, short=["pvc"]),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, short=["pv"]),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, short=["quota"]),
    _r("", "v1", "limitranges", "LimitRange", True, short=["limits"]),
    _r("apps", "v1", "deployments", "Deployment", True, short=["deploy"], sub=["status", "scale"], categories=ALL),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, short=["ds"], sub=["status"], categories=ALL),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, short=["sts"], sub=["status"], categories=ALL),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, short=["rs"], sub=["status"], categories=ALL),
    _r("batch", "v1", "jobs", "Job", True, sub=["status"], categories=ALL),
    _r("batch", "v1", "cronjobs", "CronJob", True, short=["cj"], sub=["status"], categories=ALL),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short=["crd", "crds"],
        sub=["status"],
    ),
    _r(
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        False,
        short=["csr"],
        sub=["status", "approval"],
    ),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, short=["pdb"], sub=["status"]),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, short=["netpol"]),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short=["sc"]),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short=["pc"]),
    _r(
        "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False
    ),
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, sub=["status"]),
]

CRD_RESOURCE = next(r for r in BUILTINS if r.plural == "customresourcedefinitions")


def from_crd(crd: dict) -> list[Resource]:
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    out = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        sub = tuple(version.get("subresources", {}) or ())
        out.append(
            Resource(
                spec.get("group", ""),
                version["name"],
                names.get("plural", ""),
                names.get("kind", ""),
                spec.get("scope", "Namespaced") == "Namespaced",
                tuple(names.get("shortNames", []) or ()),
                names.get("singular", "") or names.get("kind", "").lower(),
                sub,
                tuple(names.get("categories", []) or ()),
            )
        )
    return out


def api_versions(address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def groups_of(resources: list[Resource]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for res in resources:
        if res.group:
            versions = groups.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
    return groups


def api_group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(resources: list[Resource]) -> dict:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [api_group(name, versions) for name, versions in groups_of(resources).items()],
    }


def resource_list(group_version: str, resources: list[Resource]) -> dict:
    entries = []
    for res in resources:
        if res.group_version != group_version:
            continue
        entries.append(
            {
                "name": res.plural,
                "singularName": res.singular,
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": VERBS,
                **({"shortNames": list(res.short)} if res.short else {}),
                **({"categories": list(res.categories)} if res.categories else {}),
            }
        )
        for sub in res.subresources:
            entries.append(
                {
                    "name": f"{res.plural}/{sub}",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


# --- Tables ---------------------------------------------------------------------------------
def _age(meta: dict) -> str:
    created = meta.get("creationTimestamp")
    if not created:
        return "<unknown>"
    return clock.human((datetime.now(timezone.utc) - clock.parse_rfc3339(created)).total_seconds())


def _node_cells(obj: dict) -> list:
    conditions = {c.get("type"): c.get("status") for c in obj.get("status", {}).get("conditions", [])}
    ready = conditions.get("Ready")
    status = "Unknown" if ready is None else ("Ready" if ready == "True" else "NotReady")
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in obj.get("metadata", {}).get("labels", {}) if k.startswith(prefix))
    version = obj.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")
    return [obj["metadata"]["name"], status, ",".join(roles) or "<none>", _age(obj["metadata"]), version]


def _pod_cells(obj: dict) -> list:
    phase = obj.get("status", {}).get("phase", "Pending")
    count = len(obj.get("spec", {}).get("containers", []))
    ready = count if phase == "Running" else 0
    return [obj["metadata"]["name"], f"{ready}/{count}", phase, 0, _age(obj["metadata"])]


def _default_cells(obj: dict) -> list:
    return [obj["metadata"]["name"], _age(obj["metadata"])]


def _col(name: str, kind: str = "string", fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": 0}


def table(res: Resource, objects: list[dict], resource_version: str) -> dict:
    if res.plural == "nodes":
        columns = [_col("Name", fmt="name"), _col("Status"), _col("Roles"), _col("Age"), _col("Version")]
        cells = _node_cells
    elif res.plural == "pods":
        columns = [_col("Name", fmt="name"), _col("Ready"), _col("Status"), _col("Restarts", "integer"), _col("Age")]
        cells = _pod_cells
    else:
        columns = [_col("Name", fmt="name"), _col("Age")]
        cells = _default_cells
    rows = []
    for obj in objects:
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}
        rows.append({"cells": cells(obj), "object": partial})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }


# --- OpenAPI v3 (only what kubectl reads to learn that the server validates fields itself) ---
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(resources: list[Resource]) -> dict:
    paths = {}
    for res in resources:
        path = _gv_path(res.group, res.version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash=0"}
    return {"paths": paths}


def openapi_group_version(gv_path: str, resources: list[Resource], version: str) -> dict | None:
    """Each resource's PATCH declares x-kubernetes-group-version-kind and the fieldValidation
    parameter: kubectl then sends fieldValidation=Strict instead of validating client-side."""
    paths = {}
    for res in resources:
        if _gv_path(res.group, res.version) != gv_path:
            continue
        scope = "namespaces/{namespace}/" if res.namespaced else ""
        operation = {
            "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind},
            "x-kubernetes-action": "patch",
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"/{gv_path}/{scope}{res.plural}/{{name}}"] = {"patch": operation}
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (test double)", "version": version},
        "paths": paths,
        "components": {"schemas": {}},
    }
