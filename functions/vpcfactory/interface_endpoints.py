"""Interface VPC endpoints (issue 14): the spec's `interfaceEndpoints`, their plan, build, wait,
verify, growth and teardown pieces.

    interfaceEndpoints: [ssm, ssmmessages, ec2messages]
    interfaceEndpoints: {services: [ssm, ecr.api, ecr.dkr], tier: app}

One endpoint per service (logical id `vpce/<service>`), in the chosen tier's subnets (the first
private tier by default; a private or isolated tier, never a public one), one subnet per zone, and
only in the zones the service is offered in. One security group of ours, `sg/endpoints`, allows
HTTPS (443) from the VPC's CIDR and is attached to every endpoint. Private DNS is on.

The AWS facts this module relies on (each decides something below):
- CreateVpcEndpoint (botocore's EC2 model; EC2 API reference): `VpcEndpointType=Interface`,
  `SubnetIds`, `SecurityGroupIds`, `PrivateDnsEnabled` (default true for AWS services),
  `ClientToken`, `TagSpecifications` (resource type `vpc-endpoint`). "You can specify only one
  subnet per Availability Zone" (DuplicateSubnetsInSameZone).
- The zones a service is offered in are `ServiceDetails[].AvailabilityZones` of
  DescribeVpcEndpointServices; a subnet in another zone is refused (InvalidParameter "does not
  support the availability zone of the subnet": AWS Knowledge Center,
  https://repost.aws/knowledge-center/interface-endpoint-availability-zone). The Region's full service
  name is read there too, never formatted (China Regions: cn.com.amazonaws...; see
  safeguards.gateway_service_names).
- Private DNS needs the VPC's enableDnsSupport AND enableDnsHostnames
  (https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html#vpc-dns-support:
  "To use private DNS for interface VPC endpoints, you must set both attributes to true"), and
  CreateVpcEndpoint refuses private DNS otherwise. Configure VPC runs only after this stage (in
  parallel with the wait), so `build` turns both on first (ModifyVpcAttribute takes one attribute
  per call; both calls are idempotent): the spec is not refused, the attributes are set.
- The endpoint's security group controls traffic to its network interfaces: "allow inbound HTTPS
  (port 443) from the VPC CIDR" (AWS PrivateLink guide, "Access an AWS service using an interface
  VPC endpoint", https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html).
- States: pendingAcceptance | pending | available | deleting | deleted | rejected | failed | expired
  (botocore `State` enum); AWS answers them capitalized (`Available`), moto lower case.
- DeleteVpcEndpoints deletes its network interfaces; until the endpoint is gone its interfaces keep
  DeleteSubnet (DependencyViolation) and DeleteSecurityGroup from working, so a teardown waits for it.
- ModifyVpcEndpoint `AddSubnetIds` adds a zone's subnet to an interface endpoint (day-2 growth).
- Price: billed "for each hour that your VPC endpoint remains provisioned in each Availability
  Zone" (https://aws.amazon.com/privatelink/pricing/): data/prices.json `interfaceEndpointAzHourly`.

The spec, plan and price side is interface_endpoints_spec.py (pure: spec.py and plan.py import it).
Pure parts here (problems, refused, describe_built, deleting_ids) make no AWS call. Lambda code:
boto3 only, through `aws`. No import of network (network -> plan -> spec): the build object is typed
by the small protocol below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from vpcfactory import aws, inventory
from vpcfactory.errors import AwsCallFailed, ResourceNotYetVisible, VpcEndpointFailed
from vpcfactory.interface_endpoints_spec import BROKEN_STATES, HTTPS, SECURITY_GROUP_ID
from vpcfactory.inventory import ENDPOINT, SECURITY_GROUP

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedInterfaceEndpoint

# -- build ----------------------------------------------------------------------------------------


class Builder(Protocol):
    """What this module needs of network.Build (not imported: network imports plan imports spec)."""

    plan: Plan
    ec2: Any

    def tag_spec(
        self, resource_type: str, logical_id: str, name: str, extra: dict[str, str] | None = None
    ) -> list[dict[str, Any]]: ...

    def client_token(self, logical_id: str) -> str: ...

    def existing(self, kind: Any) -> dict[str, dict]: ...

    def enable_dns(self, vpc_id: str) -> None: ...


def service_details(ec2: Any, services: list[str]) -> dict[str, dict[str, Any]]:
    """Each service key's interface service as EC2 lists it in this Region ({ServiceName,
    AvailabilityZones, ...}); raises AwsCallFailed InvalidServiceName naming a service EC2 does not offer."""
    region_name = ec2.meta.region_name
    details: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Filters": [{"Name": "service-type", "Values": ["Interface"]}]}
    while True:  # DescribeVpcEndpointServices pages by NextToken and has no paginator in botocore
        answer = aws.call("DescribeVpcEndpointServices", ec2.describe_vpc_endpoint_services, **kwargs)
        details += answer.get("ServiceDetails") or []
        if not answer.get("NextToken"):
            break
        kwargs["NextToken"] = answer["NextToken"]
    out: dict[str, dict[str, Any]] = {}
    for service in services:
        found = [
            d
            for d in details
            if str(d.get("ServiceName", "")).endswith(f".{region_name}.{service}")
            and any(t.get("ServiceType") == "Interface" for t in d.get("ServiceType") or [])
        ]
        found.sort(key=lambda d: (d.get("Owner") != "amazon", d["ServiceName"]))
        if not found:
            raise AwsCallFailed(
                "DescribeVpcEndpointServices",
                "InvalidServiceName",
                f"EC2 lists no {service} interface endpoint service in {region_name}: "
                "remove it from interfaceEndpoints",
            )
        out[service] = found[0]
    return out


def _vpc_of(build: Builder, subnets: Mapping[str, Mapping[str, Any]]) -> str:
    changes: Mapping[str, Any] = build.plan.get("changes") or {}
    if changes.get("vpcId"):
        return str(changes["vpcId"])
    first = next(iter(subnets.values()))["subnetId"]
    found = aws.call("DescribeSubnets", build.ec2.describe_subnets, SubnetIds=[first])["Subnets"]
    return str(found[0]["VpcId"])


def private_dns(detail: Mapping[str, Any]) -> bool:
    """Whether the endpoint of a service gets private DNS: on, for every service that has a private
    DNS name (the AWS services the spec names do)."""
    return bool(detail.get("PrivateDnsName") or detail.get("PrivateDnsNames"))


def ensure_security_group(build: Builder, vpc_id: str) -> str:
    """sg/endpoints: ours (tagged at creation), 443 in from the VPC's CIDR. Found again by its tags."""
    planned = build.plan.get("endpointSecurityGroup")
    assert planned is not None, "ensure_security_group runs only for a plan with interface endpoints"
    group = build.existing(SECURITY_GROUP).get(planned["logicalId"])
    if group is None:
        try:
            group = aws.call(
                "CreateSecurityGroup",
                build.ec2.create_security_group,
                GroupName=planned["name"],
                Description="VPC factory: HTTPS from the VPC to its interface endpoints",
                VpcId=vpc_id,
                TagSpecifications=build.tag_spec("security-group", planned["logicalId"], planned["name"]),
            )
        except AwsCallFailed as exc:
            # CreateSecurityGroup has no ClientToken: a retry whose first attempt created the group
            # (answer lost) but cannot find it by its tags yet (eventual consistency) gets
            # InvalidGroup.Duplicate for the name. Not yet visible: the ASL retries the stage.
            if exc.code != "InvalidGroup.Duplicate":
                raise
            raise ResourceNotYetVisible("CreateSecurityGroup", exc.code, str(exc), planned["name"]) from exc
        group = {"GroupId": group["GroupId"], "IpPermissions": []}
    aws.expect_fresh(group["GroupId"])
    cidr = build.plan["cidr"]
    if not _allows_https_from(group, cidr):
        try:
            aws.call(
                "AuthorizeSecurityGroupIngress",
                build.ec2.authorize_security_group_ingress,
                GroupId=group["GroupId"],
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": HTTPS,
                        "ToPort": HTTPS,
                        "IpRanges": [{"CidrIp": cidr, "Description": "HTTPS from the VPC"}],
                    }
                ],
            )
        except AwsCallFailed as exc:
            if exc.code != "InvalidPermission.Duplicate":  # a re-run after the rule went in
                raise
    return str(group["GroupId"])


def _allows_https_from(group: Mapping[str, Any], cidr: str) -> bool:
    for rule in group.get("IpPermissions") or []:
        https = rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == HTTPS and rule.get("ToPort") == HTTPS
        if https and any(r.get("CidrIp") == cidr for r in rule.get("IpRanges") or []):
            return True
    return False


def build(build: Builder, subnets: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Create (or find) every planned interface endpoint: logical id -> VpcEndpointId. Called by
    Create NAT Gateways: the build's wait polls the ids with the NAT gateways (waits.py)."""
    planned = build.plan.get("interfaceEndpoints") or []
    if not planned:
        return {}
    vpc_id = _vpc_of(build, subnets)
    # Private DNS needs both attributes on before CreateVpcEndpoint (module docstring).
    aws.call("ModifyVpcAttribute", build.ec2.modify_vpc_attribute, VpcId=vpc_id, EnableDnsSupport={"Value": True})
    build.enable_dns(vpc_id)
    group_id = ensure_security_group(build, vpc_id)
    found = build.existing(ENDPOINT)
    details = service_details(build.ec2, [e["service"] for e in planned])
    out: dict[str, str] = {}
    for endpoint in planned:
        offered = set(details[endpoint["service"]].get("AvailabilityZones") or [])
        subnet_ids = [subnets[s]["subnetId"] for s in endpoint["subnets"] if subnets[s]["az"] in offered]
        if not subnet_ids:
            raise AwsCallFailed(
                "DescribeVpcEndpointServices",
                "ServiceNotInTheseZones",
                f"{endpoint['service']} is offered in {', '.join(sorted(offered)) or 'no zone'}, none of the "
                f"zones of tier {endpoint['tier']}",
            )
        item = found.get(endpoint["logicalId"])
        if item is None:
            item = aws.call(
                "CreateVpcEndpoint",
                build.ec2.create_vpc_endpoint,
                VpcEndpointType="Interface",
                VpcId=vpc_id,
                ServiceName=details[endpoint["service"]]["ServiceName"],
                SubnetIds=subnet_ids,
                SecurityGroupIds=[group_id],
                # Private DNS only where the service has a private DNS name: AWS refuses it for
                # one without (ServiceDetail.PrivateDnsName, DescribeVpcEndpointServices).
                PrivateDnsEnabled=private_dns(details[endpoint["service"]]),
                ClientToken=build.client_token(endpoint["logicalId"]),
                TagSpecifications=build.tag_spec("vpc-endpoint", endpoint["logicalId"], endpoint["name"]),
            )["VpcEndpoint"]
        else:
            missing = sorted(set(subnet_ids) - set(item.get("SubnetIds") or []))
            if missing:  # day-2 growth added a zone
                aws.call(
                    "ModifyVpcEndpoint",
                    build.ec2.modify_vpc_endpoint,
                    VpcEndpointId=item["VpcEndpointId"],
                    AddSubnetIds=missing,
                )
        out[endpoint["logicalId"]] = item["VpcEndpointId"]
    return out


# -- the wait (waits.INTERFACE_ENDPOINT) -----------------------------------------------------------


def _state(item: Mapping[str, Any]) -> str:
    return str(item.get("State", "")).lower()


def describe(ec2: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """By id, through a filter: an id EC2 does not show yet is simply absent (no NotFound)."""
    filters = [{"Name": "vpc-endpoint-id", "Values": ids}]
    items = aws.call("DescribeVpcEndpoints", ec2.describe_vpc_endpoints, Filters=filters)["VpcEndpoints"]
    return {i["VpcEndpointId"]: i for i in items}


def ready(item: Mapping[str, Any]) -> bool:
    """An interface endpoint once `available`; a gateway endpoint is ready when created."""
    if str(item.get("VpcEndpointType", "")).lower() == "gateway":
        return _state(item) not in BROKEN_STATES + ("deleting", "deleted")
    return _state(item) == "available"


def failure(item: Mapping[str, Any]) -> Exception | None:
    state = _state(item)
    if state not in BROKEN_STATES and state not in ("deleting", "deleted"):
        return None
    reason = (item.get("LastError") or {}).get("Message") or ""
    return VpcEndpointFailed(
        f"{item.get('VpcEndpointId')} ({item.get('ServiceName')}) is {state}" + (f": {reason}" if reason else "")
    )


def deleted(ec2: Any, ids: list[str]) -> bool:
    """Every endpoint `deleted` or no longer listed (gateway endpoints: at once; interface
    endpoints: after `deleting`, when their network interfaces are gone)."""
    return all(_state(i) == "deleted" for i in describe(ec2, ids).values())


# -- teardown -------------------------------------------------------------------------------------


def deleting_ids(items: list[dict[str, Any]]) -> list[str]:
    """The interface endpoints (of a teardown's scope, listed whatever their state) whose deletion
    the teardown must wait for before it deletes subnets and the security group."""
    return sorted(
        i["VpcEndpointId"]
        for i in items
        if str(i.get("VpcEndpointType", "")).lower() == "interface" and _state(i) != "deleted"
    )


# -- verify (pure) --------------------------------------------------------------------------------


def problems(
    plan: Plan,
    ours: Mapping[str, Mapping[str, Any]],
    subnets: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Mapping[str, Any]],
    offered: Mapping[str, list[str]],
    without_private_dns: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Each planned endpoint is `available`, an interface endpoint with private DNS on, in exactly
    the planned subnets of the zones its service is offered in (`offered`: service key -> zones),
    with our security group, which allows 443 from the VPC's CIDR. `ours`/`subnets`/`groups`: the
    scope's endpoints, subnets and security groups by logical id."""
    planned: list[PlannedInterfaceEndpoint] = plan.get("interfaceEndpoints") or []
    if not planned:
        return []
    out: list[str] = []
    group_plan = plan.get("endpointSecurityGroup")
    group = groups.get(group_plan["logicalId"]) if group_plan else None
    if group is None:
        out.append(f"security group {SECURITY_GROUP_ID} is missing")
    elif not _allows_https_from(group, plan["cidr"]):
        out.append(f"security group {SECURITY_GROUP_ID} ({group['GroupId']}) does not allow 443 from {plan['cidr']}")
    for endpoint in planned:
        item = ours.get(endpoint["logicalId"])
        if item is None:
            out.append(f"interface endpoint {endpoint['logicalId']} ({endpoint['service']}) is missing")
            continue
        where = f"interface endpoint {endpoint['logicalId']} ({item['VpcEndpointId']})"
        if str(item.get("VpcEndpointType", "")).lower() != "interface":
            out.append(f"{where} is a {item.get('VpcEndpointType')} endpoint")
        if _state(item) != "available":
            out.append(f"{where} is {item.get('State')}")
        if not item.get("PrivateDnsEnabled") and endpoint["service"] not in without_private_dns:
            out.append(f"{where} has private DNS off")
        zones = set(offered.get(endpoint["service"]) or [])
        wanted = {
            subnets[s]["SubnetId"]
            for s in endpoint["subnets"]
            if s in subnets and subnets[s].get("AvailabilityZone") in zones
        }
        has = set(item.get("SubnetIds") or [])
        if has != wanted:
            out.append(f"{where} is in subnets {sorted(has)}, the plan wants {sorted(wanted)}")
        attached = {g.get("GroupId") for g in item.get("Groups") or []}
        if group is not None and group["GroupId"] not in attached:
            out.append(f"{where} does not have security group {SECURITY_GROUP_ID} ({group['GroupId']})")
    return out


def verify(plan: Plan, ec2: Any, snap: Any) -> list[str]:
    """problems() for a verify snapshot holding ENDPOINT and SUBNET of the plan's scope; reads the
    scope's security groups and the services' zones itself."""
    planned = plan.get("interfaceEndpoints") or []
    if not planned:
        return []
    groups = inventory.by_logical(inventory.owned(ec2, SECURITY_GROUP, snap.scope)) if snap.scope else {}
    details = service_details(ec2, sorted({e["service"] for e in planned}))
    offered = {svc: list(d.get("AvailabilityZones") or []) for svc, d in details.items()}
    without_private_dns = {svc for svc, d in details.items() if not private_dns(d)}
    return problems(plan, snap.mine(ENDPOINT), snap.mine("subnet"), groups, offered, without_private_dns)


def describe_built(plan: Plan, snap: Any) -> list[dict[str, Any]]:
    """Verify Network's output for the endpoints (pure): id, service name, state, subnets, groups."""
    ours = snap.mine(ENDPOINT)
    out = []
    for endpoint in plan.get("interfaceEndpoints") or []:
        item = ours.get(endpoint["logicalId"]) or {}
        out.append(
            {
                "logicalId": endpoint["logicalId"],
                "vpcEndpointId": item.get("VpcEndpointId"),
                "serviceName": item.get("ServiceName"),
                "state": item.get("State"),
                "subnetIds": sorted(item.get("SubnetIds") or []),
                "securityGroupIds": sorted(g.get("GroupId") for g in item.get("Groups") or []),
                "privateDnsEnabled": bool(item.get("PrivateDnsEnabled")),
            }
        )
    return out


# -- growth (pure) --------------------------------------------------------------------------------


def refused(plan: Plan, ours: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Interface endpoints a re-apply would remove (a service left out of the spec): refused like
    every removal. `ours`: the VPC's endpoints of this spec name, by logical id."""
    planned = {e["logicalId"] for e in plan.get("interfaceEndpoints") or []}
    return [
        f"{logical} ({item.get('ServiceName')}) would be removed"
        for logical, item in sorted(ours.items())
        if str(item.get("VpcEndpointType", "")).lower() == "interface" and logical not in planned
    ]
