"""lint's rules for one script file: the patterns (``latest``, secret-shaped values, swallowed failures,
untagged creates), the shell reading they need, and shellcheck. :mod:`envctl.safety.lint` applies them to an
environment and says what the rules mean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from envctl.safety.shellparse import (
    AWS_CALL,
    command_at,
    has_strict_mode,
    logical_lines,
    mentions_tags,
    read_text,
    strip_comment,
    tag_names,
    with_sourced,
)

if TYPE_CHECKING:
    pass

Severity = Literal["error", "warning"]

# Rule names, as printed.
INCOMPLETE_PAIR = "incomplete-pair"
MISSING_SCRIPT = "missing-script"
NOT_EXECUTABLE = "not-executable"
NO_SHEBANG = "no-shebang"
PINNED_LATEST = "pinned-latest"
AWS_ACCESS_KEY = "aws-access-key"
AWS_SECRET_KEY = "aws-secret-key"
NO_STRICT_MODE = "no-strict-mode"
SWALLOWED_FAILURE = "swallowed-failure"
UNTAGGED_CREATE = "untagged-create"
CONFIG = "config"

WARNING_RULES = frozenset({NO_STRICT_MODE, SWALLOWED_FAILURE, UNTAGGED_CREATE})

SHELLCHECK_MISSING = ("shellcheck is not installed; its checks were skipped "
                      "(Debian/Ubuntu: apt-get install shellcheck)")

_SHELLS = ("sh", "bash", "dash", "zsh", "ksh")
_SKIPPED_DIRS = frozenset({"node_modules", "venv", "__pycache__", "vendor", "environments"})


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, rendered as ``file:line: rule: message``. ``line`` 0: the whole file or folder."""

    file: Path
    line: int
    rule: str
    severity: Severity
    message: str

    def render(self, relative_to: Path | None = None) -> str:
        return f"{_display(self.file, relative_to)}:{self.line}: {self.rule}: {self.message}"

    def __str__(self) -> str:
        return self.render()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def _display(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return str(path.resolve().relative_to(relative_to.resolve()))
        except ValueError:
            pass
    return str(path)


# ---------------------------------------------------------------- patterns

# ``nginx:latest``, ``"${IMAGE}:latest"``, ``public.ecr.aws/x/y:latest-alpine``
_LATEST_TAG = re.compile(r"(?<=[\w}\]\"'./-]):latest(?![\w.])")
# ``--version latest``, ``--kubernetes-version=latest``, ``--image-tag 'latest'``
_LATEST_OPTION = re.compile(r"--[\w-]*(?:version|tag)(?:=|\s+)[\"']?latest(?![\w.-])", re.IGNORECASE)
# ``foo@latest`` (npm, go install, GitHub Actions)
_LATEST_AT = re.compile(r"(?<=\S)@latest(?![\w.-])")
# ``K8S_VERSION=latest``, ``version: latest``, ``image_tag: "latest"``
_LATEST_ASSIGN = re.compile(r"(?:version|tag)[\"']?\s*[:=]\s*[\"']?latest(?![\w.-])", re.IGNORECASE)
_LATEST_PATTERNS = (_LATEST_TAG, _LATEST_OPTION, _LATEST_AT, _LATEST_ASSIGN)

ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
# A secret-ish AWS key name (aws_secret_access_key, AWS_SECRET_ACCESS_KEY, SecretAccessKey, secret_key, ...),
# then '=', ':' or blanks, then a 40-character secret.
SECRET_KEY_NAME = r"(?:aws_?)?secret_?(?:access_?)?key"
SECRET_ACCESS_KEY = re.compile(
    r"(?P<name>" + SECRET_KEY_NAME + r")[\"']?(?:\s*[:=]\s*|\s+)[\"']?"
    r"(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    re.IGNORECASE)

_SWALLOW = re.compile(r"\|\|\s*(?:true|:)(?=\s*(?:$|[;&|)#]))")
_DISABLE = re.compile(r"#\s*envctl-lint:\s*disable=([\w,/-]+)")
_CREATE_OP = re.compile(r"(?:^|\s)(create-[a-z0-9-]+|run-instances)(?=\s|$)")
_TAG_OPTION = re.compile(r"--(?:tags|tag-specifications|tagging)\b")
# Calls that cannot take tags at all, and those whose tags go on with a follow-up call.
_NO_TAGS = frozenset({
    "create-tags", "create-route", "create-access-key", "create-login-profile", "create-policy-version",
    "create-alias", "create-log-stream", "create-network-acl-entry", "create-service-linked-role",
    "create-invalidation", "create-export-task", "create-token", "create-presigned-url",
    "create-multipart-upload",
})
_TAGGED_LATER = {"create-bucket": "put-bucket-tagging", "create-hosted-zone": "change-tags-for-resource"}


# ---------------------------------------------------------------- one script


def lint_script(path: Path) -> list[Finding]:
    """Every finding of one script file (shellcheck excluded: see :func:`shellcheck`)."""
    if not path.exists():
        return [Finding(path, 0, MISSING_SCRIPT, "error", "script not found")]
    if not path.is_file():
        return [Finding(path, 0, MISSING_SCRIPT, "error", "not a regular file")]
    findings = mode_findings(path)
    text = read_text(path)
    if text is None:
        return findings
    return sorted(findings + content_findings(path, text))


def mode_findings(path: Path) -> list[Finding]:
    """What the file's mode decides (not its content): whether it can be executed."""
    if os.access(path, os.X_OK):
        return []
    return [Finding(path, 1, NOT_EXECUTABLE, "error", f"not executable (chmod +x {path.name})")]


def content_findings(path: Path, text: str) -> list[Finding]:
    """What the script's text decides (with the files it sources): shebang, pins, secrets, shell warnings."""
    findings: list[Finding] = []
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if not first.startswith("#!"):
        findings.append(Finding(path, 1, NO_SHEBANG, "error",
                                "no shebang on the first line (start with #!/usr/bin/env bash)"))
    findings += scan_text(path, text)
    if is_shell(path, first):
        findings += _shell_warnings(path, lines)
    return findings


def scan_text(path: Path, text: str) -> list[Finding]:
    """The errors any file can hold, script or not: ``latest`` pins and AWS credentials."""
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = strip_comment(line)
        for pattern in _LATEST_PATTERNS:
            match = pattern.search(code)
            if match:
                findings.append(Finding(path, number, PINNED_LATEST, "error",
                                        f"'{_word_at(code, match)}' is pinned to latest; pin a version"))
                break
        # Credentials are found in comments too: a key in a comment is still a leaked key.
        for match in ACCESS_KEY_ID.finditer(line):
            if not match.group(0).endswith("EXAMPLE"):
                findings.append(Finding(path, number, AWS_ACCESS_KEY, "error",
                                        f"an AWS access key id ({match.group(0)[:4]}...); remove it and "
                                        "rotate the key"))
        for match in SECRET_ACCESS_KEY.finditer(line):
            if not _is_example(match.group("value")):
                findings.append(Finding(path, number, AWS_SECRET_KEY, "error",
                                        f"an AWS secret access key assigned to {match.group('name')}; "
                                        "remove it and rotate the key"))
    return findings


def _word_at(text: str, match: re.Match[str]) -> str:
    start = max(text.rfind(" ", 0, match.start()) + 1, 0)
    end = text.find(" ", match.end())
    word = text[start:end if end >= 0 else len(text)].strip("\"'")
    return word if len(word) <= 80 else match.group(0).strip()


def _is_example(value: str) -> bool:
    return value.endswith(("EXAMPLE", "EXAMPLEKEY"))


def is_shell(path: Path, first_line: str | None = None) -> bool:
    """A shell script: a sh/bash/... shebang, or a ``.sh`` file without one."""
    if first_line is None:
        text = read_text(path) or ""
        first_line = text.splitlines()[0] if text else ""
    if first_line.startswith("#!"):
        words = first_line[2:].split()
        if words and Path(words[0]).name == "env":
            words = [w for w in words[1:] if not w.startswith("-")]
        return bool(words) and Path(words[0]).name in _SHELLS
    return path.suffix == ".sh"


# ---------------------------------------------------------------- shell warnings


def _shell_warnings(path: Path, lines: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    if not has_strict_mode(lines):
        findings.append(Finding(path, 1, NO_STRICT_MODE, "warning",
                                "no 'set -euo pipefail': a failing command would not stop the script"))
    for number, line in enumerate(lines, start=1):
        if _SWALLOW.search(strip_comment(line)):
            findings.append(Finding(path, number, SWALLOWED_FAILURE, "warning",
                                    "'|| true' swallows the failure; test for the case you expect instead"))
    findings += _untagged_creates(path, lines)
    return _apply_disables(findings, lines)


def _untagged_creates(path: Path, lines: list[str]) -> list[Finding]:
    logical = logical_lines(lines)
    tag_vars = tag_names(with_sourced(path, lines))
    whole = "\n".join(text for _, text in logical)
    findings = []
    for number, text in logical:
        for call in AWS_CALL.finditer(text):
            command = command_at(text, call.start())
            op = _CREATE_OP.search(command)
            if not op or op.group(1) in _NO_TAGS:
                continue
            name = op.group(1)
            later = _TAGGED_LATER.get(name)
            if later:
                if any(later in c and mentions_tags(c, tag_vars) for c in whole.split("\n")):
                    continue
                hint = f"tag it with '{later}' and $ENVCTL_TAGS_*"
            else:
                if mentions_tags(command, tag_vars) or (
                        _TAG_OPTION.search(command) and "envctl" in command.lower()):
                    continue
                hint = "pass the environment's tags ($ENVCTL_TAGS_JSON, _CLI or _KV)"
            findings.append(Finding(path, number, UNTAGGED_CREATE, "warning",
                                    f"'aws ... {name}' without the environment's tags: {hint}; envctl finds "
                                    "leftovers by these tags"))
    return findings


def _apply_disables(findings: list[Finding], lines: list[str]) -> list[Finding]:
    kept = []
    for finding in findings:
        line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        match = _DISABLE.search(line)
        if match and finding.rule in match.group(1).split(",") and finding.rule in WARNING_RULES:
            continue
        kept.append(finding)
    return kept


# ---------------------------------------------------------------- shellcheck


def shellcheck_available() -> bool:
    return shutil.which("shellcheck") is not None


def shellcheck(paths: Sequence[Path]) -> list[Finding]:
    """shellcheck's findings on ``paths`` as warnings (rule ``shellcheck/SCxxxx``); [] when not installed."""
    exe = shutil.which("shellcheck")
    if exe is None or not paths:
        return []
    try:
        proc = subprocess.run([exe, "--format=json1", "--external-sources", "--source-path=SCRIPTDIR",
                               *map(str, paths)],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                              check=False)
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    by_name = {str(p): p for p in paths}
    return [Finding(by_name.get(c["file"], Path(c["file"])), int(c["line"]), f"shellcheck/SC{c['code']}",
                    "warning", f"{c['message']} ({c['level']})") for c in comments]
