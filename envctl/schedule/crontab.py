"""Scheduled sleep, wake and reap: crontab entries, and a GitHub Actions workflow.

Crontab: the entries of one environment live between two marker comments, so installing twice changes
nothing and removing leaves every other line alone. The ``crontab`` program is ``ENVCTL_CRONTAB`` when set
(tests point it at a stand-in, so none touches a real user's crontab).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envctl.config.model import Environment, ScheduleConfig
from envctl.errors import ConfigError, UsageError
from envctl.schedule import cron as cronexpr

CRONTAB_VAR = "ENVCTL_CRONTAB"
WAIT_LOCK = "30m"
REAP_CRON = "*/15 * * * *"


def require_schedule(env: Environment) -> ScheduleConfig:
    if env.schedule is None:
        raise ConfigError(env.file, "has no schedule: block, so there is nothing to schedule", key="schedule",
                          hint="add e.g. schedule: {timezone: Europe/Amsterdam, sleep: \"0 19 * * 1-5\", "
                          "wake: \"0 8 * * 1-5\", down_after: 12h}")
    sched = env.schedule
    if not (sched.sleep or sched.wake or sched.down_after):
        raise ConfigError(env.file, "names none of sleep, wake or down_after", key="schedule")
    for key in ("sleep", "wake"):
        cron = getattr(sched, key)
        if cron:
            try:
                cronexpr.validate(cron)
            except cronexpr.CronError as err:
                raise ConfigError(env.file, str(err), key=f"schedule.{key}") from None
    return sched


# ---------------------------------------------------------------- crontab


def begin_marker(env_name: str) -> str:
    return f"# >>> envctl {env_name} >>>"


def end_marker(env_name: str) -> str:
    return f"# <<< envctl {env_name} <<<"


def log_path(root: Path, env_name: str) -> Path:
    """Where the scheduled runs of ``env_name`` append their output."""
    return root / ".envctl" / "schedule" / f"{env_name}.log"


def crontab_lines(env: Environment, root: Path, envctl_cmd: Sequence[str], *, path: str | None = None) -> list[str]:
    """The crontab block for ``env``, marker comments included.

    ``envctl_cmd`` is how cron starts envctl (an absolute path: cron's PATH is short); ``path`` is the PATH the
    scripts get (the stock ``aws`` CLI must be on it).
    """
    sched = require_schedule(env)
    log = log_path(root, env.name)
    base = [*envctl_cmd, "--root", str(root)]
    lines = [begin_marker(env.name),
             f"# envctl schedule {env.name}: written by envctl, replaced by the next --install, "
             "gone with --remove",
             f"# times below are {sched.timezone} (CRON_TZ; a cron without CRON_TZ support, such as Debian's, "
             "reads them in the system time zone)",
             f"CRON_TZ={sched.timezone}"]
    jobs = [(sched.sleep, "sleep", [*base, "sleep", env.name, "--wait-lock", WAIT_LOCK]),
            (sched.wake, "wake", [*base, "wake", env.name, "--wait-lock", WAIT_LOCK])]
    if sched.down_after:
        # every 15 minutes: an environment is torn down at most that long after its down_after
        jobs.append((REAP_CRON, "reap", [*base, "reap", env.name, "--yes"]))
    for cron, action, argv in jobs:
        if cron:
            lines.append(f"{cron} {_cron_command(action, env.name, argv, log, path)}")
    lines.append(end_marker(env.name))
    return lines


def _cron_command(action: str, env_name: str, argv: Sequence[str], log: Path, path: str | None) -> str:
    prefix = f"PATH={shlex.quote(path)} " if path else ""
    command = (f"{{ echo \"=== envctl {action} {env_name}: $(date -u)\"; "
               f"{prefix}{shlex.join(argv)}; }} >> {shlex.quote(str(log))} 2>&1")
    return command.replace("%", "\\%")  # cron turns a bare % into a newline


@dataclass(frozen=True)
class CrontabChange:
    changed: bool
    lines: list[str]


def install(env: Environment, root: Path, envctl_cmd: Sequence[str], *, path: str | None = None,
            crontab: Sequence[str] | None = None) -> CrontabChange:
    """Put the block for ``env`` in the user's crontab (in place of an earlier one). Idempotent."""
    block = crontab_lines(env, root, envctl_cmd, path=path)
    log_path(root, env.name).parent.mkdir(parents=True, exist_ok=True)
    current = read_crontab(crontab)
    updated = _with_block(current, env.name, block)
    if updated == current:
        return CrontabChange(False, block)
    write_crontab(updated, crontab)
    return CrontabChange(True, block)


def remove(env_name: str, *, crontab: Sequence[str] | None = None) -> CrontabChange:
    """Take the block for ``env_name`` out of the user's crontab; every other line stays as it was."""
    current = read_crontab(crontab)
    updated = _with_block(current, env_name, None)
    if updated == current:
        return CrontabChange(False, [])
    write_crontab(updated, crontab)
    return CrontabChange(True, [])


def _with_block(lines: list[str], env_name: str, block: list[str] | None) -> list[str]:
    begin, end = begin_marker(env_name), end_marker(env_name)
    if begin in lines:
        start = lines.index(begin)
        stop = lines.index(end, start) if end in lines[start:] else len(lines) - 1
        return [*lines[:start], *(block or []), *lines[stop + 1:]]
    if block is None:
        return lines
    # appended last: CRON_TZ applies to every line after it, so below the block there are only its own lines
    return [*lines, *block]


def crontab_command() -> list[str]:
    return shlex.split(os.environ.get(CRONTAB_VAR) or "crontab")


def read_crontab(command: Sequence[str] | None = None) -> list[str]:
    argv = list(command or crontab_command())
    proc = _crontab([*argv, "-l"], None)
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return []
        raise UsageError(f"'{shlex.join(argv)} -l' failed: {proc.stderr.strip() or f'exit {proc.returncode}'}")
    return proc.stdout.splitlines()


def write_crontab(lines: list[str], command: Sequence[str] | None = None) -> None:
    argv = list(command or crontab_command())
    proc = _crontab([*argv, "-"], "\n".join(lines) + "\n" if lines else "")
    if proc.returncode != 0:
        raise UsageError(f"'{shlex.join(argv)} -' failed: {proc.stderr.strip() or f'exit {proc.returncode}'}")


def _crontab(argv: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=stdin if stdin is not None else None, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL if stdin is None else None, check=False)
    except FileNotFoundError:
        raise UsageError(f"'{argv[0]}' was not found, so envctl cannot edit the crontab",
                         hint=f"install cron, or point {CRONTAB_VAR} at a crontab program") from None
