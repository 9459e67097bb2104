"""Reliability runs: prove that a build either finishes with a verified network or leaves the
account exactly as it found it, whatever EC2 does in between.

    make reliability                       # or: python -m vpcfactory_tools.reliability
    python -m vpcfactory_tools.reliability --only crash,throttle --out /tmp/report.json

On one embedded emulator, after creating pre-existing resources the factory must never touch (a
foreign VPC with a subnet, routes, an internet gateway, a NAT gateway and its Elastic IP, a spare
Elastic IP, and a VPC the factory itself built earlier), it runs

- the **fault sweep**: for every mutating EC2 operation a real build of each example makes (found
  by running the build, never from a list), its first and its last call fail with InternalError;
- the **crash sweep**: the same calls succeed and the Lambda handler that made them dies right
  after (``Runtime.ExitError``), before it can return the id;
- the **throttling runs**: builds with 30 % of EC2 attempts throttled (several seeds), checked
  against their plan and then destroyed, still throttled; and a storm that throttles every attempt
  from the first CreateNatGateway on until the build has exhausted its retries and the rollback
  has failed twice, to watch the rollback's own retries succeed once it passes;
- the **concurrency run**: 20 builds of different specs at once, one of them failed mid-build by
  a fault aimed at its execution only; the 19 others are checked against their plans after the
  rollback ran beside them, then destroyed all at once;
- the **re-runs**: every handler that changes something (in a build, a destroy and a rollback)
  fails at its last change and is retried, or dies right after it and is run again; and every
  handler of both workflows runs twice with the same input. Nothing may be duplicated or left.

Each case records whether the build ended as expected, what it left behind (every live resource
tagged with its execution; for a build that succeeded, what is left after destroying it -- except
the flow-log group, which destroy keeps on purpose) and which pre-existing resources changed or
vanished. ``reliability/report.json`` holds every case; the printed table sums them up. The exit
status is 0 only when every case ended as expected with nothing left behind and nothing disturbed.
docs/reliability.md explains how to read the report.

The same functions back the pytest sweeps in tests/workflow/test_reliability.py (``make test``).

The modules, by concern: ``conditions`` (time scale, eventual consistency, the emulator settings
of a case), ``specs`` (the example specs and the concurrency specs), ``resources`` (what is in the
account, read through ``vpcfactory.inventory``; the pre-existing resources), ``executions``
(reading one execution and the build ASL), ``network`` (is a built network the planned one),
``profiles`` (what real runs call, and the sweep and re-run points found from it), ``cases`` (one
function per scenario), ``summary`` (the report and the table) and ``runner`` (``run`` and
``main``). Everything is re-exported here: import from ``vpcfactory_tools.reliability``.
"""

from __future__ import annotations

from vpcfactory_tools.reliability.cases import (
    THROTTLE_P,
    VPC_PENDING_FOR_TWO_RUNS,
    Case,
    concurrency_cases,
    crash_case,
    duplicate_case,
    duplicate_rollback_case,
    fault_case,
    rerun_case,
    storm_case,
    storm_limit,
    throttle_case,
)
from vpcfactory_tools.reliability.conditions import CONSISTENCY_DELAY, TIME_SCALE, settings
from vpcfactory_tools.reliability.executions import BUILD_ASL, asl_max_attempts, execution_of, task_outcomes
from vpcfactory_tools.reliability.network import verify_network
from vpcfactory_tools.reliability.profiles import (
    READ_PREFIXES,
    Call,
    Profile,
    RerunPoint,
    SweepPoint,
    is_mutating,
    last_mutating_calls,
    profile,
    rerun_points,
    sweep_points,
)
from vpcfactory_tools.reliability.resources import (
    EC2_KINDS,
    LOG_GROUP,
    Bystanders,
    Resource,
    account,
    create_bystanders,
    tagged_with,
)
from vpcfactory_tools.reliability.runner import REPORT, main, run
from vpcfactory_tools.reliability.specs import EXAMPLES, concurrency_specs, examples, unique
from vpcfactory_tools.reliability.summary import KINDS, TITLES, report, summarize, table

__all__ = [
    "BUILD_ASL",
    "Bystanders",
    "CONSISTENCY_DELAY",
    "Call",
    "Case",
    "EC2_KINDS",
    "EXAMPLES",
    "KINDS",
    "LOG_GROUP",
    "Profile",
    "READ_PREFIXES",
    "REPORT",
    "RerunPoint",
    "Resource",
    "SweepPoint",
    "THROTTLE_P",
    "TIME_SCALE",
    "TITLES",
    "VPC_PENDING_FOR_TWO_RUNS",
    "account",
    "asl_max_attempts",
    "concurrency_cases",
    "concurrency_specs",
    "crash_case",
    "create_bystanders",
    "duplicate_case",
    "duplicate_rollback_case",
    "examples",
    "execution_of",
    "fault_case",
    "is_mutating",
    "last_mutating_calls",
    "main",
    "profile",
    "report",
    "rerun_case",
    "rerun_points",
    "run",
    "settings",
    "storm_case",
    "storm_limit",
    "summarize",
    "sweep_points",
    "table",
    "tagged_with",
    "task_outcomes",
    "throttle_case",
    "unique",
    "verify_network",
]
