"""The timeline of a run drawn as a self-contained SVG Gantt chart, and the HTML page around it.

Nothing here reaches the network: no fonts, scripts or style sheets are linked, only the SVG namespace is
named. Every name that came from a user (component, action, environment, run id) is escaped.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise
from typing import Any

from envctl.config.durations import format_duration
from envctl.timeline.analysis import Bar, RunTimeline, analyse

WIDTH = 1160
LABEL_W = 230
X0 = LABEL_W + 12
X1 = WIDTH - 80
TOP = 78
ROW_H = 22
BAR_H = 15
LANE_H = 10
MAX_LANES_DRAWN = 16

COLOURS = {"ok": "#43a047", "failed": "#e53935", "timeout": "#fb8c00", "interrupted": "#8e24aa"}
OTHER = "#9e9e9e"
CRITICAL = "#0d3b8c"
FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"

_STYLE = f"""
text {{ font-family: {FONT}; font-size: 12px; fill: #222; }}
.title {{ font-size: 15px; font-weight: bold; }}
.muted {{ fill: #666; font-size: 11px; }}
.label.critical {{ font-weight: bold; fill: {CRITICAL}; }}
.tick {{ fill: #555; font-size: 10.5px; }}
.grid {{ stroke: #e3e3e3; stroke-width: 1; }}
.bar {{ stroke: none; }}
.bar.critical {{ stroke: {CRITICAL}; stroke-width: 3; }}
.bar:hover, .slot:hover {{ opacity: 0.75; }}
.link {{ stroke: {CRITICAL}; stroke-width: 1.5; stroke-dasharray: 4 3; fill: none; }}
.dur {{ font-size: 11px; fill: #333; }}
.dur.inside {{ fill: #fff; }}
.dur.critical {{ fill: {CRITICAL}; font-weight: bold; }}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _colour(result: str) -> str:
    return COLOURS.get(result, OTHER)


def tick_step(span: float) -> float:
    """A round step that puts at most ten ticks on an axis ``span`` seconds long."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600):
        if span / step <= 10:
            return float(step)
    return 43200.0


def tick_label(seconds: float, step: float) -> str:
    if step < 1:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m" if not secs else f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h" if not minutes else f"{hours}h{minutes:02d}m"


class _Scale:
    def __init__(self, span: float) -> None:
        self.span = span if span > 0 else 1.0

    def x(self, seconds: float) -> float:
        return X0 + (X1 - X0) * max(0.0, seconds) / self.span


def _tooltip(bar: Bar) -> str:
    lines = [f"{bar.component} {bar.action}: {format_duration(bar.duration)} ({bar.result})",
             f"from +{format_duration(bar.start)} to +{format_duration(bar.end)}"]
    if bar.critical:
        lines.append("on the critical path")
    return _e("\n".join(lines))


def _header(line: RunTimeline) -> list[str]:
    title = f"envctl {line.command} {line.env} · run {line.run_id} · {line.result}"
    sub = (f"wall {format_duration(line.wall_s)} · critical path {format_duration(line.critical_path_s)} "
           f"({len(line.critical)} steps) · sum of steps {format_duration(line.sum_s)} · "
           f"--parallel {line.parallel}, at most {line.lanes} at once")
    out = [f'<text class="title" x="12" y="22">{_e(title)}</text>',
           f'<text class="muted" x="12" y="40">{_e(sub)}</text>']
    x = 12.0
    for name, colour in COLOURS.items():
        out.append(f'<rect x="{x}" y="50" width="14" height="10" fill="{colour}"/>'
                   f'<text class="muted" x="{x + 18}" y="59">{name}</text>')
        x += 26 + 7 * len(name)
    out.append(f'<rect x="{x}" y="50" width="14" height="10" fill="#fff" stroke="{CRITICAL}" '
               f'stroke-width="2.5"/><text class="muted" x="{x + 18}" y="59">critical path</text>')
    x += 110
    out.append(f'<rect x="{x}" y="50" width="14" height="10" fill="url(#idle)" stroke="#ccc"/>'
               f'<text class="muted" x="{x + 18}" y="59">idle slot</text>')
    return out


def _axis(scale: _Scale, y_top: float, y_bottom: float, *, labels_on_top: bool) -> list[str]:
    step = tick_step(scale.span)
    out = []
    count = int(scale.span / step + 1e-9)
    for n in range(count + 1):
        t = n * step
        x = scale.x(t)
        label = _e(tick_label(t, step))
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{y_top}" x2="{x:.1f}" y2="{y_bottom}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{y_bottom + 14}" text-anchor="middle">{label}</text>')
        if labels_on_top:  # a tall chart: the scale where the eye starts too
            out.append(f'<text class="tick" x="{x:.1f}" y="{y_top - 3}" text-anchor="middle">{label}</text>')
    return out


def _bars(line: RunTimeline, scale: _Scale) -> list[str]:
    out = []
    row_of = {bar.index: row for row, bar in enumerate(line.bars)}
    for row, bar in enumerate(line.bars):
        y = TOP + row * ROW_H
        crit = " critical" if bar.critical else ""
        x = scale.x(bar.start)
        w = max(2.0, scale.x(bar.end) - x)
        out.append(f'<text class="label{crit}" x="{LABEL_W}" y="{y + BAR_H - 3}" text-anchor="end">'
                   f'{_e(bar.component)} <tspan class="muted">{_e(bar.action)}</tspan></text>')
        flag = "true" if bar.critical else "false"
        out.append(f'<rect class="bar{crit} result-{_e(bar.result)}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                   f'height="{BAR_H}" rx="2" fill="{_colour(bar.result)}" '
                   f'data-component="{_e(bar.component)}" data-action="{_e(bar.action)}" '
                   f'data-result="{_e(bar.result)}" data-start-s="{bar.start:.3f}" '
                   f'data-end-s="{bar.end:.3f}" '
                   f'data-critical="{flag}"><title>{_tooltip(bar)}</title></rect>')
        label = _e(format_duration(bar.duration))
        if w >= 48:  # inside a wide bar, so it never collides with the critical-path links
            out.append(f'<text class="dur inside" x="{x + w - 5:.1f}" y="{y + BAR_H - 3}" '
                       f'text-anchor="end">{label}</text>')
        else:
            out.append(f'<text class="dur{crit}" x="{x + w + 5:.1f}" y="{y + BAR_H - 3}">{label}</text>')
    path = line.critical_bars
    for before, after in pairwise(path):
        y1 = TOP + row_of[before.index] * ROW_H + BAR_H / 2
        y2 = TOP + row_of[after.index] * ROW_H + BAR_H / 2
        x1, x2 = scale.x(before.end), scale.x(after.start)
        curve = f"M{x1:.1f},{y1} C{x1 + 12:.1f},{y1} {x2 - 12:.1f},{y2} {x2:.1f},{y2}"
        out.append(f'<path class="link" d="{curve}"/>')
    return out


def _slots(line: RunTimeline, scale: _Scale, y: float) -> tuple[list[str], float]:
    """One strip per parallel slot: busy where a step ran in it, hatched where it sat idle."""
    drawn = min(max(line.lanes, line.parallel), MAX_LANES_DRAWN)
    busy = sum(b.duration for b in line.bars)
    capacity = line.parallel * scale.span
    use = f"{100 * busy / capacity:.0f}%" if capacity > 0 else "n/a"
    out = [f'<text x="{LABEL_W}" y="{y + 10}" text-anchor="end">parallel slots</text>',
           f'<text class="muted" x="{LABEL_W}" y="{y + 24}" text-anchor="end">{_e(use)} of '
           f'{line.parallel} busy</text>']
    for lane in range(drawn):
        ly = y + lane * (LANE_H + 2)
        out.append(f'<rect class="idle" x="{X0}" y="{ly}" width="{X1 - X0}" height="{LANE_H}" '
                   f'fill="url(#idle)" stroke="#ddd" stroke-width="0.5"/>')
        for bar in line.bars:
            if bar.lane != lane:
                continue
            x = scale.x(bar.start)
            w = max(1.0, scale.x(bar.end) - x)
            out.append(f'<rect class="slot" x="{x:.1f}" y="{ly}" width="{w:.1f}" height="{LANE_H}" '
                       f'fill="{CRITICAL if bar.critical else "#78909c"}"><title>slot {lane + 1}: '
                       f'{_e(bar.component)} {_e(bar.action)}</title></rect>')
    height = drawn * (LANE_H + 2)
    if line.parallel > drawn:
        more = line.parallel - drawn
        out.append(f'<text class="muted" x="{X0}" y="{y + height + 11}">'
                   f'+ {more} more slots, idle throughout</text>')
        height += 14
    return out, max(height, 28)


def svg(line: RunTimeline) -> str:
    """The chart of ``line`` as one SVG document."""
    scale = _Scale(line.wall_s)
    rows_bottom = TOP + max(1, len(line.bars)) * ROW_H
    slots_top = rows_bottom + 14
    slot_parts, slot_h = _slots(line, scale, slots_top)
    axis_bottom = slots_top + slot_h + 4
    height = axis_bottom + 24
    parts = _header(line)
    parts += _axis(scale, TOP - 4, axis_bottom, labels_on_top=len(line.bars) > 12)
    if not line.bars:
        parts.append(f'<text class="muted" x="{X0}" y="{TOP + 14}">no step ran in this run</text>')
    parts += _bars(line, scale)
    parts += slot_parts
    if line.not_run:
        height += 16
        names = _e(line.not_run_text)
        parts.append(f'<text class="muted" x="12" y="{height - 8}">'
                     f'no step (already done, skipped or blocked): {names}</text>')
    defs = ('<defs><pattern id="idle" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f7f7f7"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#d5d5d5" stroke-width="2"/></pattern></defs>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline of run {_e(line.run_id)}">'
            f'<title>envctl {_e(line.command)} {_e(line.env)}: run {_e(line.run_id)}</title>'
            f'<style>{_STYLE}</style>{defs}<rect width="100%" height="100%" fill="#fff"/>\n'
            + "\n".join(parts) + "\n</svg>\n")


_CRIT_ROW = ' class="critical"'
_PAGE_STYLE = f"""
body {{ font-family: {FONT}; margin: 16px; color: #222; background: #fff; }}
h1 {{ font-size: 18px; margin: 0 0 10px; }}
table {{ border-collapse: collapse; margin-bottom: 8px; font-size: 13px; }}
p {{ font-size: 13px; margin: 4px 0 10px; }}
th, td {{ text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }}
th {{ color: #555; font-weight: normal; padding-left: 14px; }}
th:first-child {{ padding-left: 0; }}
td.num {{ text-align: right; }}
.critical {{ color: {CRITICAL}; font-weight: bold; }}
"""


def _summary(line: RunTimeline) -> str:
    """The key facts as a table two pairs wide, so the chart stays near the top of the page."""
    path = " → ".join(f"{b.component} ({b.action})" for b in line.critical_bars) or "none"
    facts = [
        ("run", line.run_id), ("result", line.result),
        ("command", line.command), ("environment", line.env),
        ("started", line.started), ("wall time", format_duration(line.wall_s)),
        ("critical path length", format_duration(line.critical_path_s)),
        ("sum of step durations", format_duration(line.sum_s)),
        ("parallel", f"--parallel {line.parallel}, at most {line.lanes} at once"),
        ("steps", str(len(line.bars))),
    ]
    rows = [f"<tr><th>{_e(a)}</th><td>{_e(va)}</td><th>{_e(b)}</th><td>{_e(vb)}</td></tr>"
            for (a, va), (b, vb) in zip(facts[::2], facts[1::2], strict=True)]
    table = '<table class="summary">\n' + "\n".join(rows) + "\n</table>\n"
    table += f'<p>critical path: <span class="critical">{_e(path)}</span></p>\n'
    if line.not_run:
        table += f'<p>no step (already done, skipped or blocked): {_e(line.not_run_text)}</p>\n'
    return table


def _step_rows(line: RunTimeline) -> str:
    rows = []
    for b in line.bars:
        mark = _CRIT_ROW if b.critical else ""
        rows.append(f"<tr{mark}><td>{_e(b.component)}</td><td>{_e(b.action)}</td>"
                    f'<td class="num">+{_e(format_duration(b.start))}</td>'
                    f'<td class="num">{_e(format_duration(b.duration))}</td><td>{_e(b.result)}</td>'
                    f'<td>{"yes" if b.critical else ""}</td></tr>')
    return "\n".join(rows)


def html_page(line: RunTimeline) -> str:
    """A self-contained page: the run's summary, the chart, then every step as a row."""
    title = f"envctl {line.command} {line.env}: run {line.run_id}"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f'<style>{_PAGE_STYLE}</style>\n</head>\n<body>\n<h1>{_e(title)}</h1>\n'
            f'{_summary(line)}{svg(line)}'
            '<table class="steps">\n<tr><th>component</th><th>action</th><th>start</th><th>duration</th>'
            f'<th>result</th><th>critical</th></tr>\n{_step_rows(line)}\n</table>\n</body>\n</html>\n')


def render_svg(run: dict[str, Any]) -> str:
    """A self-contained SVG Gantt chart of the run (no network, fonts or scripts needed)."""
    return svg(analyse(run))


def render_html(run: dict[str, Any]) -> str:
    """A self-contained HTML page: a summary table and the SVG chart."""
    return html_page(analyse(run))
