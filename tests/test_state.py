"""The state file: every field survives a round trip, snapshots are independent, newer schemas are refused."""

from __future__ import annotations

import dataclasses
import json

import pytest

from envctl.errors import StateError
from envctl.state.local import LocalBackend
from envctl.state.model import ComponentState, EnvState


def test_every_field_is_saved_and_loaded(tmp_path):
    st = EnvState("demo", up_since="2026-11-21T08:00:00+00:00", sandbox_id="s1", sleep={"nodegroups": {"a": 1}})
    comp = st.component("net")
    for f in dataclasses.fields(ComponentState):
        if f.name != "name":
            setattr(comp, f.name, {"K": f.name} if f.type.startswith("dict") else [f.name]
                    if f.type.startswith("list") else 1.5 if "float" in f.type else f.name)
    backend = LocalBackend(tmp_path)
    backend.save(st)
    loaded = backend.load("demo")
    assert dataclasses.asdict(loaded.components["net"]) == dataclasses.asdict(comp)
    assert (loaded.up_since, loaded.sandbox_id, loaded.sleep) == (st.up_since, st.sandbox_id, st.sleep)


def test_every_field_survives_a_copy_and_a_save_after_a_change_in_place(tmp_path):
    st = EnvState("demo")
    comp = st.component("net")
    for f in dataclasses.fields(ComponentState):
        if f.name != "name":
            setattr(comp, f.name, {"K": f.name} if f.type.startswith("dict") else [f.name]
                    if f.type.startswith("list") else 1.5 if "float" in f.type else f.name)
    assert dataclasses.asdict(st.copy().components["net"]) == dataclasses.asdict(comp)
    backend = LocalBackend(tmp_path)
    backend.save(st)
    comp.outputs["K"] = "changed in place"  # the same dict object, as a run's update step changes it
    st.component("db").state = "up"
    backend.save(st)
    text = backend.state_path("demo").read_text()
    assert text == json.dumps(json.loads(text), separators=(",", ":")) + "\n"  # compact, as it always was
    loaded = backend.load("demo")
    assert loaded.components["net"].outputs == {"K": "changed in place"} and loaded.components["db"].state == "up"


def test_a_copy_does_not_follow_later_changes():
    st = EnvState("demo")
    st.component("net").outputs["VPC_ID"] = "vpc-1"
    snap = st.copy()
    st.component("net").outputs["VPC_ID"] = "vpc-2"
    st.sleep["x"] = 1
    assert snap.components["net"].outputs == {"VPC_ID": "vpc-1"} and snap.sleep == {}


def test_a_state_from_a_newer_envctl_is_refused(tmp_path):
    path = tmp_path / ".envctl/state/demo.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"env": "demo", "version": 99, "components": {}}))
    with pytest.raises(StateError, match="newer envctl"):
        LocalBackend(tmp_path).load("demo")
    path.write_text("{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        LocalBackend(tmp_path).load("demo")
