"""Powertools singletons and the one decorator every handler wears.

Decorator order follows Powertools' own examples: inject_lambda_context -> log_metrics ->
capture_lambda_handler. The correlation id is the Step Functions execution name, which every
Task passes as `execution`, so one build's logs across all functions can be found with one query.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from vpcfactory import aws

SERVICE = "vpcfactory"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="VpcFactory", service=SERVICE)

# Read-only stages (polls, describes) publish no metric of their own; Powertools warns about
# every such invocation, which is noise, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_handler(fn: Handler) -> Handler:
    """Wrap a handler with logging (correlated by execution name), metrics and tracing, and
    point its AWS clients at the account the build targets (`target`, set by Validate And Plan)."""

    @functools.wraps(fn)
    def in_target_account(event: dict[str, Any], context: Any) -> dict[str, Any]:
        aws.use_target(event.get("target") if isinstance(event, dict) else None, (event or {}).get("execution"))
        aws.forget_fresh()  # each handler declares the new ids it works with (aws.expect_fresh)
        return fn(event, context)

    traced = tracer.capture_lambda_handler(in_target_account, capture_response=False)
    measured = metrics.log_metrics(traced, raise_on_empty_metrics=False)
    return logger.inject_lambda_context(measured, correlation_id_path="execution", clear_state=True)
