"""What differs between two environments: the "promote test to prod" review in one call.

Pure: reads the two environments' definitions and their scripts, compares them, returns a frozen result. The
CLI renders it. Scripts are compared by content (sha256), action by action, so ``install-net.sh`` in one and
``create-net.sh`` in the other are the same script when their bytes are; those that differ carry a unified
diff.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envctl.config.model import Component, Environment

ACTIONS = ("install", "delete", "update", "sleep", "wake")


@dataclass(frozen=True)
class MappingDiff:
    """Keys only on one side, keys whose values differ, keys equal on both."""

    only_a: dict[str, str]
    only_b: dict[str, str]
    changed: dict[str, tuple[str, str]]
    same: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return bool(self.only_a or self.only_b or self.changed)

    def to_dict(self) -> dict[str, Any]:
        changed = {k: {"a": a, "b": b} for k, (a, b) in self.changed.items()}
        return {"only_a": self.only_a, "only_b": self.only_b, "changed": changed, "same": list(self.same)}


@dataclass(frozen=True)
class ScriptDiff:
    """One action's script: ``same``, ``different``, ``only_a`` or ``only_b``."""

    action: str
    status: str
    a_path: str | None
    b_path: str | None
    a_sha256: str | None
    b_sha256: str | None
    unified: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ComponentDiff:
    """A component present in both environments."""

    name: str
    same_dir: bool
    dir_a: str
    dir_b: str
    depends_on_a: tuple[str, ...]
    depends_on_b: tuple[str, ...]
    timeout_a: float
    timeout_b: float
    vars: MappingDiff
    scripts: tuple[ScriptDiff, ...]

    @property
    def depends_on_differs(self) -> bool:
        return set(self.depends_on_a) != set(self.depends_on_b)

    @property
    def scripts_differ(self) -> bool:
        return any(s.status != "same" for s in self.scripts)

    @property
    def differs(self) -> bool:
        return (self.depends_on_differs or self.timeout_a != self.timeout_b or self.vars.differs
                or self.scripts_differ)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "same": not self.differs, "same_dir": self.same_dir,
                "dir": {"a": self.dir_a, "b": self.dir_b},
                "depends_on": {"a": list(self.depends_on_a), "b": list(self.depends_on_b),
                               "same": not self.depends_on_differs},
                "timeout": {"a": self.timeout_a, "b": self.timeout_b},
                "vars": self.vars.to_dict(), "scripts": [s.to_dict() for s in self.scripts]}


@dataclass(frozen=True)
class EnvDiff:
    """Everything that differs between environment ``a`` and environment ``b``."""

    a: str
    b: str
    settings: dict[str, tuple[Any, Any]]       # region, aws.*, review, sleep, schedule, state: differing
    only_a: tuple[str, ...]                    # components
    only_b: tuple[str, ...]
    only_depends_on: dict[str, tuple[str, ...]]  # dependencies of the components on one side only
    components: tuple[ComponentDiff, ...]      # in both, in ``a``'s order
    vars: MappingDiff
    tags: MappingDiff

    @property
    def same(self) -> bool:
        return not (self.settings or self.only_a or self.only_b or self.vars.differs or self.tags.differs
                    or any(c.differs for c in self.components))

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "same": self.same,
                "settings": {k: {"a": a, "b": b} for k, (a, b) in self.settings.items()},
                "components": {"only_a": list(self.only_a), "only_b": list(self.only_b),
                               "both": [c.name for c in self.components]},
                "only_depends_on": {k: list(v) for k, v in self.only_depends_on.items()},
                "vars": self.vars.to_dict(), "tags": self.tags.to_dict(),
                "component_diffs": [c.to_dict() for c in self.components]}


def diff_environments(a: Environment, b: Environment) -> EnvDiff:
    """Compare two loaded environments (of the same root or of two roots)."""
    both = [name for name in a.components if name in b.components]
    only_depends = {n: tuple(a.components[n].depends_on) for n in a.components if n not in b.components}
    only_depends.update({n: tuple(b.components[n].depends_on) for n in b.components if n not in a.components})
    return EnvDiff(
        a=a.name, b=b.name, settings=_settings(a, b),
        only_a=tuple(n for n in a.components if n not in b.components),
        only_b=tuple(n for n in b.components if n not in a.components),
        only_depends_on=only_depends,
        components=tuple(_component(a, b, a.components[n], b.components[n]) for n in both),
        vars=diff_mapping(a.vars, b.vars), tags=diff_mapping(a.tags, b.tags))


def diff_mapping(a: Mapping[str, str], b: Mapping[str, str]) -> MappingDiff:
    return MappingDiff(only_a={k: a[k] for k in a if k not in b}, only_b={k: b[k] for k in b if k not in a},
                       changed={k: (a[k], b[k]) for k in a if k in b and a[k] != b[k]},
                       same=tuple(k for k in a if k in b and a[k] == b[k]))


def _settings(a: Environment, b: Environment) -> dict[str, tuple[Any, Any]]:
    pairs: dict[str, tuple[Any, Any]] = {
        "region": (a.region, b.region), "aws.target": (a.aws.target, b.aws.target),
        "aws.account_id": (a.aws.account_id, b.aws.account_id), "aws.profile": (a.aws.profile, b.aws.profile),
        "aws.endpoint_url": (a.aws.endpoint_url, b.aws.endpoint_url),
        "review": (getattr(a, "review", None), getattr(b, "review", None)),
        "agents": (a.agents, b.agents)}
    for block in ("sleep", "schedule", "state"):
        va, vb = _plain(getattr(a, block)), _plain(getattr(b, block))
        if va is None or vb is None:  # a block on one side only (schedule)
            pairs[block] = (va, vb)
            continue
        pairs.update({f"{block}.{k}": (va.get(k), vb.get(k)) for k in dict.fromkeys([*va, *vb])})
    return {k: v for k, v in pairs.items() if v[0] != v[1]}


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


def _component(env_a: Environment, env_b: Environment, a: Component, b: Component) -> ComponentDiff:
    same_dir = a.dir.resolve() == b.dir.resolve()
    return ComponentDiff(
        name=a.name, same_dir=same_dir, dir_a=_rel(a.dir, env_a.root), dir_b=_rel(b.dir, env_b.root),
        depends_on_a=tuple(a.depends_on), depends_on_b=tuple(b.depends_on),
        timeout_a=a.timeout, timeout_b=b.timeout, vars=diff_mapping(a.vars, b.vars),
        scripts=tuple(_script(action, a, b, env_a, env_b) for action in ACTIONS
                      if a.scripts.for_action(action) or b.scripts.for_action(action)))


def _script(action: str, a: Component, b: Component, env_a: Environment, env_b: Environment) -> ScriptDiff:
    path_a, path_b = a.scripts.for_action(action), b.scripts.for_action(action)
    rel_a = _rel(path_a, env_a.root) if path_a else None
    rel_b = _rel(path_b, env_b.root) if path_b else None
    if path_a is None or path_b is None:
        status = "only_a" if path_b is None else "only_b"
        return ScriptDiff(action, status, rel_a, rel_b, sha256_of(path_a) if path_a else None,
                          sha256_of(path_b) if path_b else None)
    body_a, body_b = path_a.read_bytes(), path_b.read_bytes()
    sha_a, sha_b = hashlib.sha256(body_a).hexdigest(), hashlib.sha256(body_b).hexdigest()
    if sha_a == sha_b:
        return ScriptDiff(action, "same", rel_a, rel_b, sha_a, sha_b)
    unified = "\n".join(difflib.unified_diff(
        body_a.decode(errors="replace").splitlines(), body_b.decode(errors="replace").splitlines(),
        fromfile=f"{env_a.name}: {rel_a}", tofile=f"{env_b.name}: {rel_b}", lineterm="")) + "\n"
    return ScriptDiff(action, "different", rel_a, rel_b, sha_a, sha_b, unified)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
