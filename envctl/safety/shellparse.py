"""Reading shell scripts well enough for lint and the review gate: comments, continuations, simple commands,
``set`` options, the names built from the environment's tags, and the files a script sources.

Heuristics over text, not a shell parser: they aim at the scripts people write for envctl, and err towards
silence (a missed warning) rather than noise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

AWS_CALL = re.compile(r"(?:^|(?<=[\s;|&(`]))aws(?=\s)")
_STRICT_FLAGS = frozenset({"e", "u", "pipefail"})
MAX_SCANNED_BYTES = 1_000_000


def strip_comment(line: str) -> str:
    """The line without its shell/YAML comment (a ``#`` at the start or after a blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def has_strict_mode(lines: list[str]) -> bool:
    flags: set[str] = set()
    for line in lines:
        words = strip_comment(line).replace(";", " ; ").split()
        for i, word in enumerate(words):
            if word != "set" or (i and words[i - 1] not in (";", "&&", "then", "do")):
                continue
            j = i + 1
            while j < len(words) and words[j].startswith("-"):
                opt = words[j]
                if opt == "-o" and j + 1 < len(words):
                    flags.add({"errexit": "e", "nounset": "u"}.get(words[j + 1], words[j + 1]))
                    j += 2
                    continue
                letters = opt[1:]
                flags.update(letters.replace("o", ""))
                if letters.endswith("o") and j + 1 < len(words):
                    flags.add(words[j + 1])
                    j += 1
                j += 1
    return flags >= _STRICT_FLAGS


def logical_lines(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Lines joined across backslash continuations, each with the number of its first line; comments gone."""
    result: list[tuple[int, str]] = []
    start, parts = 0, list[str]()
    for number, raw in enumerate(lines, start=1):
        code = strip_comment(raw)
        if not parts:
            start = number
        if code.rstrip().endswith("\\"):
            parts.append(code.rstrip()[:-1])
            continue
        parts.append(code)
        result.append((start, " ".join(parts)))
        parts = []
    if parts:
        result.append((start, " ".join(parts)))
    return result


def command_at(text: str, start: int) -> str:
    """The simple command starting at ``start``: up to an unquoted ``; | & )`` at its own nesting level."""
    quote, depth = "", 0
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch in ";|&" and depth == 0:
            break
        i += 1
    return text[start:i]

_ASSIGN = re.compile(r"(?:^|[\s;])(?:local\s+|export\s+|readonly\s+|declare\s+-\w+\s+)?([A-Za-z_]\w*)=(.*)")
_FUNCTION = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)\s*\{?")
_SOURCE = re.compile(r"^\s*(?:\.|source)\s+(.+?)\s*$")
# "$(dirname "${BASH_SOURCE[0]}")/../lib.sh", "${BASH_SOURCE%/*}/x.sh", "$SCRIPT_DIR/x.sh": the script's folder
_HERE_PREFIX = re.compile(r"^.*(?:dirname|BASH_SOURCE|SCRIPT_DIR|HERE)[^/]*/")


def tag_names(logical: list[tuple[int, str]]) -> set[str]:
    """Variables and shell functions whose value is built from the environment's tags.

    ``TAGSPEC=$(jq ... <<<"$ENVCTL_TAGS_JSON")`` and ``tags_json() { ... $ENVCTL_TAGS_JSON ... }`` both count,
    as do names built from those in turn.
    """
    definitions: list[tuple[str, str]] = []  # (name, value or body)
    function: str | None = None
    body: list[str] = []
    depth = 0
    for _, text in logical:
        match = _FUNCTION.match(text)
        if function is None and match:
            function, body, depth = match.group(1), [], 0
        if function is not None:
            body.append(text)
            depth += text.count("{") - text.count("}")
            if depth <= 0 and ("}" in text or text.rstrip().endswith(")")):
                definitions.append((function, "\n".join(body)))
                function = None
            continue
        for assign in _ASSIGN.finditer(text):
            # ``VPC=$(aws ec2 create-vpc --tag-specifications "$TAGSPEC" ...)`` holds an id, not tags.
            if AWS_CALL.search(assign.group(2)) is None:
                definitions.append((assign.group(1), assign.group(2)))
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, value in definitions:
            if name not in names and mentions_tags(value, names):
                names.add(name)
                changed = True
    return names


def mentions_tags(text: str, tag_names: Iterable[str]) -> bool:
    if "ENVCTL_TAGS_" in text:
        return True
    return any(re.search(r"(?:\$\{?|\$\(\s*|`\s*)" + re.escape(name) + r"\b", text) for name in tag_names)


def sourced_files(script: Path) -> list[Path]:
    """The files ``script`` sources (``. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"``), recursively,
    as far as they can be resolved from the script's folder."""
    found: list[Path] = []
    seen = {script.resolve()}
    queue = [script]
    while queue and len(found) < 50:
        current = queue.pop(0)
        text = read_text(current)
        if text is None:
            continue
        for _, line in logical_lines(text.splitlines()):
            match = _SOURCE.match(line)
            if not match:
                continue
            target = (current.parent / _HERE_PREFIX.sub("", match.group(1)).strip("\"'")).resolve()
            if target not in seen and target.is_file():
                seen.add(target)
                found.append(target)
                queue.append(target)
    return found


def with_sourced(path: Path, lines: list[str], depth: int = 0,
                  seen: set[Path] | None = None) -> list[tuple[int, str]]:
    """The script's logical lines followed by those of the files it sources (``. lib.sh``), resolved against
    the script's folder, so that tag functions defined in a shared library are known."""
    seen = seen if seen is not None else {path.resolve()}
    logical = logical_lines(lines)
    result = list(logical)
    if depth >= 3:
        return result
    for _, text in logical:
        match = _SOURCE.match(text)
        if not match:
            continue
        target = (path.parent / _HERE_PREFIX.sub("", match.group(1)).strip("\"'")).resolve()
        if target in seen or not target.is_file():
            continue
        seen.add(target)
        content = read_text(target)
        if content is not None:
            result += [(0, t) for _, t in with_sourced(target, content.splitlines(), depth + 1, seen)]
    return result


def read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()[:MAX_SCANNED_BYTES]
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")
