"""The run engine, observed through tiny real scripts that write what they do to a trace file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, make_env, run_cli, run_cli_process

pytestmark = pytest.mark.sandbox


def traced(name: str, action: str, extra: str = "", sleep: float = 0.0) -> str:
    """A script body that records its start and end (with times) in $TRACE."""
    return f"""
echo "start {name} {action} $(date +%s.%N)" >> "$TRACE"
{f'sleep {sleep}' if sleep else ''}
{extra}
echo "end {name} {action} $(date +%s.%N)" >> "$TRACE"
"""


def build(root: Path, spec: dict[str, dict], *, name: str = "demo", extra_yaml: str = "") -> Path:
    """spec: component -> {deps: [...], install: body, delete: body, sleep: secs, timeout: '2s'}."""
    lines = [f"name: {name}", "region: us-east-1", "aws: {target: sandbox}", "tags: {team: qa}",
             f"vars: {{TRACE: {root / 'trace.log'}}}", "components:"]
    scripts: dict[str, dict[str, str]] = {}
    for comp, cfg in spec.items():
        opts = []
        if cfg.get("deps"):
            opts.append(f"depends_on: [{', '.join(cfg['deps'])}]")
        if cfg.get("timeout"):
            opts.append(f"timeout: {cfg['timeout']}")
        lines.append(f"  {comp}: {{{', '.join(opts)}}}")
        scripts[comp] = {
            f"install-{comp}.sh": cfg.get("install", traced(comp, "install", sleep=cfg.get("secs", 0))),
            f"delete-{comp}.sh": cfg.get("delete", traced(comp, "delete", sleep=cfg.get("dsleep", 0))),
        }
        for action in ("update", "sleep", "wake"):
            if action in cfg:
                scripts[comp][f"{action}-{comp}.sh"] = cfg[action]
    make_env(root, name, "\n".join(lines) + "\n" + extra_yaml, scripts)
    return root


def trace(root: Path) -> list[tuple[str, str, str, float]]:
    path = root / "trace.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        kind, comp, action, ts = line.split()
        out.append((kind, comp, action, float(ts)))
    return out


def started(root: Path, action: str = "install") -> list[str]:
    return [c for k, c, a, _ in trace(root) if k == "start" and a == action]


def times(root: Path) -> dict[tuple[str, str, str], float]:
    return {(k, c, a): t for k, c, a, t in trace(root)}


def status(root: Path, env: str = "demo") -> dict[str, str]:
    res = run_cli("status", env, "--json", "--no-cost", root=root)
    assert res.exit_code == 0, res.output
    return {c["name"]: c["state"] for c in json.loads(res.stdout)["components"]}


DIAMOND = {"net": {}, "iam": {}, "cluster": {"deps": ["net", "iam"]}, "nodes": {"deps": ["cluster"]},
           "db": {"deps": ["net"]}}


def test_up_runs_in_dependency_order_and_down_in_reverse(tmp_path, aws):
    build(tmp_path, DIAMOND)
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 0, res.output
    t = times(tmp_path)
    for comp, cfg in DIAMOND.items():
        for dep in cfg.get("deps", []):
            assert t[("end", dep, "install")] <= t[("start", comp, "install")], (dep, comp)
    assert set(status(tmp_path).values()) == {"up"}

    res = run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert res.exit_code == 0, res.output
    t = times(tmp_path)
    for comp, cfg in DIAMOND.items():
        for dep in cfg.get("deps", []):
            assert t[("end", comp, "delete")] <= t[("start", dep, "delete")], (comp, dep)
    assert set(status(tmp_path).values()) == {"down"}


def test_a_component_starts_when_its_own_dependencies_are_done_not_its_level(tmp_path, aws):
    # fast -> fast_child, while slow (same level as fast) still runs: per-node, not level by level
    build(tmp_path, {"slow": {"secs": 1.5}, "fast": {}, "fast_child": {"deps": ["fast"]},
                     "after_slow": {"deps": ["slow"]}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    t = times(tmp_path)
    assert t[("start", "fast_child", "install")] < t[("end", "slow", "install")]


def test_parallel_cap_is_respected_and_kept_busy(tmp_path, aws):
    spec = {f"c{i}": {"secs": 0.4} for i in range(6)}
    build(tmp_path, spec)
    assert run_cli("up", "demo", "--parallel", "2", root=tmp_path).exit_code == 0
    events = sorted((t, k) for k, _c, _a, t in trace(tmp_path))
    running = peak = 0
    for _t, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2


def test_failure_blocks_dependents_independent_branch_finishes_and_resume(tmp_path, aws):
    flag = tmp_path / "broken"
    flag.touch()
    build(tmp_path, {
        "base": {},
        "bad": {"deps": ["base"], "install": f'[ -e {flag} ] && {{ echo boom >&2; exit 3; }}\n'
                + traced("bad", "install")},
        "child": {"deps": ["bad"]},
        "grandchild": {"deps": ["child"]},
        "other": {"deps": ["base"], "secs": 0.3},
    })
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 4, res.output
    assert "blocked" in res.output and "child" in res.output
    st = status(tmp_path)
    assert st == {"base": "up", "bad": "install_failed", "child": "down", "grandchild": "down", "other": "up"}
    assert "child" not in started(tmp_path)

    flag.unlink()
    (tmp_path / "trace.log").unlink()
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 0, res.output
    assert sorted(started(tmp_path)) == ["bad", "child", "grandchild"]  # only what was not up
    assert set(status(tmp_path).values()) == {"up"}


def test_fail_fast_starts_nothing_new(tmp_path, aws):
    build(tmp_path, {"bad": {"install": "exit 1"}, "slow": {"secs": 0.5},
                     "later1": {"deps": ["slow"]}, "later2": {"deps": ["slow"]}})
    res = run_cli("up", "demo", "--fail-fast", "--parallel", "2", root=tmp_path)
    assert res.exit_code == 4
    assert "later1" not in started(tmp_path) and "later2" not in started(tmp_path)
    assert status(tmp_path)["slow"] == "up"  # what was running finished


def test_failed_delete_blocks_what_it_depends_on(tmp_path, aws):
    build(tmp_path, {"net": {}, "cluster": {"deps": ["net"], "delete": "exit 7"}, "cache": {"deps": ["net"]},
                     "solo": {}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    (tmp_path / "trace.log").unlink()
    res = run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert res.exit_code == 4
    assert sorted(started(tmp_path, "delete")) == ["cache", "solo"]
    assert status(tmp_path) == {"net": "up", "cluster": "delete_failed", "cache": "down", "solo": "down"}
    # a second down skips what is cleanly deleted
    (tmp_path / "trace.log").unlink()
    run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert "cache" not in started(tmp_path, "delete") and "solo" not in started(tmp_path, "delete")


def test_down_without_state_runs_every_delete(tmp_path, aws):
    build(tmp_path, DIAMOND)
    res = run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert res.exit_code == 0, res.output
    assert sorted(started(tmp_path, "delete")) == sorted(DIAMOND)


def test_outputs_flow_to_dependents_direct_or_not(tmp_path, aws):
    build(tmp_path, {
        "network": {"install": 'echo "VPC_ID=vpc-123" >> "$ENVCTL_OUTPUT"\necho "URL=a=b" >> "$ENVCTL_OUTPUT"'},
        "cluster": {"deps": ["network"], "install": 'echo "NAME=c-$NETWORK_VPC_ID" >> "$ENVCTL_OUTPUT"'},
        "rds-orders": {"deps": ["cluster"],
                       "install": 'echo "$NETWORK_VPC_ID $NETWORK_URL $CLUSTER_NAME" > "$TRACE.out"'},
    })
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert (tmp_path / "trace.log.out").read_text().strip() == "vpc-123 a=b c-vpc-123"
    res = json.loads(run_cli("status", "demo", "--json", "--no-cost", root=tmp_path).stdout)
    assert res["components"][0]["outputs"] == {"VPC_ID": "vpc-123", "URL": "a=b"}


def test_script_environment_has_the_contract(tmp_path, aws):
    body = 'env | grep -E "^(ENVCTL_|AWS_REGION|AWS_DEFAULT_REGION|AWS_ENDPOINT_URL|TRACE|LEVEL)" > "$TRACE.env"'
    build(tmp_path, {"net": {"install": body}})
    env_yaml = tmp_path / "environments/demo/env.yaml"
    env_yaml.write_text(env_yaml.read_text().replace("  net: {}", "  net: {vars: {LEVEL: '3'}}"))
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    seen = dict(line.split("=", 1) for line in (tmp_path / "trace.log.env").read_text().splitlines())
    assert seen["ENVCTL_ENV"] == "demo" and seen["ENVCTL_COMPONENT"] == "net"
    assert seen["ENVCTL_ACTION"] == "install" and seen["ENVCTL_RUN_ID"]
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "us-east-1"
    assert seen["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert seen["LEVEL"] == "3"
    assert json.loads(seen["ENVCTL_TAGS_JSON"]) == [{"Key": "envctl:env", "Value": "demo"},
                                                    {"Key": "envctl:component", "Value": "net"},
                                                    {"Key": "team", "Value": "qa"}]
    assert seen["ENVCTL_TAGS_CLI"] == "Key=envctl:env,Value=demo Key=envctl:component,Value=net Key=team,Value=qa"
    assert seen["ENVCTL_TAGS_KV"] == "envctl:env=demo,envctl:component=net,team=qa"


def test_configured_values_arrive_literally_and_run_nothing(tmp_path, aws):
    build(tmp_path, {"net": {"install": 'printf "%s\\n" "$EVIL1" "$EVIL2" > "$TRACE.vars"'}})
    env_yaml = tmp_path / "environments/demo/env.yaml"
    evil = "vars: {EVIL1: '$(touch pwned1)', EVIL2: '; touch pwned2 `touch pwned3`', "
    text = env_yaml.read_text().replace("vars: {", evil)
    env_yaml.write_text(text)
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert (tmp_path / "trace.log.vars").read_text().splitlines() == ["$(touch pwned1)",
                                                                     "; touch pwned2 `touch pwned3`"]
    comp_dir = tmp_path / "environments/demo/net"
    assert not any((d / f).exists() for d in (tmp_path, comp_dir) for f in ("pwned1", "pwned2", "pwned3"))


def test_timeout_kills_the_script_and_its_children(tmp_path, aws):
    pidfile = tmp_path / "child.pid"
    build(tmp_path, {"slow": {"timeout": "1s", "install": f"sleep 60 &\necho $! > {pidfile}\nwait"}})
    t0 = time.monotonic()
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 4 and "timed out" in res.output
    assert time.monotonic() - t0 < 15
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _alive(child)
    assert status(tmp_path)["slow"] == "install_failed"


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path, aws):
    build(tmp_path, {"slow": {"secs": 4}})
    first = subprocess.Popen([sys.executable, "-m", "envctl", "--root", str(tmp_path), "up", "demo"],
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: started(tmp_path) == ["slow"])
        t0 = time.monotonic()
        second = run_cli_process("down", "demo", "--yes", root=tmp_path)
        assert time.monotonic() - t0 < 5
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid}" in second.stderr and "envctl up demo" in second.stderr
    finally:
        first.wait(30)
    assert first.returncode == 0


def test_sigint_stops_children_releases_lock_and_exits_130(tmp_path, aws):
    pidfile = tmp_path / "child.pid"
    build(tmp_path, {"slow": {"install": f"sleep 60 &\necho $! > {pidfile}\nwait"}, "after": {"deps": ["slow"]},
                     "quick": {}})
    proc = subprocess.Popen([sys.executable, "-m", "envctl", "--root", str(tmp_path), "up", "demo"],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    _wait_for(lambda: "quick" in [c for k, c, _a, _t in trace(tmp_path) if k == "end"])
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert not _alive(int(pidfile.read_text()))
    assert status(tmp_path) == {"slow": "install_failed", "after": "down", "quick": "up"}
    assert "after" not in started(tmp_path)
    runs = json.loads(run_cli("history", "demo", "--json", root=tmp_path).stdout)
    assert runs[-1]["result"] == "interrupted"
    # the lock is free: the next run goes at once and resumes
    pidfile.unlink()
    (tmp_path / "environments/demo/slow/install-slow.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert set(status(tmp_path).values()) == {"up"}


def test_kill_9_of_envctl_leaves_readable_state_and_the_next_run_completes(tmp_path, aws):
    spec = {f"c{i}": {"secs": 0.05} for i in range(30)}
    spec["last"] = {"deps": [f"c{i}" for i in range(30)], "secs": 30}
    build(tmp_path, spec)
    proc = subprocess.Popen([sys.executable, "-m", "envctl", "--root", str(tmp_path), "up", "demo",
                             "--parallel", "3"], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: len(started(tmp_path)) >= 12)
    proc.kill()
    proc.wait()
    state_file = tmp_path / ".envctl/state/demo.json"
    json.loads(state_file.read_text())  # readable, whole
    (tmp_path / "environments/demo/last/install-last.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 0, res.output
    assert set(status(tmp_path).values()) == {"up"}


def test_up_skips_changed_scripts_and_points_to_update_or_force(tmp_path, aws):
    build(tmp_path, {"net": {"update": traced("net", "update")}, "app": {"deps": ["net"]}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    script = tmp_path / "environments/demo/net/install-net.sh"
    script.write_text(script.read_text() + "\n# a reviewed change\n")
    (tmp_path / "trace.log").unlink()
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 0
    assert "envctl update demo --only net" in res.output and "--force" in res.output
    assert started(tmp_path) == []
    assert json.loads(run_cli("status", "demo", "--json", "--no-cost", root=tmp_path).stdout)["components"][0][
        "scripts_changed"] is True
    res = run_cli("update", "demo", root=tmp_path)
    assert res.exit_code == 0, res.output
    assert started(tmp_path, "update") == ["net"]
    assert json.loads(run_cli("status", "demo", "--json", "--no-cost", root=tmp_path).stdout)["components"][0][
        "scripts_changed"] is False
    res = run_cli("up", "demo", "--force", "--only", "app", root=tmp_path)
    assert sorted(started(tmp_path)) == ["app", "net"]


def test_only_on_up_and_down(tmp_path, aws):
    build(tmp_path, DIAMOND)
    assert run_cli("up", "demo", "--only", "nodes", root=tmp_path).exit_code == 0
    assert sorted(started(tmp_path)) == ["cluster", "iam", "net", "nodes"]
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    (tmp_path / "trace.log").unlink()
    assert run_cli("down", "demo", "--only", "cluster", "--yes", "--no-verify", root=tmp_path).exit_code == 0
    assert started(tmp_path, "delete") == ["nodes", "cluster"]
    assert status(tmp_path)["net"] == "up"


def test_down_refuses_without_terminal_and_yes(tmp_path, aws):
    build(tmp_path, DIAMOND)
    run_cli("up", "demo", root=tmp_path)
    res = run_cli_process("down", "demo", root=tmp_path)
    assert res.returncode == 2 and "--yes" in res.stderr
    assert started(tmp_path, "delete") == []


def test_down_without_env_picks_the_one_up_or_names_several(tmp_path, aws):
    build(tmp_path, {"a": {}}, name="one")
    build(tmp_path, {"a": {}}, name="two")
    run_cli("up", "one", root=tmp_path)
    assert run_cli("down", "--yes", "--no-verify", root=tmp_path).exit_code == 0
    assert status(tmp_path, "one") == {"a": "down"}
    run_cli("up", "one", root=tmp_path)
    run_cli("up", "two", root=tmp_path)
    res = run_cli("down", "--yes", root=tmp_path)
    assert res.exit_code == 2 and "one" in res.stderr and "two" in res.stderr


def test_history_records_scripts_hashes_and_exit_codes(tmp_path, aws):
    build(tmp_path, {"a": {}, "b": {"deps": ["a"], "install": "exit 9"}})
    run_cli("up", "demo", root=tmp_path)
    runs = json.loads(run_cli("history", "--json", root=tmp_path).stdout)
    assert len(runs) == 1
    run = runs[0]
    assert run["command"] == "up" and run["env"] == "demo" and run["result"] == "failed"
    assert run["user"] and run["host"] and run["started"] <= run["ended"]
    steps = {s["component"]: s for s in run["steps"]}
    assert steps["b"]["exit_code"] == 9 and steps["a"]["exit_code"] == 0
    assert len(steps["a"]["sha256"]) == 64 and Path(steps["a"]["log"]).exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_a_process_that_escapes_the_group_does_not_hold_the_step(tmp_path, aws):
    # setsid puts the sleeper outside the script's process group, still holding the output pipe
    build(tmp_path, {"a": {"install": f"setsid sleep 30 &\necho $! > {tmp_path}/escaped.pid\necho done"},
                     "b": {"deps": ["a"]}})
    t0 = time.monotonic()
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 0, res.output
    assert time.monotonic() - t0 < 10
    assert started(tmp_path) == ["b"]
    log = next((tmp_path / ".envctl/runs").glob("*/a.install.log")).read_text()
    assert "done" in log
    os.kill(int((tmp_path / "escaped.pid").read_text()), signal.SIGKILL)


def test_a_script_that_cannot_start_is_a_failed_step_that_says_why(tmp_path, aws):
    build(tmp_path, {"a": {}, "b": {"deps": ["a"]}, "solo": {}})
    script = tmp_path / "environments/demo/a/install-a.sh"
    script.write_text("#!/nonexistent/interpreter\ntrue\n")
    res = run_cli("up", "demo", root=tmp_path)
    assert res.exit_code == 4, res.output
    assert "could not start" in res.output and "Traceback" not in res.output
    assert status(tmp_path) == {"a": "install_failed", "b": "down", "solo": "up"}
    log = next((tmp_path / ".envctl/runs").glob("*/a.install.log")).read_text()
    assert "No such file or directory" in log


def test_a_hook_can_hold_a_step_and_what_depends_on_it(tmp_path):
    """The hook seam's ``hold``: a held component's script never starts, it is recorded as blocked with the
    hook's reason, its dependents are blocked, the independent branch runs (wake holds its scripts this way
    when the built-ins could not bring a database back)."""
    from envctl.config.load import load_environment
    from envctl.run import engine
    from envctl.run.hooks import RunHooks
    from envctl.run.results import RunOptions

    class HoldNet(RunHooks):
        def hold(self, component: str) -> str:
            return "the database is still starting" if component == "net" else ""

    root = build(tmp_path, DIAMOND)
    result = engine.up(load_environment(root, "demo"), RunOptions(handle_signals=False), hooks=HoldNet())
    assert set(started(root)) == {"iam"}
    by_name = {s.component: s for s in result.steps}
    assert by_name["net"].result == "blocked" and by_name["net"].detail == "the database is still starting"
    assert {by_name[c].result for c in ("cluster", "nodes", "db")} == {"blocked"}
    assert by_name["iam"].result == "ok"
    assert status(root) == {"net": "down", "iam": "up", "cluster": "down", "nodes": "down", "db": "down"}


def test_run_directories_list_in_the_order_the_runs_started(tmp_path: Path, aws: str) -> None:
    # quick runs, several within one second: `ls .envctl/runs` must still read oldest to newest
    build(tmp_path, {"a": {}})
    for command in (("up", "demo"), ("down", "demo", "--yes", "--no-verify"), ("up", "demo"),
                    ("down", "demo", "--yes", "--no-verify")):
        assert run_cli(*command, root=tmp_path).exit_code == 0
    started = [r["run_id"] for r in json.loads(run_cli("history", "demo", "--json", root=tmp_path).stdout)]
    assert len(started) == 4
    assert sorted(p.name for p in (tmp_path / ".envctl" / "runs").iterdir()) == started


def test_an_edited_env_yaml_is_read_again(tmp_path: Path, aws: str) -> None:
    # the parsed env.yaml is remembered by content in .envctl/cache: an edit must still be seen at once
    said = tmp_path / "said"
    env_dir = make_env(tmp_path, "demo", f"""
    name: demo
    region: us-east-1
    aws: {{target: sandbox}}
    vars: {{GREETING: hello, SAID: {said}}}
    components:
      a: {{}}
    """, {"a": {"install-a.sh": 'echo "$GREETING" >> "$SAID"\n', "delete-a.sh": ":\n"}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path).exit_code == 0
    yaml_file = env_dir / "env.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("GREETING: hello", "GREETING: bonjour"))
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert said.read_text().split() == ["hello", "bonjour"]


def test_the_state_saved_while_steps_run_has_every_finished_step(tmp_path: Path, aws: str) -> None:
    # Saves during a run write only what changed since the last one: a step that starts after ten others
    # must find all ten recorded as up in the state file before the run's final save.
    ten = {f"a{i}": {"install": f"sleep 0.0{i}\n"} for i in range(10)}
    wait_for_ten = """
state="$ENVCTL_ROOT/.envctl/state/demo.json"
for _ in $(seq 100); do
  [ "$(grep -o '"state":"up"' "$state" | wc -l)" -ge 10 ] && exit 0
  sleep 0.05
done
exit 1
"""
    build(tmp_path, {**ten, "z": {"deps": list(ten), "install": wait_for_ten}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    assert run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path).exit_code == 0
    res = run_cli("up", "demo", root=tmp_path)  # now each of the ten changes from a recorded "down"
    assert res.exit_code == 0, res.output
