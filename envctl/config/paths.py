"""The project root and envctl's own folder in it, ``<root>/.envctl/``, and the files written there.

Every file envctl keeps is written whole or not at all (temp file, fsync, ``os.replace``), so a ``kill -9`` at
any moment leaves the previous version or the next one, never a torn one.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from pathlib import Path
from typing import Any

from envctl.errors import RootNotFoundError, StateError


def find_root(start: Path | None = None, override: str | None = None) -> Path:
    """The project root: ``override`` (``--root`` / ``ENVCTL_ROOT``), else the nearest folder upward that holds
    ``environments/``."""
    if override:
        root = Path(override).expanduser().resolve()
        if not (root / "environments").is_dir():
            raise RootNotFoundError(f"{root} has no environments/ folder",
                                    hint="point --root (or ENVCTL_ROOT) at the folder that holds environments/")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "environments").is_dir():
            return folder
    raise RootNotFoundError(f"no environments/ folder in {here} or above it",
                            hint="run envctl inside a project, or pass --root DIR (or set ENVCTL_ROOT)")


#: ``.envctl/`` holds state with the outputs scripts wrote (secrets among them), run logs and history: only its
#: owner may enter it. Files in it are written owner-only too (``mkstemp``'s 0600, or :data:`PRIVATE_FILE`).
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_private: set[Path] = set()  # the folders made owner-only by this process (one chmod per process, not per save)


def state_dir(root: Path) -> Path:
    """``<root>/.envctl``, owner-only (0700, also when an older envctl made it 0755), with a ``.gitignore`` of
    ``*`` so it is never committed."""
    path = root / ".envctl"
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        _private.discard(path)
    if path not in _private:
        if path.stat().st_mode & 0o777 != PRIVATE_DIR:
            os.chmod(path, PRIVATE_DIR)
        _private.add(path)
    ignore = path / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, "*\n")
    return path


def cache_file(root: Path, name: str) -> Path | None:
    """``<root>/.envctl/cache/<name>``, where a command remembers what it read, when the project already has
    ``.envctl``: a command that only reads creates nothing. None where it has not."""
    folder = root / ".envctl"
    return folder / "cache" / name if folder.is_dir() else None


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_temp_numbers = itertools.count()
_temp_lock = threading.Lock()


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new file next to ``path``, only this process's (O_EXCL, 0600): what ``tempfile.mkstemp`` does, without
    importing tempfile and random on every command's way to its first script."""
    while True:
        with _temp_lock:
            number = next(_temp_numbers)
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{number}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp
        except FileExistsError:  # left by a process of the same pid, killed long ago
            continue


def atomic_write_json(path: Path, data: Any, *, compact: bool = False) -> None:
    """``compact``: json's C encoder (an indented dump runs the pure-Python one, 3-4 times slower)."""
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2)
    atomic_write_text(path, text + "\n")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when there is no such file. An unreadable file is a StateError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise StateError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})",
                         hint="move the file aside; envctl starts from no state") from None


_HASHES: dict[tuple[str, int, int, int, int], str] = {}


def file_identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """Inode, size, modification and change times (as git's index keys a file): the change time moves with
    every write, even one that puts the modification time back."""
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remember_sha256(path: Path, st: os.stat_result, digest: str) -> None:
    """Let :func:`sha256_file` answer for ``path`` while its stat is ``st`` (a hash known from elsewhere, such
    as the lint cache, under the same identity)."""
    key = (str(path), *file_identity(st))
    _HASHES[key] = digest


def sha256_file(path: Path, st: os.stat_result | None = None) -> str:
    """The file's sha256, remembered by path and :func:`file_identity`, so that a file hashed by the lint before
    a run is not read again by the run that records its hash. ``st``: the file's stat, when already taken."""
    key = (str(path), *file_identity(st or path.stat()))
    known = _HASHES.get(key)
    if known is None:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(65536), b""):
                digest.update(chunk)
        known = _HASHES[key] = digest.hexdigest()
    return known
