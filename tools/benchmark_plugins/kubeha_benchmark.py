"""tools/benchmark's callback: what one ansible-playbook run did, as JSON.

Enabled only by tools/benchmark (never shipped): writes to $KUBEHA_BENCHMARK_RECORD the run's
wall time, each play's name and duration, and per host the tasks executed (ok, changed or
failed; skipped ones are not counted) and the changed count of the play recap.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: kubeha_benchmark
type: aggregate
short_description: records play durations and per-host task counts for tools/benchmark
description: Writes one JSON record per run to the file named by KUBEHA_BENCHMARK_RECORD.
requirements: [enabled in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kubeha_benchmark"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._start = time.monotonic()
        self._plays: list[dict[str, object]] = []
        self._executed: dict[str, int] = {}

    def _close_play(self, now: float) -> None:
        if self._plays and "seconds" not in self._plays[-1]:
            self._plays[-1]["seconds"] = round(now - float(self._plays[-1].pop("_start")), 3)

    def v2_playbook_on_play_start(self, play) -> None:
        now = time.monotonic()
        self._close_play(now)
        tags = sorted(str(tag) for tag in play.tags or [])
        self._plays.append({"name": play.get_name().strip(), "tags": tags, "_start": now})

    def _count(self, result) -> None:
        host = result._host.get_name()
        self._executed[host] = self._executed.get(host, 0) + 1

    v2_runner_on_ok = _count
    v2_runner_on_failed = _count

    def v2_playbook_on_stats(self, stats) -> None:
        now = time.monotonic()
        self._close_play(now)
        hosts = sorted(stats.processed)
        summary = {h: stats.summarize(h) for h in hosts}
        record = {
            "seconds": round(now - self._start, 3),
            "plays": self._plays,
            "hosts": {
                h: {
                    "executed": self._executed.get(h, 0),
                    "changed": summary[h]["changed"],
                    "failed": summary[h]["failures"] + summary[h]["unreachable"],
                }
                for h in hosts
            },
        }
        path = os.environ.get("KUBEHA_BENCHMARK_RECORD")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(record, handle, indent=1)
