"""How ``env.yaml`` is read and validated into the frozen objects of :mod:`envctl.config.model`.

Keys are checked against declared tables, so a typo is an error rather than a silently ignored setting, and
every problem is a :class:`ConfigError` naming the file and the key (or the line, for YAML syntax).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from envctl.config.durations import parse_duration
from envctl.config.model import (
    ACTIONS,
    AGENT_POLICIES,
    DEFAULT_TIMEOUT,
    NAME_RE,
    TAG_PREFIX,
    VAR_RE,
    AwsTarget,
    Component,
    Environment,
    ScheduleConfig,
    Scripts,
    SleepConfig,
    StateConfig,
    VerifyConfig,
)
from envctl.config.paths import cache_file
from envctl.config.regions import verify_regions
from envctl.config.yaml_file import read_yaml
from envctl.errors import ConfigError, EnvironmentNotFoundError

# prefixes by which scripts are discovered in a component folder, per action
_DISCOVERY = {
    "install": ("install-", "create-"),
    "delete": ("delete-",),
    "update": ("update-",),
    "sleep": ("sleep-",),
    "wake": ("wake-",),
}


class Loader:
    def __init__(self, root: Path, env_dir: Path, file: Path) -> None:
        self.root = root.resolve()
        self.env_dir = env_dir
        self.file = file
        self._real_dir: Path | None = None
        self._plain_dirs: frozenset[str] | None = None

    def real_env_dir(self) -> Path:
        if self._real_dir is None:
            self._real_dir = self.env_dir.resolve()
        return self._real_dir

    def plain_dirs(self) -> frozenset[str]:
        """Names of the environment folder's subfolders that are folders themselves, not links: one of them
        resolves to itself inside the resolved environment folder, with no path to walk (one listing for all
        the components, where resolving each one stats every part of its path)."""
        if self._plain_dirs is None:
            with os.scandir(self.real_env_dir()) as entries:
                self._plain_dirs = frozenset(e.name for e in entries if e.is_dir(follow_symlinks=False))
        return self._plain_dirs

    def fail(self, key: str | None, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(self.file, message, key=key, hint=hint)

    # ---- typed getters
    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, not {_kind(value)}")
        return value

    def string(self, value: Any, key: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(key, f"must be a string, not {_kind(value)}")
        return str(value)

    def boolean(self, value: Any, key: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def duration(self, value: Any, key: str) -> float:
        try:
            return parse_duration(value)
        except ValueError as err:
            raise self.fail(key, str(err)) from None

    def check_keys(self, data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(f"{where}{key}", "unknown key",
                                hint=f"allowed here: {', '.join(allowed)}")

    def str_map(self, value: Any, key: str, *, var_names: bool) -> dict[str, str]:
        out = {}
        for k, v in self.mapping(value, key).items():
            k = str(k)
            if var_names and not VAR_RE.match(k):
                raise self.fail(f"{key}.{k}", "is not a valid variable name (letters, digits, '_')")
            if v is None or isinstance(v, (dict, list)):
                raise self.fail(f"{key}.{k}", f"must be a string, number or boolean, not {_kind(v)}")
            out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
        return out

    # ---- sections
    def load(self, folder_name: str) -> Environment:
        data = read_yaml(self.file, cache_file(self.root, f"env-{folder_name}.json"))
        if data is None:
            raise self.fail(None, "is empty", hint="an environment needs at least name, region and components")
        if not isinstance(data, dict):
            raise self.fail(None, f"must be a mapping of keys, not {_kind(data)}")
        self.check_keys(data, _TOP_KEYS, "")
        name = self.string(data.get("name"), "name") or folder_name
        if name != folder_name:
            raise self.fail("name", f"'{name}' does not match its folder '{folder_name}'",
                            hint=f"rename the folder or set name: {folder_name}")
        region = self.string(data.get("region"), "region", required=True)
        assert region is not None
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
            raise self.fail("region", f"'{region}' is not an AWS region name (like us-east-1)")
        tags = self.str_map(data.get("tags"), "tags", var_names=False)
        for key in tags:
            if key.startswith(TAG_PREFIX):
                raise self.fail(f"tags.{key}", "the envctl: prefix is reserved; envctl sets these tags itself")
        raw_review = data.get("review")
        # YAML 1.1 reads a bare `review: off` as false
        review = "off" if raw_review is False else self.string(raw_review, "review") or "off"
        if review not in ("off", "required"):
            raise self.fail("review", f"must be 'off' or 'required', not '{review}'")
        components = self.components(data.get("components"))
        return Environment(
            name=name, root=self.root, dir=self.real_env_dir(), file=self.file, region=region,
            aws=self.aws(data.get("aws")), tags=MappingProxyType(tags),
            vars=MappingProxyType(self.str_map(data.get("vars"), "vars", var_names=True)),
            components=MappingProxyType(components), sleep=self.sleep(data.get("sleep")),
            state=self.state(data.get("state")), schedule=self.schedule(data.get("schedule")), review=review,
            agents=self.agents(data.get("agents")),
            verify=self.verify(data.get("verify"), region),
        )

    def agents(self, value: Any) -> str:
        if value is None:
            return AGENT_POLICIES[0]
        if isinstance(value, str) and value in AGENT_POLICIES:
            return value
        shown = f"'{value}'" if isinstance(value, str) else _kind(value)
        raise self.fail("agents", f"must be {', '.join(AGENT_POLICIES[:-1])} or {AGENT_POLICIES[-1]}, not {shown}",
                        hint="approved: inside an AI coding agent's session only scripts a person approved run "
                             "(envctl approve); never: agents may not change the environment; any: no check")

    def verify(self, value: Any, region: str) -> VerifyConfig:
        data = self.mapping(value, "verify")
        self.check_keys(data, ("regions",), "verify.")
        return VerifyConfig(regions=verify_regions(data.get("regions"), region, self.fail))

    def aws(self, value: Any) -> AwsTarget:
        data = self.mapping(value, "aws")
        self.check_keys(data, ("target", "account_id", "profile", "endpoint_url"), "aws.")
        target = self.string(data.get("target"), "aws.target") or "sandbox"
        if target not in ("sandbox", "account"):
            raise self.fail("aws.target", f"must be 'sandbox' or 'account', not '{target}'")
        account_id = self.string(data.get("account_id"), "aws.account_id")
        if account_id is not None and not re.match(r"^\d{12}$", account_id):
            raise self.fail("aws.account_id", f"'{account_id}' is not a 12-digit AWS account id",
                            hint='quote it in YAML so leading zeros survive: account_id: "012345678901"')
        if target == "account" and account_id is None:
            raise self.fail("aws.account_id", "is required with target: account",
                            hint="envctl refuses to act in an account it cannot check")
        profile = self.string(data.get("profile"), "aws.profile")
        if profile is not None and target != "account":
            raise self.fail("aws.profile", "only applies to target: account")
        endpoint = self.string(data.get("endpoint_url"), "aws.endpoint_url")
        if endpoint is not None and not re.match(r"^https?://", endpoint):
            raise self.fail("aws.endpoint_url", f"'{endpoint}' is not an http(s) URL")
        return AwsTarget(target=target, account_id=account_id, profile=profile, endpoint_url=endpoint)

    def sleep(self, value: Any) -> SleepConfig:
        data = self.mapping(value, "sleep")
        switches = ("nodegroups", "autoscaling", "rds", "ec2", "ecs", "aurora")
        self.check_keys(data, switches, "sleep.")
        return SleepConfig(**{k: self.boolean(data.get(k), f"sleep.{k}", True) for k in switches})

    def state(self, value: Any) -> StateConfig:
        data = self.mapping(value, "state")
        self.check_keys(data, ("backend", "bucket", "prefix", "region", "lock_table", "lock_ttl"), "state.")
        backend = self.string(data.get("backend"), "state.backend") or "local"
        if backend not in ("local", "s3"):
            raise self.fail("state.backend", f"must be 'local' or 's3', not '{backend}'")
        config = StateConfig(
            backend=backend, bucket=self.string(data.get("bucket"), "state.bucket"),
            prefix=self.string(data.get("prefix"), "state.prefix") or "envctl/",
            region=self.string(data.get("region"), "state.region"),
            lock_table=self.string(data.get("lock_table"), "state.lock_table"),
            lock_ttl=self.duration(data["lock_ttl"], "state.lock_ttl") if "lock_ttl" in data else 120.0,
        )
        if backend == "s3":
            for key in ("bucket", "lock_table"):
                if getattr(config, key) is None:
                    raise self.fail(f"state.{key}", "is required with backend: s3")
        return config

    def schedule(self, value: Any) -> ScheduleConfig | None:
        if value is None:
            return None
        data = self.mapping(value, "schedule")
        self.check_keys(data, ("timezone", "sleep", "wake", "down_after"), "schedule.")
        tz = self.string(data.get("timezone"), "schedule.timezone") or "UTC"
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            raise self.fail("schedule.timezone", f"'{tz}' is not an IANA time zone (like Europe/Amsterdam)") from None
        crons = {}
        for key in ("sleep", "wake"):
            cron = self.string(data.get(key), f"schedule.{key}")
            if cron is not None and len(cron.split()) != 5:
                raise self.fail(f"schedule.{key}", f"'{cron}' is not a 5-field cron expression")
            crons[key] = cron
        down_after = self.duration(data["down_after"], "schedule.down_after") if "down_after" in data else None
        return ScheduleConfig(timezone=tz, sleep=crons["sleep"], wake=crons["wake"], down_after=down_after)

    def components(self, value: Any) -> dict[str, Component]:
        if value is None:
            raise self.fail("components", "is missing: an environment without components has nothing to do",
                            hint="register at least one component (envctl new ENV COMPONENT scaffolds one)")
        data = self.mapping(value, "components")
        if not data:
            raise self.fail("components", "is empty: an environment without components has nothing to do",
                            hint="register at least one component (envctl new ENV COMPONENT scaffolds one)")
        out: dict[str, Component] = {}
        for raw_name, spec in data.items():
            name = str(raw_name)
            key = f"components.{name}"
            if not NAME_RE.match(name):
                raise self.fail(key, f"'{name}' is not a valid component name (letters, digits, '-' and '_', "
                                "starting with a letter or digit)")
            out[name] = self.component(name, key, spec)
        for comp in out.values():
            for dep in comp.depends_on:
                if dep not in out:
                    raise self.fail(f"components.{comp.name}.depends_on",
                                    f"'{dep}' is not a component of this environment",
                                    hint=f"components: {', '.join(out)}")
        from envctl.config.graph import check_acyclic

        check_acyclic(self.file, {n: list(c.depends_on) for n, c in out.items()})
        return out

    def component(self, name: str, key: str, spec: Any) -> Component:
        data = self.mapping(spec, key)
        self.check_keys(data, _COMPONENT_KEYS, f"{key}.")
        comp_dir = self.component_dir(name, key, data.get("dir"))
        deps_raw = data.get("depends_on") or []
        if isinstance(deps_raw, str):
            deps_raw = [deps_raw]
        if not isinstance(deps_raw, list) or not all(isinstance(d, str) for d in deps_raw):
            raise self.fail(f"{key}.depends_on", "must be a list of component names")
        if name in deps_raw:
            raise self.fail(f"{key}.depends_on", f"'{name}' depends on itself (dependency cycle: {name} -> {name})")
        timeout = self.duration(data["timeout"], f"{key}.timeout") if "timeout" in data else DEFAULT_TIMEOUT
        return Component(
            name=name, dir=comp_dir, depends_on=tuple(dict.fromkeys(deps_raw)), timeout=timeout,
            vars=MappingProxyType(self.str_map(data.get("vars"), f"{key}.vars", var_names=True)),
            scripts=self.scripts(key, comp_dir, data),
        )

    def component_dir(self, name: str, key: str, value: Any) -> Path:
        rel = self.string(value, f"{key}.dir")
        if rel is None and name in self.plain_dirs():  # a component name is one plain path part
            path = self.real_env_dir() / name
        else:
            path = (self.env_dir / (rel if rel is not None else name)).resolve()
        if not _inside(path, self.root):
            raise self.fail(f"{key}.dir" if rel is not None else key,
                            f"'{rel if rel is not None else name}' points outside the project root {self.root}",
                            hint="a component folder must live inside the project")
        if not path.is_dir():
            raise self.fail(f"{key}.dir" if rel is not None else key, f"folder {path} does not exist",
                            hint=f"create it with its script pair, e.g. envctl new {self.env_dir.name} {name}")
        return path

    def scripts(self, key: str, comp_dir: Path, data: dict[str, Any]) -> Scripts:
        found: dict[str, Path | None] = {}
        path: Path | None
        with os.scandir(comp_dir) as entries:  # an entry knows whether it is a file without a stat of its own
            listing = sorted((e for e in entries if e.name.endswith(".sh") and e.name != ".sh"),
                             key=lambda e: e.name)
        for action in ACTIONS:
            explicit = self.string(data.get(action), f"{key}.{action}")
            if explicit is not None:
                path = (comp_dir / explicit).resolve()
                if not _inside(path, self.root):
                    raise self.fail(f"{key}.{action}", f"'{explicit}' points outside the project root")
                if not path.is_file():
                    raise self.fail(f"{key}.{action}", f"script {path} does not exist")
                found[action] = path
            else:
                found[action] = self.discover(key, comp_dir, action, listing)
        for action in ("install", "delete"):
            if found[action] is None:
                pattern = " or ".join(f"{p}*.sh" for p in _DISCOVERY[action])
                raise self.fail(key, f"has no {action} script: no {pattern} in {comp_dir}",
                                hint="every component is a script pair: an install and its delete")
        for action, path in found.items():
            if path is not None and not os.access(path, os.X_OK):
                raise self.fail(f"{key}.{action}", f"script {path} is not executable",
                                hint=f"chmod +x {path}")
        install, delete = found.pop("install"), found.pop("delete")
        assert install is not None and delete is not None
        return Scripts(install=install, delete=delete, **found)

    def discover(self, key: str, comp_dir: Path, action: str, listing: list[os.DirEntry[str]]) -> Path | None:
        matches = [comp_dir / e.name for e in listing if e.name.startswith(_DISCOVERY[action]) and e.is_file()]
        if len(matches) > 1:
            raise self.fail(key, f"has {len(matches)} {action} scripts in {comp_dir}: "
                            f"{', '.join(p.name for p in matches)}",
                            hint=f"keep exactly one, or name it with the {action}: key")
        return matches[0] if matches else None


_TOP_KEYS = ("name", "region", "aws", "tags", "vars", "components", "sleep", "state", "schedule", "review",
             "agents", "verify")
_COMPONENT_KEYS = ("dir", "depends_on", "timeout", "vars", "install", "delete", "update", "sleep", "wake")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
                              int: "a number", float: "a number", type(None): "empty"}
    return names.get(type(value), type(value).__name__)


def list_environment_names(root: Path) -> list[str]:
    base = root / "environments"
    return sorted(p.name for p in base.iterdir() if (p / "env.yaml").is_file()) if base.is_dir() else []


# ---------------------------------------------------------------- loading


def load_environment(root: Path, name: str) -> Environment:
    """Read and validate ``environments/<name>/env.yaml``; raise on the first problem found."""
    if not NAME_RE.match(name):
        raise EnvironmentNotFoundError(f"'{name}' is not an environment name (letters, digits, '-' and '_')")
    env_dir = root / "environments" / name
    file = env_dir / "env.yaml"
    if not file.is_file():
        known = ", ".join(list_environment_names(root)) or "none"
        raise EnvironmentNotFoundError(f"no environment '{name}': {file} does not exist",
                                       hint=f"environments here: {known}")
    return Loader(root, env_dir, file).load(name)
