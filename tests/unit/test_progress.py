"""progress.Narrator and its views: what an operator is told, read from real-shaped history events."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from vpcfactory_tools import execution_results, progress
from vpcfactory_tools.progress import LiveView, Narrator, PlainView, view_for

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
DEFINITION = {
    "States": {
        "Wait For VPC": {"Type": "Wait", "SecondsPath": "$.vpc.wait.waitSeconds"},
        "Waits": {
            "Type": "Parallel",
            "Branches": [
                {"States": {"Wait For NAT Deletion": {"Type": "Wait", "SecondsPath": "$.teardown.wait.waitSeconds"}}}
            ],
        },
    }
}


class History:
    """Builds events the way Step Functions records them: ids, previousEventId chains, timestamps."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.clock = T0

    def add(self, kind: str, after: int | None = None, seconds: float = 0.0, **details: Any) -> int:
        self.clock += timedelta(seconds=seconds)
        event: dict[str, Any] = {
            "id": len(self.events) + 1,
            "previousEventId": after if after is not None else len(self.events),
            "type": kind,
            "timestamp": self.clock,
        }
        if details:
            key = kind[0].lower() + kind[1:]
            if kind.endswith("StateEntered"):
                key = "stateEnteredEventDetails"
            elif kind.endswith("StateExited"):
                key = "stateExitedEventDetails"
            event[key + ("" if key.endswith("Details") else "EventDetails")] = details
        self.events.append(event)
        return event["id"]

    def task(self, name: str, *failures: str, seconds: float = 0.5) -> None:
        entered = self.add("TaskStateEntered", name=name, input="{}")
        for error in failures:
            self.add("TaskScheduled")
            self.add(
                "TaskFailed", seconds=seconds, error=error, cause=json.dumps({"errorMessage": f"{error} happened"})
            )
        self.add("TaskScheduled", after=entered if not failures else None)
        self.add("TaskSucceeded", seconds=seconds, output="{}")
        self.add("TaskStateExited", seconds=0.01, name=name, output="{}")


def narrate(history: History, **kwargs: Any) -> list[progress.Update]:
    return Narrator(definition=DEFINITION, **kwargs).feed(history.events)


def test_each_task_is_told_as_it_starts_and_ends_and_routing_states_are_not() -> None:
    h = History()
    h.add("ExecutionStarted")
    h.task("Create VPC")
    h.add("ChoiceStateEntered", name="VPC Available?", input="{}")
    h.add("ChoiceStateExited", name="VPC Available?", output="{}")
    h.add("ExecutionSucceeded", seconds=1, output="{}")

    lines = [u.line() for u in narrate(h)]

    assert lines == ["→ Create VPC", "✓ Create VPC (0.51s)", "== SUCCEEDED after 1.51s"]


def test_a_retried_task_shows_each_failure_and_retry_then_its_attempt_count() -> None:
    h = History()
    h.add("ExecutionStarted")
    h.task("Create Subnets", "AwsThrottled", "AwsThrottled")

    updates = narrate(h)

    assert [u.kind for u in updates] == ["started", "failed", "retry", "failed", "retry", "succeeded"]
    assert updates[1].text == "Create Subnets: AwsThrottled: AwsThrottled happened"  # the message, not the JSON
    assert updates[2].text == "Create Subnets: attempt 2 after AwsThrottled"
    assert updates[-1].text.endswith(", 3 attempts)")


def test_a_wait_names_what_it_waits_for_from_the_path_the_definition_polls() -> None:
    # Given a rollback's NAT deletion wait, while the build's own NAT wait is still in the state
    state = {
        "nat": {"ids": {"nat/a": "nat-0123456789abcdef0"}, "wait": {"status": "waiting", "attempts": 0}},
        "teardown": {
            "deletingIds": ["nat-0123456789abcdef0", "nat-0fedcba9876543210"],
            "wait": {"status": "waiting", "attempts": 2, "waitSeconds": 15},
        },
    }
    h = History()
    h.add("ExecutionStarted")
    h.add("WaitStateEntered", name="Wait For NAT Deletion", input=json.dumps(state))
    h.add("WaitStateExited", seconds=0.15, name="Wait For NAT Deletion", output="{}")
    h.add("WaitStateEntered", seconds=0.01, name="Wait For NAT Deletion", input=json.dumps(state))

    updates = narrate(h, time_scale=0.01)

    assert [u.kind for u in updates] == ["waiting", "waiting"]
    assert updates[0].text == (
        "Wait For NAT Deletion: NAT gateways nat-0123456789abcdef0, nat-0fedcba9876543210 — next check (#3) in 15s"
    )
    assert updates[1].text.endswith("waited 16s so far")  # 0.16 s real at time scale 0.01


def test_a_failed_branch_marks_its_parallel_failed_and_the_rollback_is_announced_once() -> None:
    h = History()
    h.add("ExecutionStarted")
    h.add("ParallelStateEntered", name="Wait For NAT Gateways While Routing", input="{}")
    h.add("TaskStateEntered", name="Create Route Tables", input="{}")
    h.add("TaskScheduled")
    h.add("TaskFailed", error="AwsCallFailed", cause="CreateRoute failed")
    h.add("ParallelStateFailed")
    h.add("ParallelStateExited", name="Wait For NAT Gateways While Routing", output="{}")
    h.add("TaskStateEntered", name="Roll Back", input="{}")
    h.add("TaskStateEntered", name="Roll Back", input="{}")  # e.g. after a redrive
    h.add("ExecutionFailed", error="AwsCallFailed", cause="CreateRoute failed")

    updates = narrate(h)
    lines = [u.line() for u in updates]

    assert "✗ Create Route Tables: AwsCallFailed: CreateRoute failed" in lines
    assert any(line.startswith("✗ Wait For NAT Gateways While Routing failed after") for line in lines)
    assert sum(u.kind == "rollback" for u in updates) == 1
    assert lines[-1].startswith("== FAILED after") and lines[-1].endswith("AwsCallFailed: CreateRoute failed")


def test_off_a_terminal_or_with_json_progress_is_plain_lines() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(view_for(io.StringIO(), plain=False), PlainView)
    assert isinstance(view_for(Tty(), plain=True), PlainView)  # --json
    live = view_for(Tty(), plain=False)
    assert isinstance(live, LiveView)
    live.close()

    stream = io.StringIO()
    view = view_for(stream, plain=False)
    h = History()
    h.add("ExecutionStarted")
    h.task("Create VPC")
    narrator = Narrator()
    for update in narrator.feed(h.events):
        view.show(update, narrator)

    assert stream.getvalue() == "→ Create VPC\n✓ Create VPC (0.51s)\n"


def lambda_cause(error_type: str, message: str) -> str:
    """A Lambda error's cause as Step Functions records it: JSON with the stack trace."""
    trace = ['  File "/var/task/vpcfactory/network.py", line 376, in add_nat_routes\n    self._ensure_route(...)\n']
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": trace})


def test_a_lambda_error_cause_is_shown_as_its_message() -> None:
    cause = lambda_cause("AwsCallFailed", "CreateRoute failed with InternalError: An internal error has occurred.")

    message = "CreateRoute failed with InternalError: An internal error has occurred."
    assert execution_results.cause_message(cause) == message
    assert execution_results.cause_message("States.Timeout: the task timed out") == "States.Timeout: the task timed out"
    assert execution_results.cause_message(None) == ""


def test_a_rollback_that_could_not_finish_is_told_as_what_is_left_and_why_without_json_or_stack_traces() -> None:
    report = {
        "originalError": {"Error": "AwsCallFailed", "Cause": lambda_cause("AwsCallFailed", "CreateRoute failed")},
        "teardownError": {"Error": "ResourceInUse", "Cause": lambda_cause("ResourceInUse", "subnet-1 in use")},
        "leftovers": [
            {"type": "subnet", "id": "subnet-1", "logicalId": "subnet/private/us-east-1a"},
            {"type": "subnet", "id": "subnet-2", "logicalId": "subnet/private/us-east-1b"},
            {"type": "vpc", "id": "vpc-1", "logicalId": "vpc"},
        ],
    }

    message = execution_results.cause_message(json.dumps(report))

    assert message == (
        "3 resources left (2 subnet, 1 vpc); the rollback stopped at ResourceInUse: subnet-1 in use; "
        "it was rolling back after AwsCallFailed: CreateRoute failed"
    )
    # a destroy's report has no original error: its teardown stopped
    destroy = {**report, "originalError": None, "leftovers": report["leftovers"][2:]}
    assert execution_results.cause_message(json.dumps(destroy)) == (
        "1 resource left (1 vpc); the teardown stopped at ResourceInUse: subnet-1 in use"
    )
    assert progress.short_cause(json.dumps(report), 20) == "3 resources left (2…"


class PagedHistory:
    """GetExecutionHistory as Step Functions pages it: oldest or newest first (reverseOrder),
    maxResults per page, a nextToken naming where the next page starts; the history grows
    between calls, as a running execution's does."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.calls: list[dict[str, Any]] = []
        self.issued: dict[str, dict[str, Any]] = {}  # token -> the other arguments of its call

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        others = {k: v for k, v in kwargs.items() if k != "nextToken"}
        if "nextToken" in kwargs and self.issued.get(kwargs["nextToken"]) != others:
            # botocore's model: "Keep all other arguments unchanged" when passing the token
            raise ValueError("InvalidToken: a token used with other arguments than its call's")
        ordered = list(reversed(self.events)) if kwargs.get("reverseOrder") else list(self.events)
        if "nextToken" in kwargs:
            start = int(kwargs["nextToken"])
            ordered = [e for e in ordered if (e["id"] <= start if kwargs.get("reverseOrder") else e["id"] >= start)]
        size = kwargs.get("maxResults") or 100
        page, rest = ordered[:size], ordered[size:]
        if not rest:
            return {"events": page}
        self.issued[str(rest[0]["id"])] = others
        return {"events": page, "nextToken": str(rest[0]["id"])}


def test_following_reads_only_the_events_after_those_it_has_seen_oldest_first(monkeypatch) -> None:
    monkeypatch.setattr(progress, "FOLLOW_PAGE", 3)  # several pages per poll
    history = History()
    for n in range(5):
        history.task(f"Step {n}")
    assert len(history.events) == 20
    sfn = PagedHistory(history.events)

    for seen in range(len(history.events) + 1):
        assert progress.events_after(sfn, "arn", seen) == history.events[seen:], seen
    # a poll past the start reads newest first and stops at the page that reaches an event it has seen
    sfn.calls.clear()
    assert progress.events_after(sfn, "arn", 19) == history.events[19:]
    assert sfn.calls == [{"executionArn": "arn", "maxResults": 3, "reverseOrder": True}]
    # and every page of a poll asks with the same arguments but the token (the fake refuses others)
    sfn.calls.clear()
    assert progress.events_after(sfn, "arn", 5) == history.events[5:]
    assert len(sfn.calls) == 6 and {c["maxResults"] for c in sfn.calls} == {3}  # 20..18, ..., 5..3


def test_following_keeps_each_new_event_once_in_id_order_whatever_order_the_pages_bring() -> None:
    # Given pages in which an event comes twice (a position-based token while events were added)
    # and two events of one millisecond out of id order (reverse order is by timestamp)
    history = History()
    for n in range(3):
        history.task(f"Step {n}")
    e = history.events

    class Repeating:
        def __init__(self) -> None:
            self.pages = [
                {"events": [e[11], e[9], e[10]], "nextToken": "t1"},
                {"events": [e[9], e[8], e[7]], "nextToken": "t2"},
                {"events": [e[6], e[5]], "nextToken": "t3"},
            ]

        def get_execution_history(self, **_: Any) -> dict[str, Any]:
            return self.pages.pop(0)

    # Then what was not seen comes out once each, oldest first, and no page past the seen one is read
    sfn = Repeating()
    assert progress.events_after(sfn, "arn", 6) == e[6:]
    assert len(sfn.pages) == 0


def test_following_a_growing_history_shows_what_reading_it_whole_shows(monkeypatch) -> None:
    # Given an execution whose history grows between the polls
    history = History()
    history.add("ExecutionStarted")
    history.task("Validate Spec")
    history.task("Create VPC", "Ec2Throttled")
    history.add("ChoiceStateEntered", name="VPC Available?", input="{}")
    history.add("ChoiceStateExited", name="VPC Available?", output="{}")
    history.add("ExecutionSucceeded", seconds=1, output="{}")
    everything = list(history.events)
    grown: list[dict[str, Any]] = []
    sfn = PagedHistory(grown)

    def describe_execution(**_: Any) -> dict[str, Any]:
        grown.extend(everything[len(grown) : len(grown) + 2])  # two more events per poll
        return {"status": "SUCCEEDED" if len(grown) == len(everything) else "RUNNING"}

    sfn.describe_execution = describe_execution  # type: ignore[attr-defined]
    sfn.describe_state_machine_for_execution = lambda **_: {"definition": json.dumps(DEFINITION)}  # type: ignore[attr-defined]
    monkeypatch.setattr(progress.time, "sleep", lambda _: None)
    monkeypatch.setattr(progress, "FOLLOW_PAGE", 1)

    # When it is followed, and when the whole history is read at once
    followed: list[str] = []
    progress.follow(sfn, "arn", followed.append)
    whole: list[str] = []
    view = PlainView(whole.append)
    narrator = Narrator(definition=DEFINITION)
    for update in narrator.feed(everything):
        view.show(update, narrator)

    # Then the operator is told the same
    assert followed == whole
    assert followed
