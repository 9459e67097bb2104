"""The state machine pictures (vpcfactory_tools.asl_diagram): every state and every transition of
the real workflows is drawn, Catch edges look different, nested Parallel/Map states are wired
through their branches, and the checked-in pictures in docs/images are not stale."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vpcfactory_tools import asl_diagram
from vpcfactory_tools.asl_diagram import render_state_machine, to_dot

ROOT = Path(__file__).resolve().parents[2]
MACHINES = {
    "build": ROOT / "statemachine" / "build_vpc.asl.json",
    "destroy": ROOT / "statemachine" / "destroy_vpc.asl.json",
}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (make graphviz)")


# --------------------------------------------------------------------------------------------
# Reading the dot source back


def _attrs(text: str) -> dict[str, str]:
    """``a=1 b="x \\"y\\"" c=<<B>html</B>>`` -> {"a": "1", "b": 'x "y"', "c": "<<B>html</B>>"}."""
    out: dict[str, str] = {}
    key_re, bare_re = re.compile(r"\s*(\w+)="), re.compile(r"[^\s\]]+")
    i = 0
    while (m := key_re.match(text, i)) is not None:
        key, i = m.group(1), m.end()
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out[key], i = text[i + 1 : j].replace('\\"', '"'), j + 1
        elif text[i] == "<":  # an HTML label: balanced angle brackets (text inside is escaped)
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out[key], i = text[i:j], j
        else:
            bare = bare_re.match(text, i)
            assert bare is not None
            out[key], i = bare.group(), bare.end()
    return out


class Dot:
    """Nodes, edges and clusters of a to_dot() source, and the state each stands for."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes: dict[str, dict[str, str]] = {}
        self.clusters: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        cluster = None
        for line in source.splitlines():
            if m := re.fullmatch(r"\s*subgraph (\w+) \{", line):
                cluster = m.group(1)
                self.clusters[cluster] = {}
            elif m := re.fullmatch(r"\s*(\w+) -> (\w+)(?: \[(.*)\])?", line):
                self.edges.append((m.group(1), m.group(2), _attrs(m.group(3) or "")))
            elif m := re.fullmatch(r"\s*(\w+) \[(.*)\]", line):
                if m.group(1) not in ("graph", "node", "edge"):
                    self.nodes[m.group(1)] = _attrs(m.group(2))
            elif cluster and (m := re.fullmatch(r"\s*(\w+=.*)", line)):
                self.clusters[cluster] |= _attrs(m.group(1))
        self.by_state = {a["tooltip"]: n for n, a in (self.nodes | self.clusters).items() if "tooltip" in a}

    def node(self, state: str) -> dict[str, str]:
        return self.nodes[self.by_state[state]]

    def edges_between(self, tails: set[str], heads: set[str]) -> list[dict[str, str]]:
        return [a for t, h, a in self.edges if t in tails and h in heads]


def _walk(states: dict) -> list[tuple[str, dict]]:
    """Every (name, state) of a States map, nested Parallel branches and Map processors too."""
    found = []
    for name, state in states.items():
        found.append((name, state))
        for branch in state.get("Branches", []):
            found += _walk(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found += _walk(processor["States"])
    return found


def _scopes(definition: dict) -> dict[str, dict]:
    """state name -> the States map it lives in."""
    return {name: states for states in _all_state_maps(definition) for name in states}


def _all_state_maps(block: dict) -> list[dict]:
    maps = [block["States"]]
    for state in block["States"].values():
        for inner in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator") or None]:
            if inner:
                maps += _all_state_maps(inner)
    return maps


def _leaves(dot: Dot, definition: dict, name: str) -> set[str]:
    """The nodes drawn for a state: its own, or (Parallel/Map) every node inside its box."""
    state = _scopes(definition)[name][name]
    inner = [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator") or None]
    inner = [b for b in inner if b]
    if not inner:
        return {dot.by_state[name]}
    return {node for b in inner for n in b["States"] for node in _leaves(dot, definition, n)}


def _entries(dot: Dot, definition: dict, name: str) -> set[str]:
    """Where an edge into a state arrives: its node, or each branch's first state."""
    state = _scopes(definition)[name][name]
    inner = [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator") or None]
    inner = [b for b in inner if b]
    if not inner:
        return {dot.by_state[name]}
    return {node for b in inner for node in _entries(dot, definition, b["StartAt"])}


def _transitions(state: dict) -> list[tuple[str, str]]:
    found = [("next", state["Next"])] if "Next" in state else []
    found += [("choice", rule["Next"]) for rule in state.get("Choices", [])]
    found += [("default", state["Default"])] if "Default" in state else []
    found += [("catch", catcher["Next"]) for catcher in state.get("Catch", [])]
    return found


def _svg_texts(svg: str) -> set[str]:
    root = ET.fromstring(svg)  # well-formed XML or this raises
    return {"".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("}text")}


# --------------------------------------------------------------------------------------------
# The real workflows


@pytest.fixture(params=sorted(MACHINES), scope="module")
def machine(request):
    definition = json.loads(MACHINES[request.param].read_text())
    return request.param, definition, Dot(to_dot(MACHINES[request.param]))


def test_every_state_is_drawn(machine):
    _, definition, dot = machine
    for name, state in _walk(definition["States"]):
        assert name in dot.by_state, f"no node for {name!r}"
        if state["Type"] in ("Parallel", "Map"):
            assert dot.by_state[name].startswith("cluster"), f"{name!r} should be a box around its branches"
            for branch in state.get("Branches", []):
                for inner in branch["States"]:
                    assert dot.by_state[inner] in _leaves(dot, definition, name)
        else:
            assert name in dot.node(name)["label"], f"{name!r} is not in its node's label"


def test_every_transition_is_an_edge_and_catches_are_dashed(machine):
    _, definition, dot = machine
    for name, state in _walk(definition["States"]):
        for kind, target in _transitions(state):
            edges = dot.edges_between(_leaves(dot, definition, name), _entries(dot, definition, target))
            assert edges, f"no {kind} edge {name!r} -> {target!r}"
            dashed = [e.get("style") == "dashed" for e in edges]
            if kind == "catch":
                assert any(dashed), f"the Catch {name!r} -> {target!r} is not dashed"
            else:
                assert not all(dashed), f"the {kind} {name!r} -> {target!r} is drawn like a Catch"
    # Nothing is dashed that is not a Catch.
    catches = {
        (tail, head)
        for name, state in _walk(definition["States"])
        for kind, target in _transitions(state)
        if kind == "catch"
        for tail in _leaves(dot, definition, name)
        for head in _entries(dot, definition, target)
    }
    for tail, head, attrs in dot.edges:
        if attrs.get("style") == "dashed":
            assert (tail, head) in catches


def test_edges_into_a_parallel_reach_every_branch_and_leave_from_every_branch_end(machine):
    _, definition, dot = machine
    parallels = [(n, s) for n, s in _walk(definition["States"]) if s["Type"] == "Parallel"]
    for name, state in parallels:
        ends = {
            dot.by_state[inner]
            for branch in state["Branches"]
            for inner, body in branch["States"].items()
            if body.get("End") or body["Type"] == "Succeed"
        }
        assert len(dot.edges_between(ends, _entries(dot, definition, state["Next"]))) >= len(state["Branches"])
        for tail, _head, attrs in dot.edges:
            if tail in ends and attrs.get("ltail"):
                assert attrs["ltail"] == dot.by_state[name]


def test_tasks_name_their_function_and_retries(machine):
    _, definition, dot = machine
    for name, state in _walk(definition["States"]):
        label = dot.node(name)["label"] if state["Type"] not in ("Parallel", "Map") else ""
        if state["Type"] == "Task":
            function = state["Parameters"]["FunctionName"]  # ${CreateVpcFunctionArn}
            assert function.removeprefix("${").removesuffix("Arn}") in label
            assert "${" not in label
            for retrier in state.get("Retry", []):
                assert f"retry ×{retrier['MaxAttempts']} on {retrier['ErrorEquals'][0]}" in label
        if state["Type"] == "Choice":
            assert dot.node(name)["shape"] == "diamond"


def test_the_happy_path_is_one_straight_line(machine):
    """The states of a successful run are one group (dot keeps a group in a vertical line)."""
    kind, definition, dot = machine
    success = {"build": "Network Ready", "destroy": "VPC Destroyed"}[kind]
    assert dot.node(success).get("group") == "main"
    assert dot.node(definition["StartAt"]).get("group") == "main"


@needs_dot
def test_rendered_svg_names_every_state(machine, tmp_path):
    kind, definition, _ = machine
    out = render_state_machine(MACHINES[kind], tmp_path / f"{kind}.svg", title=f"{kind} workflow")
    assert out == tmp_path / f"{kind}.svg"
    texts = _svg_texts(out.read_text())
    assert f"{kind} workflow" in texts
    for name, _state in _walk(definition["States"]):
        assert name in texts, f"{name!r} is not in the SVG"
    assert list(tmp_path.iterdir()) == [out], "stray files left beside the picture"


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_checked_in_pictures_are_current(kind):
    """docs/images/*-state-machine.svg must show every state of today's ASL. Regenerate with
    python -m vpcfactory_tools.asl_diagram statemachine/<kind>_vpc.asl.json -o docs/images/<kind>-state-machine.svg"""
    picture = ROOT / "docs" / "images" / f"{kind}-state-machine.svg"
    assert picture.is_file(), f"{picture} is missing"
    texts = _svg_texts(picture.read_text())
    definition = json.loads(MACHINES[kind].read_text())
    stale = [name for name, _ in _walk(definition["States"]) if name not in texts]
    assert not stale, f"{picture.name} is stale: it does not show {stale}"


# --------------------------------------------------------------------------------------------
# A small definition with every construct

SYNTHETIC = {
    "Comment": "Parallel + Choice + Catch + Retry + Map",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Fan Out"},
        "Fan Out": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {"Left": {"Type": "Task", "Resource": "${LeftFunctionArn}", "End": True}},
                },
                {
                    "StartAt": "Ready?",
                    "States": {
                        "Ready?": {
                            "Type": "Choice",
                            "Choices": [
                                {
                                    "And": [
                                        {"Variable": "$.count", "NumericGreaterThan": 3},
                                        {"Not": {"Variable": "$.error", "IsPresent": True}},
                                    ],
                                    "Next": "Right Done",
                                },
                                {"Variable": "$.state", "StringEquals": "available", "Next": "Right Done"},
                            ],
                            "Default": "Pause",
                        },
                        "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Ready?"},
                        "Right Done": {"Type": "Succeed"},
                    },
                },
            ],
            "Catch": [
                {"ErrorEquals": ["States.TaskFailed", "States.Timeout", "Custom.Error"], "Next": "Broken"},
            ],
            "Next": "Each Item",
        },
        "Each Item": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "${WorkFunctionArn}", "Payload.$": "$"},
                        "Retry": [{"ErrorEquals": ["AwsThrottled", "Lambda.ServiceException"], "MaxAttempts": 4}],
                        "End": True,
                    }
                },
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Broken": {"Type": "Fail", "Error": "SomethingBroke", "Cause": "see the logs"},
    },
}


@pytest.fixture
def synthetic() -> Dot:
    return Dot(to_dot(SYNTHETIC))


def _edge(dot: Dot, tail: str, head: str) -> dict[str, str]:
    edges = dot.edges_between({dot.by_state.get(tail, tail)}, {dot.by_state.get(head, head)})
    assert len(edges) == 1, f"expected one edge {tail!r} -> {head!r}, found {len(edges)}"
    return edges[0]


def test_synthetic_edges(synthetic):
    dot = synthetic
    fan_out, each_item = dot.by_state["Fan Out"], dot.by_state["Each Item"]
    _edge(dot, "start", "Prepare")
    # Into the Parallel: one edge per branch, to its first state, clipped at the box.
    assert _edge(dot, "Prepare", "Left")["lhead"] == fan_out
    assert _edge(dot, "Prepare", "Ready?")["lhead"] == fan_out
    # Out of it: from each branch's end to the Parallel's Next (a Map: into its processor).
    for end in ("Left", "Right Done"):
        edge = _edge(dot, end, "Work")
        assert (edge["ltail"], edge["lhead"]) == (fan_out, each_item)
    assert _edge(dot, "Work", "Done")["ltail"] == each_item
    # Choice rules, default, and the polling loop inside the branch.
    rules = dot.edges_between({dot.by_state["Ready?"]}, {dot.by_state["Right Done"]})
    labels = " | ".join(e.get("label", "") for e in rules)
    assert "$.count &gt; 3 and not ($.error present)" in labels
    assert '2: $.state == "available"' in labels
    assert "default" in _edge(dot, "Ready?", "Pause")["label"]
    _edge(dot, "Pause", "Ready?")
    # Catches: one dashed edge from each box to the handler, labelled with (some of) the errors.
    fan_catch = [e for t, h, e in dot.edges if h == dot.by_state["Broken"] and e.get("ltail") == fan_out]
    assert len(fan_catch) == 1 and fan_catch[0]["style"] == "dashed"
    assert "States.TaskFailed, States.Timeout +1" in fan_catch[0].get("xlabel", fan_catch[0].get("taillabel", ""))
    map_catch = [e for t, h, e in dot.edges if h == dot.by_state["Broken"] and e.get("ltail") == each_item]
    assert len(map_catch) == 1 and map_catch[0]["style"] == "dashed"
    # Nothing else: start 1, into the Parallel 2, out of it 2, Choice 3, Wait 1, Map 1, Catch 2.
    assert len(dot.edges) == 12


def test_synthetic_nodes(synthetic):
    dot = synthetic
    assert "retry ×4 on AwsThrottled +1" in dot.node("Work")["label"]
    assert "λ WorkFunction" in dot.node("Work")["label"]
    assert "λ LeftFunction" in dot.node("Left")["label"]
    assert "wait 5 s" in dot.node("Pause")["label"]
    assert "SomethingBroke" in dot.node("Broken")["label"]
    assert dot.node("Ready?")["shape"] == "diamond"
    assert "items $.items" in dot.clusters[dot.by_state["Each Item"]]["label"]
    # Work's Map box sits inside nothing; Left and Ready? are inside Fan Out's box.
    fan_out = dot.source.split(f"subgraph {dot.by_state['Fan Out']} {{", 1)[1].split("subgraph cluster", 3)
    assert dot.by_state["Left"] in "".join(fan_out)

    def rgb(colour: str) -> tuple[int, int, int]:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)

    r, g, b = rgb(dot.node("Broken")["fillcolor"])
    assert r > g and r > b, "a Fail state is red"
    r, g, b = rgb(dot.node("Done")["fillcolor"])
    assert g > r and g > b, "a Succeed state is green"


def test_definition_as_dict_text_or_path_draws_the_same(tmp_path):
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(SYNTHETIC))
    assert to_dot(SYNTHETIC) == to_dot(json.dumps(SYNTHETIC)) == to_dot(path) == to_dot(str(path))


def test_placeholders_are_kept_as_text():
    definition = {
        "StartAt": "Go",
        "States": {"Go": {"Type": "Wait", "Seconds": "${PollSeconds}", "End": True}},
    }
    dot = Dot(to_dot(definition))
    assert "wait ${PollSeconds} s" in dot.node("Go")["label"]
    _edge(dot, "Go", "end")


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("Next", lambda d: d["States"]["Prepare"].update(Next="Nowhere")),
        ("Default", lambda d: d["States"]["Fan Out"]["Branches"][1]["States"]["Ready?"].update(Default="Nowhere")),
        ("Catch", lambda d: d["States"]["Each Item"]["Catch"][0].update(Next="Nowhere")),
        ("StartAt", lambda d: d.update(StartAt="Nowhere")),
        (
            "a branch's Next to a state outside it",
            lambda d: d["States"]["Fan Out"]["Branches"][0]["States"]["Left"].update(Next="Nowhere", End=False),
        ),
    ],
)
def test_a_transition_to_a_missing_state_is_refused(where, change):
    definition = json.loads(json.dumps(SYNTHETIC))
    change(definition)
    with pytest.raises(ValueError, match="Nowhere"):
        to_dot(definition)


def test_a_branch_cannot_jump_out_of_its_parallel():
    definition = json.loads(json.dumps(SYNTHETIC))
    definition["States"]["Fan Out"]["Branches"][0]["States"]["Left"] = {"Type": "Pass", "Next": "Done"}
    with pytest.raises(ValueError, match="'Done'"):
        to_dot(definition)


@pytest.mark.parametrize("name", ["machine.pdf", "machine.gv", "machine", "machine.svg.txt"])
def test_only_svg_and_png_are_rendered(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        render_state_machine(SYNTHETIC, tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_a_missing_dot_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    with pytest.raises(RuntimeError, match="make graphviz"):
        render_state_machine(SYNTHETIC, tmp_path / "machine.svg")
    assert not (tmp_path / "machine.svg").exists()


# --------------------------------------------------------------------------------------------
# Rendering and the command line


@needs_dot
def test_png_and_svg_render_without_leaving_gv_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    png = render_state_machine(SYNTHETIC, "out/machine.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = render_state_machine(SYNTHETIC, tmp_path / "out" / "machine.svg", title="Synthetic")
    texts = _svg_texts(svg.read_text())
    for name, _ in _walk(SYNTHETIC["States"]):
        assert name in texts
    assert "retry ×4 on AwsThrottled +1" in texts
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["machine.png", "machine.svg", "out"]


@needs_dot
def test_command_line(tmp_path, capsys):
    out = tmp_path / "destroy.svg"
    assert asl_diagram.main([str(MACHINES["destroy"]), "-o", str(out), "--title", "Destroy"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "Destroy" in _svg_texts(out.read_text())


def test_command_line_refuses_a_bad_suffix(tmp_path, capsys):
    assert asl_diagram.main([str(MACHINES["destroy"]), "-o", str(tmp_path / "destroy.jpg")]) == 1
    assert ".svg or .png" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.vpc.state", "StringEquals": "available"}, '$.vpc.state == "available"'),
        ({"Variable": "$.n", "NumericLessThanEqualsPath": "$.max"}, "$.n <= $.max"),
        ({"Variable": "$.ok", "BooleanEquals": False}, "$.ok == false"),
        ({"Variable": "$.error", "IsPresent": False}, "$.error absent"),
        ({"Variable": "$.name", "StringMatches": "vpc-*"}, '$.name matches "vpc-*"'),
        ({"Not": {"Variable": "$.x", "IsNull": True}}, "not ($.x is null)"),
        (
            {"Or": [{"Variable": "$.a", "NumericEquals": 1}, {"And": [{"Variable": "$.b", "IsPresent": True}]}]},
            "$.a == 1 or $.b present",
        ),
        ({"Condition": "{% $states.input.ready %}"}, "$states.input.ready"),
    ],
)
def test_choice_rules_read_shortly(rule, text):
    assert asl_diagram.condition(rule) == text


def test_long_choice_rules_are_cut():
    rule = {"And": [{"Variable": f"$.field{i}", "StringEquals": "some long value"} for i in range(5)]}
    assert len(asl_diagram.condition(rule)) <= 44 and asl_diagram.condition(rule).endswith("…")


@pytest.mark.parametrize(
    ("task", "shown"),
    [
        ({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "${CreateVpcFunctionArn}"}},
         "λ CreateVpcFunction"),
        ({"Resource": "${CheckVpcFunctionArn}"}, "λ CheckVpcFunction"),
        ({"Resource": "arn:aws:lambda:us-east-1:123456789012:function:Resolve:live"}, "λ Resolve"),
        ({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}}, "λ $.fn"),
        ({"Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": "${Topic}"}}, "sns:publish"),
        ({"Resource": "arn:aws:states:us-east-1:123456789012:activity:Approve"}, "activity Approve"),
    ],
)  # fmt: skip
def test_tasks_show_what_they_run(task, shown):
    assert asl_diagram.function_name({"Type": "Task", **task}) == shown
