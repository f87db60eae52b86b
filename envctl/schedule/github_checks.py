"""What a scheduled GitHub Actions job needs before envctl writes one: an environment a runner can reach and
whose state it shares, and envctl's own source in the repository the job checks out.

A workflow that cannot work is worse than none: it runs every night, exits 0 and does nothing. So
``schedule --github`` refuses (exit 2), naming each problem and what to change:

- ``target: sandbox`` (or an ``endpoint_url`` on this machine): the runner cannot reach it.
- local state: the runner starts with none, so every component looks down (its ``sleep-*``/``wake-*`` scripts
  are skipped), ``down_after`` can never be reached (it counts from a time in the state), and its sleep and
  wake would take no lock against a run on a laptop and leave no record there. Team state
  (``state: backend: s3``) gives the runner the same state and the same lock.

The job installs envctl from the commit it checked out, never by name from a package index: the name
``envctl`` there belongs to another project, and a version it publishes would then run with the
environment's AWS role. Its dependencies come from the source's ``requirements-runner.txt``, each at one
version with its hashes (``scripts/lock-runner.sh`` writes it), so a release published since is never run
either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from envctl import DISTRIBUTION
from envctl.config.model import Environment
from envctl.errors import RefusedError

_PROJECT_NAME = re.compile(r"^\[project\]\s*$(?:(?!^\[).)*?^name\s*=\s*[\"']([^\"']+)[\"']",
                           re.MULTILINE | re.DOTALL)
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
#: the source of the envctl running now (a checkout, when it was installed with ``pip install -e``)
_RUNNING = Path(__file__).resolve().parents[2]
#: in envctl's source: every package the job installs, pinned with hashes
LOCK = "requirements-runner.txt"


def refusals(env: Environment) -> list[str]:
    """Why a GitHub runner could not run ``env``'s schedule, each with what to change; [] when it can."""
    problems = []
    name, where = env.name, env.file
    if env.aws.target == "sandbox":
        problems.append(f"aws: target: sandbox is the embedded AWS on this machine, which a GitHub runner "
                        f"cannot reach: set aws: target: account (with account_id) in {where}, or schedule it "
                        f"on this machine with cron: envctl schedule {name} --install")
    elif env.aws.endpoint_url and _on_this_machine(env.aws.endpoint_url):
        problems.append(f"aws: endpoint_url {env.aws.endpoint_url} is on this machine, which a GitHub runner "
                        f"cannot reach: schedule it here with cron: envctl schedule {name} --install")
    if env.state.backend == "local":
        problems.append(_local_state(env))
    return problems


def _local_state(env: Environment) -> str:
    sched = env.schedule
    scripted = sorted(n for n, c in env.components.items() if c.scripts.sleep or c.scripts.wake)
    lines = ["its state is kept in local files on this machine (state: backend: local) and a GitHub runner "
             "starts with none, so there:"]
    if scripted and sched is not None and (sched.sleep or sched.wake):
        lines.append(f"the sleep/wake scripts of {', '.join(scripted)} would be skipped (with no state every "
                     "component counts as down)")
    if sched is not None and sched.down_after:
        lines.append("down_after could never reap (it counts from when the environment went up, which only the "
                     "state knows)")
    lines.append("sleep and wake would take no lock against a run on another machine, and leave no record: "
                 "status and history here would not know")
    return ("\n    - ".join(lines) + f"\n    put the state in S3, which the runner shares with every machine: set "
            f"state: backend: s3 (with bucket and lock_table) in {env.file}, then envctl state init {env.name} "
            f"and envctl state migrate {env.name}; or schedule it on this machine with cron: "
            f"envctl schedule {env.name} --install")


def check_runnable(env: Environment) -> None:
    """Refuse (exit 2) when a GitHub runner could not run ``env``'s schedule; every problem is named."""
    problems = refusals(env)
    if problems:
        raise RefusedError(f"no workflow written for '{env.name}': a GitHub runner could not do its schedule:\n"
                           + "\n".join(f"  - {p}" for p in problems))


def _on_this_machine(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in _LOOPBACK or host.startswith("127.")


# ---------------------------------------------------------------- envctl from the checkout


@dataclass(frozen=True)
class Checkout:
    """Paths in the repository the job checks out (posix, relative to its top; ``.`` for the top itself)."""

    envctl: str            # envctl's source: the folder whose pyproject.toml names the distribution
    root: str              # the project root (the folder that holds environments/)
    submodule: bool = False  # envctl's source is a git submodule: the checkout must fetch it


def project_name(folder: Path) -> str | None:
    """The ``[project] name`` of ``folder/pyproject.toml``, normalised (PEP 503); None without one."""
    try:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _PROJECT_NAME.search(text)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def repository_top(root: Path) -> Path:
    """The top of the git repository that holds ``root`` (``root`` itself when none is found)."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return root


def checkout(root: Path, envctl_path: Path | None = None, *, running: Path | None = _RUNNING) -> Checkout:
    """Where envctl's source is in the repository of ``root``: ``envctl_path`` when given, else ``root`` or a
    folder above it inside the repository, else the source of the envctl running now (``running``) when it
    lies inside the repository. RefusedError (exit 2) when there is none."""
    root = root.resolve()
    top = repository_top(root)
    if envctl_path is not None:
        folder = (envctl_path if envctl_path.is_absolute() else Path.cwd() / envctl_path).resolve()
        if not folder.is_relative_to(top) or project_name(folder) != DISTRIBUTION:
            raise RefusedError(f"--envctl-path {envctl_path}: not a folder of this repository ({top}) whose "
                               f"pyproject.toml names {DISTRIBUTION}",
                               hint="point it at envctl's source inside the repository the workflow checks out")
        return _checkout(top, folder, root)
    candidates = [root, *(p for p in root.parents if p.is_relative_to(top))]
    if running is not None:
        candidates.append(running.resolve())
    for folder in candidates:
        if folder.is_relative_to(top) and project_name(folder) == DISTRIBUTION:
            return _checkout(top, folder, root)
    raise RefusedError(
        f"no workflow written: it installs envctl from the repository it checks out, and {top} holds no "
        f"envctl source (a pyproject.toml naming {DISTRIBUTION}, at {root} or above it)",
        hint="keep envctl's source in this repository (a copy or a git submodule, pinned to a commit you "
             "reviewed) and pass --envctl-path DIR; a workflow never installs envctl by name from a package "
             "index, where the name envctl belongs to another project")


def _checkout(top: Path, folder: Path, root: Path) -> Checkout:
    if not (folder / LOCK).is_file():
        raise RefusedError(f"no workflow written: the job installs envctl's dependencies only from {LOCK} in "
                           f"envctl's source (each pinned, with its hashes), and {folder} has none",
                           hint=f"copy {LOCK} with envctl's source, or write it there with scripts/lock-runner.sh")
    submodule = folder != top and (folder / ".git").is_file()
    return Checkout(folder.relative_to(top).as_posix(), root.relative_to(top).as_posix(), submodule)
