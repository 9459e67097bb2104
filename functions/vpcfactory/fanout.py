"""Independent AWS calls of one stage, issued side by side (a bounded thread pool).

A stage's per-resource calls (a CreateSubnet per subnet, a CreateNatGateway per zone, a CreateRoute
per table) do not depend on each other: made one after another, a 6-zone build waits for 18
round trips where it could wait for 2. `each` overlaps them and keeps what the loop it replaces
promised:

- results come back in the order of the items (the plan's order), whatever order the calls end in;
- every call that started has ended before `each` returns or raises: a stage that fails has made
  every resource it will make (tagged at creation), so the rollback that follows finds them all;
- after a failure no further item is started (as the loop stopped at its first failure), and the
  error raised is the first by item order, so a failed stage names what it named before;
- each call runs in a copy of the caller's context (contextvars): `aws.expect_fresh`, the target
  account, and anything else an invocation keeps there hold in the workers too. A call's own
  `aws.expect_fresh` stays in its copy: declare new ids in the caller, after `each` returns.

botocore clients are thread-safe (sessions are not: aws.client makes clients under a lock, the
workers only use them); botocore's retries with back-off happen inside each call, per call.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# How many EC2 calls one stage has in flight at once. EC2 throttles per account and Region with a
# token bucket per API action ("Request throttling for the Amazon EC2 API", request token bucket
# sizes and refill rates): 50 tokens refilled at 5 a second for the mutating actions fanned out
# here (CreateSubnet, ModifySubnetAttribute, AllocateAddress, CreateRouteTable,
# AssociateRouteTable, CreateRoute), and 10 refilled at 1 a second for CreateNatGateway, the
# smallest of them. 10 at once never asks more of any of these buckets than it holds, and a
# fifth of the mutating ones, leaving the rest to the other builds in the account (the width
# bounds the burst, not the total: an 18-subnet plan takes 18 CreateSubnet tokens either way).
# What throttling remains is retried per call (botocore's standard retry mode, aws.py), then per
# stage (AwsThrottled in the ASL). 10 is also botocore's default connection pool size
# (max_pool_connections): more workers would only queue for a connection.
EC2_WIDTH = 10


class _NotStarted:
    """An item skipped because an earlier one had failed (never returned: see `each`)."""


_NOT_STARTED = _NotStarted()


def each(fn: Callable[[Item], Result], items: Iterable[Item], width: int = EC2_WIDTH) -> list[Result]:
    """`[fn(item) for item in items]`, with up to `width` calls at once (module docstring)."""
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width!r}")
    todo = list(items)
    if len(todo) <= 1 or width == 1:
        return [fn(item) for item in todo]
    failed = threading.Event()

    def run(item: Item) -> Result | _NotStarted:
        if failed.is_set():
            return _NOT_STARTED
        try:
            return fn(item)
        except BaseException:  # a crash (the runtime dying) stops the others as an error does
            failed.set()
            raise

    # Leaving the `with` block waits for every submitted call (shutdown(wait=True)).
    with ThreadPoolExecutor(max_workers=min(width, len(todo)), thread_name_prefix="vpcfactory-fanout") as pool:
        # one context copy per call: a context cannot be entered by two threads at once
        futures = [pool.submit(contextvars.copy_context().run, run, item) for item in todo]
    # Workers take items in order, so an item skipped comes after the failure that stopped it:
    # the first exception in item order is the first failure, and nothing skipped is returned.
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    results = [future.result() for future in futures]
    assert not any(r is _NOT_STARTED for r in results)
    return results  # type: ignore[return-value]
