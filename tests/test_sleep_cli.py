"""envctl sleep / wake / reap through the CLI: script order around the built-ins, state, tags, reaping."""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from envctl.config.load import load_environment
from envctl.schedule.reap import due_for_reap
from envctl.state.local import LocalBackend
from envctl.state.model import LockHolder
from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

ACCOUNT = '{target: account, account_id: "123456789012"}'  # the sandbox's account, reached via AWS_ENDPOINT_URL


def desired_probe(cluster: str) -> str:
    """Shell that prints the live desired size of the cluster's 'workers' nodegroup."""
    code = (f"import boto3; print(boto3.client('eks').describe_nodegroup(clusterName='{cluster}', "
            "nodegroupName='workers')['nodegroup']['scalingConfig']['desiredSize'])")
    return f'$("{sys.executable}" -c "{code}")'


def traced(comp: str, action: str, extra: str = "") -> str:
    return f'echo "{comp} {action}{extra}" >> "$TRACE"\n'


def project(root: Path, name: str = "test", *, schedule: str = "") -> Path:
    """network <- cluster <- app; cluster and app have sleep and wake scripts, network has none."""
    scripts: dict[str, dict[str, str]] = {}
    for comp in ("network", "cluster", "app"):
        scripts[comp] = {f"install-{comp}.sh": traced(comp, "install"),
                         f"delete-{comp}.sh": traced(comp, "delete")}
    for comp in ("cluster", "app"):
        probe = f" nodes={desired_probe(name)}" if comp == "cluster" else ""
        scripts[comp][f"sleep-{comp}.sh"] = traced(comp, "sleep", probe)
        scripts[comp][f"wake-{comp}.sh"] = traced(comp, "wake", probe)
    make_env(root, name, f"""
        name: {name}
        region: us-east-1
        aws: {ACCOUNT}
        vars: {{TRACE: {root / f'trace-{name}.log'}}}
        components:
          network: {{}}
          cluster: {{depends_on: [network]}}
          app: {{depends_on: [cluster]}}
        """ + schedule, scripts)
    return root


def trace(root: Path, name: str = "test") -> list[str]:
    path = root / f"trace-{name}.log"
    return path.read_text().splitlines() if path.exists() else []


def make_cluster(name: str) -> None:
    eks = boto3.client("eks", region_name="us-east-1")
    subnet = boto3.client("ec2", region_name="us-east-1").describe_subnets()["Subnets"][0]["SubnetId"]
    role = "arn:aws:iam::123456789012:role/eks"
    eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": [subnet]},
                       tags={"envctl:env": name})
    eks.create_nodegroup(clusterName=name, nodegroupName="workers", nodeRole=role, subnets=[subnet],
                         scalingConfig={"minSize": 1, "desiredSize": 2, "maxSize": 3}, tags={"envctl:env": name})


def nodegroup(name: str) -> tuple[int, int, int]:
    cfg = boto3.client("eks", region_name="us-east-1").describe_nodegroup(
        clusterName=name, nodegroupName="workers")["nodegroup"]["scalingConfig"]
    return cfg["minSize"], cfg["desiredSize"], cfg["maxSize"]


def status(root: Path, name: str = "test") -> dict[str, Any]:
    result = run_cli("status", name, "--json", root=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_sleep_and_wake_order_scripts_around_the_builtins(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    make_cluster("test")
    assert run_cli("up", "test", root=root).exit_code == 0
    (root / "trace-test.log").unlink()

    slept = run_cli("sleep", "test", root=root)
    assert slept.exit_code == 0, slept.output
    # reverse order; the cluster's own script still saw its nodes: the built-ins come after the scripts
    assert trace(root) == ["app sleep", "cluster sleep nodes=2"]
    assert nodegroup("test") == (0, 0, 3)
    assert "nodegroup test/workers: 1/2/3 -> 0/0/3" in slept.stdout
    st = status(root)
    assert st["state"] == "asleep"
    assert {c["name"]: c["state"] for c in st["components"]} == {"network": "asleep", "cluster": "asleep",
                                                                  "app": "asleep"}
    state_file = json.loads((root / ".envctl" / "state" / "test.json").read_text())
    assert state_file["sleep"]["nodegroups"] == {"test/workers": {"min": 1, "desired": 2, "max": 3}}

    again = run_cli("sleep", "test", root=root)
    assert again.exit_code == 0, again.output
    assert nodegroup("test") == (0, 0, 3)
    assert json.loads((root / ".envctl" / "state" / "test.json").read_text())["sleep"] == state_file["sleep"]

    (root / "trace-test.log").unlink()
    woke = run_cli("wake", "test", root=root)
    assert woke.exit_code == 0, woke.output
    # the built-ins first (the cluster's wake script sees its nodes back), then the scripts in order
    assert trace(root) == ["cluster wake nodes=2", "app wake"]
    assert nodegroup("test") == (1, 2, 3)
    assert status(root)["state"] == "up"
    assert json.loads((root / ".envctl" / "state" / "test.json").read_text())["sleep"] == {}


def test_wake_from_a_machine_without_state_restores_from_the_tags(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    make_cluster("test")
    assert run_cli("up", "test", root=root).exit_code == 0
    assert run_cli("sleep", "test", root=root).exit_code == 0
    assert nodegroup("test") == (0, 0, 3)
    shutil.rmtree(root / ".envctl")
    woke = run_cli("wake", "test", root=root)
    assert woke.exit_code == 0, woke.output
    assert nodegroup("test") == (1, 2, 3)


def test_a_failed_sleep_script_keeps_the_nodes_up(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "environments" / "test" / "app" / "sleep-app.sh").write_text("#!/usr/bin/env bash\nexit 3\n")
    make_cluster("test")
    assert run_cli("up", "test", root=root).exit_code == 0
    result = run_cli("sleep", "test", root=root)
    assert result.exit_code == 4
    assert "built-ins did not run" in result.stderr
    assert nodegroup("test") == (1, 2, 3)
    assert status(root)["state"] == "up"


def test_a_sleep_whose_builtins_could_not_stop_something_is_recorded_failed(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    make_cluster("test")
    # AWS cannot stop a Multi-AZ SQL Server instance: the built-in's stop call is refused
    boto3.client("rds", region_name="us-east-1").create_db_instance(
        DBInstanceIdentifier="reports-test", DBInstanceClass="db.m5.large", Engine="sqlserver-se", MultiAZ=True,
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="not-a-secret-1",
        Tags=[{"Key": "envctl:env", "Value": "test"}])
    assert run_cli("up", "test", root=root).exit_code == 0
    result = run_cli("sleep", "test", root=root)
    assert result.exit_code == 4, result.output
    assert nodegroup("test") == (0, 0, 3)  # what could sleep did
    runs = json.loads(run_cli("history", "test", "--json", root=root).stdout)
    assert [(r["command"], r["result"]) for r in runs] == [("up", "ok"), ("sleep", "failed")]
    assert runs[0]["failures"] == []
    assert len(runs[1]["failures"]) == 1 and "reports-test" in runs[1]["failures"][0]


def test_sleep_waits_for_a_running_session_then_says_locked(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    backend = LocalBackend(root)
    with backend.lock("test", LockHolder.current("envctl up test")):
        started = time.monotonic()
        result = run_cli("sleep", "test", "--wait-lock", "1s", root=root)
        waited = time.monotonic() - started
    assert result.exit_code == 3, result.output
    assert "locked" in result.output
    assert waited >= 1.0


def test_reap_tears_down_what_is_past_down_after(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path, schedule="schedule: {down_after: 1s}\n")
    project(root, "keep")  # no schedule: never reaped
    project(root, "idle", schedule="schedule: {down_after: 1s}\n")  # never up: nothing to reap
    assert run_cli("up", "test", root=root).exit_code == 0
    assert run_cli("up", "keep", root=root).exit_code == 0
    time.sleep(1.1)
    dry = run_cli("reap", "--dry-run", root=root)
    assert dry.exit_code == 0, dry.output
    assert "test: up since" in dry.stdout and "due (dry run" in dry.stdout
    assert status(root)["state"] == "up"

    refused = run_cli("reap", root=root)
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr

    reaped = run_cli("reap", "--yes", root=root)
    assert reaped.exit_code == 0, reaped.output
    assert trace(root)[-3:] == ["app delete", "cluster delete", "network delete"]
    assert status(root)["state"] == "down"
    assert status(root, "keep")["state"] == "up"
    assert "idle" not in reaped.stdout
    again = run_cli("reap", "--yes", root=root)
    assert again.exit_code == 0 and "nothing is past its down_after" in again.stdout


def test_due_for_reap_counts_from_up_since(tmp_path: Path) -> None:
    root = project(tmp_path, schedule="schedule: {down_after: 1s}\n")
    project(root, "asleep", schedule="schedule: {down_after: 1s}\n")
    backend = LocalBackend(root)
    long_ago = "2026-01-01T00:00:00.000000+00:00"
    for name, comp_state in (("test", "up"), ("asleep", "asleep")):
        st = backend.load(name)
        for comp in ("network", "cluster", "app"):
            st.component(comp).state = comp_state
        st.up_since = long_ago
        backend.save(st)
    envs = [load_environment(root, "test"), load_environment(root, "asleep")]
    now = _dt.datetime(2026, 1, 1, 0, 0, 2, tzinfo=_dt.timezone.utc)
    assert due_for_reap(envs, now) == [("test", long_ago, 1.0)]
    assert due_for_reap(envs, now - _dt.timedelta(seconds=1.5)) == []
    st = backend.load("test")
    st.component("app").state = "install_failed"  # partial counts as up
    backend.save(st)
    assert [d.env for d in due_for_reap(envs, now)] == ["test"]
    for comp in ("network", "cluster", "app"):
        st.component(comp).state = "down"
    backend.save(st)
    assert due_for_reap(envs, now) == []


def test_status_names_a_database_that_started_by_itself(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path, schedule='schedule: {timezone: UTC, sleep: "0 20 * * *", wake: "0 8 * * *"}\n')
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_instance(
        DBInstanceIdentifier="orders", DBInstanceClass="db.t4g.micro", Engine="postgres", MasterUsername="admin",
        MasterUserPassword="not-a-secret-1", AllocatedStorage=20, Tags=[{"Key": "envctl:env", "Value": "test"}])
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="not-a-secret-1", Tags=[{"Key": "envctl:env", "Value": "test"}])
    assert run_cli("up", "test", root=root).exit_code == 0
    assert run_cli("sleep", "test", root=root).exit_code == 0
    assert status(root)["cost"]["sleep_warnings"] == []
    rds.start_db_instance(DBInstanceIdentifier="orders")
    rds.start_db_cluster(DBClusterIdentifier="ledger")  # AWS does this itself after 7 days stopped
    warnings = status(root)["cost"]["sleep_warnings"]
    assert [w.split(" although")[0] for w in warnings] == ["rds orders is available", "aurora ledger is available"]
    assert "after 7 days" in warnings[1]
    text = run_cli("status", "test", root=root).output
    assert "aurora ledger is available although the environment is asleep" in text
    again = run_cli("sleep", "test", root=root)
    assert again.exit_code == 0, again.output
    assert "aurora ledger: available -> stopped (it had started again by itself while asleep)" in again.stdout
    assert status(root)["cost"]["sleep_warnings"] == []


def test_reap_leaves_a_locked_environment_for_the_next_round(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path, schedule="schedule: {down_after: 1s}\n")
    assert run_cli("up", "test", root=root).exit_code == 0
    time.sleep(1.1)
    with LocalBackend(root).lock("test", LockHolder.current("envctl update test")):
        result = run_cli("reap", "--yes", root=root)
    assert result.exit_code == 0, result.output
    assert "left for the next round" in result.stdout
    assert status(root)["state"] == "up"
