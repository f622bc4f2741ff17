"""`kubeadm token create|list|delete|generate`."""

from __future__ import annotations

import json
import sys

import yaml

from . import clock, httpc, pki, tokens, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, out, parse
from .common import (
    ADMIN_CONF,
    COMMON,
    PKI,
    admin_client,
    api_failure,
    check_config_mix,
    create_token_secret,
    join_command,
    validate_token,
)

TOKEN_FLAGS = {**COMMON, "kubeconfig": "str", "dry-run": "bool"}


TOKEN_CREATE_FLAGS = {
    **TOKEN_FLAGS,
    "config": "str",
    "print-join-command": "bool",
    "ttl": "str",
    "certificate-key": "str",
    "description": "str",
    "usages": "list",
    "groups": "list",
}


TOKEN_LIST_FLAGS = {
    **TOKEN_FLAGS,
    "output": "str",
    "allow-missing-template-keys": "bool",
    "show-managed-fields": "bool",
}


def token_rows(client: Client) -> list[dict]:
    listing = client.get("/api/v1/namespaces/kube-system/secrets", retry_for=10)
    rows = []
    for secret in listing.get("items", []):
        if secret.get("type") != "bootstrap.kubernetes.io/token":
            continue
        data = tokens.decode(secret)
        usages = sorted(
            k[len("usage-bootstrap-") :] for k, v in data.items() if k.startswith("usage-bootstrap-") and v == "true"
        )
        rows.append(
            {
                "token": f"{data.get('token-id')}.{data.get('token-secret')}",
                "description": data.get("description", ""),
                "expires": data.get("expiration", ""),
                "usages": usages,
                "groups": [g for g in data.get("auth-extra-groups", "").split(",") if g],
            }
        )
    return rows


def tabwrite(rows: list[list[str]], minwidth=10, padding=3) -> str:
    """Go's text/tabwriter (minwidth 10, padding 3, pad ' ') for tab-terminated cells."""
    widths = [max(minwidth, max(len(r[i]) for r in rows) + padding) for i in range(len(rows[0]) - 1)]
    return "".join("".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + r[-1] + "\n" for r in rows)


def token_create(argv: list[str], release: versions.Release) -> int:
    values, positional, given = parse(argv, FlagSpec(TOKEN_CREATE_FLAGS), release)
    check_config_mix(values, given, release)
    token = positional[0] if positional else tokens.generate()
    validate_token(token, release)
    key = values.get("certificate-key", "")
    if key and not values.get("print-join-command"):
        raise Fail(release.envelope("cannot use --certificate-key without --print-join-command"))
    client = admin_client(values, release)
    ttl = tokens.parse_ttl(values.get("ttl", "24h0m0s"))
    usages = values.get("usages", ["signing", "authentication"])
    groups = values.get("groups", [tokens.DEFAULT_GROUP])
    try:
        create_token_secret(
            client,
            token,
            ttl if ttl.total_seconds() > 0 else None,
            usages=usages,
            groups=groups,
            description=values.get("description", ""),
        )
    except (httpc.HTTPError, OSError) as err:
        raise api_failure(err, release, "failed to create or update bootstrap token") from err
    if values.get("print-join-command"):
        server = pki.read_kubeconfig(values.get("kubeconfig", ADMIN_CONF))["clusters"][0]["cluster"]["server"]
        pin = pki.spki_pin(pki.load_cert(f"{PKI}/ca.crt"))
        cmd = join_command(server.replace("https://", ""), token, [pin], bool(key), key)
        out(cmd.replace("\\\n", "").replace("\t", ""))
    else:
        out(token)
    return 0


def token_list(argv: list[str], release: versions.Release) -> int:
    values, _positional, _given = parse(argv, FlagSpec(TOKEN_LIST_FLAGS, {"o": "output"}), release)
    client = admin_client(values, release)
    try:
        rows = token_rows(client)
    except (httpc.HTTPError, OSError) as err:
        raise api_failure(err, release, "failed to list bootstrap tokens") from err
    fmt = values.get("output", "text")
    if fmt in ("json", "yaml"):
        for row in rows:
            obj = {"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "token": row["token"]}
            if row["description"]:
                obj["description"] = row["description"]
            if row["expires"]:
                obj["expires"] = row["expires"]
            for field in ("usages", "groups"):  # omitempty in the Go type
                if row[field]:
                    obj[field] = row[field]
            sys.stdout.write(
                json.dumps(obj, indent=4) + "\n"
                if fmt == "json"
                else yaml.safe_dump(obj, default_flow_style=False, sort_keys=False)
            )
        return 0
    if fmt != "text":
        raise Fail(
            release.envelope(
                f'unable to match a printer suitable for the output format "{fmt}", allowed '
                "formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,text,yaml"
            )
        )
    if not rows:
        return 0
    table = [["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"]]
    for row in rows:
        if row["expires"]:
            left = (clock.parse_rfc3339(row["expires"]) - clock.now()).total_seconds()
            ttl, expires = clock.short_human(left), row["expires"]
        else:
            ttl, expires = "<forever>", "<never>"
        table.append(
            [
                row["token"],
                f"{ttl:<9}",
                expires,
                f"{','.join(row['usages']) or '<none>':<22}",
                f"{row['description'] or '<none>':<56}",
                ",".join(row["groups"]) or "<none>",
            ]
        )
    sys.stdout.write(tabwrite(table))
    return 0


def token_generate(argv: list[str], release: versions.Release) -> int:
    out(tokens.generate())
    return 0


def token_delete(argv: list[str], release: versions.Release) -> int:
    values, positional, _given = parse(argv, FlagSpec(TOKEN_FLAGS), release)
    client = admin_client(values, release)
    for token in positional:
        token_id = token.split(".")[0]
        try:
            client.delete(f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token_id}")
        except httpc.HTTPError as err:
            raise api_failure(err, release, f'failed to delete bootstrap token with id "{token_id}"') from err
        out(f'bootstrap token "{token_id}" deleted')
    return 0


TOKEN_COMMANDS = {"create": token_create, "list": token_list, "generate": token_generate, "delete": token_delete}


def cmd_token(argv: list[str], release: versions.Release) -> int:
    sub = argv[0] if argv else ""
    if sub not in TOKEN_COMMANDS:
        raise Fail(release.envelope(f'unknown command "{sub}" for "kubeadm token"'))
    return TOKEN_COMMANDS[sub](argv[1:], release)
