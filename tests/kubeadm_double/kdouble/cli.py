"""Command-line plumbing shared by the kubeadm double: pflag-like parsing, the error envelope,
klog-formatted stderr lines, and process exit codes."""

from __future__ import annotations

import os
import sys
from datetime import datetime

from .versions import Release


class Fail(Exception):
    """A kubeadm failure: `text` is printed to stderr as-is and the process exits with 1."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class FlagSpec:
    def __init__(self, flags: dict[str, str], shorthands: dict[str, str] | None = None):
        self.flags = flags  # name -> "str" | "bool" | "list" | "multi"
        self.shorthands = shorthands or {}


def parse(  # noqa: PLR0912 - one branch per pflag syntax case
    argv: list[str], spec: FlagSpec, release: Release
) -> tuple[dict, list[str], list[str]]:
    """Returns (values, positional args, names of flags the user set), failing like cobra/pflag."""
    values: dict = {}
    positional: list[str] = []
    given: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
        elif arg.startswith("-") and len(arg) > 1:
            short, has_value, value = arg[1:].partition("=")
            if short not in spec.shorthands:
                raise Fail(release.envelope(f"unknown shorthand flag: '{short[0]}' in {arg}"))
            name = spec.shorthands[short]
        else:
            positional.append(arg)
            continue
        kind = spec.flags.get(name)
        if kind is None:
            raise Fail(release.envelope(f"unknown flag: --{name}"))
        if kind == "bool":
            if has_value and value not in ("true", "false", "1", "0"):
                raise Fail(
                    release.envelope(
                        f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": '
                        "invalid syntax"
                    )
                )
            values[name] = not has_value or value in ("true", "1")
        else:
            if not has_value:
                if i >= len(argv):
                    raise Fail(release.envelope(f"flag needs an argument: --{name}"))
                value = argv[i]
                i += 1
            if kind in ("list", "multi"):
                values.setdefault(name, []).extend(v for v in value.split(",") if v)
            else:
                values[name] = value
        if name not in given:
            given.append(name)
    return values, positional, given


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def klog(level: str, source: str, message: str) -> None:
    """A klog header line on stderr, e.g. `W0512 13:14:15.780527    3037 version.go:109] ...`."""
    now = datetime.now()
    stamp = now.strftime("%m%d %H:%M:%S.%f")
    sys.stderr.write(f"{level}{stamp} {os.getpid():>7} {source}] {message}\n")
    sys.stderr.flush()


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for the "healthy after" lines."""
    if seconds < 1:
        return f"{seconds * 1000:.6f}".rstrip("0").rstrip(".") + "ms"
    if seconds < 60:
        return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.9f}".rstrip("0").rstrip(".") + "s"
