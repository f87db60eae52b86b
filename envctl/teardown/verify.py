"""``envctl verify`` as a core call: what is left of an environment, whose it is, what it costs.

Also what ``down`` (per-component leak check, final verify) and ``status`` (cost per hour now) call.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.config.load import list_environment_names
from envctl.config.model import Environment
from envctl.config.regions import global_region_of, partition_of
from envctl.errors import AccountMismatchError, RefusedError, UsageError
from envctl.inventory.collectors import ACCOUNT_ACTIONS, ALL_ACTIONS, SPEND_ACTIONS
from envctl.inventory.core import Survey, describe_error, survey_collect
from envctl.inventory.model import ClientFactory
from envctl.inventory.parents import Parents, parents_from
from envctl.inventory.readonly import guard
from envctl.teardown.pricing import PriceTable
from envctl.teardown.report import VerifyReport, build_report

DB_KEY_SUFFIXES = ("DB_INSTANCE_ID", "DB_INSTANCE_IDENTIFIER", "DB_IDENTIFIER")


@dataclass(frozen=True)
class Targets:
    """What the environment created that AWS or Kubernetes hang untagged things on, with the owning component."""

    clusters: Mapping[str, str | None] = field(default_factory=dict)
    db_instances: Mapping[str, str | None] = field(default_factory=dict)
    parents: Parents = field(default_factory=dict)  # VPCs, DB clusters, functions... (inventory.parents)


def _is_cluster_key(key: str) -> bool:
    return key == "CLUSTER" or key.endswith("CLUSTER_NAME")


def targets_from(env: Environment, outputs: Mapping[str, Mapping[str, str]] | None = None) -> Targets:
    """Cluster names and RDS instance ids from the components' outputs (``state.components[c].outputs``)
    and vars, plus the environment's ``CLUSTER_NAME`` var (owned by the component naming it, else ``cluster``).

    ``down`` clears a component's outputs when its delete succeeds and keeps them as ``deleted_outputs``;
    :func:`state_outputs` merges both, so a cluster that is gone is still known by name.
    """
    clusters: dict[str, str | None] = {}
    dbs: dict[str, str | None] = {}
    for comp_name, comp in env.components.items():
        merged = {**dict(comp.vars), **dict((outputs or {}).get(comp_name) or {})}
        for key, value in merged.items():
            if value and _is_cluster_key(key):
                clusters.setdefault(value, comp_name)
            if value and key.endswith(DB_KEY_SUFFIXES):
                dbs.setdefault(value, comp_name)
    name = env.vars.get("CLUSTER_NAME")
    if name and name not in clusters:
        clusters[name] = "cluster" if "cluster" in env.components else None
    return Targets(clusters, dbs, parents_from(outputs or {}, {c: comp.vars for c, comp in env.components.items()}))


def state_outputs(env: Environment) -> dict[str, dict[str, str]]:
    from envctl.state.backends import load_state

    state = load_state(env)
    return {name: {**c.deleted_outputs, **c.outputs} for name, c in state.components.items()}


def check_account(env: Environment, factory: ClientFactory) -> str:
    """With ``target: account``: the credentials work and are for the environment's account (returned).
    Verifying the wrong account (or none) would call an environment clean that is not."""
    if env.aws.target != "account":
        return env.aws.account_id or ""
    sts = guard(factory("sts", env.region), ACCOUNT_ACTIONS)
    try:
        actual = str(sts.get_caller_identity()["Account"])
    except Exception as err:  # no credentials, expired token, unreachable endpoint: all mean "cannot look"
        raise RefusedError(f"cannot verify {env.name}: AWS did not answer ({err})",
                           hint=f"check the credentials{' of profile ' + env.aws.profile if env.aws.profile else ''}"
                           ) from None
    if env.aws.account_id and actual != env.aws.account_id:
        raise AccountMismatchError(f"{env.file}: aws.account_id is {env.aws.account_id}, but the credentials "
                                   f"are for account {actual}", hint="use the profile of the right account")
    return actual


# A run's start is stamped by this machine's clock, a resource's creation by AWS's; NTP keeps them within
# milliseconds. The slack covers that and the one-second stamps of some services.
CLOCK_SLACK = _dt.timedelta(seconds=2)


def first_bring_up(env: Environment) -> _dt.datetime | None:
    """When the environment first came up (its earliest recorded ``up``), less a clock slack; None when no
    history says so. Nothing created before it can be the environment's own."""
    from envctl.state.backends import backend_for

    try:
        backend = backend_for(env.root, env.state, env=env)
        starts = [r.get("started") for r in backend.runs(env.name) if r.get("command") == "up"]
        starts.append(backend.load(env.name).up_since)
        times = [_dt.datetime.fromisoformat(s) for s in starts if s]
    except Exception:  # unreadable history: every candidate gets its own look (slower, never wrong)
        return None
    times = [t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc) for t in times]
    return min(times) - CLOCK_SLACK if times else None


def enabled_regions(env: Environment, factory: ClientFactory) -> tuple[str, ...]:
    """Every region enabled for the account (``ec2:DescribeRegions``), the environment's own first."""
    # The same guard as the collectors' (a client guarded with two sets refuses what either lacks).
    ec2 = guard(factory("ec2", env.region), ALL_ACTIONS)
    answer = ec2.describe_regions(AllRegions=False).get("Regions") or []
    enabled = sorted(r["RegionName"] for r in answer if r.get("OptInStatus") != "not-opted-in")
    return (env.region, *[r for r in enabled if r != env.region])


def survey_of(env: Environment, factory: ClientFactory, targets: Targets, *,
              regions: tuple[str, ...] | None = None) -> Survey:
    """What verify (and down's leak listing) looks for, and where: by default the environment's regions."""
    return Survey(env.name, regions or env.scan_regions, dict(targets.clusters), dict(targets.db_instances),
                  since=first_bring_up(env), account=env.aws.account_id or "",
                  parents=dict(targets.parents))


def verify_environment(env: Environment, root: Path, *, component: str | None = None,
                       client_factory: ClientFactory | None = None, targets: Targets | None = None,
                       prices: PriceTable | None = None, account_check: bool = True,
                       all_regions: bool = False, max_workers: int = 16) -> VerifyReport:
    """The cost verification report of ``env`` (narrowed to ``component`` when given), over its regions
    (``verify.regions`` of env.yaml besides ``region``; every enabled one with ``all_regions``) and the
    global services."""
    if client_factory is None:
        from envctl.aws.session import client_factory_for

        client_factory = client_factory_for(env, root)
    # The account check runs beside the look (env.yaml names the account, so the look needs no answer first):
    # a look is read-only, and when the check fails, what it found is thrown away with the error.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envctl-account") as pool:
        checking = pool.submit(check_account, env, client_factory) if account_check else None
        try:
            if targets is None:
                targets = targets_from(env, state_outputs(env))
            regions, failures = env.scan_regions, dict[str, str]()
            if all_regions:
                try:
                    regions = enabled_regions(env, client_factory)
                except Exception as err:
                    # the configured regions are still scanned; the report says what was not
                    failures["regions@" + env.region] = f"could not list the enabled regions: {describe_error(err)}"
            survey = survey_of(env, client_factory, targets, regions=regions)
            inventory = survey_collect(survey, client_factory, component=component, max_workers=max_workers)
        finally:
            if checking is not None:
                checking.result()  # its error (no answer, the wrong account) wins over anything the look raised
    return build_report(env.name, inventory, prices, all_regions=all_regions and not failures,
                        extra_failures=failures)


def sandbox_note(env: Environment, root: Path) -> str | None:
    """Said before verifying a sandbox environment whose sandbox restarted: "clean" then means "wiped"."""
    if env.aws.target != "sandbox":
        return None
    from envctl.aws import sandbox
    from envctl.state.backends import load_state

    recorded = load_state(env).sandbox_id
    return sandbox.check_environment_alive(root, recorded, env=env.name)


def pick_environment(root: Path, name: str | None) -> str:
    """``name``, else the only environment there is, else the one with recorded state.

    Not ``down``'s rule (the one environment that is up): verify runs after a teardown, when that environment is
    down but its state is still recorded. The state is looked for where the environment keeps it, so a team's
    environment whose state is in S3 counts on a laptop that never ran it.
    """
    if name:
        return name
    names = list_environment_names(root)
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"no environments in {root / 'environments'}")
    with_state = [n for n in names if _has_state(root, n)]
    if len(with_state) == 1:
        return with_state[0]
    listed = ", ".join(with_state or names)
    raise UsageError(f"which environment? {'several have state' if with_state else 'none has state'}: {listed}",
                     hint="name it: envctl verify ENV")


def _has_state(root: Path, name: str) -> bool:
    """An environment that cannot be loaded or whose state cannot be read is not the one meant: naming it
    shows why."""
    from envctl.config.load import load_environment
    from envctl.errors import EnvctlError
    from envctl.state.backends import load_state

    try:
        return load_state(load_environment(root, name)).exists
    except EnvctlError:
        return False


# ---------------------------------------------------------------- actual spend (Cost Explorer)


@dataclass(frozen=True)
class Spend:
    """Actual spend by the ``envctl:env`` tag. ``None`` amounts mean Cost Explorer had no data."""

    env: str
    month_to_date: float | None
    yesterday: float | None
    currency: str
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"month_to_date_usd": self.month_to_date, "yesterday_usd": self.yesterday,
                "currency": self.currency, "note": self.note}

    def markdown(self) -> str:
        def show(v: float | None) -> str:
            return "no data" if v is None else f"${v:,.2f}"

        return (f"Actual spend (Cost Explorer, tag `envctl:env={self.env}`): month to date "
                f"{show(self.month_to_date)}, yesterday {show(self.yesterday)}. {self.note}")


def actual_spend(env_name: str, client_factory: ClientFactory, *, today: _dt.date | None = None,
                 region: str = "us-east-1") -> Spend:
    """Month-to-date and yesterday's cost of everything tagged ``envctl:env=<env_name>``: one request ($0.01)
    to Cost Explorer of the partition of ``region``."""
    today = today or _dt.datetime.now(_dt.timezone.utc).date()
    yesterday = today - _dt.timedelta(days=1)
    start = min(today.replace(day=1), yesterday)
    partition = partition_of(region)
    ce = guard(client_factory("ce", "cn-northwest-1" if partition == "aws-cn" else global_region_of(partition)),
               SPEND_ACTIONS)
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": start.isoformat(), "End": today.isoformat()}, Granularity="DAILY",
        Metrics=["UnblendedCost"], Filter={"Tags": {"Key": "envctl:env", "Values": [env_name]}})
    days = answer.get("ResultsByTime") or []
    if not days:
        return Spend(env_name, None, None, "USD",
                     "Cost Explorer has no data for this tag: the tag envctl:env must be activated as a cost "
                     "allocation tag (activation takes up to 24 h), and costs appear about a day late.")
    mtd, yday, unit, estimated = 0.0, None, "USD", False
    for day in days:
        total = (day.get("Total") or {}).get("UnblendedCost") or {}
        amount, unit = float(total.get("Amount") or 0), total.get("Unit") or unit
        estimated = estimated or bool(day.get("Estimated"))
        day_start = _dt.date.fromisoformat(day["TimePeriod"]["Start"])
        if day_start >= today.replace(day=1):
            mtd += amount
        if day_start == yesterday:
            yday = amount
    note = "Costs lag about a day" + (" and recent days are estimates." if estimated else ".")
    return Spend(env_name, mtd if today.day > 1 else 0.0, yday, unit, note)
