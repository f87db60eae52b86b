"""The review gate: "read the diff, always", made mechanical.

``envctl approve ENV`` records the sha256 of every file that decides what the environment does (its env.yaml
and every script of every component) in ``environments/<env>/envctl.lock``, a sorted JSON file meant to be
committed with the scripts, and keeps a copy of each approved file under ``.envctl/approved/<env>/`` to diff
against.

With ``review: required`` in env.yaml, :func:`check_review` refuses (exit 2, nothing run) while any of those
files differs from its approved version, listing each one with a unified diff against the approved copy.
A teardown (``down``, ``reap``) needs approval only of what it runs: the delete scripts of the components it
deletes, the files they source, and env.yaml. Inside an AI coding agent's session, :func:`check_agent_session`
applies the same record to what a command runs, whatever ``review:`` says (``agents:`` in env.yaml).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from envctl.config.paths import atomic_write_text, state_dir
from envctl.errors import ConfigError, RefusedError
from envctl.safety.lint import teardown_scripts

if TYPE_CHECKING:
    from envctl.config.model import Environment
    from envctl.safety.agents import AgentSession

LOCK_NAME = "envctl.lock"
LOCK_VERSION = 1
MAX_DIFF_LINES = 300

Status = Literal["new", "changed", "unchanged", "removed"]
STATUSES: tuple[Status, ...] = ("new", "changed", "unchanged", "removed")


@dataclass(frozen=True)
class FileReview:
    """One reviewed file: ``path`` relative to the root (posix), its sha256 now and as approved."""

    path: str
    status: Status
    sha256: str | None
    approved_sha256: str | None


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_path(env: Environment) -> Path:
    return env.dir / LOCK_NAME


def reviewed_files(env: Environment) -> dict[str, Path]:
    """Every file under review, keyed by its path relative to the root: env.yaml, every script and every
    file a script sources (a shared library changes what runs as much as the script itself)."""
    from envctl.safety.shellparse import sourced_files

    files = {relative_path(env, env.file): env.file}
    for component in env.components.values():
        for path in component.scripts.all().values():
            files[relative_path(env, path)] = path
            for library in sourced_files(path):
                files[relative_path(env, library)] = library
    return dict(sorted(files.items()))


def read_lock(env: Environment) -> dict[str, str]:
    """The approved sha256 per path; {} when nothing was approved yet."""
    path = lock_path(env)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(path, f"not a readable envctl lock file ({err})",
                          hint=f"restore it from git, or approve again: envctl approve {env.name}") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ConfigError(path, "has no 'files' mapping of path to sha256",
                          hint=f"restore it from git, or approve again: envctl approve {env.name}")
    return {str(k): v for k, v in files.items()}


def review_status(env: Environment) -> list[FileReview]:
    """Each file under review (and each approved one that is gone) compared with the lock file."""
    approved = read_lock(env)
    result: list[FileReview] = []
    for rel, path in reviewed_files(env).items():
        digest = sha256_file(path) if path.is_file() else None
        before = approved.get(rel)
        status: Status = "new" if before is None else "unchanged" if before == digest else "changed"
        result.append(FileReview(rel, status, digest, before))
    current = {r.path for r in result}
    result += [FileReview(rel, "removed", None, sha) for rel, sha in sorted(approved.items())
               if rel not in current]
    return result


def approve(env: Environment) -> list[FileReview]:
    """Approve the environment as it is on disk: write the lock file and keep a copy of every file.

    Returns what was approved, with each file's status *before* this approval.
    """
    status = review_status(env)
    files = reviewed_files(env)
    for review in status:
        if review.status != "removed":
            copy = approved_copy(env, review.path)
            atomic_write_text(copy, files[review.path].read_text(encoding="utf-8", errors="replace"))
    lock = {"envctl_lock": LOCK_VERSION, "env": env.name,
            "files": {r.path: r.sha256 for r in status if r.status != "removed" and r.sha256}}
    atomic_write_text(lock_path(env), json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return status


def approved_copy(env: Environment, rel: str) -> Path:
    """Where the last approved version of ``rel`` is kept on this machine."""
    return state_dir(env.root) / "approved" / env.name / rel


def unapproved(env: Environment) -> list[FileReview]:
    return [r for r in review_status(env) if r.status in ("new", "changed")]


def check_review(env: Environment, *, teardown: Sequence[str] | None = None) -> None:
    """With ``review: required``, refuse (RefusedError, exit 2) while a file is not approved as it is.

    ``teardown`` names the components a teardown deletes (``down``, ``reap``): then only what it runs counts,
    their delete scripts and the files those source, and env.yaml (the account, region, vars and tags the
    deletes get). A changed install script does not hold the teardown back; a changed delete script does.
    The message lists every such file, with a unified diff against its approved copy where there is one.
    """
    if getattr(env, "review", "off") != "required":
        return
    pending = unapproved(env)
    others: list[FileReview] = []
    if teardown is not None:
        runs = {relative_path(env, env.file), *(relative_path(env, p) for p in teardown_scripts(env, teardown))}
        others = [r for r in pending if r.path not in runs]
        pending = [r for r in pending if r.path in runs]
    if not pending:
        return
    what = "file(s) this teardown runs" if teardown is not None else "file(s)"
    parts = [f"environment '{env.name}' requires review and {len(pending)} {what} are not approved as they "
             "are; nothing was run:"]
    for review in pending:
        parts.append(f"  {review.status}: {review.path}")
        if review.status == "changed":
            parts.append(_indent(describe_change(env, review)))
    hint = (f"read the changes, then: envctl approve {env.name} "
            f"(and commit {relative_path(env, lock_path(env))})")
    if others:
        hint += (f"; approve takes the whole environment as it is on disk, so it also approves "
                 f"{len(others)} other changed file(s): {', '.join(r.path for r in others)}")
    raise RefusedError("\n".join(parts), hint=hint)


def describe_change(env: Environment, review: FileReview) -> str:
    """A unified diff of ``review`` against its approved copy, or why there is none."""
    copy = approved_copy(env, review.path)
    current = (env.root / review.path).read_text(encoding="utf-8", errors="replace")
    if not copy.is_file() or sha256_file(copy) != review.approved_sha256:
        return (f"(approved as sha256 {str(review.approved_sha256)[:12]}..., approved elsewhere: "
                "no copy of that version on this machine to diff against)")
    old = copy.read_text(encoding="utf-8", errors="replace")
    diff = list(difflib.unified_diff(old.splitlines(keepends=True), current.splitlines(keepends=True),
                                     fromfile=f"a/{review.path} (approved)", tofile=f"b/{review.path}"))
    lines = [line if line.endswith("\n") else line + "\n" for line in diff]
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)\n"]
    return "".join(lines).rstrip("\n")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def relative_path(env: Environment, path: Path) -> str:
    try:
        return path.resolve().relative_to(env.root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


# ---------------------------------------------------------------- inside an AI coding agent's session

# What each mutating command runs: an agent's session may run it once these scripts (and env.yaml) are approved.
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {
    "up": ("install",), "update": ("update",), "down": ("delete",), "reap": ("delete",),
    "sleep": ("sleep",), "wake": ("wake",),
}


def files_for(env: Environment, actions: Sequence[str]) -> set[str]:
    """The reviewed files a run of ``actions`` depends on: env.yaml, those scripts and what they source."""
    from envctl.safety.shellparse import sourced_files

    files = {relative_path(env, env.file)}
    for component in env.components.values():
        for action, path in component.scripts.all().items():
            if action in actions:
                files.add(relative_path(env, path))
                files.update(relative_path(env, library) for library in sourced_files(path))
    return files


def check_agent_session(env: Environment, command: str, session: AgentSession | None) -> None:
    """Inside an AI coding agent's session (``session``, from :func:`envctl.safety.agents.detect`), refuse
    (RefusedError, exit 2, nothing run) what ``agents:`` in env.yaml does not allow: with ``approved`` (the
    default) any script the command runs that a person has not approved as it is; with ``never`` the command
    itself. ``any``: no check.

    A guard against accidents, not a boundary: IAM is the boundary (``envctl policy``).
    """
    if session is None or env.agents == "any":
        return
    who = f"this is an AI coding agent's session ({session.describe()})"
    if env.agents == "never":
        raise RefusedError(f"{who} and {relative_path(env, env.file)} says agents: never: agents do not change "
                           f"'{env.name}'; nothing was run",
                           hint=f"a person runs it, outside the agent session: envctl {command} {env.name}")
    wanted = files_for(env, COMMAND_ACTIONS.get(command, tuple(COMMAND_ACTIONS)))
    pending = [r for r in unapproved(env) if r.path in wanted]
    if not pending:
        return
    parts = [f"{who}: it runs only scripts a person approved (agents: approved, the default, for "
             f"{relative_path(env, env.file)}), and {len(pending)} file(s) that 'envctl {command}' depends on "
             "are not approved as they are; nothing was run:"]
    for review in pending:
        parts.append(f"  {review.status}: {review.path}")
        if review.status == "changed":
            parts.append(_indent(describe_change(env, review)))
    raise RefusedError("\n".join(parts),
                       hint=f"a person reads them and runs, outside the agent session: envctl approve {env.name} "
                            f"(and commits {relative_path(env, lock_path(env))}); then run this again")
