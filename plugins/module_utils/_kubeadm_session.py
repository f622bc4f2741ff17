# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the kubeadm modules run kubeadm: a Session that records and scrubs, and the module glue.

Private to kubeha.kubeadm: the names here may change in any release. The workflows take a
``runner`` callable that executes one argv and returns ``(rc, stdout, stderr)``, so unit tests
drive every branch with a fake one; module_runner() is the real one, over run_command.
Runs on the managed node: standard library only, Python 3.9+.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import (
    build_reset_argv,
    remove_file,
    render_config,
    write_private_file,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import (
    NEVER_RESET,
    KubeadmError,
    classify_failure,
    describe_failure,
    error_text,
)
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_output import parse_version, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    Runner = Callable[[list[str]], tuple[int, str, str]]

# The options every kubeadm module that runs kubeadm on its node shares; the documentation is
# the doc fragment kubeha.kubeadm._kubeadm (plugins/doc_fragments/_kubeadm.py).
KUBEADM_BASE_ARGSPEC: dict[str, dict[str, Any]] = {
    "kubeadm_path": {"type": "path"},
}
# ... and those of the two that set up the node (kubeha.kubeadm._kubeadm.node).
KUBEADM_COMMON_ARGSPEC: dict[str, dict[str, Any]] = {
    **KUBEADM_BASE_ARGSPEC,
    "cri_socket": {"type": "str"},
    "node_name": {"type": "str"},
    "ignore_preflight_errors": {"type": "list", "elements": "str", "default": []},
    "reset_on_failure": {"type": "bool", "default": True},
}


@dataclasses.dataclass
class CommandResult:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str


class Session:
    """Runs kubeadm, records what ran, and knows the secrets to scrub from anything reported."""

    def __init__(self, runner: Runner, kubeadm: str = "kubeadm", secrets: Iterable[str | None] = ()) -> None:
        self.runner = runner
        self.kubeadm = kubeadm
        self.secrets: set[str] = {secret for secret in secrets if secret}
        self.commands: list[list[str]] = []
        self.warnings: list[str] = []

    def scrub(self, value: Any) -> Any:
        return redact(value, self.secrets)

    def run(self, argv: list[str]) -> CommandResult:
        self.commands.append(self.scrub(argv))
        rc, stdout, stderr = self.runner(argv)
        return CommandResult(argv, rc, stdout or "", stderr or "")

    def error(
        self, msg: str, category: str = "unknown", result: CommandResult | None = None, **extra: Any
    ) -> KubeadmError:
        fields: dict[str, Any] = {"category": category, "commands": list(self.commands), **extra}
        if result is not None:
            fields.update(rc=result.rc, stdout=result.stdout, stderr=result.stderr, cmd=result.argv)
        scrubbed = self.scrub({"msg": msg, **fields})
        return KubeadmError(scrubbed.pop("msg"), **scrubbed)

    def check(self, result: CommandResult, action: str) -> CommandResult:
        """Raise a classified KubeadmError when ``result`` failed."""
        if result.rc != 0:
            category = classify_failure(result.stdout, result.stderr)
            raise self.error(describe_failure(action, category, result.stdout, result.stderr), category, result)
        return result

    def version(self) -> tuple[int, int, int]:
        result = self.check(self.run([self.kubeadm, "version", "-o", "short"]), "kubeadm version")
        version = parse_version(result.stdout)
        if version is None:
            raise self.error("kubeadm version printed no version", result=result)
        return version

    def reset(self, cri_socket: str | None) -> CommandResult:
        return self.run(build_reset_argv(self.kubeadm, cri_socket))

    def run_with_config(self, argv: list[str], path: str | None, documents: Mapping[str, Any] | None) -> CommandResult:
        """Run ``argv`` with ``documents`` written to ``path`` for the duration of the call only."""
        if documents is None or path is None:
            return self.run(argv)
        write_private_file(path, render_config(documents))
        try:
            return self.run(argv)
        finally:
            remove_file(path)

    def fail_and_reset(
        self, result: CommandResult, action: str, reset: bool, cri_socket: str | None, **extra: Any
    ) -> KubeadmError:
        """The error for a failed init/join, after resetting the node when that is allowed."""
        category = classify_failure(result.stdout, result.stderr)
        msg = describe_failure(action, category, result.stdout, result.stderr)
        reset_done = False
        if reset and category not in NEVER_RESET:
            outcome = self.reset(cri_socket)
            reset_done = outcome.rc == 0
            if reset_done:
                msg += " The node was reset (kubeadm reset) so that a re-run starts clean."
            else:
                said = " ".join(error_text(outcome.stdout, outcome.stderr).split())[:200]
                msg += f" kubeadm reset failed as well (rc {outcome.rc}): {said}"
        elif not reset:
            msg += " The node was left as kubeadm left it (reset_on_failure is false)."
        return self.error(msg, category, result, reset_after_failure=reset_done, **extra)


def _config_error(session: Session, exc: ValueError) -> KubeadmError:
    return session.error(f"invalid kubeadm configuration: {exc}")


def config_error(session: Session, exc: ValueError) -> KubeadmError:
    """The error for a config option that kubeadm would not accept."""
    return session.error(f"invalid kubeadm configuration: {exc}")


def module_runner(module: Any) -> Runner:
    """A runner over AnsibleModule.run_command: argv only, C locale, exit status not checked."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        executable = argv[0]
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            raise KubeadmError(f"kubeadm not found or not executable: {executable} (set kubeadm_path)")
        return module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})

    return run


def find_kubeadm(module: Any) -> str:
    """kubeadm_path, else kubeadm on PATH or in /usr/bin, /usr/local/bin; the name if nowhere."""
    found = module.get_bin_path("kubeadm", opt_dirs=["/usr/bin", "/usr/local/bin"])
    return module.params.get("kubeadm_path") or found or "kubeadm"


def run_module(module: Any, workflow: Callable[..., dict[str, Any]], root: str) -> None:
    """A module's main() after its argument spec: run ``workflow`` on this node, exit or fail with its result."""
    try:
        result = workflow(
            module.params,
            module_runner(module),
            kubeadm=find_kubeadm(module),
            root=root,
            tmpdir=module.tmpdir,
            check_mode=module.check_mode,
        )
    except KubeadmError as exc:
        module.fail_json(**exc.fail_kwargs())
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)
