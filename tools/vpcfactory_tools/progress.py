"""Follow an execution's history and tell an operator what is happening, as it happens.

Works the same against the embedded emulator and a real account: it only reads
GetExecutionHistory and DescribeExecution. Three layers:

- `Narrator` turns history events into `Update`s (pure, no I/O): a state started or ended, a
  wait loop checked a resource again, a task is being retried, the rollback path was taken, the
  execution ended. `vpcfactory status` narrates a whole history with it too.
- Views show updates: `PlainView` one line each (pipes, CI logs, `--json`), `LiveView` the same
  lines plus a live panel of the states running now with their elapsed time (rich, on a TTY).
- `follow` polls the history until the execution ends and feeds the view.

Wait durations are shown in simulated seconds when the emulator runs faster than real time
(time scale < 1), so a 90 s NAT wait reads as 90 s, not 0.9 s; task durations are real.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TextIO

from vpcfactory_tools.execution_results import TERMINAL, short_cause

ROLLBACK_STATES = {"Roll Back", "Finish Rollback", "Report Leftovers"}
QUIET_TYPES = ("Choice", "Pass")  # routing states: their start and end say nothing to an operator
END_EVENTS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
RESOURCE_ID = re.compile(r"^(vpc|subnet|igw|eigw|nat|eipalloc|rtb|vpce|fl|rtbassoc)-[0-9a-f]{8,17}$")
ICONS = {
    "started": "→",
    "succeeded": "✓",
    "failed": "✗",
    "retry": "↻",
    "waiting": "…",
    "rollback": "!!",
    "ended": "==",
}


@dataclass
class Update:
    """One thing an operator should see. `text` is the whole line without its icon."""

    kind: str  # started | succeeded | failed | retry | waiting | rollback | ended
    state: str
    text: str
    seconds: float | None = None
    status: str | None = None  # for kind == "ended"

    def line(self) -> str:
        return f"{ICONS[self.kind]} {self.text}"


@dataclass
class _Running:
    entered: datetime
    kind: str
    attempts: int = 0
    last_error: str | None = None


@dataclass
class Narrator:
    """Reads history events in order (feed them as they arrive) and says what they mean."""

    time_scale: float = 1.0
    definition: dict[str, Any] | None = None  # the state machine's ASL: tells what each wait loop polls
    running: dict[str, _Running] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    waits: dict[str, datetime] = field(default_factory=dict)  # wait loop -> its first wait
    rolled_back: bool = False
    last_state: str | None = None
    status: str | None = None
    error: str | None = None
    cause: str | None = None
    _by_id: dict[int, dict[str, Any]] = field(default_factory=dict)

    def feed(self, events: Iterable[dict[str, Any]]) -> list[Update]:
        out: list[Update] = []
        for event in events:
            self._by_id[event["id"]] = event
            out.extend(self._one(event))
        return out

    def _one(self, event: dict[str, Any]) -> list[Update]:
        kind: str = event["type"]
        at: datetime = event["timestamp"]
        if kind.endswith("StateEntered"):
            details: dict[str, Any] = event["stateEnteredEventDetails"]
            name, state_type = details["name"], kind.removesuffix("StateEntered")
            self.running[name] = _Running(at, state_type)
            if name == "Roll Back" and not self.rolled_back:
                self.rolled_back = True
                return [
                    Update(
                        "rollback",
                        name,
                        "rolling back: deleting what this execution created (found by its ownership tags)",
                    )
                ]
            if state_type == "Wait":
                return [self._wait(name, details.get("input"), at)]
            if state_type in QUIET_TYPES:
                return []
            return [Update("started", name, name)]
        if kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            self.last_state = name
            run = self.running.pop(name, None)
            state_type = kind.removesuffix("StateExited")
            if state_type in QUIET_TYPES or state_type == "Wait" or run is None:
                return []
            took = (at - run.entered).total_seconds()
            if name in self.failed:
                return [Update("failed", name, f"{name} failed after {_duration(took)}", took)]
            retried = f", {run.attempts} attempts" if run.attempts > 1 else ""
            return [Update("succeeded", name, f"{name} ({_duration(took)}{retried})", took)]
        if kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            state = self._state_of(event)
            run = self.running.get(state)
            if run is None:
                return []
            run.attempts += 1
            if run.attempts > 1:
                return [Update("retry", state, f"{state}: attempt {run.attempts} after {run.last_error}")]
            return []
        if kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            state = self._state_of(event)
            error = details.get("error") or kind
            if state in self.running:
                self.running[state].last_error = error
            # whether this failure is retried or caught is only known from the next event: a
            # TaskScheduled (retry) or the state's exit (caught / failed for good)
            self.failed.add(state)
            return [Update("failed", state, f"{state}: {error}: {short_cause(details.get('cause'))}")]
        if kind in ("ParallelStateFailed", "MapStateFailed"):
            # a branch failed: the innermost Parallel/Map still running is the one that failed
            candidates = [n for n, r in self.running.items() if r.kind == kind.removesuffix("StateFailed")]
            if candidates:
                self.failed.add(candidates[-1])
            return []
        if kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            self.failed.discard(self._state_of(event))
            return []
        if kind in END_EVENTS:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            self.status = END_EVENTS[kind]
            self.error, self.cause = details.get("error"), details.get("cause")
            started = next((e for e in self._by_id.values() if e["type"] == "ExecutionStarted"), None)
            lasted = (at - started["timestamp"]).total_seconds() if started else None
            text = self.status + (f" after {_duration(lasted)}" if lasted is not None else "")
            if self.error:
                text += f": {self.error}: {short_cause(self.cause)}"
            return [Update("ended", self.last_state or "", text, lasted, self.status)]
        return []

    def _wait(self, name: str, raw_input: str | None, at: datetime) -> Update:
        first = self.waits.setdefault(name, at)
        waited = (at - first).total_seconds() / max(self.time_scale, 1e-9)
        subject, wait = _wait_subject(raw_input, _wait_paths(self.definition).get(name))
        text = f"{name}: {subject}" if subject else name
        if wait:
            text += f" — next check (#{int(wait.get('attempts', 0)) + 1}) in {wait.get('waitSeconds')}s"
        if waited:
            text += f", waited {_duration(waited)} so far"
        return Update("waiting", name, text, waited)

    def _state_of(self, event: dict[str, Any]) -> str:
        """The state a task event belongs to: walk previousEventId back to its StateEntered event."""
        current: dict[str, Any] | None = event
        while current is not None:
            details = current.get("stateEnteredEventDetails")
            if details:
                return details["name"]
            current = self._by_id.get(current.get("previousEventId", -1))
        return "?"

    def running_states(self) -> list[tuple[str, str, datetime]]:
        """(name, type, entered) of every state entered and not yet exited, oldest first."""
        return [(n, r.kind, r.entered) for n, r in self.running.items() if r.kind not in QUIET_TYPES]


def _wait_paths(definition: dict[str, Any] | None) -> dict[str, list[str]]:
    """Wait state name -> the path of the object it polls: `SecondsPath: $.nat.wait.waitSeconds`
    waits on `$.nat` (its `wait` says how long; the rest names the resources)."""
    out: dict[str, list[str]] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            path = state.get("SecondsPath", "")
            parts = path.removeprefix("$.").split(".") if path.startswith("$.") else []
            if state.get("Type") == "Wait" and len(parts) >= 3 and parts[-2] == "wait":
                out[name] = parts[:-2]
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}))
            for key in ("ItemProcessor", "Iterator"):
                walk(state.get(key, {}).get("States", {}))

    walk((definition or {}).get("States", {}))
    return out


def _wait_subject(raw_input: str | None, path: list[str] | None = None) -> tuple[str, dict[str, Any] | None]:
    """What a wait loop waits for, read from the state's input: the object the Wait's SecondsPath
    points into (without a definition: the last one whose `wait` is still `waiting`)."""
    try:
        state = json.loads(raw_input or "{}")
    except ValueError:
        return "", None
    if not isinstance(state, dict):
        return "", None
    candidates: list[Any] = []
    if path:
        value: Any = state
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        candidates = [value]
    else:
        candidates = [
            v for v in state.values() if isinstance(v, dict) and (v.get("wait") or {}).get("status") == "waiting"
        ]
    if not candidates or not isinstance(candidates[-1], dict):
        return "", None
    value = candidates[-1]
    wait = value.get("wait") if isinstance(value.get("wait"), dict) else None
    ids = sorted(set(resource_ids({k: v for k, v in value.items() if k != "wait"})))
    nats = [i for i in ids if i.startswith("nat-")]
    if nats:
        return f"NAT gateways {', '.join(nats)}", wait
    return ", ".join(ids), wait


def resource_ids(value: Any) -> Iterable[str]:
    """Every EC2 resource id in a JSON value (the ids a task returned)."""
    if isinstance(value, str):
        if RESOURCE_ID.match(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from resource_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from resource_ids(item)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


# -- views ------------------------------------------------------------------------------------
class View(Protocol):
    def show(self, update: Update, narrator: Narrator) -> None: ...

    def tick(self, narrator: Narrator) -> None: ...

    def close(self) -> None: ...


class PlainView:
    """One line per update: for pipes, CI logs and --json runs (progress on stderr)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit

    def show(self, update: Update, narrator: Narrator) -> None:
        self.emit(update.line())

    def tick(self, narrator: Narrator) -> None:
        pass

    def close(self) -> None:
        pass


class LiveView:
    """On a terminal: the same lines, coloured, above a live panel of the states running now."""

    STYLES = {
        "started": "dim",
        "succeeded": "green",
        "failed": "red",
        "retry": "yellow",
        "waiting": "cyan",
        "rollback": "bold red",
        "ended": "bold",
    }

    def __init__(self, stream: TextIO, time_scale: float = 1.0) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, highlight=False)
        self.time_scale = time_scale
        self.live = Live(console=self.console, refresh_per_second=8, transient=True)
        self.live.start()

    def show(self, update: Update, narrator: Narrator) -> None:
        from rich.text import Text

        style = self.STYLES[update.kind]
        if update.kind == "ended":
            style = "bold green" if update.status == "SUCCEEDED" else "bold red"
        self.console.print(Text(update.line(), style=style))
        self.tick(narrator)

    def tick(self, narrator: Narrator) -> None:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = datetime.now().astimezone()
        for name, kind, entered in narrator.running_states():
            elapsed = (now - entered).total_seconds()
            if kind == "Wait":
                elapsed /= max(self.time_scale, 1e-9)
            table.add_row(Spinner("dots"), name, f"[dim]{_duration(max(elapsed, 0.0))}[/dim]")
        self.live.update(table)

    def close(self) -> None:
        self.live.stop()


def view_for(stream: TextIO, *, plain: bool, time_scale: float = 1.0) -> View:
    """LiveView on a terminal unless plain lines were asked for (--json); PlainView otherwise."""
    if not plain and hasattr(stream, "isatty") and stream.isatty():
        return LiveView(stream, time_scale)
    return PlainView(lambda line: print(line, file=stream, flush=True))


# -- following --------------------------------------------------------------------------------
def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """The whole history, oldest first (moto's page tokens are not stable across polls, so re-read)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


FOLLOW_PAGE = 100  # every page of a poll: AWS's nextToken wants "all other arguments unchanged"


def events_after(sfn: Any, execution_arn: str, seen: int) -> list[dict[str, Any]]:
    """The events after event ``seen`` (ids count from 1, one by one), oldest first: read newest
    first (``reverseOrder``, pages of :data:`FOLLOW_PAGE`, each read whole) until a page reaches an
    event already seen; kept are the events with a higher id, each once, in id order (reverse order
    is by timestamp, to the millisecond: ids decide ties and repeats).
    A poll of a long history then costs what is new in it, not the whole history again
    (re-reading it every 50 ms cost a followed build ~0.8 s of CPU in the emulator). The first
    read (nothing seen) is :func:`history` itself. AWS: GetExecutionHistory takes ``reverseOrder``,
    ``maxResults`` and ``nextToken``, and ``HistoryEvent.id`` numbers the events sequentially from
    one (Step Functions API Reference, GetExecutionHistory and HistoryEvent)."""
    if seen == 0:
        return history(sfn, execution_arn)
    found: dict[int, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": FOLLOW_PAGE, "reverseOrder": True}
    while True:
        page = sfn.get_execution_history(**kwargs)
        found.update((event["id"], event) for event in page["events"] if event["id"] > seen)
        if not page.get("nextToken") or any(event["id"] <= seen for event in page["events"]):
            return [found[event_id] for event_id in sorted(found)]
        kwargs["nextToken"] = page["nextToken"]


def definition_of(sfn: Any, execution_arn: str) -> dict[str, Any] | None:
    """The ASL the execution runs (None if it cannot be read: progress then guesses less well)."""
    try:
        return json.loads(sfn.describe_state_machine_for_execution(executionArn=execution_arn)["definition"])
    except Exception:  # noqa: BLE001 - progress is best effort: never fail a build over it
        return None


def follow(
    sfn: Any,
    execution_arn: str,
    view: View | Callable[[str], None],
    *,
    time_scale: float = 1.0,
    poll_seconds: float = 0.05,
    timeout: float = 3600.0,
) -> Narrator:
    """Show each update until the execution ends; returns the narrator (what happened)."""
    shown: View = view if hasattr(view, "show") else PlainView(view)  # type: ignore[assignment]
    narrator = Narrator(time_scale=time_scale, definition=definition_of(sfn, execution_arn))
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Status first: if it was already terminal, the history read next is complete.
            finished = sfn.describe_execution(executionArn=execution_arn)["status"] in TERMINAL
            events = events_after(sfn, execution_arn, seen)
            for update in narrator.feed(events):
                shown.show(update, narrator)
            seen = events[-1]["id"] if events else seen
            if finished or narrator.status:
                return narrator
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout}s")
            shown.tick(narrator)
            time.sleep(poll_seconds)
    finally:
        shown.close()
