"""What is in the account, read through the Lambda package's catalog (``vpcfactory.inventory``):
every live resource the factory creates or could touch (:func:`account`), what one execution left
behind (:func:`tagged_with`), and the pre-existing resources no run may touch (:class:`Bystanders`,
set up by :func:`create_bystanders`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from vpcfactory import aws as factory_aws
from vpcfactory import inventory
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, tag_dict
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.reliability.conditions import settings
from vpcfactory_tools.reliability.specs import unique

# The kinds the factory creates or could touch, each with its one `live` rule, are the product's
# own catalog (vpcfactory.inventory), not the harness's.
EC2_KINDS = inventory.KINDS
_KIND_OF_TAG_TYPE = {t: kind for kind in EC2_KINDS for t in kind.tag_types}
LOG_GROUP = "log-group"


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    tags: dict[str, str]
    item: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return json.dumps(self.item, sort_keys=True, default=str)

    def __str__(self) -> str:
        logical = self.tags.get(TAG_LOGICAL_ID)
        return f"{self.kind} {self.id}" + (f" ({logical})" if logical else "")


def account(ec2: Any, logs: Any) -> dict[str, Resource]:
    """Every live resource of every kind the factory creates or could touch, by id."""
    found: dict[str, Resource] = {}
    for kind in EC2_KINDS:
        for item in factory_aws.describe_all(ec2, kind.operation, kind.key, []):
            if kind.live(item):
                found[item[kind.id_key]] = Resource(kind.name, item[kind.id_key], tag_dict(item.get("Tags")), item)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            arn = group["arn"].removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            found[group["logGroupName"]] = Resource(LOG_GROUP, group["logGroupName"], dict(tags), group)
    return found


def tagged_with(
    ec2: Any,
    logs: Any,
    execution: str,
    *,
    keep_log_groups: bool = False,
    state: dict[str, Resource] | None = None,
) -> list[str]:
    """Every live resource tagged ``vpcfactory:execution = execution``.

    Also, from DescribeTags, anything of a kind this module cannot list (a kind the factory
    started creating since): it cannot be checked for life, so it counts as left behind until
    :data:`EC2_KINDS` learns it. ``keep_log_groups``: destroy keeps the flow-log group on purpose.
    """
    live = state if state is not None else account(ec2, logs)
    left = [
        str(r)
        for r in live.values()
        if r.tags.get(TAG_EXECUTION) == execution and not (keep_log_groups and r.kind == LOG_GROUP)
    ]
    filters = [{"Name": "key", "Values": [TAG_EXECUTION]}, {"Name": "value", "Values": [execution]}]
    for tag in factory_aws.describe_all(ec2, "DescribeTags", "Tags", filters):
        if tag["ResourceType"] not in _KIND_OF_TAG_TYPE:
            left.append(f"{tag['ResourceType']} {tag['ResourceId']} (a kind the reliability runs cannot list)")
    return sorted(left)


@dataclass
class Bystanders:
    """The account before the runs: every resource there, to be found unchanged after each case."""

    before: dict[str, Resource]

    @classmethod
    def snapshot(cls, emu: EmbeddedEmulator) -> Bystanders:
        return cls(account(emu.client("ec2"), emu.client("logs")))

    def disturbed(self, emu: EmbeddedEmulator, state: dict[str, Resource] | None = None) -> list[str]:
        """Pre-existing resources that are gone or different now."""
        now = state if state is not None else account(emu.client("ec2"), emu.client("logs"))
        out = []
        for rid, was in self.before.items():
            if rid not in now:
                out.append(f"{was}: gone")
            elif now[rid].fingerprint != was.fingerprint:
                out.append(f"{was}: changed")
        return sorted(out)


def create_bystanders(emu: EmbeddedEmulator, spec: dict[str, Any] | None = None) -> list[str]:
    """Resources that exist before the runs and that no run may touch; returns their ids.

    A foreign (untagged) VPC with a subnet, a route table with a default route to its attached
    internet gateway, a NAT gateway with its Elastic IP, a security group; a spare Elastic IP;
    and, if ``spec`` is given, a VPC the factory built from it (tagged by another execution).
    They are set up as they would be long before the runs: with every new id visible at once.
    """
    emu.reconfigure(settings(emu, consistency_delay_seconds=0.0))
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.250.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    group = ec2.create_security_group(GroupName="theirs", Description="not the factory's", VpcId=vpc)
    spare = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ids = [vpc, subnet, igw, table, eip, nat, group["GroupId"], spare]
    if spec is not None:
        built = emu.build(unique(spec))
        if built.status != "SUCCEEDED":
            raise RuntimeError(f"the pre-existing factory VPC could not be built: {built.error}: {built.cause}")
        ids.append(built.vpc_id or "")
    # let the foreign NAT gateway become available: the snapshot must not catch it pending
    deadline = time.monotonic() + 60
    while ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] != "available":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{nat} did not become available")
        time.sleep(0.01)
    emu.reconfigure(settings(emu))
    return ids
