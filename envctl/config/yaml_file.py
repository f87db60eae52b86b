"""Reading an ``env.yaml``: its data, and what it was the last time, remembered by content.

Every command reads the environment first, and loading the YAML parser alone costs more than parsing the file
(about 25 ms; parsing 200 components about 10 ms more). So the data of the text last read is kept in
``.envctl/cache/env-<name>.json`` under the text's sha256 and the parser's identity: an unchanged file is
read back as JSON, without the YAML parser. Only data that JSON holds exactly is kept (strings, numbers,
booleans, null, lists, string-keyed mappings; a YAML date or an integer key is read from the YAML every
time), and only in a project where envctl has already made ``.envctl``. A cache that cannot be read or
written costs only the parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from envctl.config.paths import atomic_write_text
from envctl.errors import ConfigError


def read_yaml(file: Path, cache: Path | None = None) -> Any:
    """The data of ``file``; ``cache`` is the file that remembers it (see the module's docstring and
    :func:`envctl.config.paths.cache_file`)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(file, f"cannot be read: {err.strerror}") from None
    key = f"{hashlib.sha256(text.encode()).hexdigest()}:{_parser_stamp()}" if cache is not None else ""
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(known, dict) and known.get("key") == key:
                return known.get("data")
    data = _parse(file, text)
    if cache is not None and _json_exact(data):
        with contextlib.suppress(OSError, ValueError):
            atomic_write_text(cache, json.dumps({"key": key, "data": data}, separators=(",", ":")))
    return data


def _parse(file: Path, text: str) -> Any:
    import yaml

    try:
        # libyaml's loader when present: ten times faster on a large environment
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(file, f"malformed YAML: {problem}", line=line) from None


def _parser_stamp() -> str:
    """Which PyYAML would parse the text (an upgrade empties the cache), without importing it."""
    spec = find_spec("yaml")
    if spec is None or spec.origin is None:
        return "none"
    st = Path(spec.origin).stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _json_exact(value: Any) -> bool:
    """Whether ``value`` comes back from JSON as it went in."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_exact(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_exact(v) for k, v in value.items())
    return False
