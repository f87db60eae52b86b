"""``envctl new``: the paved path for the next component.

Writes an install/delete pair from the templates in ``envctl/templates/`` (strict mode, tags from
``$ENVCTL_TAGS_*``, look-up-before-create, outputs to ``$ENVCTL_OUTPUT``, a delete that is safe on nothing),
or copies an existing component's scripts, and registers the component in env.yaml with ruamel.yaml's
round-trip mode, so the file keeps its comments, order and layout.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from envctl.config.model import NAME_RE
from envctl.config.paths import atomic_write_text
from envctl.errors import ConfigError, UsageError

_ACTION_PREFIXES = {"install": "install", "delete": "delete", "update": "update", "sleep": "sleep",
                    "wake": "wake"}


@dataclass(frozen=True)
class Scaffolded:
    component: str
    dir: Path
    scripts: tuple[Path, ...]
    env_file: Path
    copied_from: str | None
    review_required: bool = False


def new_component(root: Path, env_name: str, component: str, *, depends_on: Sequence[str] = (),
                  copy_from: str | None = None) -> Scaffolded:
    """Create component ``component`` of environment ``env_name``: its scripts, then its env.yaml entry."""
    env_dir = root / "environments" / env_name
    env_file = env_dir / "env.yaml"
    if not NAME_RE.match(env_name) or not env_file.is_file():
        raise UsageError(f"no environment '{env_name}' (looked for {env_file})",
                         hint="environments live in environments/<name>/env.yaml")
    if not NAME_RE.match(component):
        raise UsageError(f"'{component}' is not a valid component name",
                         hint="use letters, digits, '-' and '_', starting with a letter or digit")
    yaml, data = _load(env_file)
    components = data.get("components")
    if components is None:
        components = data["components"] = _map()
    if not hasattr(components, "keys"):
        raise ConfigError(env_file, "must be a mapping of component names", key="components")
    if component in components:
        raise UsageError(f"component '{component}' already exists in {env_file}",
                         hint=f"choose another name (to start from its scripts: envctl new {env_name} NAME "
                              f"--from {component})")
    for dep in depends_on:
        if dep not in components:
            raise UsageError(f"--depends-on {dep}: no component '{dep}' in {env_file}",
                             hint=f"known: {', '.join(map(str, components)) or 'none'}")
    folder = env_dir / component
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} already exists and is not empty",
                         hint="move it away, or choose another component name")
    if copy_from is not None:
        scripts = _copy_scripts(root, env_name, copy_from, component, folder)
    else:
        scripts = _from_templates(component, folder)
    atomic_write_text(env_file, _register(yaml, data, env_file.read_text(encoding="utf-8"), component,
                                          depends_on))
    return Scaffolded(component, folder, tuple(scripts), env_file, copy_from,
                      review_required=data.get("review") == "required")


def _from_templates(component: str, folder: Path) -> list[Path]:
    prefix = component.upper().replace("-", "_")
    written = []
    for action in ("install", "delete"):
        template = (resources.files("envctl") / "templates" / f"{action}.sh").read_text(encoding="utf-8")
        text = template.replace("__COMPONENT__", component).replace("__PREFIX__", prefix)
        written.append(_write_script(folder / f"{action}-{component}.sh", text))
    return written


def _copy_scripts(root: Path, env_name: str, source: str, component: str, folder: Path) -> list[Path]:
    from envctl.config.load import load_environment

    env = load_environment(root, env_name)
    if source not in env.components:
        raise UsageError(f"--from {source}: no component '{source}' in environment '{env_name}'",
                         hint=f"known: {', '.join(env.components)}")
    renames = {path.name: f"{_ACTION_PREFIXES[action]}-{component}.sh"
               for action, path in env.components[source].scripts.all().items()}
    written = []
    for path in env.components[source].scripts.all().values():
        text = path.read_text(encoding="utf-8")
        for old, new in renames.items():
            text = re.sub(r"(?<![\w.-])" + re.escape(old) + r"(?![\w.-])", new, text)
        written.append(_write_script(folder / renames[path.name], text))
    return written


def _write_script(path: Path, text: str) -> Path:
    atomic_write_text(path, text, mode=0o755)
    return path


# ---------------------------------------------------------------- env.yaml, round-trip


def _load(env_file: Path) -> tuple[Any, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()  # round-trip: comments, key order, quotes and flow style survive
    yaml.preserve_quotes = True
    text = env_file.read_text(encoding="utf-8")
    yaml.indent(**_detect_indent(text))
    yaml.width = 4096
    try:
        data = yaml.load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(env_file, f"not valid YAML: {getattr(err, 'problem', err)}",
                          line=mark.line + 1 if mark else None) from None
    if not hasattr(data, "keys"):
        raise ConfigError(env_file, "must be a mapping (name:, region:, components: ...)")
    return yaml, data


def _register(yaml: Any, data: Any, text: str, component: str, depends_on: Sequence[str]) -> str:
    """env.yaml's text with the component added at the end of ``components:``.

    A block mapping gets the entry inserted as text right after the last component's last line, so every
    byte around it stays as it was (a round-trip dump would move a comment that follows the block, which
    ruamel attaches to the last value, below the new entry). Anything else goes through the round-trip dump.
    """
    inserted = _insert_as_text(data, text, component, depends_on)
    if inserted is not None:
        check = yaml.load(inserted)
        entry = check.get("components", {}).get(component) if hasattr(check, "get") else None
        if entry is not None and list(entry.get("depends_on", [])) == list(depends_on) \
                and list(check["components"])[:-1] == list(data["components"]):
            return inserted
    data["components"][component] = _entry(depends_on)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _insert_as_text(data: Any, text: str, component: str, depends_on: Sequence[str]) -> str | None:
    components = data.get("components")
    if not len(components) or getattr(components.fa, "flow_style", lambda: False)():
        return None
    lines = text.splitlines(keepends=True)
    start = data.lc.key("components")[0]
    first_key_line = components.lc.key(next(iter(components)))[0]
    indent = len(lines[first_key_line]) - len(lines[first_key_line].lstrip(" "))
    if indent == 0:
        return None
    last = first_key_line
    for number in range(start + 1, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line.startswith(" "):
            break
        last = number
    child = " " * (2 * indent)
    if depends_on:
        entry = f"{' ' * indent}{component}:\n{child}depends_on: [{', '.join(depends_on)}]\n"
    else:
        entry = f"{' ' * indent}{component}: {{}}\n"
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    return "".join([*lines[:last + 1], entry, *lines[last + 1:]])


def _detect_indent(text: str) -> dict[str, int]:
    """The file's own indentation, so that dumping it back changes nothing but the new entry."""
    mapping, offset = 2, 0
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line in lines:
        stripped = line.lstrip(" ")
        if line.startswith(" ") and not stripped.startswith("- "):
            mapping = len(line) - len(stripped)
            break
    for before, line in itertools.pairwise(lines):
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and before.rstrip().endswith(":"):
            offset = max(0, (len(line) - len(stripped)) - (len(before) - len(before.lstrip(" "))))
            break
    return {"mapping": mapping, "sequence": offset + 2, "offset": offset}


def _map() -> Any:
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


def _entry(depends_on: Sequence[str]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    entry = CommentedMap()
    if depends_on:
        deps = CommentedSeq(depends_on)
        deps.fa.set_flow_style()
        entry["depends_on"] = deps
    else:
        entry.fa.set_flow_style()
    return entry
