"""The API double: an HTTPS server with the cluster's real certificates that keeps objects in
the real etcd, for what kubeadm, the kubelet double and kubectl need from an API server.

What it models (and where a real control plane would do it):
  * authentication: client certificates against --client-ca-file, bootstrap tokens
    (Bearer <id>.<secret>), anonymous for health endpoints, /version and cluster-info;
  * authorization: coarse (see README): certificate users may do anything, bootstrap-token
    users only what kubeadm join needs, anonymous only the public endpoints;
  * the bootstrap signer (JWS in cluster-info), the token cleaner (expired tokens vanish), the
    garbage collector for Secrets owned by a vanished Secret (kubeadm-certs), and the CSR
    approver + signer for kubelet client certificates (controller-manager's jobs);
  * /readyz and /healthz fail when its etcd member cannot serve a linearizable read.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import string
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from cryptography import x509

from . import clock, pki, tokens, versions
from .etcd import Etcd, EtcdError, _b64, prefix_end
from .resources import (
    BUILTINS,
    CRD_RESOURCE,
    Resource,
    api_group,
    api_group_list,
    api_versions,
    from_crd,
    groups_of,
    openapi_group_version,
    openapi_root,
    resource_list,
    table,
)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
NODE_GRACE_SECONDS = 40  # the node lifecycle controller's node-monitor-grace-period


class APIError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(res: Resource, name: str) -> APIError:
    what = f"{res.plural}.{res.group}" if res.group else res.plural
    return APIError(404, "NotFound", f'{what} "{name}" not found', {"name": name, "kind": res.plural})


def now_rfc3339() -> str:
    return clock.rfc3339(datetime.now(timezone.utc))


def deep_merge(base: dict, patch: dict) -> dict:
    """JSON merge patch (RFC 7386); also used for server-side apply (lists are replaced)."""
    out = dict(base)
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # strategic-merge directives: treated as a plain merge patch
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def json_patch(obj: dict, ops: list[dict]) -> dict:
    """RFC 6902 add/replace/remove/test on an object, enough for kubectl's JSON patches."""
    obj = json.loads(json.dumps(obj))
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if op["op"] == "add":
                    parent.insert(index, op["value"])
                else:
                    parent[index] = op["value"]
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif (
            op["op"] == "test" and (parent[int(last)] if isinstance(parent, list) else parent.get(last)) != op["value"]
        ):
            raise APIError(422, "Invalid", "the test operation failed")
    return obj


def match_labels(labels: dict, selector: str) -> bool:  # noqa: PLR0911, PLR0912 - one branch per operator
    """Equality- and set-based label selectors as kubectl sends them."""
    if not selector:
        return True
    depth, term, terms = 0, "", []
    for char in selector:  # split on commas outside parentheses
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(term)
            term = ""
        else:
            term += char
    terms.append(term)
    for raw in terms:
        term = raw.strip()
        if " notin " in term or " in " in term:
            negate = " notin " in term
            key, values = term.split(" notin " if negate else " in ", 1)
            wanted = {v.strip() for v in values.strip().strip("()").split(",")}
            present = labels.get(key.strip()) in wanted
            if present == negate:
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term and term not in labels:
            return False
    return True


def match_fields(obj: dict, selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        negate = "!=" in term
        key, value = term.replace("==", "=").split("!=" if negate else "=", 1)
        current: object = obj
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if (str(current or "") == value) == negate:
            return False
    return True


class State:
    """Everything the server shares between request threads."""

    def __init__(self, args: dict[str, str]):
        self.args = args
        self.address = args.get("advertise-address", "127.0.0.1")
        self.port = int(args.get("secure-port", "6443"))
        endpoints = args.get("etcd-servers", "https://127.0.0.1:2379").split(",")
        self.etcd = Etcd(endpoints, args["etcd-cafile"], args["etcd-certfile"], args["etcd-keyfile"], timeout=5.0)
        self.client_ca = args.get("client-ca-file", "/etc/kubernetes/pki/ca.crt")
        # The controller-manager signs kubelet certificates with the cluster CA key; the double does it here.
        self.ca_key_file = self.client_ca[: -len(".crt")] + ".key"
        self.version = versions.current()
        self.last_gc = 0.0
        self.namespaces_ready = False
        self.lock = threading.Lock()
        self.crd_cache: tuple[tuple, list[Resource]] | None = None
        self.crd_lock = threading.Lock()

    # --- resources --------------------------------------------------------------------------
    def resources(self) -> list[Resource]:
        """The built-ins and every stored CRD's kinds. Every request needs them: the CRDs are read
        again only when their keys or revisions changed (an operator's CRDs are megabytes)."""
        prefix = CRD_RESOURCE.key(None).encode()
        listing = self.etcd.call(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)), "keys_only": True}
        )
        signature = tuple((kv.get("key"), kv.get("mod_revision")) for kv in listing.get("kvs") or [])
        with self.crd_lock:
            if self.crd_cache is not None and self.crd_cache[0] == signature:
                return self.crd_cache[1]
        crds, _revision = self.etcd.list(CRD_RESOURCE.key(None))
        out = list(BUILTINS)
        for crd, _rev in crds:
            out.extend(from_crd(crd))
        with self.crd_lock:
            self.crd_cache = (signature, out)
        return out

    def find(self, group: str, version: str, plural: str) -> Resource:
        for res in self.resources():
            if res.group == group and res.version == version and res.plural == plural:
                return res
        raise APIError(404, "NotFound", "the server could not find the requested resource")

    def housekeeping(self) -> None:
        """Token cleaner + garbage collector + system namespaces, at most every two seconds."""
        if time.monotonic() - self.last_gc < 2:
            return
        with self.lock:
            self.last_gc = time.monotonic()
            if not self.namespaces_ready:
                ns_res = BUILTINS[0]
                for name in SYSTEM_NAMESPACES:
                    obj = {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": name},
                        "spec": {"finalizers": ["kubernetes"]},
                        "status": {"phase": "Active"},
                    }
                    self.etcd.create(ns_res.key(None, name), self.stamp(obj, ns_res, None))
                self.namespaces_ready = True
            self.node_lifecycle()
            secret_res = next(r for r in BUILTINS if r.plural == "secrets")
            stored, _revision = self.etcd.list(secret_res.key("kube-system"))
            names = set()
            for obj, _rev in stored:
                if obj.get("type") == "bootstrap.kubernetes.io/token" and tokens.is_expired(obj):
                    self.etcd.delete(secret_res.key("kube-system", obj["metadata"]["name"]))
                else:
                    names.add(obj["metadata"]["name"])
            for obj, _rev in stored:
                owners = [o for o in obj["metadata"].get("ownerReferences", []) if o.get("kind") == "Secret"]
                if owners and not any(o.get("name") in names for o in owners):
                    self.etcd.delete(secret_res.key("kube-system", obj["metadata"]["name"]))

    def node_lifecycle(self) -> None:
        """The node lifecycle controller: a Node whose kubelet stopped posting status becomes Unknown."""
        node_res = BUILTINS[1]
        nodes, _revision = self.etcd.list(node_res.key(None))
        now = datetime.now(timezone.utc)
        for node, _rev in nodes:
            changed = False
            for cond in node.get("status", {}).get("conditions", []):
                beat = cond.get("lastHeartbeatTime")
                if cond.get("type") != "Ready" or cond.get("status") == "Unknown" or not beat:
                    continue
                if (now - clock.parse_rfc3339(beat)).total_seconds() > NODE_GRACE_SECONDS:
                    cond.update(
                        status="Unknown",
                        reason="NodeStatusUnknown",
                        lastTransitionTime=now_rfc3339(),
                        message="Kubelet stopped posting node status.",
                    )
                    changed = True
            if changed:
                self.etcd.put(node_res.key(None, node["metadata"]["name"]), node)

    def stamp(self, obj: dict, res: Resource, namespace: str | None) -> dict:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice(string.ascii_lowercase + string.digits) for _position in range(5)
            )
        if res.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta.pop("resourceVersion", None)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        if "spec" in obj and res.group:
            meta["generation"] = 1
        if res.plural == "customresourcedefinitions":
            obj["status"] = {
                "acceptedNames": obj.get("spec", {}).get("names", {}),
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "message": "no conflicts found",
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "message": "the initial names have been accepted",
                    },
                ],
                "storedVersions": [v["name"] for v in obj.get("spec", {}).get("versions", []) if v.get("storage")],
            }
        return obj

    # --- controllers the double folds into the API server ---------------------------------
    def sign_csr(self, obj: dict) -> dict:
        if obj.get("spec", {}).get("signerName") != KUBELET_SIGNER:
            return obj
        csr = x509.load_pem_x509_csr(base64.b64decode(obj["spec"]["request"]))
        common_name = csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
        orgs = tuple(a.value for a in csr.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME))
        ca_cert, ca_key = pki.load_cert(self.client_ca), pki.load_key(self.ca_key_file)
        cert, _no_key = pki.issue(ca_cert, ca_key, common_name, orgs, client=True, public_key=csr.public_key())
        obj["status"] = {
            "conditions": [
                {
                    "type": "Approved",
                    "status": "True",
                    "reason": "AutoApproved",
                    "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
                    "lastUpdateTime": now_rfc3339(),
                    "lastTransitionTime": now_rfc3339(),
                }
            ],
            "certificate": base64.b64encode(pki.cert_pem(cert)).decode(),
        }
        return obj

    def sign_cluster_info(self, obj: dict) -> dict:
        """Add jws-kubeconfig-<id> for every valid token with usage "signing"."""
        payload = obj.get("data", {}).get("kubeconfig")
        if payload is None:
            return obj
        secret_res = next(r for r in BUILTINS if r.plural == "secrets")
        stored, _revision = self.etcd.list(secret_res.key("kube-system"))
        for secret, _rev in stored:
            if secret.get("type") != "bootstrap.kubernetes.io/token" or tokens.is_expired(secret):
                continue
            data = tokens.decode(secret)
            if data.get("usage-bootstrap-signing") == "true":
                sig = tokens.jws_sign(payload, data["token-id"], data["token-secret"])
                obj["data"][f"jws-kubeconfig-{data['token-id']}"] = sig
        return obj

    def bootstrap_user(self, bearer: str) -> tuple[str, list[str]] | None:
        match = tokens.TOKEN_RE.match(bearer)
        if not match:
            return None
        secret, _revision = self.etcd.get(f"/registry/core/secrets/kube-system/bootstrap-token-{match.group(1)}")
        if not secret or tokens.is_expired(secret):
            return None
        data = tokens.decode(secret)
        if data.get("token-secret") != match.group(2) or data.get("usage-bootstrap-authentication") != "true":
            return None
        groups = ["system:bootstrappers", *filter(None, data.get("auth-extra-groups", "").split(","))]
        return f"system:bootstrap:{match.group(1)}", groups


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-double"
    state: State

    def log_message(self, format, *args):
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def setup(self):
        self.connection = self.request
        self.request.settimeout(30)
        self.request.do_handshake()
        super().setup()

    # --- plumbing ---------------------------------------------------------------------------
    def send(self, code: int, body, content_type: str = "application/json") -> None:
        data = (
            body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self) -> bytes:
        return self.raw_body

    def user(self) -> tuple[str, list[str]]:
        cert = self.connection.getpeercert()
        if cert:
            fields = [attr for rdn in cert.get("subject", ()) for attr in rdn]
            name = next((v for k, v in fields if k == "commonName"), "")
            return name, [v for k, v in fields if k == "organizationName"] + ["system:authenticated"]
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            found = self.state.bootstrap_user(auth[len("Bearer ") :].strip())
            if found is None:
                raise APIError(401, "Unauthorized", "Unauthorized")
            return found[0], [*found[1], "system:authenticated"]
        return "system:anonymous", ["system:unauthenticated"]

    def authorize(self, verb: str, res: Resource | None = None, ns: str | None = None, name: str = ""):
        user, groups = self.who
        if "system:unauthenticated" in groups:
            allowed = res is not None and res.plural == "configmaps" and ns == "kube-public" and name == "cluster-info"
            allowed = allowed and verb == "get"
        elif "system:bootstrappers" in groups:
            allowed = res is not None and (
                (res.plural == "configmaps" and verb == "get")
                or (res.plural == "certificatesigningrequests" and verb in ("create", "get", "list", "watch"))
                or (res.plural == "nodes" and verb == "get")
                or (
                    res.plural == "secrets"
                    and verb == "get"
                    and name == "kubeadm-certs"
                    and tokens.DEFAULT_GROUP in groups
                )
            )
        else:
            allowed = True  # certificate users: see README (no RBAC evaluation in the double)
        if not allowed:
            what = f"{res.plural}" if res else "path"
            where = f' in the namespace "{ns}"' if ns else ""
            group = f'"{res.group}"' if res else '""'
            target = f'"{name}" ' if name else ""
            raise APIError(
                403,
                "Forbidden",
                f'{what} {target}is forbidden: User "{user}" cannot {verb} resource "{what}" '
                f"in API group {group}{where}",
                {"name": name, "kind": what},
            )

    def handle_any(self) -> None:
        # Always consume the body, even for DELETE, or it would be read as the next request.
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        try:
            self.route()
        except APIError as err:
            self.send(err.code, err.status())
        except EtcdError as err:
            self.send(500, APIError(500, "InternalError", f"etcd: {err}").status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # answer with a Status rather than dropping the connection
            traceback.print_exc()
            self.send(500, APIError(500, "InternalError", f"internal error: {err}").status())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    # --- routing ----------------------------------------------------------------------------
    def health(self, path: str, verbose: bool) -> None:
        name = path.strip("/")
        checks = [("ping", True), ("log", True)]
        if name != "livez":
            try:
                self.state.etcd.quorum_check(timeout=2.0)
                ok = True
            except EtcdError:
                ok = False
            checks.append(("etcd" if name == "healthz" else "etcd-readiness", ok))
        checks.append(("poststarthook/start-apiserver-admission-initializer", True))
        passed = all(ok for _name, ok in checks)
        if passed and not verbose:
            self.send(200, "ok", "text/plain; charset=utf-8")
            return
        lines = [f"[+]{n} ok" if ok else f"[-]{n} failed: reason withheld" for n, ok in checks]
        lines.append(f"{name} check {'passed' if passed else 'failed'}")
        self.send(200 if passed else 500, "\n".join(lines) + "\n", "text/plain; charset=utf-8")

    def route(self) -> None:  # noqa: PLR0911, PLR0912 - a URL router
        parts = urlsplit(self.path)
        path, query = (
            parts.path.rstrip("/") or "/",
            {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
        )
        if path in PUBLIC_PATHS:
            if path == "/version":
                release = self.state.version
                self.send(
                    200,
                    release.version_info(),
                )
                return
            self.health(path, "verbose" in query)
            return
        self.who = self.user()
        self.state.housekeeping()
        segments = [unquote(s) for s in path.split("/") if s]
        if segments[:2] == ["openapi", "v3"]:
            self.authorize("get")
            if len(segments) == 2:
                self.send(200, openapi_root(self.state.resources()))
                return
            doc = openapi_group_version("/".join(segments[2:]), self.state.resources(), self.state.version.version)
            if doc is None:
                raise APIError(404, "NotFound", "the server could not find the requested resource")
            self.send(200, doc)
            return
        if segments[:1] == ["api"]:
            if len(segments) == 1:
                self.authorize("get")
                self.send(200, api_versions(f"{self.state.address}:{self.state.port}"))
                return
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"]:
            self.authorize("get") if len(segments) <= 3 else None
            if len(segments) == 1:
                self.send(200, api_group_list(self.state.resources()))
                return
            if len(segments) == 2:
                versions_ = groups_of(self.state.resources()).get(segments[1])
                if not versions_:
                    raise APIError(404, "NotFound", "the server could not find the requested resource")
                self.send(200, api_group(segments[1], versions_))
                return
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            self.authorize("get")
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            self.authorize("get")
            gv = f"{group}/{version}" if group else version
            listing = resource_list(gv, self.state.resources())
            if not listing["resources"]:
                raise APIError(404, "NotFound", "the server could not find the requested resource")
            self.send(200, listing)
            return
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = self.state.find(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if res.plural == "namespaces" and namespace is None and len(rest) > 1:
            name = rest[1]
        self.resource(res, namespace, name, sub=sub, query=query)

    # --- the generic object store -----------------------------------------------------------
    def load_body(self) -> dict:
        raw = self.body()
        ctype = self.headers.get("Content-Type", "")
        if "protobuf" in ctype or "cbor" in ctype:
            # kubectl's typed commands (create deployment, create configmap, ...) send protobuf; a real
            # API server decodes it with Kubernetes' generated types, which the double does not carry.
            raise APIError(
                415,
                "UnsupportedMediaType",
                f"the kubeadm test double's API server (not Kubernetes) decodes only JSON and YAML request "
                f"bodies, not {ctype.split(';')[0]}, which kubectl's typed create commands send; create the "
                "object from a manifest instead: add --dry-run=client -o yaml to the same command and pipe "
                "it to kubectl apply -f -",
            )
        try:
            # kubectl sends JSON even as application/apply-patch+yaml: JSON first, it is much faster
            # than the pure-Python YAML parser for the large CRDs of an operator.
            text = raw.decode() if raw else "{}"
            try:
                data = json.loads(text)
            except ValueError:
                if "yaml" not in ctype:
                    raise
                data = yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise APIError(400, "BadRequest", f"error decoding request body: {exc}") from exc
        if not isinstance(data, (dict, list)):
            raise APIError(400, "BadRequest", "error decoding request body: not an object")
        return data

    def get_object(self, res: Resource, namespace, name) -> dict:
        obj, rev = self.state.etcd.get(res.key(namespace, name))
        if obj is None:
            raise not_found(res, name)
        obj.setdefault("metadata", {})["resourceVersion"] = str(rev)
        return obj

    def reply_object(self, res: Resource, obj: dict, code: int = 200) -> None:
        if "as=Table" in self.headers.get("Accept", ""):
            self.send(code, table(res, [obj], obj["metadata"].get("resourceVersion", "")))
        else:
            self.send(code, obj)

    def resource(self, res: Resource, namespace, name, *, sub, query) -> None:  # noqa: PLR0911, PLR0912 - one branch per verb
        verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[
            self.command
        ]
        if verb == "get" and not name:
            verb = "watch" if query.get("watch") in ("1", "true") else "list"
        self.authorize(verb, res, namespace, name)
        etcd = self.state.etcd
        if verb == "watch":
            self.watch(res, namespace, query)
            return
        if verb == "list":
            objects, revision = self.select(res, namespace, query)
            if "as=Table" in self.headers.get("Accept", ""):
                self.send(200, table(res, objects, str(revision)))
                return
            self.send(
                200,
                {
                    "kind": f"{res.kind}List",
                    "apiVersion": res.group_version,
                    "metadata": {"resourceVersion": str(revision)},
                    "items": objects,
                },
            )
            return
        if verb == "get":
            obj = self.get_object(res, namespace, name)
            if res.plural == "configmaps" and namespace == "kube-public" and name == "cluster-info":
                obj = self.state.sign_cluster_info(obj)
            self.reply_object(res, obj)
            return
        if verb == "create":
            obj = self.load_body()
            obj = self.state.stamp(obj, res, namespace)
            if not obj["metadata"].get("name"):
                raise APIError(
                    422, "Invalid", f"{res.kind} is invalid: metadata.name: Required value: name is required"
                )
            if res.plural == "certificatesigningrequests":
                obj = self.state.sign_csr(obj)
            rev = etcd.create(res.key(namespace, obj["metadata"]["name"]), obj)
            if rev is None:
                what = f"{res.plural}.{res.group}" if res.group else res.plural
                raise APIError(
                    409,
                    "AlreadyExists",
                    f'{what} "{obj["metadata"]["name"]}" already exists',
                    {"name": obj["metadata"]["name"], "kind": res.plural},
                )
            obj["metadata"]["resourceVersion"] = str(rev)
            self.reply_object(res, obj, 201)
            return
        if verb == "delete":
            obj = self.get_object(res, namespace, name)
            etcd.delete(res.key(namespace, name))
            if res.plural == "namespaces":
                self.delete_namespace_contents(name)
            self.reply_object(res, obj)
            return
        # update / patch
        key = res.key(namespace, name)
        current, rev = etcd.get(key)
        body = self.load_body()
        ctype = self.headers.get("Content-Type", "")
        if verb == "update":
            if current is None:
                raise not_found(res, name)
            new = body
        elif "apply-patch" in ctype:
            if current is None:
                obj = self.state.stamp(body, res, namespace)
                obj["metadata"]["name"] = name
                rev = etcd.create(key, obj)
                obj["metadata"]["resourceVersion"] = str(rev)
                self.reply_object(res, obj, 201)
                return
            new = deep_merge(current, {k: v for k, v in body.items() if k != "status" or sub == "status"})
        elif current is None:
            raise not_found(res, name)
        elif "json-patch" in ctype:
            new = json_patch(current, body)
        else:
            new = deep_merge(current, body)
        meta = new.setdefault("metadata", {})
        for keep in ("uid", "creationTimestamp", "name"):
            meta[keep] = current["metadata"].get(keep)
        if res.namespaced:
            meta["namespace"] = current["metadata"].get("namespace")
        if sub != "status" and res.group and new.get("spec") != current.get("spec"):
            meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if sub != "status" and "status" in current and verb == "update":
            new["status"] = current["status"]
        meta.pop("resourceVersion", None)
        rev = etcd.put(key, new)
        new["metadata"]["resourceVersion"] = str(rev)
        self.reply_object(res, new)

    def delete_namespace_contents(self, namespace: str) -> None:
        for res in self.state.resources():
            if res.namespaced:
                items, _revision = self.state.etcd.list(res.key(namespace))
                for obj, _rev in items:
                    self.state.etcd.delete(res.key(namespace, obj["metadata"]["name"]))

    def select(self, res: Resource, namespace, query) -> tuple[list[dict], int]:
        """The objects a list or watch with these label and field selectors covers."""
        items, revision = self.state.etcd.list(res.key(namespace))
        objects = []
        for obj, rev in items:
            obj["metadata"]["resourceVersion"] = str(rev)
            labels = obj["metadata"].get("labels", {})
            if match_labels(labels, query.get("labelSelector", "")) and match_fields(
                obj, query.get("fieldSelector", "")
            ):
                objects.append(obj)
        return objects, revision

    def watch(self, res: Resource, namespace, query) -> None:
        """A polling watch: the store is re-read every second and differences are streamed as
        ADDED/MODIFIED/DELETED events until timeoutSeconds (at most 5 minutes)."""
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds") or 300), 300.0)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        seen: dict[str, dict] = {}
        first = True
        # client-go's WatchList (kubectl wait, informers) asks for the current state as ADDED
        # events, closed by a bookmark carrying the "k8s.io/initial-events-end" annotation.
        initial_events = query.get("sendInitialEvents") == "true"
        while time.monotonic() < deadline:
            objects, revision = self.select(res, namespace, query)
            current = {o["metadata"].get("namespace", "") + "/" + o["metadata"]["name"]: o for o in objects}
            events = []
            for key, obj in current.items():
                rev = int(obj["metadata"]["resourceVersion"])
                if first:
                    if since == 0 or initial_events:
                        events.append(("ADDED", obj))
                    elif rev > since:
                        events.append(("MODIFIED", obj))
                elif key not in seen:
                    events.append(("ADDED", obj))
                elif seen[key]["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                    events.append(("MODIFIED", obj))
            events += [("DELETED", obj) for key, obj in seen.items() if key not in current]
            if first and initial_events:
                meta = {"resourceVersion": str(revision), "annotations": {"k8s.io/initial-events-end": "true"}}
                events.append(("BOOKMARK", {"kind": res.kind, "apiVersion": res.group_version, "metadata": meta}))
            try:
                for kind, obj in events:
                    data = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            except OSError:
                return  # the client went away
            seen, first = current, False
            time.sleep(1)
        self.wfile.write(b"0\r\n\r\n")


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, context: ssl.SSLContext):
        super().__init__(address, handler)
        self.context = context

    def get_request(self):
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # clients that drop mid-handshake (haproxy checks, probes) are normal


def parse_flags(argv: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            args[key] = value
    return args


def main(argv: list[str]) -> int:
    if "--version" in argv or "--version=true" in argv:
        print(f"Kubernetes {versions.current().version}")  # kube-apiserver's --version line
        return 0
    args = parse_flags(argv)
    state = State(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args["tls-cert-file"], args["tls-private-key-file"])
    ctx.load_verify_locations(cafile=state.client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    Handler.state = state
    bind = args.get("bind-address", "0.0.0.0")  # noqa: S104 - an API server listens on all addresses
    server = TLSServer((bind, state.port), Handler, ctx)
    print(
        f"kube-apiserver double {state.version.version} listening on {bind}:{state.port}", file=sys.stderr, flush=True
    )
    server.serve_forever()
    return 0
