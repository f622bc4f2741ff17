"""Time as the double sees it: the real clock plus a test-only offset.

Tests expire bootstrap tokens and the kubeadm-certs Secret by moving this clock forward
instead of waiting hours. The offset comes from $KUBEADM_DOUBLE_CLOCK_OFFSET or from the file
/etc/kubeadm-double/clock-offset (read on every call so running servers pick changes up).
Values: seconds ("7201") or a Go-like duration ("2h1m", "90s", "-1h").
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

OFFSET_FILE = "/etc/kubeadm-double/clock-offset"
_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Seconds from "7200", "2h", "1h30m", "-90s"; raises ValueError on anything else."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    match = re.fullmatch(r"(-?)((?:\d+(?:\.\d+)?[hms])+)", text)
    if not match:
        raise ValueError(f"invalid duration {text!r}")
    total = sum(float(num) * _UNITS[unit] for num, unit in re.findall(r"(\d+(?:\.\d+)?)([hms])", match.group(2)))
    return -total if match.group(1) else total


def offset_seconds() -> float:
    raw = os.environ.get("KUBEADM_DOUBLE_CLOCK_OFFSET")
    if raw is None:
        try:
            with open(OFFSET_FILE, encoding="utf-8") as handle:
                raw = handle.read()
        except OSError:
            return 0.0
    raw = raw.strip()
    return parse_duration(raw) if raw else 0.0


def now() -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=offset_seconds())


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def short_human(seconds: float) -> str:
    """Go's duration.ShortHumanDuration, as `kubeadm token list` and kubectl print ages."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    if seconds < 365 * 86400:
        return f"{seconds // 86400}d"
    return f"{seconds // (365 * 86400)}y"


def human(seconds: float) -> str:
    """apimachinery's duration.HumanDuration, as kubectl prints an object's AGE."""
    seconds = int(seconds)
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 0 or hours >= 48:
        return short_human(seconds)
    if seconds < 120:
        text = f"{seconds}s"
    elif minutes < 10:
        text = f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    elif minutes < 180:
        text = f"{minutes}m"
    elif hours < 8:
        text = f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    else:
        text = f"{hours}h"
    return text
