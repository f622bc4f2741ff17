#!/usr/bin/env python
"""Write the documentation pages that come from the code (tools/docs calls this).

troubleshooting.rst: one section per failure category the modules report, from the failure
tables in plugins/module_utils (every ``*FAILURE_ADVICE`` mapping of category to (what went
wrong, how to fix it)), in the order of FAILURE_CATEGORIES, with the modules whose RETURN
documents the category.

validation.rst: every check of playbooks/validate.yml, one row per problem it can report (each
``report.error``/``report.warning`` call of the cluster_problems filter and its
plugins/plugin_utils/_checks_*.py, read from their source), with the variable it names, its
message and its fix; then the ranges and formats of the role variables (_checks_inputs).

Generated on every build, so the pages cannot drift from the code.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = "ansible_collections.kubeha.kubeadm"
# tools/dev-setup links this checkout there as the collection kubeha.kubeadm.
sys.path.insert(0, str(ROOT / ".venv" / "collections"))

_RST_SPECIAL = re.compile(r"([\\`*_|])")
_VALUE = re.compile(r"V\(([a-z_]+)\)")


def rst_text(text: str) -> str:
    """Text as it reads, no markup: no emphasis, no references, no link made of a sample URL."""
    return _RST_SPECIAL.sub(r"\\\1", text).replace("://", r"\://")


def module_utils() -> list[Any]:
    """The helper the modules import first (kept as the facade), then every other module_utils file."""
    package = importlib.import_module(f"{COLLECTION}.plugins.module_utils")
    modules = [importlib.import_module(f"{COLLECTION}.plugins.module_utils._kubeadm")]
    for info in sorted(pkgutil.walk_packages(package.__path__, f"{package.__name__}."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        if module not in modules:
            modules.append(module)
    return modules


def failure_advice() -> dict[str, tuple[str, str]]:
    """Every category with its (what went wrong, how to fix it), in FAILURE_CATEGORIES order."""
    advice: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    for module in module_utils():
        for name, table in vars(module).items():
            if name.endswith("FAILURE_ADVICE") and isinstance(table, dict):
                for category, entry in table.items():
                    advice.setdefault(category, tuple(entry))
        order.extend(c for c in getattr(module, "FAILURE_CATEGORIES", ()) if c not in order)
    if not advice:
        raise SystemExit("docs_pages: no FAILURE_ADVICE table found in plugins/module_utils")
    ranked = [c for c in order if c in advice] + sorted(c for c in advice if c not in order)
    return {category: advice[category] for category in ranked}


def message_format(category: str) -> str | None:
    """The failure line the modules print for a category, from the helpers' own formatter."""
    for module in module_utils():
        describe = getattr(module, "describe_failure", None)
        if callable(describe):
            return describe("<command>", category, "", "")
    return None


def module_docs(path: Path) -> dict[str, Any]:
    """A module file's DOCUMENTATION and RETURN, parsed without importing the module."""
    docs: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "RETURN"):
                    docs[target.id] = yaml.safe_load(node.value.value) or {}
    return docs


def reporters() -> tuple[dict[str, list[str]], list[str]]:
    """Category -> the modules whose RETURN value failure_category names it; the modules without one."""
    found: dict[str, list[str]] = {}
    uncategorised: list[str] = []
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        returned = module_docs(path).get("RETURN", {}).get("failure_category")
        if not returned:
            uncategorised.append(f"kubeha.kubeadm.{path.stem}")
            continue
        description = returned.get("description", "")
        text = " ".join(description) if isinstance(description, list) else str(description)
        for category in _VALUE.findall(text):
            found.setdefault(category, []).append(f"kubeha.kubeadm.{path.stem}")
    return found, uncategorised


INTRO = """\
.. _kubeha_troubleshooting:

Troubleshooting
===============

When a kubeha.kubeadm module fails, its result says why in ``failure_category`` and its message
is one line that names the category, what went wrong, the fix, and then kubeadm's own words:

.. code-block:: text

{example}

Tokens and certificate keys are scrubbed from the message, from ``stdout``, ``stderr`` and the
returned command line. A failed ``kubeadm join`` is reset afterwards unless
``reset_on_failure=false`` (``reset_after_failure`` in the result says whether it was); a node
that already runs Kubernetes (``already_initialized``, ``already_joined``) is never reset.

Before any host changes, ``playbooks/validate.yml`` (the first play of ``ha_cluster.yml``)
reports every inventory problem at once, each naming the host, the variable and the fix; see
:ansplugin:`kubeha.kubeadm.cluster_problems#filter`.

The categories below are generated from the modules' failure table.
"""


def troubleshooting() -> str:
    advice = failure_advice()
    reported_by, uncategorised = reporters()
    example = message_format("token_invalid" if "token_invalid" in advice else next(iter(advice)))
    shape = example or "<command> failed (<category>): <what went wrong>. Fix: <how to fix it>."
    lines = [INTRO.format(example="   " + shape + " kubeadm said: ...")]
    for category, (explanation, fix) in advice.items():
        title = f"``{category}``"
        lines += [f".. _kubeha_failure_{category}:", "", title, "-" * len(title), ""]
        lines += [f"**What went wrong:** {rst_text(explanation)}.", ""]
        lines += [f"**Fix:** {rst_text(fix)}.", ""]
        modules = reported_by.get(category)
        if modules:
            links = ", ".join(f":ansplugin:`{name}#module`" for name in modules)
            lines += [f"**Reported by:** {links}.", ""]
    if uncategorised:
        title = "Modules without a failure category"
        links = ", ".join(f":ansplugin:`{name}#module`" for name in uncategorised)
        lines += [title, "-" * len(title), ""]
        lines += [f"{links} return no ``failure_category``; their pages say what they return.", ""]
    return "\n".join(lines).rstrip() + "\n"


# --- validation.rst ---------------------------------------------------------------------------
CHECK_SOURCES = (
    "plugins/filter/cluster_problems.py",
    *(f"plugins/plugin_utils/_checks_{c}.py" for c in ("ports", "networks", "names", "topology", "inputs")),
    # The upgrade rules write Finding(hosts, variable, message, fix); the filter reports each as an error.
    "plugins/plugin_utils/_upgrade.py",
)
# The variable of a group as the checks name it (self.group[<key>]["variable"]).
GROUP_VARIABLES = {
    "loadbalancer": "kubeha_loadbalancer_group",
    "control_plane": "kubeha_control_plane_group",
    "workers": "kubeha_worker_group",
}
# A problem written: a report call or a Finding, unless it only passes another one's fields on.
REPORT_CALL = re.compile(r"\b(?:report\.(?:error|warning)|Finding)\((?!\s*(?:finding\.|list\(item\.))")


def _module_constant(module: ast.AST | None, name: str) -> ast.AST | None:
    """The value a module assigns to `name` at its top level."""
    for node in getattr(module, "body", []):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return node.value
    return None


def _bindings(scope: ast.AST, name: str, module: ast.AST | None = None) -> list[ast.AST]:
    """The expressions `name` is bound to in a scope: assignments, tuple assignments, for-loop tuples."""
    found: list[ast.AST] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    found += [
                        v for t, v in zip(target.elts, node.value.elts) if isinstance(t, ast.Name) and t.id == name
                    ]
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple):
            index = next((i for i, t in enumerate(node.target.elts) if isinstance(t, ast.Name) and t.id == name), None)
            iterated = node.iter
            if isinstance(iterated, ast.Name):  # a module constant's tuple of tuples
                iterated = _module_constant(module, iterated.id) or iterated
            if index is not None and isinstance(iterated, (ast.Tuple, ast.List)):
                found += [e.elts[index] for e in iterated.elts if isinstance(e, ast.Tuple)]
    return found


def _joined(node: ast.JoinedStr, scopes: list[ast.AST]) -> str:
    """An f-string's text: module constants filled in, `<name>` for a variable, `<...>` for an expression."""
    text = ""
    for part in node.values:
        if isinstance(part, ast.Constant):
            text += str(part.value)
            continue
        value = part.value  # type: ignore[attr-defined]
        constant = _module_constant(scopes[-1], value.id) if isinstance(value, ast.Name) else None
        if isinstance(constant, ast.Constant):
            text += str(constant.value)
        else:
            text += f"<{value.id}>" if isinstance(value, ast.Name) else "<...>"
    return text


def _named(node: ast.AST, scopes: list[ast.AST]) -> list[str] | None:
    """A group's variable (self.group[<key>]["variable"]) or what a name is bound to; None when neither."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript):
        key = node.value.slice
        if isinstance(key, ast.Constant) and key.value in GROUP_VARIABLES:
            return [GROUP_VARIABLES[key.value]]
    if isinstance(node, ast.Name):
        for scope in scopes:
            bound = _bindings(scope, node.id, scopes[-1])
            if bound:
                return [t for value in bound for t in _template(value, scopes)]
    return None


def _template(node: ast.AST, scopes: list[ast.AST]) -> list[str]:
    """The texts a message, fix or variable argument can read (both sides of a conditional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        found = [node.value]
    elif isinstance(node, ast.JoinedStr):
        found = [_joined(node, scopes)]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        found = [a + b for a in _template(node.left, scopes) for b in _template(node.right, scopes)]
    elif isinstance(node, ast.IfExp):
        found = _template(node.body, scopes) + _template(node.orelse, scopes)
    elif isinstance(node, ast.Call):
        found = ["<...>"]
    else:
        found = _named(node, scopes) or []
    if not found:
        raise SystemExit(f"docs_pages: cannot read the check argument {ast.unparse(node)!r} (line {node.lineno})")
    return found


def _severity(call: ast.AST) -> str | None:
    """error or warning for a call that writes a problem; None for any other call and for a pass-through."""
    if not isinstance(call, ast.Call) or len(call.args) != 4:
        return None
    if isinstance(call.args[1], ast.Attribute):  # another problem's fields, passed on
        return None
    if isinstance(call.func, ast.Name) and call.func.id == "Finding":
        return "error"
    if isinstance(call.func, ast.Attribute) and call.func.attr in ("error", "warning"):
        return call.func.attr if ast.unparse(call.func.value).endswith("report") else None
    return None


def validation_rows() -> list[dict[str, str]]:
    """One row per problem a check can report, in source order: concern, check, severity, variable, message, fix."""
    rows = []
    for source in CHECK_SOURCES:
        tree = ast.parse((ROOT / source).read_text())
        concern = Path(source).stem.replace("_checks_", "").lstrip("_") if "plugin_utils" in source else "general"
        # Each call with the innermost function that holds it, in source order.
        owner: dict[int, tuple[ast.Call, ast.FunctionDef]] = {}
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for call in (c for c in ast.walk(function) if _severity(c)):
                held = owner.get(id(call))
                if held is None or held[1].lineno < function.lineno:
                    owner[id(call)] = (call, function)  # type: ignore[assignment]
        for call, function in sorted(owner.values(), key=lambda pair: pair[0].lineno):
            _host, variable, message, fix = call.args
            scopes = [function, tree]
            names = _template(variable, scopes)
            if any("<...>" in name for name in names):
                raise SystemExit(f"docs_pages: cannot name the variable of the check at {source}:{call.lineno}")
            rows.append(
                {
                    "concern": concern,
                    "check": function.name,
                    "severity": str(_severity(call)),
                    "variable": " / ".join(dict.fromkeys(names)),
                    "message": " / ".join(_template(message, scopes)),
                    "fix": " / ".join(_template(fix, scopes)),
                }
            )
    return rows


def report_calls() -> int:
    """How many report.error/report.warning calls the check sources hold (the rows there must be)."""
    return sum(len(REPORT_CALL.findall((ROOT / source).read_text())) for source in CHECK_SOURCES)


def _table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines += [f"   * - {row[0]}"] + [f"     - {cell}" for cell in row[1:]]
    return [*lines, ""]


VALIDATION_INTRO = """\
.. _kubeha_validation:

Validation checks
=================

``playbooks/validate.yml`` (the first play of ``ha_cluster.yml``) reads every host, changes
none, and reports every problem at once, one line each, as::

   ERROR [<hosts>] <variable>: <message> Fix: <fix>

Errors stop the run before any host changes; warnings are only shown. The tables below are
generated from the checks' source (the :ansplugin:`kubeha.kubeadm.cluster_problems#filter`
filter and its ``plugins/plugin_utils/_checks_*.py``): one row per problem a check can report.
``<name>`` stands for a value filled in when the problem is found, ``<...>`` for a computed one.
"""


def validation() -> str:
    _checks_inputs = importlib.import_module(f"{COLLECTION}.plugins.plugin_utils._checks_inputs")
    rows = validation_rows()
    lines = [VALIDATION_INTRO]
    for concern in dict.fromkeys(r["concern"] for r in rows):
        title = f"Checks: {concern}"
        lines += [title, "-" * len(title), ""]
        cells = [
            [f"``{r['check']}``", r["severity"], f"``{r['variable']}``", rst_text(r["message"]), rst_text(r["fix"])]
            for r in rows
            if r["concern"] == concern
        ]
        lines += _table(["Check", "Severity", "Variable", "Message", "Fix"], cells, "12 8 18 36 26")
    title = "Role variables: type, choices, ranges and formats"
    lines += [title, "-" * len(title), ""]
    lines += [
        "Every role variable the inventory sets is checked against its role's ``meta/argument_specs.yml``",
        "(type and choices: ``'<value>' is not a valid <type>`` or ``is not one of <choices>``), then against",
        "the range or format below (``<value> is out of range`` / ``is not <format>``). A variable with a",
        "role's prefix that no role knows is a warning (a typo has no effect). Secret options are never read.",
        "",
    ]
    options = _checks_inputs.role_options()
    cells = []
    for name in sorted(set(_checks_inputs.RANGES) | set(_checks_inputs.FORMATS)):
        role, spec = options[name]
        if name in _checks_inputs.RANGES:
            low, high = _checks_inputs.RANGES[name]
            rule = f"{low}-{high}" if high is not None else f"{low} or more"
        else:
            rule = _checks_inputs.FORMATS[name][1]
        cells.append([f"``{name}``", role, spec.get("type", "str"), rst_text(rule)])
    lines += _table(["Variable", "Role", "Type", "Range or format"], cells, "35 20 10 35")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the Sphinx source directory to write into")
    args = parser.parse_args(argv)
    (args.dest / "troubleshooting.rst").write_text(troubleshooting())
    (args.dest / "validation.rst").write_text(validation())
    return 0


if __name__ == "__main__":
    sys.exit(main())
