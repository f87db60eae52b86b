"""Lint results remembered by content, so that the lint before every mutating command costs a hash per file
instead of a scan, without checking any less.

A script's findings depend on its text, on the files it sources (found relative to its folder) and on the
rules; whether it is executable depends on its mode and is checked every time. So an entry is keyed by the
sha256 of the text and the script's folder, records the sha256 of every file the script sourced, and is used
only while each of those still matches. The whole cache is keyed by envctl's version and by the identity of
the rule modules (a changed rule file empties it). It lives in ``.envctl/cache/lint.json``; a cache that
cannot be read is ignored and rewritten, one that cannot be written only costs the next run its scan.

The sha256 of each script is remembered too, by its inode, size, modification and change times
(:func:`envctl.config.paths.file_identity`): a script whose stat is unchanged is not read again to be hashed.
The change time cannot be set back by a user, so any write to the file misses; a file changed in the last two
seconds is not remembered (a second write in the same clock tick would not show in its stat).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from envctl import __version__
from envctl.config.paths import atomic_write_text, file_identity, remember_sha256, sha256_file, state_dir
from envctl.safety import lint_rules, shellparse
from envctl.safety.lint_rules import Finding, content_findings, mode_findings, scan_text

_Entry = dict[str, Any]  # {"findings": [[line, rule, severity, message], ...], "sources": {path: sha256}}
_MAX_ENTRIES = 20_000  # past this, a save keeps only what this process used (old versions of edited files go)


def _stamp() -> str:
    parts = [__version__]
    for module in (lint_rules, shellparse):
        st = Path(str(module.__file__)).stat()
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "/".join(parts)


class LintCache:
    """Findings per file content; :meth:`save` writes what was added."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.stamp = _stamp()
        self.entries: dict[str, _Entry] = {}
        self.hashes: dict[str, list[Any]] = {}  # path -> [inode, size, mtime_ns, ctime_ns, sha256]
        self.used: set[str] = set()
        self.dirty = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("stamp") == self.stamp:
                    self.entries = dict(data["entries"])
                    self.hashes = dict(data.get("hashes") or {})

    @classmethod
    def for_root(cls, root: Path) -> LintCache:
        return cls(state_dir(root) / "cache" / "lint.json")

    def script(self, path: Path) -> list[Finding]:
        """:func:`envctl.safety.lint_rules.lint_script`, from the cache when the text and its sources match."""
        try:
            st = path.stat()
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            return lint_rules.lint_script(path)  # missing, or not a file: nothing to remember
        findings = mode_findings(path)
        key = f"script:{self._sha256(path, st)}:{path.parent}"
        self.used.add(key)
        entry = self.entries.get(key)
        if entry is None or not _sources_match(entry):
            text = shellparse.read_text(path)
            if text is None:
                return findings
            found = content_findings(path, text)
            sources = {str(p): sha256_file(p) for p in shellparse.sourced_files(path)}
            entry = self._put(key, found, sources)
        return sorted(findings + _findings(path, entry))

    def text(self, path: Path) -> list[Finding]:
        """:func:`envctl.safety.lint_rules.scan_text` of a file that is not a script ([] if unreadable)."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(shellparse.MAX_SCANNED_BYTES)
        except OSError:
            return []
        key = f"text:{hashlib.sha256(data).hexdigest()}"
        self.used.add(key)
        entry = self.entries.get(key)
        if entry is None:
            found = [] if b"\0" in data else scan_text(path, data.decode("utf-8", errors="replace"))
            entry = self._put(key, found, {})
        return _findings(path, entry)

    def _sha256(self, path: Path, st: os.stat_result) -> str:
        name = str(path)
        ident = list(file_identity(st))
        known = self.hashes.get(name)
        if known is not None and known[:4] == ident:
            remember_sha256(path, st, str(known[4]))  # the run that records the script's hash asks again
            return str(known[4])
        digest = sha256_file(path, st)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2_000_000_000:
            self.hashes[name] = [*ident, digest]
            self.dirty = True
        return digest

    def _put(self, key: str, found: list[Finding], sources: dict[str, str]) -> _Entry:
        entry = {"findings": [[f.line, f.rule, f.severity, f.message] for f in found], "sources": sources}
        self.entries[key] = entry
        self.dirty = True
        return entry

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        if len(self.entries) > _MAX_ENTRIES:
            self.entries = {k: v for k, v in self.entries.items() if k in self.used}
        if len(self.hashes) > _MAX_ENTRIES:
            self.hashes = {}
        with contextlib.suppress(OSError):
            atomic_write_text(self.path, json.dumps({"stamp": self.stamp, "entries": self.entries,
                                                     "hashes": self.hashes}, separators=(",", ":")))
        self.dirty = False


def _sources_match(entry: _Entry) -> bool:
    try:
        return all(sha256_file(Path(p)) == digest for p, digest in entry["sources"].items())
    except OSError:
        return False


def _findings(path: Path, entry: _Entry) -> list[Finding]:
    return [Finding(path, int(line), str(rule), severity, str(message))
            for line, rule, severity, message in entry["findings"]]
