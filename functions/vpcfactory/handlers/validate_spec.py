"""Validate And Plan: reject a bad spec or target before anything is created, take the build lock of
the network (build_lock.py: one build per account, Region and spec name), plan the network, and
decide whether this build creates a VPC or grows the one it built before (same name)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vpcfactory import aws, build_lock, ipam, transit
from vpcfactory.errors import AdoptionRefused
from vpcfactory.growth import detect_changes
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.plan import plan_network
from vpcfactory.safeguards import check_flow_log_bucket
from vpcfactory.spec import parse_spec, split_input

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ValidateEvent, ValidateResult

# Execution-input keys that are not part of the spec wrapper: how the build was asked for.
# AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID links a build a rollout started to the rollout's
# execution in the console (Step Functions developer guide, "Start workflow executions from a
# task state").
CONTROL_KEYS = ("allowReplace", "cfn", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID")


def _refuse_unasked_adoption(plan, cfn):
    """A custom-resource Create owns what it builds: deleting its stack destroys the VPC. Taking
    over a VPC of the same name that something else built needs the resource to say so. This
    lives here, not in the provider: only Validate And Plan knows whether such a VPC exists.
    An Update, or an apply that CloudFormation did not ask for, reconciles as always."""
    changes = plan["changes"]
    if cfn.get("requestType") != "Create" or changes["mode"] == "create" or cfn.get("adoptExisting") is True:
        return
    existing = changes.get("vpcId") or ", ".join(changes.get("replaces") or [])
    raise AdoptionRefused(
        f"a VPC named {plan['name']!r} already exists ({existing}); this Create would adopt it, and deleting "
        'the stack would then destroy it. Nothing was created. Set the property AdoptExisting: "true" to adopt '
        "it, or give the Spec another name"
    )


def _release_after_refusal(lock):
    """Planning failed after the lock was taken: nothing was created, so let the next build start
    now (the failure path, which releases locks, follows only a successful plan). A release that
    fails leaves the lock to the stale-holder check of the next build (build_lock.py)."""
    if lock is None:
        return
    try:
        build_lock.release(lock)
    except Exception:  # the planning error is the one to report
        logger.exception("could not release the build lock", extra={"lockKey": lock["key"]})


@lambda_handler
def handler(event: ValidateEvent, context: LambdaContext) -> ValidateResult:
    raw = event["input"]
    control = {k: raw.get(k) for k in CONTROL_KEYS} if isinstance(raw, dict) else {}
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k not in CONTROL_KEYS}
    spec_raw, target_raw = split_input(raw)
    spec = parse_spec(spec_raw)  # pure: raises InvalidSpec(field, reason) with no AWS call made
    target = aws.normalize_target(target_raw, event.get("defaultRoleName"))  # pure too
    aws.use_target(target, event["execution"])
    # One build per network: before anything is read or created. BuildInProgress if another
    # execution builds this name; a direct invocation (no execution) takes no lock.
    lock = build_lock.acquire(spec.name, target, event["executionArn"]) if event.get("executionArn") else None
    try:
        ec2 = aws.client("ec2")
        zones = aws.call("DescribeAvailabilityZones", ec2.describe_availability_zones, AllAvailabilityZones=False)
        plan = plan_network(spec, zones["AvailabilityZones"])
        plan = ipam.place(plan, ec2)  # IPAM: laid in the existing VPC's CIDR, else the pool's preview
        transit.check_plan(plan, ec2)  # the transit gateway is there and usable: InvalidSpec, nothing created
        check_flow_log_bucket(spec.flow_logs)  # S3 HeadBucket: a missing bucket is InvalidSpec, nothing created
        # (growing a VPC: the plan in the route-table layout that VPC has, growth.compare)
        plan, changes = detect_changes(plan, ec2, allow_replace=control.get("allowReplace") is True)
        plan["changes"] = changes
        _refuse_unasked_adoption(plan, control.get("cfn") or {})
    except Exception:
        _release_after_refusal(lock)
        raise
    logger.info(
        "planned",
        extra={
            "subnets": len(plan["subnets"]),
            "natGateways": len(plan["natGateways"]),
            "changes": plan.get("changes"),
            "targetAccount": target["accountId"] if target else None,
        },
    )
    return {"spec": spec.to_dict(), "plan": plan, "target": target, "cfn": control.get("cfn"), "lock": lock}
