"""VPC-wide settings a production network needs from its first minute, built during the NAT wait:
DNS hostnames, a default security group that allows nothing (Security Hub EC2.2), flow logs
(EC2.6) and the free S3/DynamoDB gateway endpoints on private and isolated route tables.

Each is idempotent like the build stages: found by ownership tags (or by its own identity, for
the default security group), created with a ClientToken where the API has one.

Flow logs to CloudWatch Logs need a delivery role in the account of the VPC (iam:PassRole cannot
pass a role of another account, and the role's trust and policy are scoped to one account). In
the factory's own account that is the template's `FlowLogsDeliveryRole`; in a target account it is
`vpcfactory-flow-logs-delivery`, looked up and, if missing, created there through the assumed role.
It is shared by every VPC of that account, so it carries the `vpcfactory:managed` mark and none of
a build's ownership tags: no rollback or destroy ever finds it, and none deletes it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.errors import AwsCallFailed, InvalidSpec
from vpcfactory.inventory import ENDPOINT, FLOW_LOG
from vpcfactory.observability import logger

if TYPE_CHECKING:  # types only: verify.py imports this module, and needs neither network nor spec
    from vpcfactory.contracts import BuiltRouteTable, PlannedFlowLogs
    from vpcfactory.network import Build
    from vpcfactory.spec import FlowLogs


def configure_vpc(
    build: Build, vpc_id: str, route_tables: dict[str, BuiltRouteTable], flow_logs_role_arn: str | None
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
        except AwsCallFailed as exc:
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
    assert flow is not None, "configure_vpc asks for flow logs only when the plan has them"
    found = build.existing(FLOW_LOG).get(flow["logicalId"])
    if found is not None:
        return found["FlowLogId"]
    kwargs: dict[str, Any] = {}
    if flow["destination"] == "s3":
        bucket, prefix = flow["bucketArn"], flow["prefix"]
        assert bucket is not None, "spec.FlowLogs: an s3 destination has a bucket"
        destination = bucket.rstrip("/")
        if prefix:
            destination = f"{destination}/{prefix.strip('/')}/"
        kwargs.update(LogDestinationType="s3", LogDestination=destination)
    else:
        role_arn = flow_logs_delivery_role(role_arn)
        if not role_arn:
            raise AwsCallFailed("CreateFlowLogs", "MissingDeliveryRole", "no flow-logs delivery role configured")
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
        raise AwsCallFailed("CreateFlowLogs", error.get("Code", "Unsuccessful"), error.get("Message", ""))
    return result["FlowLogIds"][0]


FLOW_LOGS_S3_BUCKET_POLICY_DOC = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html"
CREATE_BUCKET_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html"


def check_flow_log_bucket(flow: FlowLogs | None) -> None:
    """Flow logs to S3: refuse a bucket that does not exist before anything is created.

    AWS creates no flow log to a missing bucket (CreateFlowLogs answers `Unsuccessful`), and Configure
    VPC runs during the NAT wait, so without this the build would fail after its NATs and EIPs were
    made. Asked with S3 HeadBucket in this invocation's account (the target's role, for a cross-account
    build): only 404 refuses. 403 means the bucket exists but is not ours to read (another account's
    log archive, whose policy lets us deliver but not list) and the build goes on, as it does on any
    other answer: whether delivery works is Verify's to say (DeliverLogsStatus).
    """
    if flow is None or flow.destination != "s3" or not flow.bucket_arn:
        return
    bucket = flow.bucket_arn.split(":::", 1)[1].split("/", 1)[0]
    status = aws.bucket_status(bucket)
    if status != 404:
        if status not in (200, 403):
            logger.warning("flow-log bucket not checked", extra={"bucket": bucket, "headBucketStatus": status})
        return
    target = aws.current_target()
    where = f"account {target['accountId']}, as {target['roleName']}" if target else "the factory's account"
    raise InvalidSpec(
        "flowLogs.bucketArn",
        f"S3 bucket {bucket} does not exist (HeadBucket answered 404 Not Found in {where}); nothing was "
        f"created. Create it (aws s3 mb s3://{bucket}; {CREATE_BUCKET_DOC}) and give it the bucket policy "
        f"that lets delivery.logs.amazonaws.com write flow logs (README, Flow logs to S3; "
        f"{FLOW_LOGS_S3_BUCKET_POLICY_DOC}), or use destination cloud-watch-logs. The embedded emulator "
        "starts empty, so no bucket exists there: serve one with `vpcfactory emulator` (it prints its "
        f"endpoint), create the bucket with `aws s3 mb s3://{bucket} --endpoint-url ENDPOINT` and its policy "
        f"with `aws s3api put-bucket-policy --bucket {bucket} --policy file://policy.json --endpoint-url "
        "ENDPOINT`, then run `vpcfactory apply SPEC --endpoint-url ENDPOINT`",
    )


FLOW_LOGS_DELIVERY_ROLE = "vpcfactory-flow-logs-delivery"
FLOW_LOGS_DELIVERY_POLICY = "deliver-flow-logs"
TAG_MANAGED = "vpcfactory:managed"  # the factory's shared per-account resources; never a build's


def flow_logs_delivery_role(factory_role_arn: str | None) -> str | None:
    """The delivery role for flow logs to CloudWatch Logs in this invocation's account: the
    template's role in the factory's own account, a role of the target account otherwise."""
    target = aws.current_target()
    if target is None:
        return factory_role_arn
    return ensure_target_delivery_role(target["accountId"], target["region"])


def delivery_role_documents(account_id: str, region_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust policy, inline policy) of a target account's delivery role, as AWS documents them
    ("IAM role for publishing flow logs to CloudWatch Logs"): only VPC Flow Logs acting for this
    account may assume it, and it may write only to this account's log groups. Any Region: one
    role (IAM is global) serves the account's VPCs in every Region the factory builds in."""
    arn = f"arn:{aws.partition(region_name)}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"{arn}:ec2:*:{account_id}:vpc-flow-log/*"},
                },
            }
        ],
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeliverToLogGroupsOfThisAccount",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                ],
                "Resource": f"{arn}:logs:*:{account_id}:log-group:*",
            }
        ],
    }
    return trust, policy


def ensure_target_delivery_role(account_id: str, region_name: str) -> str:
    """Find or create the target account's delivery role (through the assumed role); its ARN.

    Idempotent and safe under concurrent builds: GetRole first; a CreateRole that answers
    EntityAlreadyExists lost a race to another build, which is success. The inline policy is put
    when it is missing (a build that died between CreateRole and PutRolePolicy is repaired by the
    next one). A role of that name without our mark is someone's own: used, never modified.
    """
    iam = aws.client("iam")
    trust, policy = delivery_role_documents(account_id, region_name)
    arn = f"arn:{aws.partition(region_name)}:iam::{account_id}:role/{FLOW_LOGS_DELIVERY_ROLE}"
    try:
        role = aws.call("GetRole", iam.get_role, RoleName=FLOW_LOGS_DELIVERY_ROLE)["Role"]
    except AwsCallFailed as exc:
        if exc.code != "NoSuchEntity":
            raise
        try:
            role = aws.call(
                "CreateRole",
                iam.create_role,
                RoleName=FLOW_LOGS_DELIVERY_ROLE,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="Lets VPC Flow Logs deliver to this account's CloudWatch Logs groups (VPC factory; "
                "shared by every VPC it builds here, kept by destroy).",
                Tags=[{"Key": TAG_MANAGED, "Value": "flow-logs-delivery-role"}],
            )["Role"]
        except AwsCallFailed as exc:
            if exc.code != "EntityAlreadyExists":
                raise
            return arn  # another build created it (and puts its policy)
    if TAG_MANAGED not in {t["Key"] for t in role.get("Tags") or []}:
        return role["Arn"]
    try:
        aws.call(
            "GetRolePolicy", iam.get_role_policy, RoleName=FLOW_LOGS_DELIVERY_ROLE, PolicyName=FLOW_LOGS_DELIVERY_POLICY
        )
    except AwsCallFailed as exc:
        if exc.code != "NoSuchEntity":
            raise
        aws.call(
            "PutRolePolicy",
            iam.put_role_policy,
            RoleName=FLOW_LOGS_DELIVERY_ROLE,
            PolicyName=FLOW_LOGS_DELIVERY_POLICY,
            PolicyDocument=json.dumps(policy),
        )
    return role["Arn"]


def ensure_log_group(build: Build, flow: PlannedFlowLogs) -> None:
    """The flow logs' log group, tagged as ours, with its retention. A group that already exists
    (someone else's, or an earlier build's) is used as it is and never deleted by us."""
    logs = aws.client("logs")
    name = flow["logGroupName"]
    assert name is not None, "spec.FlowLogs: a cloud-watch-logs destination has a log group"
    groups = aws.call("DescribeLogGroups", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if any(g["logGroupName"] == name for g in groups):
        return
    tags = build.tags_for(f"{flow['logicalId']}/log-group", name)
    try:
        aws.call("CreateLogGroup", logs.create_log_group, logGroupName=name, tags=tags)
    except AwsCallFailed as exc:
        if exc.code != "ResourceAlreadyExistsException":
            raise
    if days := flow["retentionDays"]:
        aws.call("PutRetentionPolicy", logs.put_retention_policy, logGroupName=name, retentionInDays=int(days))


def ensure_gateway_endpoints(build: Build, vpc_id: str, route_tables: dict[str, BuiltRouteTable]) -> dict[str, str]:
    """S3 and DynamoDB gateway endpoints (free) on the private and isolated route tables."""
    wanted = build.plan.get("gatewayEndpoints") or []
    if not wanted:
        return {}
    found = build.existing(ENDPOINT)
    missing_services = [e["service"] for e in wanted if e["logicalId"] not in found]
    service_names = gateway_service_names(build.ec2, missing_services) if missing_services else {}
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
                ServiceName=service_names[endpoint["service"]],
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


def gateway_service_names(ec2: Any, services: list[str]) -> dict[str, str]:
    """The Region's gateway endpoint service name of each service key (s3, dynamodb), as EC2
    lists it. Not formatted: in the China Regions S3 is `cn.com.amazonaws.cn-north-1.s3` while
    DynamoDB stays `com.amazonaws.cn-north-1.dynamodb`, and other partitions may differ again."""
    region_name = ec2.meta.region_name
    details = aws.describe_all(
        ec2,
        "DescribeVpcEndpointServices",
        "ServiceDetails",
        [{"Name": "service-type", "Values": ["Gateway"]}],
    )
    gateways = sorted(
        {
            d["ServiceName"]
            for d in details
            if any(t.get("ServiceType") == "Gateway" for t in d.get("ServiceType") or [])
        }
    )
    out: dict[str, str] = {}
    for service in services:
        names = [name for name in gateways if name.endswith(f".{region_name}.{service}")]
        if not names:
            raise AwsCallFailed(
                "DescribeVpcEndpointServices",
                "InvalidServiceName",
                f"EC2 lists no {service} gateway endpoint service in {region_name} (gateway services: "
                f"{', '.join(gateways) or 'none'}); turn gatewayEndpoints.{service} off for this Region",
            )
        out[service] = names[0]
    return out
