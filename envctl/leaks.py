"""During ``down``: what each delete left behind, and the final verify. Filled in by the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envctl.registry import Environment


def down_hooks(env: Environment, root: Path, *, reporter: Any) -> dict[str, Any]:
    return {}
