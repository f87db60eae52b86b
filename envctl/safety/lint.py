"""lint: the script-pair contract, checked by the tool instead of remembered by people.

Errors (``envctl lint`` exits 2, and every mutating command refuses to start): a component without both halves
of its pair; a script that is missing, not executable or without a shebang; anything pinned to ``latest``; a
value shaped like an AWS access key or secret key. Warnings: no ``set -euo pipefail``; ``|| true``; an
``aws ... create-*`` / ``run-instances`` call that does not pass the environment's tags. shellcheck's findings
are added as warnings when shellcheck is installed.

A warning (never an error) can be silenced on its line with a trailing ``# envctl-lint: disable=RULE[,RULE]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from envctl.errors import RefusedError
from envctl.safety.lint_cache import LintCache
from envctl.safety.lint_rules import (
    _SKIPPED_DIRS,
    CONFIG,
    INCOMPLETE_PAIR,
    MISSING_SCRIPT,
    Finding,
    is_shell,
    lint_script,
    scan_text,
    shellcheck,
)
from envctl.safety.shellparse import read_text, sourced_files

if TYPE_CHECKING:
    from envctl.config.model import Environment


# ---------------------------------------------------------------- an environment


def environment_files(env: Environment) -> tuple[list[Path], list[Path]]:
    """(the scripts of every component, every other text file in the component folders), without repeats."""
    scripts: dict[Path, None] = {}
    for component in env.components.values():
        for path in component.scripts.all().values():
            scripts[path] = None
    others: dict[Path, None] = {}
    for component in env.components.values():
        for path in _component_files(component.dir):
            if path not in scripts:
                others[path] = None
    return list(scripts), list(others)


def _component_files(folder: Path, *, max_depth: int = 3, max_files: int = 500) -> list[Path]:
    """The files of a component folder (manifests, policies, ...), hidden and vendored folders left out.

    Bounded, because a component's ``dir`` may be a shared folder high up in the repository.
    """
    found: list[Path] = []
    base_depth = len(folder.parts)
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS
                         and len(here.parts) - base_depth < max_depth)
        for name in sorted(files):
            if not name.startswith("."):
                found.append(here / name)
                if len(found) >= max_files:
                    return found
    return found


def lint_environment(env: Environment, *, use_shellcheck: bool = True,
                     cache: LintCache | None = None) -> list[Finding]:
    """Every finding of an environment: its env.yaml, every script of every component, the files beside.
    With ``cache``, a file whose content was linted before is not scanned again."""
    findings: list[Finding] = []
    for name, component in env.components.items():
        for action in ("install", "delete"):
            if component.scripts.for_action(action) is None:
                findings.append(Finding(env.file, 0, INCOMPLETE_PAIR, "error",
                                        f"component '{name}' has no {action} script"))
    if cache is not None:
        findings += cache.text(env.file)
    else:
        env_text = read_text(env.file)
        if env_text is not None:
            findings += scan_text(env.file, env_text)
    scripts, others = environment_files(env)
    for path in scripts:
        findings += cache.script(path) if cache is not None else lint_script(path)
    for path in others:
        if cache is not None:
            findings += cache.text(path)
            continue
        text = read_text(path)
        if text is not None:
            findings += scan_text(path, text)
    if use_shellcheck:
        findings += shellcheck([p for p in scripts if p.is_file() and is_shell(p)])
    return sorted(set(findings))


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


def require_lint_clean(env: Environment, *, teardown: Sequence[str] | None = None) -> list[Finding]:
    """Refuse (exit 2, nothing run) when the environment has lint errors; return its warnings.

    shellcheck is not run here: its findings are warnings only, and this runs before every mutating command
    (with the lint cache: a file is scanned again only when its content changed).
    ``teardown`` names the components a teardown deletes: then only an error in a delete script it runs (or a
    file that script sources) refuses; any other (a ``:latest`` in an install, in env.yaml or a manifest) is
    a warning, since refusing ``down`` over it would keep a costly environment up until someone fixes it.
    """
    cache = LintCache.for_root(env.root)
    findings = lint_environment(env, use_shellcheck=False, cache=cache)
    cache.save()
    if teardown is not None:
        runs = {path.resolve() for path in teardown_scripts(env, teardown)}
        findings = [_downgraded(f) if f.is_error and f.rule != INCOMPLETE_PAIR and f.file.resolve() not in runs
                    else f for f in findings]
    bad = errors(findings)
    if bad:
        listing = "\n".join("  " + f.render(env.root) for f in bad)
        raise RefusedError(f"environment '{env.name}' has {len(bad)} lint error(s); nothing was run:\n"
                           f"{listing}",
                           hint=f"fix them, then check with: envctl lint {env.name}")
    return [f for f in findings if not f.is_error]


def teardown_scripts(env: Environment, components: Iterable[str]) -> list[Path]:
    """What a teardown of ``components`` runs: their delete scripts and every file those source."""
    found: dict[Path, None] = {}
    for name in components:
        delete = env.components[name].scripts.delete
        found[delete] = None
        found.update(dict.fromkeys(sourced_files(delete)))
    return list(found)


def _downgraded(finding: Finding) -> Finding:
    return Finding(finding.file, finding.line, finding.rule, "warning",
                   finding.message + " (an error, but not in a script this teardown runs)")


# ---------------------------------------------------------------- by name, also when env.yaml is refused

_ACTION_GLOBS = {"install": ("install-*.sh", "create-*.sh"), "delete": ("delete-*.sh",),
                 "update": ("update-*.sh",), "sleep": ("sleep-*.sh",), "wake": ("wake-*.sh",)}


def lint_component_dir(folder: Path, *, install: str | None = None,
                       delete: str | None = None) -> list[Finding]:
    """Lint a component folder straight from disk, finding its scripts by name (``install:``/``delete:`` win).

    Used when env.yaml itself does not load, so that every problem is reported at once, not one per run.
    """
    if not folder.is_dir():
        return [Finding(folder, 0, MISSING_SCRIPT, "error", "component folder not found")]
    findings: list[Finding] = []
    scripts: list[Path] = []
    explicit = {"install": install, "delete": delete}
    for action, globs in _ACTION_GLOBS.items():
        named = explicit.get(action)
        found = [folder / named] if named else sorted({p for g in globs for p in folder.glob(g)})
        if not found and action in explicit:
            findings.append(Finding(folder, 0, INCOMPLETE_PAIR, "error",
                                    f"no {action} script ({' or '.join(globs)})"))
        scripts += found
    for path in scripts:
        findings += lint_script(path)
    for path in sorted(folder.iterdir()):
        if path.is_file() and path not in scripts:
            text = read_text(path)
            if text is not None:
                findings += scan_text(path, text)
    return findings


def lint_named(root: Path, name: str, *, use_shellcheck: bool = True) -> list[Finding]:
    """Lint environment ``name`` under ``root``. When its env.yaml is refused, report that as an error and
    still lint what can be found on disk."""
    from envctl.config.load import load_environment
    from envctl.errors import ConfigError

    try:
        env = load_environment(root, name)
    except ConfigError as err:
        file = Path(err.file)
        prefix = str(file) + (f":{err.line}" if err.line is not None else "") + ": "
        message = err.message[len(prefix):] if err.message.startswith(prefix) else err.message
        line = err.line or (key_line(file, err.key) if err.key else None) or 0
        config = Finding(file, line, CONFIG, "error", message)
        return sorted({config, *_lint_raw(root / "environments" / name, use_shellcheck=use_shellcheck)})
    return lint_environment(env, use_shellcheck=use_shellcheck)


def key_line(file: Path, dotted: str) -> int | None:
    """The line of ``components.net`` (or ``aws.target``, ...) in a YAML file, as far as it can be found."""
    import yaml

    try:
        node = yaml.compose(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


def _lint_raw(env_dir: Path, *, use_shellcheck: bool) -> list[Finding]:
    import yaml

    env_file = env_dir / "env.yaml"
    findings: list[Finding] = []
    text = read_text(env_file)
    if text is None:
        return findings
    findings += scan_text(env_file, text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return findings
    components = data.get("components") if isinstance(data, dict) else None
    if not isinstance(components, dict):
        return findings
    root = env_dir.parent.parent.resolve()
    for name, spec in components.items():
        spec = spec if isinstance(spec, dict) else {}
        folder = (env_dir / str(spec.get("dir") or name)).resolve()
        if not folder.is_relative_to(root):
            continue
        install, delete = spec.get("install"), spec.get("delete")
        findings += lint_component_dir(folder, install=install if isinstance(install, str) else None,
                                       delete=delete if isinstance(delete, str) else None)
    if use_shellcheck:
        scripts = {p for globs in _ACTION_GLOBS.values() for g in globs for p in env_dir.rglob(g)}
        findings += shellcheck(sorted(p for p in scripts if p.is_file() and is_shell(p)))
    return findings
