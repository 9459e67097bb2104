"""Draw an Amazon States Language definition the way the Step Functions console does.

    python -m vpcfactory_tools.asl_diagram statemachine/build_vpc.asl.json -o build.svg
    python -m vpcfactory_tools.asl_diagram statemachine/destroy_vpc.asl.json -o destroy.png --title Destroy

Each state becomes a node shaped and coloured by its type: a Task is a rounded box naming the
Lambda function it invokes (``${CreateVpcFunctionArn}`` -> ``CreateVpcFunction``) and its Retry
policy, a Choice a diamond, a Wait notes how long, Succeed is green and Fail red with its error. A
Parallel is a box around its branches (a Map around its item processor); the edges into it enter
each branch's first state and the edges out of it leave each branch's last one. Next and Choice
edges are solid (a rule is labelled with its condition, the Default with "default"), Catch edges
dashed red and labelled with the errors they catch.

The layout reads top to bottom: the happy path (what runs when nothing fails) is kept in a straight
column and the states reached only by a Catch (the rollback and failure reporting) in a second
column beside it. ``${...}`` DefinitionSubstitutions placeholders are left as they are.

:func:`to_dot` returns the Graphviz source (pure, no ``dot`` needed); :func:`render_state_machine`
renders it to SVG or PNG with Graphviz's ``dot`` (``make graphviz`` installs it).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

__all__ = ["render_state_machine", "to_dot"]

FORMATS = ("svg", "png")

STATE_TYPES = ("Task", "Choice", "Wait", "Pass", "Parallel", "Map", "Succeed", "Fail")
# States that end their (branch of the) workflow without a Next.
_TERMINAL_TYPES = ("Succeed", "Fail")

FONT = "Helvetica"
_MAX_CONDITION = 44  # characters of a Choice rule label before it is cut with an ellipsis
_MAX_ERROR = 30  # characters of one error name in a Catch label or Retry note
_MAX_ERRORS = 2  # error names listed before "+N"

# fill, border
_COLOURS = {
    "Task": ("#e8f0fb", "#3a6fb5"),
    "Choice": ("#fff3dc", "#c98a14"),
    "Wait": ("#f1ebfa", "#7b5ab8"),
    "Pass": ("#f2f2f2", "#7a7a7a"),
    "Succeed": ("#dcf2df", "#2e7d32"),
    "Fail": ("#fbe0e0", "#c62828"),
}
_CLUSTER = {"Parallel": ("#fafbfd", "#8593a8"), "Map": ("#fbfaf5", "#a0946a")}
_CATCH_COLOUR = "#c9423a"
_RETRY_COLOUR = "#8a6400"
_NOTE_COLOUR = "#4d4d4d"
_EDGE_COLOUR = "#404040"

# Edge weights: the happy path and the failure column pull hardest, so they stay straight.
_SPINE_WEIGHT = "100"
_EDGE_WEIGHT = "1"
_CATCH_WEIGHT = "0"


# --------------------------------------------------------------------------------------------
# Model: the states (with nested Parallel branches / Map processors) and where each can go


@dataclass
class _State:
    name: str
    body: dict[str, Any]
    node_id: str  # graphviz node id, or cluster id for Parallel/Map
    parent: _State | None
    scope: dict[str, _State]  # the States map this state lives in (transitions stay inside it)
    branches: list[_Scope] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.body["Type"]

    @property
    def is_container(self) -> bool:
        return self.type in ("Parallel", "Map")


@dataclass
class _Scope:
    start: str
    states: dict[str, _State]


class _Machine:
    """A validated definition: every state by name, and the entry/exit nodes of each."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.by_name: dict[str, _State] = {}
        self._ids = 0
        self.top = self._scope(definition, parent=None, where="the state machine")

    # construction ---------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def _scope(self, block: Any, parent: _State | None, where: str) -> _Scope:
        if not isinstance(block, dict):
            raise ValueError(f"{where} is not an object")
        states = block.get("States")
        start = block.get("StartAt")
        if not isinstance(states, dict) or not states:
            raise ValueError(f"{where} has no States")
        if not isinstance(start, str) or start not in states:
            raise ValueError(f"{where}: StartAt {start!r} names a missing state")
        scope: dict[str, _State] = {}
        for name, body in states.items():
            if name in self.by_name:
                raise ValueError(f"state name {name!r} is used twice (state names must be unique)")
            if not isinstance(body, dict) or body.get("Type") not in STATE_TYPES:
                kind = body.get("Type") if isinstance(body, dict) else None
                raise ValueError(f"state {name!r} has an unknown Type {kind!r}")
            container = body["Type"] in ("Parallel", "Map")
            state = _State(name, body, self._new_id("cluster_" if container else "s"), parent, scope)
            scope[name] = state
            self.by_name[name] = state
            if body["Type"] == "Parallel":
                branches = body.get("Branches")
                if not isinstance(branches, list) or not branches:
                    raise ValueError(f"Parallel state {name!r} has no Branches")
                for i, branch in enumerate(branches, 1):
                    state.branches.append(self._scope(branch, state, f"branch {i} of {name!r}"))
            elif body["Type"] == "Map":
                processor = body.get("ItemProcessor", body.get("Iterator"))
                state.branches.append(self._scope(processor, state, f"the ItemProcessor of {name!r}"))
        for state in scope.values():
            self._check_transitions(state)
        return _Scope(start, scope)

    def _check_transitions(self, state: _State) -> None:
        for key in ("Choices", "Catch", "Retry"):
            value = state.body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise ValueError(f"state {state.name!r}: {key} must be a list of objects")
        for _kind, target, _label in transitions(state.body):
            if target not in state.scope:
                where = "" if state.parent is None else f" (inside {state.parent.name!r})"
                raise ValueError(f"state {state.name!r}{where} goes to {target!r}, which names a missing state")
        if state.type not in (*_TERMINAL_TYPES, "Choice") and not state.body.get("End") and "Next" not in state.body:
            raise ValueError(f"state {state.name!r} has neither Next nor End")
        if state.type == "Choice" and not state.body.get("Choices"):
            raise ValueError(f"Choice state {state.name!r} has no Choices")

    # queries --------------------------------------------------------------------------------

    def entries(self, state: _State) -> list[str]:
        """The nodes an edge into ``state`` ends at: itself, or the first state of each branch."""
        if not state.is_container:
            return [state.node_id]
        return [node for branch in state.branches for node in self.entries(branch.states[branch.start])]

    def leaves(self, state: _State) -> list[str]:
        """Every node drawn for ``state``: itself, or all the states inside it."""
        if not state.is_container:
            return [state.node_id]
        return [node for branch in state.branches for inner in branch.states.values() for node in self.leaves(inner)]

    def depths(self, state: _State) -> dict[str, int]:
        """How far down each node inside a Parallel/Map lies (longest path from its branch
        starts, loops cut), so that what follows it can be placed below all of it."""
        succ: dict[str, list[str]] = {}
        todo = [inner for branch in state.branches for inner in branch.states.values()]
        while todo:
            inner = todo.pop()
            todo += [s for branch in inner.branches for s in branch.states.values()]
            for kind, target, _ in transitions(inner.body):
                if kind != "catch":
                    heads = self.entries(inner.scope[target])
                    for tail in self.exits(inner):
                        succ.setdefault(tail, []).extend(heads)
        order: list[str] = []  # post-order of a DFS that ignores back edges
        on_path: set[str] = set()
        done: set[str] = set()
        forward: dict[str, list[str]] = {}

        def visit(node: str) -> None:
            on_path.add(node)
            for nxt in succ.get(node, []):
                if nxt in on_path:
                    continue  # a loop back (e.g. a polling loop to its Choice)
                forward.setdefault(node, []).append(nxt)
                if nxt not in done:
                    visit(nxt)
            on_path.discard(node)
            done.add(node)
            order.append(node)

        for entry in self.entries(state):
            if entry not in done:
                visit(entry)
        depth = dict.fromkeys(order, 0)
        for node in reversed(order):  # topological order
            for nxt in forward.get(node, []):
                depth[nxt] = max(depth[nxt], depth[node] + 1)
        return depth

    def exits(self, state: _State) -> list[str]:
        """The nodes a Next edge out of ``state`` starts from: itself, or each branch's last states."""
        if not state.is_container:
            return [state.node_id]
        ends = []
        for branch in state.branches:
            for inner in branch.states.values():
                if inner.body.get("End") or inner.type == "Succeed":
                    ends.extend(self.exits(inner))
        return ends or self.entries(state)


def transitions(body: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(kind, target, label) for every way out of a state: next, choice, default, catch."""
    if isinstance(body.get("Next"), str):
        yield "next", body["Next"], ""
    choices = body.get("Choices") or []
    for i, rule in enumerate(choices, 1):
        text = condition(rule)
        if len(choices) > 1:
            text = f"{i}: {text}"
        yield "choice", rule.get("Next"), text
    if "Default" in body:
        yield "default", body["Default"], "default"
    for catcher in body.get("Catch") or []:
        yield "catch", catcher.get("Next"), "catch " + errors(catcher.get("ErrorEquals") or [])


# --------------------------------------------------------------------------------------------
# Text: conditions, errors, function names

_OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}
_TESTS = {
    "IsNull": ("is null", "is not null"),
    "IsPresent": ("present", "absent"),
    "IsString": ("is string", "is not string"),
    "IsNumeric": ("is number", "is not number"),
    "IsBoolean": ("is boolean", "is not boolean"),
    "IsTimestamp": ("is timestamp", "is not timestamp"),
}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def condition(rule: dict[str, Any], *, limit: int = _MAX_CONDITION) -> str:
    """A short readable form of a Choice rule, e.g. ``$.vpc.state == "available"``."""
    return _shorten(_condition(rule), limit)


def _condition(rule: dict[str, Any]) -> str:
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"]).removeprefix("{%").removesuffix("%}").strip()
    for word in ("And", "Or"):
        if word in rule:
            parts = [_condition(r) for r in rule[word]]
            return f" {word.lower()} ".join(f"({p})" if " and " in p or " or " in p else p for p in parts)
    if "Not" in rule:
        inner = _condition(rule["Not"])
        return f"not ({inner})" if " " in inner else f"not {inner}"
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        if key in _TESTS:
            yes, no = _TESTS[key]
            return f"{variable} {yes if value else no}"
        by_path = key.endswith("Path")
        base = key.removesuffix("Path")
        operand = str(value) if by_path else json.dumps(value)
        if base == "StringMatches":
            return f"{variable} matches {operand}"
        for family in ("String", "Numeric", "Boolean", "Timestamp"):
            op = _OPERATORS.get(base.removeprefix(family)) if base.startswith(family) else None
            if op:
                return f"{variable} {op} {operand}"
        return f"{variable} {key} {operand}"
    return variable


def errors(names: list[str], *, most: int = _MAX_ERRORS) -> str:
    """``["A", "B", "C"]`` -> ``A, B +1``; long names are cut."""
    shown = [_shorten(str(n), _MAX_ERROR) for n in names[:most]]
    more = f" +{len(names) - most}" if len(names) > most else ""
    return ", ".join(shown) + more


def _retry_notes(body: dict[str, Any]) -> list[str]:
    notes = []
    for retrier in body.get("Retry") or []:
        attempts = retrier.get("MaxAttempts", 3)
        if attempts == 0:
            continue
        notes.append(f"retry ×{attempts} on {errors(retrier.get('ErrorEquals') or [], most=1)}")
    return notes


_PLACEHOLDER = re.compile(r"^\$\{(?P<name>[^}]+)\}$")


def function_name(body: dict[str, Any]) -> str:
    """What a Task runs: ``λ`` and the Lambda function's short name, else the service integration
    (``sns:publish``) or activity."""
    resource = str(body.get("Resource", ""))
    params = body.get("Parameters") or body.get("Arguments")
    params = params if isinstance(params, dict) else {}
    integration_arn = re.match(r"arn:(?:aws[\w-]*|\$\{Partition\}):states:::", resource)
    if integration_arn:  # any partition, or the ${Partition} our definitions substitute
        integration = resource[integration_arn.end() :]
        if not integration.startswith("lambda:invoke"):
            return integration
        if "FunctionName.$" in params:
            return f"λ {params['FunctionName.$']}"
        target = str(params.get("FunctionName", "?"))
    else:  # a Lambda function (or activity) ARN given directly
        target = resource
    placeholder = _PLACEHOLDER.match(target)
    if placeholder:  # ${CreateVpcFunctionArn} -> CreateVpcFunction
        name = placeholder["name"]
        return "λ " + (name.removesuffix("Arn") or name)
    parts = target.split(":")
    if target.startswith("arn:") and len(parts) >= 7:
        if parts[2] == "lambda":  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]
            return "λ " + parts[6]
        if parts[2] == "states" and parts[5] == "activity":
            return "activity " + parts[6]
    return target if target.startswith("arn:") else "λ " + target


def _subtitle(body: dict[str, Any]) -> str | None:
    kind = body["Type"]
    if kind == "Task":
        return function_name(body)
    if kind == "Wait":
        for key, text in (
            ("Seconds", "wait {} s"),
            ("SecondsPath", "wait {} s"),
            ("Timestamp", "wait until {}"),
            ("TimestampPath", "wait until {}"),
        ):
            if key in body:
                return text.format(body[key])
    if kind == "Fail":
        if "Error" in body:
            return f"Error: {body['Error']}"
        if "ErrorPath" in body:
            return f"Error: {body['ErrorPath']}"
    if kind == "Map":
        bits = [f"items {body['ItemsPath']}"] if "ItemsPath" in body else []
        if "MaxConcurrency" in body:
            bits.append(f"max {body['MaxConcurrency']} at once")
        return ", ".join(bits) or None
    return None


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _label(title: str, kind: str | None, subtitle: str | None, notes: list[str]) -> str:
    lines = [f"<B>{_html(title)}</B>"]
    if kind:
        lines[0] = f'<FONT POINT-SIZE="9" COLOR="{_NOTE_COLOUR}">{kind}</FONT><BR/>' + lines[0]
    if subtitle:
        lines.append(f'<FONT POINT-SIZE="10" COLOR="{_NOTE_COLOUR}">{_html(subtitle)}</FONT>')
    lines += [f'<FONT POINT-SIZE="9" COLOR="{_RETRY_COLOUR}">{_html(n)}</FONT>' for n in notes]
    return "<" + "<BR/>".join(lines) + ">"


def _edge_label(text: str, colour: str) -> str:
    return f'<<FONT COLOR="{colour}">{_html(text)}</FONT>>'


# --------------------------------------------------------------------------------------------
# Layout: which states form the happy path and which the failure column


def _reach(machine: _Machine, start: str, *, catches: bool) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = machine.by_name[name]
        todo += [t for kind, t, _ in transitions(state.body) if catches or kind != "catch"]
    return seen


def _spine(machine: _Machine, start: str, allowed: set[str]) -> list[str]:
    """The straight line through ``allowed`` from ``start``: at a Choice, the way on that does not
    loop back to it (a polling loop goes beside the line) and leads through the most states."""
    line: list[str] = []
    name: str | None = start
    while name is not None and name in allowed and name not in line:
        line.append(name)
        body = machine.by_name[name].body
        targets = [t for kind, t, _ in transitions(body) if kind != "catch" and t in allowed]
        if len(targets) > 1:
            reach = {t: _reach(machine, t, catches=False) & allowed for t in targets}
            onward = [t for t in targets if name not in reach[t]] or targets
            targets = [max(onward, key=lambda t: len(reach[t]))]
        name = targets[0] if targets else None
    return line


def _spine_nodes(machine: _Machine, line: list[str]) -> list[str]:
    """The nodes of a line of states; through a Parallel/Map, along the line of its middle branch."""
    nodes: list[str] = []
    for name in line:
        state = machine.by_name[name]
        if state.is_container:
            branch = state.branches[(len(state.branches) - 1) // 2]
            nodes += _spine_nodes(machine, _spine(machine, branch.start, set(branch.states)))
        else:
            nodes.append(state.node_id)
    return nodes


@dataclass
class _Columns:
    failure: set[str]  # top-level states reached only by a Catch: the rollback/failure column
    groups: dict[str, str]  # node id -> "main" (on the happy path) or "fail" (the failure column's line)
    straight: set[tuple[str, str]]  # the edges (tail, head) along either line

    def add_line(self, nodes: list[str], group: str) -> None:
        self.groups |= dict.fromkeys(nodes, group)
        self.straight |= set(zip(nodes, nodes[1:], strict=False))


def _columns(machine: _Machine) -> _Columns:
    """Which states form the happy path, drawn as a straight line down, and the failure column."""
    top = machine.top
    main = _reach(machine, top.start, catches=False) & top.states.keys()
    failure = set(top.states) - main
    columns = _Columns(failure, {}, set())
    columns.add_line(["start", *_spine_nodes(machine, _spine(machine, top.start, main))], "main")
    # The failure column is headed by the state caught into that leads through most failure states.
    roots = [t for s in top.states.values() if s.name in main for k, t, _ in transitions(s.body) if k == "catch"]
    roots = [r for r in dict.fromkeys(roots) if r in failure]
    if roots:
        head = max(roots, key=lambda r: len(_reach(machine, r, catches=False) & failure))
        columns.add_line(_spine_nodes(machine, _spine(machine, head, failure)), "fail")
    return columns


# --------------------------------------------------------------------------------------------
# Graphviz source


def _load(definition: dict[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(definition, dict):
        return definition
    if isinstance(definition, str) and definition.lstrip().startswith("{"):
        text = definition
    else:
        text = Path(definition).read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the state machine definition is not valid JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ValueError("the state machine definition is not a JSON object")
    return loaded


def to_dot(definition: dict[str, Any] | str | Path, *, title: str | None = None) -> str:
    """The Graphviz (dot) source of the diagram of an ASL definition (a dict, JSON text or a path).

    Every state that is not a Parallel/Map is a node whose ``tooltip`` is its name; a Parallel/Map
    is a ``cluster_*`` subgraph labelled with its name. Raises ValueError for a definition that
    is not a valid state machine (e.g. a Next naming a missing state)."""
    return _build(_load(definition), title=title).source


def _build(definition: dict[str, Any], *, title: str | None, dpi: int | None = None) -> graphviz.Digraph:
    machine = _Machine(definition)
    columns = _columns(machine)
    dot = graphviz.Digraph("state_machine")
    dot.attr(
        rankdir="TB",
        compound="true",  # edges clipped at a Parallel's box (lhead/ltail)
        newrank="true",
        nodesep="0.35",
        ranksep="0.45",
        fontname=FONT,
        bgcolor="white",
        pad="0.3",
    )
    if dpi:
        dot.attr(dpi=str(dpi))
    if title:
        dot.attr(label=f"<<B>{_html(title)}</B>>", labelloc="t", labeljust="c", fontsize="18")
    dot.attr("node", fontname=FONT, fontsize="11", penwidth="1.3", margin="0.15,0.06")
    dot.attr("edge", fontname=FONT, fontsize="9", color=_EDGE_COLOUR, arrowsize="0.7")

    dot.node("start", "Start", shape="circle", style="filled", fillcolor="#333333", fontcolor="white",
             fontsize="9", width="0.55", fixedsize="true", group="main")  # fmt: skip
    # Happy path first, then the failure column, so dot tends to put the failure column right.
    for state in sorted(machine.top.states.values(), key=lambda s: s.name in columns.failure):
        _add_state(dot, machine, state, columns.groups)
    if any(s.body.get("End") for s in machine.top.states.values()):
        dot.node("end", "End", shape="circle", style="filled", fillcolor="#333333", fontcolor="white",
                 fontsize="9", width="0.55", fixedsize="true")  # fmt: skip

    start = machine.by_name[machine.top.start]
    for node in machine.entries(start):
        attrs = {"lhead": start.node_id} if start.is_container else {}
        weight = _SPINE_WEIGHT if ("start", node) in columns.straight else _EDGE_WEIGHT
        dot.edge("start", node, weight=weight, **attrs)
    _add_edges(dot, machine, machine.top, columns)
    return dot


def _add_state(dot: graphviz.Digraph, machine: _Machine, state: _State, groups: dict[str, str]) -> None:
    body = state.body
    if state.is_container:
        fill, border = _CLUSTER[state.type]
        with dot.subgraph(name=state.node_id) as box:
            box.attr(
                label=_label(state.name, state.type, _subtitle(body), _retry_notes(body)),
                style="rounded,filled",
                fillcolor=fill,
                color=border,
                penwidth="1.3",
                fontname=FONT,
                fontsize="11",
                labeljust="c",
                margin="12",
                tooltip=state.name,
            )
            for i, branch in enumerate(state.branches, 1):
                # Each branch in its own borderless box keeps its states together, side by side.
                with box.subgraph(name=f"{state.node_id}_b{i}") as lane:
                    lane.attr(label="", style="invis", margin="6")
                    for inner in branch.states.values():
                        _add_state(lane, machine, inner, groups)
        return
    fill, border = _COLOURS[state.type]
    attrs = {
        "label": _label(state.name, None, _subtitle(body), _retry_notes(body)),
        "tooltip": state.name,
        "style": "rounded,filled" if state.type not in ("Choice",) else "filled",
        "fillcolor": fill,
        "color": border,
        "shape": "diamond" if state.type == "Choice" else "box",
    }
    if state.type == "Choice":
        attrs["margin"] = "0.02,0.02"
    if state.type in _TERMINAL_TYPES:
        attrs["penwidth"] = "2"
    if state.node_id in groups:
        attrs["group"] = groups[state.node_id]
    dot.node(state.node_id, **attrs)


def _add_edges(dot: graphviz.Digraph, machine: _Machine, scope: _Scope, columns: _Columns) -> None:
    caught_into: set[str] = set()
    for state in scope.states.values():
        for branch in state.branches:
            _add_edges(dot, machine, branch, columns)
        for kind, target_name, text in transitions(state.body):
            target = scope.states[target_name]
            heads = machine.entries(target)
            if kind == "catch":
                # One edge per Catch, from the state (a Parallel's box) to where it goes. Only the
                # first Catch into a state places it (below its catcher); the rest just point at it.
                exits = machine.exits(state)
                tails = [next((t for t in exits if t in columns.groups), exits[-1])]
                # Leaving by the right side keeps them off the happy path (the failure column is
                # to its right) and pushes polling loops to the left.
                attrs = {"style": "dashed", "color": _CATCH_COLOUR, "weight": _CATCH_WEIGHT, "tailport": "e"}
                if target_name in caught_into:
                    attrs["constraint"] = "false"
                caught_into.add(target_name)
            else:
                tails = machine.exits(state)
                attrs = {}
            if state.is_container:
                attrs["ltail"] = state.node_id
            if target.is_container:
                attrs["lhead"] = target.node_id
            pairs = [(tail, head) for tail in tails for head in heads]
            # What follows a Parallel goes below all of it (a polling loop in one branch reaches
            # deeper than the others' last states).
            depth = machine.depths(state) if state.is_container and kind != "catch" else {}
            deepest = max(depth.values(), default=0)
            # Into or out of a Parallel there is an edge per branch; only one carries the label.
            labelled = next((p for p in pairs if p in columns.straight), None)
            labelled = labelled or pairs[(len(pairs) - 1) // 2]
            for tail, head in pairs:
                edge = dict(attrs)
                if kind != "catch":  # the happy path and the failure column pull hardest
                    edge["weight"] = _SPINE_WEIGHT if (tail, head) in columns.straight else _EDGE_WEIGHT
                    if depth.get(tail, deepest) < deepest:
                        edge["minlen"] = str(deepest - depth[tail] + 1)
                if text and (tail, head) == labelled:
                    if kind == "catch" and not state.is_container:
                        # Next to the state that catches: the edges are long and cross others.
                        edge.update(taillabel=_edge_label(text, _CATCH_COLOUR), labelangle="20", labeldistance="3")
                    elif kind == "catch":  # a tail label would sit by the branch state, not the box
                        edge["xlabel"] = _edge_label(text, _CATCH_COLOUR)
                    else:
                        edge["label"] = _edge_label(text, _NOTE_COLOUR)
                dot.edge(tail, head, **edge)
        if state.body.get("End") and state.parent is None:
            for tail in machine.exits(state):
                dot.edge(tail, "end", **({"ltail": state.node_id} if state.is_container else {}))


# --------------------------------------------------------------------------------------------
# Rendering


def render_state_machine(
    definition: dict[str, Any] | str | Path, path: str | Path, *, title: str | None = None
) -> Path:
    """Render the diagram of an ASL definition to ``path`` (.svg or .png); returns the path.

    Raises ValueError for another suffix or an invalid definition, RuntimeError when Graphviz's
    ``dot`` is missing or fails. Graphviz reads the source from a pipe, so no .gv file is
    written anywhere; the picture is written beside ``path`` and moved into place whole."""
    path = Path(path)
    fmt = path.suffix.lower().removeprefix(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot render {path.name!r}: the file name must end in .svg or .png")
    source = _build(_load(definition), title=title, dpi=110 if fmt == "png" else None).source
    try:
        data = graphviz.Source(source, engine="dot").pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(
            "Graphviz's `dot` is not installed: run `make graphviz` "
            "(or apt-get install graphviz / brew install graphviz)"
        ) from exc
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip()
        raise RuntimeError(f"Graphviz's dot failed: {detail or exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpcfactory_tools.asl_diagram",
        description="Draw a Step Functions state machine (Amazon States Language JSON) as SVG or PNG.",
    )
    parser.add_argument("definition", metavar="ASL_JSON", help="the state machine definition (.asl.json)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the picture to write: .svg or .png")
    parser.add_argument("--title", help="a title above the diagram (default: none)")
    args = parser.parse_args(argv)
    try:
        written = render_state_machine(Path(args.definition), args.output, title=args.title)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
