"""envctl timeline: the critical path of a run, and its picture as a self-contained SVG/HTML Gantt chart."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from envctl.state.local import LocalBackend
from envctl.timeline import analysis as timeline
from envctl.timeline import svg as picture
from tests.conftest import REPO, run_cli

SVG_NS = "{http://www.w3.org/2000/svg}"
T0 = dt.datetime(2026, 11, 21, 9, 15, tzinfo=dt.timezone.utc)

DIAMOND = {"network": [], "cluster": ["network"], "rds": ["network"], "app": ["cluster", "rds"]}


def make_run(command: str, depends_on: dict[str, list[str]], steps: list[tuple[Any, ...]], *,
             run_id: str = "20261121T091500Z-ab12", env: str = "test", parallel: int = 8,
             ended: float | None = None, result: str = "ok") -> dict[str, Any]:
    """A history record as the run engine writes it.

    ``steps``: (component, action, start_s, end_s[, result]) with times in seconds after the run started.
    """
    def at(seconds: float) -> str:
        return (T0 + dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds")

    last = max((s[3] for s in steps), default=0.0)
    return {
        "run_id": run_id, "command": command, "env": env, "user": "dev", "host": "laptop", "git_commit": None,
        "started": at(0), "ended": at(ended if ended is not None else last + 0.2), "result": result,
        "parallel": parallel, "depends_on": depends_on,
        "steps": [{"component": s[0], "action": s[1], "script": f"{s[0]}/{s[1]}.sh", "sha256": "0" * 64,
                   "exit_code": 0 if (s[4] if len(s) > 4 else "ok") == "ok" else 1, "duration_s": s[3] - s[2],
                   "log": f".envctl/runs/{run_id}/{s[0]}.{s[1]}.log", "start": at(s[2]), "end": at(s[3]),
                   "result": s[4] if len(s) > 4 else "ok"} for s in steps],
    }


def diamond_up(**kwargs: Any) -> dict[str, Any]:
    """network, then cluster (slow) and rds (fast) side by side, then app: the slow branch decides."""
    return make_run("up", DIAMOND, [("network", "install", 0.1, 10.0), ("rds", "install", 10.1, 20.0),
                                    ("cluster", "install", 10.1, 45.0), ("app", "install", 45.1, 60.0)],
                    **kwargs)


def diamond_down() -> dict[str, Any]:
    """Reverse order: app first, then cluster (slow) and rds (fast), network last."""
    return make_run("down", DIAMOND, [("app", "delete", 0.1, 5.0), ("cluster", "delete", 5.1, 30.0),
                                      ("rds", "delete", 5.1, 12.0), ("network", "delete", 30.1, 33.0)])


def svg_root(text: str) -> ET.Element:
    """The chart parsed as XML (an unescaped name would make it fail here)."""
    start, end = text.index("<svg"), text.index("</svg>") + len("</svg>")
    return ET.fromstring(text[start:end])


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG_NS}rect") if "bar" in (r.get("class") or "").split()]


# ---------------------------------------------------------------- the critical path


@pytest.mark.parametrize(("run", "expected"), [
    (diamond_up(), ["network", "cluster", "app"]),
    (diamond_down(), ["app", "cluster", "network"]),
    # sleep runs in reverse order too; wake and update run forward
    (make_run("sleep", DIAMOND, [("app", "sleep", 0, 2), ("rds", "sleep", 2.1, 9),
                                 ("cluster", "sleep", 2.1, 4), ("network", "sleep", 9.1, 10)]),
     ["app", "rds", "network"]),
    (make_run("wake", DIAMOND, [("network", "wake", 0, 1), ("rds", "wake", 1.1, 9),
                                ("cluster", "wake", 1.1, 3), ("app", "wake", 9.1, 10)]),
     ["network", "rds", "app"]),
    (make_run("update", {"a": [], "b": ["a"]}, [("a", "update", 0, 3), ("b", "update", 3.1, 4)]), ["a", "b"]),
], ids=["up-diamond", "down-reversed", "sleep-reversed", "wake-forward", "update-forward"])
def test_critical_path_follows_the_slow_branch_in_the_run_direction(run: dict[str, Any],
                                                                     expected: list[str]) -> None:
    assert timeline.critical_path(run) == expected
    assert timeline.to_json(run)["critical_path"] == expected


def test_engine_records_what_each_step_waited_for_on_down() -> None:
    # The run engine writes depends_on already reversed on down (what each delete waited for) with
    # "reverse": true; the same path must come out.
    run = diamond_down() | {"reverse": True,
                            "depends_on": {"network": ["cluster", "rds"], "cluster": ["app"], "rds": ["app"],
                                           "app": []}}
    assert timeline.critical_path(run) == ["app", "cluster", "network"]


def test_the_recorded_times_win_over_a_misleading_direction() -> None:
    # Read forward, nothing network "depends on" ended before it; the times say the graph ran backwards.
    run = diamond_down() | {"command": "delete-everything"}
    assert timeline.critical_path(run) == ["app", "cluster", "network"]


def test_independent_components_the_one_that_ended_last_is_the_path() -> None:
    run = make_run("up", {"a": [], "b": [], "c": []}, [("a", "install", 0, 5), ("b", "install", 0, 9),
                                                       ("c", "install", 0, 3)])
    assert timeline.critical_path(run) == ["b"]


def test_a_failed_step_ends_the_path_and_blocked_components_have_no_bar() -> None:
    run = make_run("up", DIAMOND, [("network", "install", 0, 10), ("rds", "install", 10.1, 20),
                                   ("cluster", "install", 10.1, 45, "failed")], result="failed")
    data = timeline.to_json(run)
    assert data["critical_path"] == ["network", "cluster"]
    assert data["not_run"] == [{"component": "app", "why": None}]
    assert [s["result"] for s in data["steps"]] == ["ok", "ok", "failed"]
    assert "app" not in {b.get("data-component") for b in bars(svg_root(picture.render_svg(run)))}


def test_a_step_queued_for_a_free_slot_still_follows_its_dependency() -> None:
    # --parallel 1: b waited for a (its dependency), c waited only for the slot; the path is a -> b, then c
    # is the last step and has no dependency, so it stands alone.
    run = make_run("up", {"a": [], "b": ["a"], "c": []},
                   [("a", "install", 0, 4), ("b", "install", 4.1, 6), ("c", "install", 6.1, 7)], parallel=1)
    assert timeline.critical_path(run) == ["c"]
    run = make_run("up", {"a": [], "b": ["a"], "c": []},
                   [("a", "install", 0, 4), ("c", "install", 4.1, 5), ("b", "install", 5.1, 7)], parallel=1)
    assert timeline.critical_path(run) == ["a", "b"]


def test_a_step_outside_the_graph_follows_what_ran_before_it() -> None:
    # sleep: the scripts in reverse order, then the built-in scaling of the nodegroups, as one more step
    run = make_run("sleep", {"a": [], "b": ["a"]}, [("b", "sleep", 0, 2), ("a", "sleep", 2.1, 3),
                                                   ("nodegroups", "sleep", 3.1, 9)])
    assert timeline.critical_path(run) == ["b", "a", "nodegroups"]
    no_graph = make_run("up", {}, [("a", "install", 0, 2), ("b", "install", 0, 1), ("c", "install", 2.1, 3)])
    del no_graph["depends_on"]
    assert timeline.critical_path(no_graph) == ["a", "c"]


def test_no_steps_at_all() -> None:
    run = make_run("up", {"a": []}, [])
    assert timeline.critical_path(run) == []
    data = timeline.to_json(run)
    assert data["steps"] == [] and data["not_run"] == [{"component": "a", "why": None}]
    assert "no step ran" in picture.render_svg(run)
    assert timeline.summary_line(run) == "critical path: none (no step ran)"


def test_a_run_still_going_or_killed_mid_step() -> None:
    run = diamond_up() | {"ended": None, "result": "running"}
    del run["steps"][-1]["end"]  # app was running when the record was written
    data = timeline.to_json(run)
    assert [s["component"] for s in data["steps"]] == ["network", "rds", "cluster", "app"]
    assert data["steps"][-1]["duration_s"] == 0.0
    assert data["critical_path"][-1] == "app"


def test_a_record_with_a_broken_time_is_a_clear_error(root: Path) -> None:
    run = diamond_up()
    run["steps"][1]["start"] = "yesterday"
    record(root, run)
    result = run_cli("timeline", root=root)
    assert result.exit_code == 2
    assert "run 20261121T091500Z-ab12: step 2 start: 'yesterday' is not an ISO-8601 time" in result.stderr


def test_json_has_the_contract_shape_with_steps_by_start_time() -> None:
    data = timeline.to_json(diamond_up())
    assert {"run_id", "critical_path", "steps"} <= set(data)
    assert data["run_id"] == "20261121T091500Z-ab12"
    for step in data["steps"]:
        assert {"component", "action", "start", "end", "result"} <= set(step)
    starts = [s["start"] for s in data["steps"]]
    assert starts == sorted(starts)
    assert [s["component"] for s in data["steps"] if s["critical"]] == ["network", "cluster", "app"]
    assert data["wall_s"] == pytest.approx(60.2)
    assert data["critical_path_s"] == pytest.approx(9.9 + 34.9 + 14.9)
    assert data["sum_s"] == pytest.approx(9.9 + 9.9 + 34.9 + 14.9)
    assert data["max_concurrency"] == 2
    json.dumps(data)


def test_summary_line_names_the_chain_and_its_length() -> None:
    assert timeline.summary_line(diamond_up()) == "critical path: network → cluster → app, 60s of 1m00s wall"


# ---------------------------------------------------------------- the picture


@pytest.mark.parametrize("render", [picture.render_svg, picture.render_html], ids=["svg", "html"])
def test_picture_has_every_component_bars_in_start_order_and_the_critical_path_marked(render: Any) -> None:
    run = diamond_up()
    root = svg_root(render(run))
    found = bars(root)
    # rds and cluster start together; rds ends first, so it comes first
    assert [b.get("data-component") for b in found] == ["network", "rds", "cluster", "app"]
    starts = [float(b.get("data-start-s") or "nan") for b in found]
    assert starts == sorted(starts)
    marked = [b.get("data-component") for b in found if "critical" in (b.get("class") or "").split()]
    assert marked == ["network", "cluster", "app"]
    assert [b.get("data-critical") for b in found] == ["true", "false", "true", "true"]
    labels = "".join(root.itertext())
    for name in DIAMOND:
        assert name in labels
    # durations on hover and as labels
    titles = {b.get("data-component"): b.find(f"{SVG_NS}title") for b in found}
    assert "cluster install: 35s (ok)" in (titles["cluster"].text or "")  # type: ignore[union-attr]
    assert "35s" in labels
    assert "critical path" in labels  # the legend


def test_bars_are_coloured_by_result() -> None:
    run = make_run("up", {"a": [], "b": [], "c": [], "d": []},
                   [("a", "install", 0, 1), ("b", "install", 0, 2, "failed"),
                    ("c", "install", 0, 3, "timeout"), ("d", "install", 0, 4, "interrupted")],
                   result="interrupted")
    fills = {b.get("data-component"): b.get("fill") for b in bars(svg_root(picture.render_svg(run)))}
    assert len(set(fills.values())) == 4


def test_idle_parallel_slots_are_drawn() -> None:
    root = svg_root(picture.render_svg(diamond_up(parallel=4)))
    idle = [r for r in root.iter(f"{SVG_NS}rect") if r.get("class") == "idle"]
    busy = [r for r in root.iter(f"{SVG_NS}rect") if r.get("class") == "slot"]
    assert len(idle) == 4  # one strip per slot of --parallel 4, two of them never used
    assert len(busy) == 4  # every step sits in a slot
    assert "of 4 busy" in "".join(root.itertext())


@pytest.mark.parametrize("render", [picture.render_svg, picture.render_html], ids=["svg", "html"])
def test_picture_is_self_contained(render: Any) -> None:
    text = render(diamond_down())
    assert re.findall(r"https?://[^\s\"'<>)]+", text) == ["http://www.w3.org/2000/svg"]
    for needle in ("<script", "<link", "@import", "@font-face", "<img", "<iframe"):
        assert needle not in text
    assert re.findall(r"url\(([^)]*)\)", text) == ["#idle"] * text.count("url(")


def test_every_name_is_escaped() -> None:
    nasty = '<b onclick="x">&\'</b>'
    run = make_run("up", {nasty: []}, [(nasty, "install", 0, 1)], env="<env>", run_id="run&<1>")
    for text in (picture.render_svg(run), picture.render_html(run)):
        assert "<b onclick" not in text and "<env>" not in text and "run&<" not in text
        root = svg_root(text)
        assert [b.get("data-component") for b in bars(root)] == [nasty]


# ---------------------------------------------------------------- the command


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "environments").mkdir()
    return tmp_path


def record(root: Path, run: dict[str, Any]) -> None:
    LocalBackend(root).append_run(run)


def test_default_writes_the_latest_run_html_under_envctl_runs(root: Path) -> None:
    record(root, diamond_up(run_id="20261121T091500Z-aaaa"))
    record(root, diamond_down() | {"run_id": "20261121T101500Z-bbbb", "started": "2026-11-21T10:15:00+00:00"})
    result = run_cli("timeline", root=root)
    assert result.exit_code == 0, result.output
    path = root / ".envctl" / "runs" / "20261121T101500Z-bbbb" / "timeline.html"
    assert result.stdout.strip() == str(path)
    assert "critical path: app → cluster → network" in result.stderr
    marked = [b.get("data-component") for b in bars(svg_root(path.read_text()))
              if b.get("data-critical") == "true"]
    assert marked == ["app", "cluster", "network"]


def test_json_of_a_run_by_prefix(root: Path) -> None:
    record(root, diamond_up(run_id="20261121T091500Z-aaaa"))
    record(root, diamond_down() | {"run_id": "20261121T101500Z-bbbb", "started": "2026-11-21T10:15:00+00:00"})
    result = run_cli("timeline", "20261121T09", "--json", root=root)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["run_id"] == "20261121T091500Z-aaaa"
    assert data["critical_path"] == ["network", "cluster", "app"]
    assert not (root / ".envctl" / "runs").exists()  # --json alone writes nothing


@pytest.mark.parametrize("name", ["chart.svg", "sub/chart.html"])
def test_out_picks_the_format_by_extension(root: Path, name: str) -> None:
    record(root, diamond_up())
    out = root / name
    result = run_cli("timeline", "--out", str(out), root=root)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("<svg") if name.endswith(".svg") else text.startswith("<!DOCTYPE html>")
    assert len(bars(svg_root(text))) == 4


def test_env_option_takes_the_latest_run_of_that_environment(root: Path) -> None:
    from tests.conftest import make_env

    make_env(root, "test", "name: test\nregion: us-east-1\naws: {target: sandbox}\n"
             "components:\n  network: {}\n",
             {"network": {"install-network.sh": "true\n", "delete-network.sh": "true\n"}})
    record(root, diamond_up(run_id="20261121T091500Z-aaaa"))
    record(root, diamond_up(run_id="20261121T101500Z-bbbb", env="other")
           | {"started": "2026-11-21T10:15:00+00:00"})
    result = run_cli("timeline", "--env", "test", "--json", root=root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_id"] == "20261121T091500Z-aaaa"


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no run 'nope'"),
    (["2026"], "ambiguous"),
    (["--out", "chart.png"], "FILE.svg or FILE.html"),
])
def test_bad_run_ids_and_outputs_exit_2(root: Path, args: list[str], message: str) -> None:
    record(root, diamond_up(run_id="20261121T091500Z-aaaa"))
    record(root, diamond_up(run_id="20261121T101500Z-bbbb") | {"started": "2026-11-21T10:15:00+00:00"})
    result = run_cli("timeline", *args, root=root)
    assert result.exit_code == 2
    assert message in result.stderr
    if args == ["nope"]:
        assert "20261121T101500Z-bbbb, 20261121T091500Z-aaaa" in result.stderr  # the latest first
    assert "Traceback" not in result.output


def test_no_runs_yet_exit_2(root: Path) -> None:
    result = run_cli("timeline", root=root)
    assert result.exit_code == 2
    assert "envctl up" in result.stderr


# ---------------------------------------------------------------- in a real browser


@pytest.mark.needs("chromium")
def test_headless_chromium_renders_the_page_without_errors(tmp_path: Path) -> None:
    page = tmp_path / "timeline.html"
    page.write_text(picture.render_html(diamond_up(parallel=4)))
    png = tmp_path / "timeline.png"
    done = subprocess.run([str(REPO / "scripts" / "screenshot-timeline.sh"), str(page), str(png)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 700)
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes


# ---------------------------------------------------------------- a real run


def real_env(root: Path) -> None:
    """net, then cluster (slow) and db (fast) side by side, then app; deletes: cluster's is the slow one."""
    from tests.conftest import make_env

    spec = {"net": ([], 0.2, 0.1), "cluster": (["net"], 1.0, 0.8), "db": (["net"], 0.1, 0.1),
            "app": (["cluster", "db"], 0.1, 0.1)}
    lines = ["name: demo", "region: us-east-1", "aws: {target: sandbox}", "components:"]
    scripts = {}
    for comp, (deps, up_s, down_s) in spec.items():
        lines.append(f"  {comp}: {{depends_on: [{', '.join(deps)}]}}")
        scripts[comp] = {f"install-{comp}.sh": f"sleep {up_s}\n", f"delete-{comp}.sh": f"sleep {down_s}\n"}
    make_env(root, "demo", "\n".join(lines) + "\n", scripts)


def check_picture(path: Path, run: dict[str, Any], expected_path: list[str]) -> None:
    found = bars(svg_root(path.read_text()))
    by_start = [s["component"] for s in sorted(run["steps"], key=lambda s: (s["start"], s["end"]))]
    assert [b.get("data-component") for b in found] == by_start
    assert sorted(by_start) == ["app", "cluster", "db", "net"]
    assert [b.get("data-component") for b in found if b.get("data-critical") == "true"] == expected_path


@pytest.mark.sandbox
def test_timeline_of_a_real_up_and_down(root: Path, aws: str) -> None:
    real_env(root)
    assert run_cli("up", "demo", "--parallel", "4", root=root).exit_code == 0
    result = run_cli("timeline", "--json", root=root)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["command"] == "up"
    assert data["critical_path"] == ["net", "cluster", "app"]
    assert data["critical_path_s"] <= data["wall_s"]
    shown = run_cli("timeline", data["run_id"][:18], root=root)
    assert shown.exit_code == 0, shown.output
    up_run = LocalBackend(root).runs("demo")[-1]
    check_picture(Path(shown.stdout.strip()), up_run, ["net", "cluster", "app"])

    assert run_cli("down", "demo", "--yes", "--no-verify", root=root).exit_code == 0
    result = run_cli("timeline", "--env", "demo", "--out", str(root / "down.svg"), root=root)
    assert result.exit_code == 0, result.output
    down_run = LocalBackend(root).runs("demo")[-1]
    assert down_run["command"] == "down"
    assert timeline.critical_path(down_run) == ["app", "cluster", "net"]
    check_picture(root / "down.svg", down_run, ["app", "cluster", "net"])
