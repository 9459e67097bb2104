"""Validate And Plan: reject a bad spec or target before anything is created, plan the network,
and decide whether this build creates a VPC or grows the one it built before (same name)."""

from vpcfactory import aws
from vpcfactory.errors import AdoptionRefused
from vpcfactory.growth import detect_changes
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec, split_input

# Execution-input keys that are not part of the spec wrapper: how the build was asked for.
CONTROL_KEYS = ("allowReplace", "cfn")


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


@lambda_handler
def handler(event, context):
    raw = event["input"]
    control = {k: raw.get(k) for k in CONTROL_KEYS} if isinstance(raw, dict) else {}
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k not in CONTROL_KEYS}
    spec_raw, target_raw = split_input(raw)
    spec = parse_spec(spec_raw)  # pure: raises InvalidSpec(field, reason) with no AWS call made
    target = aws.normalize_target(target_raw, event.get("defaultRoleName"))  # pure too
    aws.use_target(target, event["execution"])
    ec2 = aws.client("ec2")
    zones = aws.call("DescribeAvailabilityZones", ec2.describe_availability_zones, AllAvailabilityZones=False)
    plan = plan_network(spec, zones["AvailabilityZones"])
    plan["changes"] = detect_changes(plan, ec2, allow_replace=control.get("allowReplace") is True)
    _refuse_unasked_adoption(plan, control.get("cfn") or {})
    logger.info(
        "planned",
        extra={
            "subnets": len(plan["subnets"]),
            "natGateways": len(plan["natGateways"]),
            "changes": plan["changes"],
            "targetAccount": (target or {}).get("accountId"),
        },
    )
    return {"spec": spec.to_dict(), "plan": plan, "target": target, "cfn": control.get("cfn")}
