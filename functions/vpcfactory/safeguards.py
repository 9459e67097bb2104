"""VPC-wide settings a production network needs from its first minute, built during the NAT wait:
DNS hostnames, a default security group that allows nothing (Security Hub EC2.2), flow logs
(EC2.6) and the free S3/DynamoDB gateway endpoints on private and isolated route tables.

Each is idempotent like the build stages: found by ownership tags (or by its own identity, for
the default security group), created with a ClientToken where the API has one.
"""

from __future__ import annotations

from typing import Any

from vpcfactory import aws
from vpcfactory.errors import Ec2CallFailed
from vpcfactory.network import Build


def configure_vpc(
    build: Build, vpc_id: str, route_tables: dict[str, dict], flow_logs_role_arn: str | None
) -> dict[str, Any]:
    build.enable_dns(vpc_id)
    result: dict[str, Any] = {"dnsHostnames": True}
    if build.plan.get("lockDownDefaultSecurityGroup", True):
        result["defaultSecurityGroup"] = lock_down_default_security_group(build, vpc_id)
    if build.plan.get("flowLogs"):
        result["flowLogId"] = ensure_flow_logs(build, vpc_id, flow_logs_role_arn)
    result["gatewayEndpoints"] = ensure_gateway_endpoints(build, vpc_id, route_tables)
    return result


def default_security_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    groups = aws.call(
        "DescribeSecurityGroups",
        ec2.describe_security_groups,
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}],
    )["SecurityGroups"]
    return groups[0]


def lock_down_default_security_group(build: Build, vpc_id: str) -> str:
    """Revoke every rule of the VPC's default security group; done already is fine.

    Revoking a rule that is already gone answers InvalidPermission.NotFound: that is success
    (CDK's restrictDefaultSecurityGroup fails on it; we do not).
    """
    group = default_security_group(build.ec2, vpc_id)
    for operation, method, rules in (
        ("RevokeSecurityGroupIngress", build.ec2.revoke_security_group_ingress, group.get("IpPermissions")),
        (
            "RevokeSecurityGroupEgress",
            build.ec2.revoke_security_group_egress,
            group.get("IpPermissionsEgress"),
        ),
    ):
        if not rules:
            continue
        try:
            aws.call(operation, method, GroupId=group["GroupId"], IpPermissions=_revocable(rules))
        except Ec2CallFailed as exc:
            if exc.code != "InvalidPermission.NotFound":
                raise
    return group["GroupId"]


def _revocable(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Describe's rule shape, minus the read-only fields Revoke* rejects."""
    out = []
    for rule in rules:
        clean = {k: v for k, v in rule.items() if k in ("IpProtocol", "FromPort", "ToPort") and v is not None}
        for key, keep in (
            ("IpRanges", ("CidrIp",)),
            ("Ipv6Ranges", ("CidrIpv6",)),
            ("PrefixListIds", ("PrefixListId",)),
            ("UserIdGroupPairs", ("GroupId", "UserId")),
        ):
            items = [{k: v for k, v in item.items() if k in keep} for item in rule.get(key) or []]
            if items:
                clean[key] = items
        out.append(clean)
    return out


def ensure_flow_logs(build: Build, vpc_id: str, role_arn: str | None) -> str:
    flow = build.plan["flowLogs"]
    found = build.existing("DescribeFlowLogs", "FlowLogs", vpc_filter="resource-id").get(flow["logicalId"])
    if found is not None:
        return found["FlowLogId"]
    kwargs: dict[str, Any] = {}
    if flow["destination"] == "s3":
        destination = flow["bucketArn"].rstrip("/")
        if flow.get("prefix"):
            destination = f"{destination}/{flow['prefix'].strip('/')}/"
        kwargs.update(LogDestinationType="s3", LogDestination=destination)
    else:
        if not role_arn:
            raise Ec2CallFailed("CreateFlowLogs", "MissingDeliveryRole", "no flow-logs delivery role configured")
        ensure_log_group(build, flow)
        kwargs.update(
            LogDestinationType="cloud-watch-logs",
            LogGroupName=flow["logGroupName"],
            DeliverLogsPermissionArn=role_arn,
        )
    result = aws.call(
        "CreateFlowLogs",
        build.ec2.create_flow_logs,
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType=flow["trafficType"],
        MaxAggregationInterval=int(flow["maxAggregationInterval"]),
        ClientToken=build.client_token(flow["logicalId"]),
        TagSpecifications=build.tag_spec("vpc-flow-log", flow["logicalId"], flow["name"]),
        **kwargs,
    )
    if result.get("Unsuccessful"):
        error = result["Unsuccessful"][0].get("Error", {})
        raise Ec2CallFailed("CreateFlowLogs", error.get("Code", "Unsuccessful"), error.get("Message", ""))
    return result["FlowLogIds"][0]


def ensure_log_group(build: Build, flow: dict[str, Any]) -> None:
    """The flow logs' log group, tagged as ours, with its retention. A group that already exists
    (someone else's, or an earlier build's) is used as it is and never deleted by us."""
    logs = aws.client("logs")
    name = flow["logGroupName"]
    groups = aws.call("DescribeLogGroups", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if any(g["logGroupName"] == name for g in groups):
        return
    tags = build.tags_for(f"{flow['logicalId']}/log-group", name)
    try:
        aws.call("CreateLogGroup", logs.create_log_group, logGroupName=name, tags=tags)
    except Ec2CallFailed as exc:
        if exc.code != "ResourceAlreadyExistsException":
            raise
    if flow.get("retentionDays"):
        aws.call(
            "PutRetentionPolicy",
            logs.put_retention_policy,
            logGroupName=name,
            retentionInDays=int(flow["retentionDays"]),
        )


def ensure_gateway_endpoints(build: Build, vpc_id: str, route_tables: dict[str, dict]) -> dict[str, str]:
    """S3 and DynamoDB gateway endpoints (free) on the private and isolated route tables."""
    wanted = build.plan.get("gatewayEndpoints") or []
    if not wanted:
        return {}
    found = build.existing("DescribeVpcEndpoints", "VpcEndpoints")
    out: dict[str, str] = {}
    for endpoint in wanted:
        table_ids = sorted(route_tables[logical]["routeTableId"] for logical in endpoint["routeTables"])
        item = found.get(endpoint["logicalId"])
        if item is None:
            item = aws.call(
                "CreateVpcEndpoint",
                build.ec2.create_vpc_endpoint,
                VpcEndpointType="Gateway",
                VpcId=vpc_id,
                ServiceName=endpoint["serviceName"],
                RouteTableIds=table_ids,
                ClientToken=build.client_token(endpoint["logicalId"]),
                TagSpecifications=build.tag_spec("vpc-endpoint", endpoint["logicalId"], endpoint["name"]),
            )["VpcEndpoint"]
        else:
            missing = sorted(set(table_ids) - set(item.get("RouteTableIds", [])))
            if missing:  # day-2 growth added route tables
                aws.call(
                    "ModifyVpcEndpoint",
                    build.ec2.modify_vpc_endpoint,
                    VpcEndpointId=item["VpcEndpointId"],
                    AddRouteTableIds=missing,
                )
        out[endpoint["logicalId"]] = item["VpcEndpointId"]
    return out
