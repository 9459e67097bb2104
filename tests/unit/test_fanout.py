"""fanout.each: a stage's independent calls side by side, with the promises of the loop it replaces
(plan order, every started call ended before it returns or raises, the first failure by plan
order, nothing started after a failure, the caller's context in every call)."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from vpcfactory import aws, fanout
from vpcfactory.errors import AwsCallFailed, AwsThrottled, ResourceNotYetVisible


class Gate:
    """Calls that wait until the test lets them go, and count how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.running -= 1


def test_results_come_back_in_the_order_of_the_items_whatever_order_the_calls_end_in() -> None:
    def slower_first(n: int) -> str:
        time.sleep(0.002 * (10 - n))
        return f"subnet-{n}"

    assert fanout.each(slower_first, range(10)) == [f"subnet-{n}" for n in range(10)]


def test_no_more_calls_run_at_once_than_the_width() -> None:
    gate = Gate()
    all_in = threading.Barrier(3, timeout=5)  # the first three meet: the width is used

    def call(n: int) -> int:
        with gate:
            if n < 3:
                all_in.wait()
            time.sleep(0.005)
        return n

    assert fanout.each(call, range(12), width=3) == list(range(12))
    assert gate.most == 3


def test_the_default_width_is_the_ec2_burst_and_a_pool_never_outgrows_its_items() -> None:
    gate = Gate()
    everyone = threading.Barrier(fanout.EC2_WIDTH, timeout=5)

    def call(n: int) -> int:
        with gate:
            if n < fanout.EC2_WIDTH:
                everyone.wait()  # ten at once: would time out if fewer could run
        return n

    fanout.each(call, range(25))
    assert gate.most == fanout.EC2_WIDTH == 10
    threads_before = threading.active_count()
    fanout.each(lambda n: n, range(2))
    assert threading.active_count() == threads_before  # the pool's threads are gone once it returns


def test_a_failure_is_raised_only_after_every_call_in_flight_has_ended() -> None:
    # Given three calls in flight, the second fails at once while the others are still running
    ended: list[int] = []
    started = threading.Barrier(3, timeout=5)

    def call(n: int) -> int:
        started.wait()
        if n == 1:
            raise AwsCallFailed("CreateSubnet", "InternalError", "boom")
        time.sleep(0.05)
        ended.append(n)
        return n

    # When / Then: the error comes out, and by then the others have made their resources
    with pytest.raises(AwsCallFailed, match="InternalError"):
        fanout.each(call, range(3))
    assert sorted(ended) == [0, 2]


def test_the_error_raised_is_the_first_by_item_order_not_the_first_to_happen() -> None:
    started = threading.Barrier(3, timeout=5)

    def call(n: int) -> int:
        started.wait()
        if n == 0:
            time.sleep(0.05)  # fails last
            raise AwsThrottled("CreateSubnet: RequestLimitExceeded")
        if n == 2:
            raise AwsCallFailed("CreateSubnet", "InvalidSubnet.Conflict", "fails first")
        return n

    with pytest.raises(AwsThrottled):
        fanout.each(call, range(3))


def test_after_a_failure_no_further_item_is_started() -> None:
    # Given one call at a time: the loop the helper replaces stopped at its first failure
    made: list[int] = []

    def call(n: int) -> int:
        if n == 2:
            raise AwsCallFailed("CreateRoute", "RouteAlreadyExists", "x")
        time.sleep(0.02)  # item 3, beside the failing 2, is still running when 2 fails
        made.append(n)
        return n

    with pytest.raises(AwsCallFailed):
        fanout.each(call, range(6), width=2)
    # items 0, 1 and 2 ran; 3 may have started beside 2 before it failed; 4 and 5 never did
    assert {0, 1} <= set(made) <= {0, 1, 3}


def test_a_crash_of_the_runtime_stops_the_others_and_reaches_the_caller_as_it_is() -> None:
    class RuntimeDied(BaseException):  # as the emulator's RuntimeExit: not an Exception
        pass

    def call(n: int) -> int:
        if n == 0:
            raise RuntimeDied("killed")
        return n

    with pytest.raises(RuntimeDied):
        fanout.each(call, range(4))


def test_every_call_sees_the_callers_context_and_its_own_changes_stay_its_own() -> None:
    # aws.expect_fresh lives in a context variable: a NotFound about a fresh id must become
    # ResourceNotYetVisible in a worker thread too
    aws.forget_fresh()
    aws.expect_fresh("subnet-0123456789abcdef0")
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    marker.set("the handler's")

    def call(n: int) -> str:
        error = aws.translate(
            "ModifySubnetAttribute",
            "InvalidSubnetID.NotFound",
            "The subnet ID 'subnet-0123456789abcdef0' does not exist",
            {},
        )
        assert isinstance(error, ResourceNotYetVisible)
        seen = marker.get()
        marker.set(f"call {n}")  # a worker's change stays in its copy
        return seen

    assert fanout.each(call, range(4)) == ["the handler's"] * 4
    assert marker.get() == "the handler's"
    aws.forget_fresh()


def test_one_item_or_a_width_of_one_runs_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    assert fanout.each(lambda _: threading.get_ident(), ["only"]) == [caller]
    assert fanout.each(lambda _: threading.get_ident(), range(3), width=1) == [caller] * 3
    assert fanout.each(lambda n: n, []) == []
    with pytest.raises(ValueError, match="width must be at least 1"):
        fanout.each(lambda n: n, range(3), width=0)
