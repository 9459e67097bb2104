"""Audit Network (rollout, audit mode): does the VPC an account holds for a spec's name still match
the spec? Read-only: nothing is created, changed or locked.

- `missing`: no VPC carries the spec's name (vpcfactory:vpc) in that account and Region.
- `drifted`: what differs, each a sentence: what a re-apply would add (a subnet, a route table, a
  flow log removed by hand) or refuse (a moved CIDR, a removed tier), and every problem Verify
  Network finds (a route to the wrong place, a default security group that allows traffic again,
  flow logs no longer active, an endpoint missing from a table) — the same checks a build ends
  with (growth.compare, verify.find_problems), so "compliant" means "a build would pass Verify".
  Several VPCs of one name are drift too.
- `compliant`: none of that.

A drifted or missing network is also a "VPC Drifted" event on the factory's bus (outcomes.announce),
so a scheduled audit can page someone without anyone reading the report.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from vpcfactory import aws, growth, inventory, ipam, outcomes
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import TAG_VPC
from vpcfactory.verify import find_problems

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import AuditNetworkEvent, AuditResult

DRIFTED_EVENT = "VPC Drifted"
MAX_CAUSE = 30_000  # a Fail state's cause holds 32,768 characters


def differences(plan: dict, ec2: object) -> tuple[str | None, list[str]]:
    """(the VPC's id or None, every difference between the VPC of the plan's name and the plan)."""
    # (the plan in the route-table layout the VPC has: one an earlier version built is no drift)
    plan, diff = growth.compare(plan, ec2)  # type: ignore[arg-type,assignment]
    if diff["mode"] == "create":
        return None, []
    if diff["mode"] == "ambiguous":  # (the handler says so before it gets here)
        return diff["vpcIds"][0], [f"{len(diff['vpcIds'])} VPCs carry {TAG_VPC}={plan['name']}"]
    found = [f"missing: {logical}" for logical in diff["added"]]
    found += [f"changed: {sentence}" for sentence in diff["refused"]]
    problems, _snap, _group, _compliance = find_problems(plan, diff["vpcId"], ec2)  # type: ignore[arg-type]
    found += [p for p in problems if p not in found]
    return diff["vpcId"], found


@lambda_handler
def handler(event: AuditNetworkEvent, context: LambdaContext) -> AuditResult:
    item = event["item"]
    target = aws.normalize_target(item["input"]["target"], event.get("defaultRoleName"))
    aws.use_target(target, event["execution"])
    spec = parse_spec(item["input"]["spec"])  # checked by Prepare Rollout already: InvalidSpec cannot pass
    ec2 = aws.client("ec2")
    where = f"account {item['accountId']}, {item['region']}"
    vpcs = inventory.vpcs_named(ec2, spec.name)
    if not vpcs:
        result: AuditResult = {
            "status": "missing",
            "vpcId": None,
            "differences": [],
            "cause": f"no VPC carries {TAG_VPC}={spec.name} in {where}",
        }
    else:
        zones = aws.call("DescribeAvailabilityZones", ec2.describe_availability_zones, AllAvailabilityZones=False)
        plan = plan_network(spec, zones["AvailabilityZones"])
        pool = plan.get("ipam")
        current = vpcs[0]["CidrBlock"]
        if len(vpcs) > 1:
            ids = sorted(v["VpcId"] for v in vpcs)
            vpc_id, found = ids[0], [f"{len(ids)} VPCs carry {TAG_VPC}={spec.name}: {', '.join(ids)}"]
        elif pool and not current.endswith(f"/{pool['netmaskLength']}"):
            # (ipam.place would preview the pool: an allocation call this read-only audit may not make)
            wanted = f"a /{pool['netmaskLength']} from {pool['poolId']}"
            vpc_id, found = vpcs[0]["VpcId"], [f"changed: cidr: the VPC is {current}, the spec asks for {wanted}"]
        else:
            plan = ipam.place(plan, ec2)  # an IPAM VPC is compared within its own CIDR
            vpc_id, found = differences(plan, ec2)  # type: ignore[arg-type]
        cause = json.dumps({"vpcId": vpc_id, "differences": found})
        result = {
            "status": "drifted" if found else "compliant",
            "vpcId": vpc_id,
            "differences": found,
            "cause": cause[:MAX_CAUSE],
        }
    if result["status"] != "compliant":
        outcomes.announce(
            DRIFTED_EVENT,
            {
                "rolloutId": event["rolloutId"],
                "name": spec.name,
                "accountId": item["accountId"],
                "region": item["region"],
                "status": result["status"],
                "vpcId": result["vpcId"],
                "differences": result["differences"],
            },
        )
    logger.info(
        "audited", extra={"status": result["status"], "vpcId": result["vpcId"], "found": len(result["differences"])}
    )
    return result
