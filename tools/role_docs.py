#!/usr/bin/env python
"""Write (or --check) each role README's variable table from its meta/argument_specs.yml.

The table sits between `<!-- BEGIN ARGUMENT SPEC -->` and `<!-- END ARGUMENT SPEC -->` in
roles/<role>/README.md. Defaults come from the spec's `default`, else from defaults/main.yml,
so the README can never disagree with what the role really does.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN ARGUMENT SPEC -->"
END = "<!-- END ARGUMENT SPEC -->"


# Ansible's markup in descriptions (C(), V(), O(), I(), ...), as ansible-doc reads it.
MARKUP = re.compile(r"\b(C|V|O|E|RV|M|P|I|B|U|L)\(([^()]*)\)")


def markdown(text: str) -> str:
    """Ansible markup as Markdown: code-like markup in backticks, I() italic, B() bold, links."""

    def one(match: re.Match[str]) -> str:
        kind, body = match[1], match[2]
        if kind == "I":
            return f"*{body}*"
        if kind == "B":
            return f"**{body}**"
        if kind == "U":
            return f"<{body}>"
        if kind == "L":
            label, _comma, url = body.rpartition(",")
            return f"[{label.strip()}]({url.strip()})"
        if kind == "P":
            body = body.split("#", 1)[0]
        return f"`{body}`"

    return MARKUP.sub(one, text)


def cell(value: object) -> str:
    text = " ".join(value) if isinstance(value, list) else str(value)
    return markdown(text).replace("|", "\\|").replace("\n", " ").strip()


def default_of(name: str, option: dict, defaults: dict) -> str:
    if "default" in option:
        value = option["default"]
    elif name in defaults:
        value = defaults[name]
    else:
        return "required" if option.get("required") else ""
    return f"`{yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix('...').strip()}`"


def rows(options: dict, defaults: dict, prefix: str = "") -> list[str]:
    """One row per option, then its sub-options as `parent[].child` (lists) or `parent.child`."""
    lines = []
    for name, option in sorted(options.items()):
        kind = option.get("type", "str")
        if kind == "list" and "elements" in option:
            kind = f"list of {option['elements']}"
        default = default_of(name, option, defaults if not prefix else {})
        description = cell(option.get("description", ""))
        if option.get("choices"):
            description += f" Choices: {', '.join(f'`{c}`' for c in option['choices'])}."
        lines.append(f"| `{prefix}{name}` | {kind} | {default} | {description} |")
        if option.get("options"):
            child_prefix = f"{prefix}{name}{'[]' if option.get('type') == 'list' else ''}."
            lines.extend(rows(option["options"], {}, child_prefix))
    return lines


def table(role: Path) -> str:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    defaults_file = role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    parts = []
    for entry_point, spec in specs.items():
        parts.append(f"Entry point `{entry_point}`: {cell(spec.get('short_description', ''))}\n")
        parts.append("| Variable | Type | Default | Description |")
        parts.append("|---|---|---|---|")
        parts.extend(rows(spec.get("options") or {}, defaults))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def render(readme: str, generated: str, role: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"roles/{role}/README.md: add the markers {BEGIN} and {END} where the table goes")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a README is out of date")
    args = parser.parse_args()
    stale = []
    for spec in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        role = spec.parent.parent
        readme_path = role / "README.md"
        readme = readme_path.read_text() if readme_path.exists() else ""
        wanted = render(readme, table(role), role.name)
        if wanted != readme:
            stale.append(role.name)
            if not args.check:
                readme_path.write_text(wanted)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run tools/role_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
