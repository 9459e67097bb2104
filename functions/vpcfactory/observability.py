"""Powertools singletons and the one decorator every handler wears.

Decorator order follows Powertools' own examples: inject_lambda_context -> log_metrics. The
correlation id is the Step Functions execution name, which every Task passes as `execution`, so one
build's logs across all functions can be found with one query.

Traces come from Lambda itself, not from this module: the template sets `Tracing: Active`, so every
sampled invocation gets its function segment (initialization, invocation, overhead) and the state
machines' traces link to it; botocore sends the trace header with every AWS call. There is no
Powertools Tracer: it needs the X-Ray SDK, whose import builds a recorder and two botocore clients
(~130 ms of every cold start, more than anything but boto3) and which AWS ends support for on
2027-02-25 in favour of OpenTelemetry. What it added were subsegments per AWS call and a duplicate of
Lambda's own invocation segment. docs/operations.md ("Logs and traces") says what a trace holds.

Metrics (namespace `VpcFactory`, dimension `service=vpcfactory`, CloudWatch embedded metric format
printed to stdout by `log_metrics` when the handler returns or raises) are the ones an operator
alarms on; docs/operations.md lists them:

- `BuildsSucceeded`, `BuildsFailed`, `BuildsRefused` (Count): how each build ended (Report Success,
  Report Failure); refused = the spec or the caller was refused before anything was created;
- `RollbacksIncomplete` (Count): a build's rollback or a destroy left resources (Report Failure);
- `BuildSeconds` (Seconds): a successful build, from the execution's start (Report Success);
- `NatWaitSeconds` (Seconds): the NAT gateways' creation to all available (Check NAT Gateways).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from vpcfactory import aws

if TYPE_CHECKING:  # types only: the handlers' modules need not import it at run time
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "vpcfactory"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="VpcFactory", service=SERVICE)

# Read-only stages (polls, describes) publish no metric of their own; Powertools warns about
# every such invocation, which is noise, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# A handler's event is one of contracts.py's TypedDicts (or a Mapping, for the entry points that
# take AWS's own events); what it returns goes into the state machine's state.
Event = TypeVar("Event", bound=Mapping[str, Any])
Result = TypeVar("Result")

BUILDS_SUCCEEDED = "BuildsSucceeded"
BUILDS_FAILED = "BuildsFailed"
BUILDS_REFUSED = "BuildsRefused"
ROLLBACKS_INCOMPLETE = "RollbacksIncomplete"
BUILD_SECONDS = "BuildSeconds"
NAT_WAIT_SECONDS = "NatWaitSeconds"


def count(name: str) -> None:
    """One occurrence of `name` (a Count metric), published when the handler ends."""
    _emit(name, MetricUnit.Count, 1)


def seconds(name: str, value: float) -> None:
    """A duration metric in seconds, published when the handler ends."""
    _emit(name, MetricUnit.Seconds, max(0.0, round(value, 3)))


def _emit(name: str, unit: MetricUnit, value: float) -> None:
    # Disabled (the emulator, the tests), Powertools keeps what is added and never clears it
    # (until 100 values, then it prints them anyway): add nothing. A metric must never fail the
    # report that emits it.
    if is_metrics_disabled():
        return
    try:
        metrics.add_metric(name=name, unit=unit, value=value)
    except Exception:
        logger.exception("could not add metric", extra={"metric": name})


def lambda_handler(fn: Callable[[Event, LambdaContext], Result]) -> Callable[[Event, LambdaContext], Result]:
    """Wrap a handler with logging (correlated by execution name) and metrics, and point its AWS
    clients at the account the build targets (`target`, set by Validate And Plan)."""

    @functools.wraps(fn)
    def in_target_account(event: Event, context: LambdaContext) -> Result:
        aws.use_target(event.get("target") if isinstance(event, dict) else None, (event or {}).get("execution"))
        aws.forget_fresh()  # each handler declares the new ids it works with (aws.expect_fresh)
        return fn(event, context)

    measured = metrics.log_metrics(in_target_account, raise_on_empty_metrics=False)
    return logger.inject_lambda_context(measured, correlation_id_path="execution", clear_state=True)
