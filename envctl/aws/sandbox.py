# interim, not committed
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxInfo:
    endpoint: str

def ensure_running(root: Path) -> SandboxInfo:
    return SandboxInfo(f"http://127.0.0.1:{os.environ['ENVCTL_SANDBOX_PORT']}")

def script_env(info: SandboxInfo, root: Path) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": info.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

def identity(endpoint: str) -> str:
    return "x"

def check_environment_alive(root, rec):
    return None
