"""What the factory tells the world when a build or destroy ends.

- SSM parameters in the target account (`/vpcfactory/{name}/...`), so a pipeline step in that
  account reads the VPC id and subnets without knowing the factory exists; destroy removes them.
- An event on the factory account's default bus (source `vpcfactory`, `VPC Ready` /
  `VPC Build Failed` / `VPC Destroyed`), so downstream steps can wait on it.
- The CloudFormation custom-resource response, when CloudFormation asked for the build.

The custom resource's ResponseURL is a pre-signed S3 URL: a credential. The provider stores it
in an SSM SecureString parameter named by the request id and only the request id travels
through the execution, so the URL never appears in execution history, state-machine logs or
Lambda logs. The responder reads it, PUTs the response and deletes the parameter.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vpcfactory import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent

OUTPUT_PREFIX = "/vpcfactory"
REQUEST_PREFIX = "/vpcfactory/cfn-requests"
ROLLBACK_PREFIX = "/vpcfactory/cfn-rollbacks"
FAILED_PREFIX = "vpcfactory-failed-"
EVENT_SOURCE = "vpcfactory"
MAX_RESPONSE_BYTES = 4096
MAX_REASON = 1000


# -- SSM outputs in the target account ----------------------------------------------------------
def output_parameters(network: dict[str, Any]) -> dict[str, str]:
    name = network["name"]
    base = f"{OUTPUT_PREFIX}/{name}"
    params = {
        f"{base}/vpc-id": network["vpcId"],
        f"{base}/cidr": network["cidr"],
        f"{base}/availability-zones": ",".join(network["availabilityZones"]),
        f"{base}/nat-gateway-ids": ",".join(n["natGatewayId"] for n in network["natGateways"]) or "none",
        f"{base}/route-table-ids": ",".join(rt["routeTableId"] for rt in network["routeTables"]),
    }
    for tier, subnets in network["subnets"].items():
        params[f"{base}/subnets/{tier}"] = ",".join(s["subnetId"] for s in subnets)
    if network.get("ipv6Cidr"):
        params[f"{base}/ipv6-cidr"] = network["ipv6Cidr"]
    return params


def publish_outputs(network: dict[str, Any]) -> list[str]:
    ssm = aws.client("ssm")
    params = output_parameters(network)
    for name, value in params.items():
        aws.call("PutParameter", ssm.put_parameter, Name=name, Value=value, Type="String", Overwrite=True)
    return sorted(params)


def remove_outputs(name: str, vpc_id: str | None = None) -> list[str]:
    """Every parameter under /vpcfactory/{name}/ (the namespace is the factory's).

    With `vpc_id`, only if the outputs describe that VPC: a replacing Update publishes the new
    VPC under the same name before CloudFormation deletes the old one, and destroying the old
    one must not unpublish the new one. Outputs without a `vpc-id` (a publish cut short) describe
    no other VPC and go."""
    ssm = aws.client("ssm")
    if vpc_id:
        current = aws.call("GetParameter", ssm.get_parameter, missing_ok=True, Name=f"{OUTPUT_PREFIX}/{name}/vpc-id")
        if current and current["Parameter"]["Value"] != vpc_id:
            return []
    found: list[str] = []
    pages = aws.call(
        "GetParametersByPath",
        lambda **kw: list(ssm.get_paginator("get_parameters_by_path").paginate(**kw)),
        Path=f"{OUTPUT_PREFIX}/{name}/",
        Recursive=True,
    )
    for page in pages:
        found += [p["Name"] for p in page.get("Parameters", [])]
    for start in range(0, len(found), 10):  # DeleteParameters takes at most 10 names
        aws.call("DeleteParameters", ssm.delete_parameters, Names=found[start : start + 10])
    return found


# -- events on the factory's bus -----------------------------------------------------------------
def announce(detail_type: str, detail: dict[str, Any]) -> None:
    events = aws.client("events", own_account=True)
    entry = {"Source": EVENT_SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)[:200_000]}
    result = aws.call("PutEvents", events.put_events, Entries=[entry])
    if result.get("FailedEntryCount"):
        code = result["Entries"][0].get("ErrorCode", "Failed")
        raise aws.AwsCallFailed("PutEvents", code, result["Entries"][0].get("ErrorMessage", ""))


# -- CloudFormation custom resource ------------------------------------------------------------------
def store_request(event: CloudFormationCustomResourceEvent | Mapping[str, Any]) -> str:
    """Provider side: keep the request's ResponseURL and identity out of the execution."""
    # Imported here: the data_classes package loads every event class Powertools has (~10 ms of
    # each cold start), and only the provider, which has loaded it already, stores a request.
    from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent

    if not isinstance(event, CloudFormationCustomResourceEvent):
        event = CloudFormationCustomResourceEvent(dict(event))
    request_id = event.request_id
    record = {
        "responseUrl": event.response_url,
        "stackId": event.stack_id,
        "requestId": request_id,
        "logicalResourceId": event.logical_resource_id,
        "requestType": event.request_type,
        "physicalResourceId": event.physical_resource_id or None,
    }
    ssm = aws.client("ssm", own_account=True)
    aws.call(
        "PutParameter",
        ssm.put_parameter,
        Name=request_parameter(request_id),
        Value=json.dumps(record),
        Type="SecureString",
        Tier="Intelligent-Tiering",
        Overwrite=True,
    )
    return request_id


def request_parameter(request_id: str) -> str:
    return f"{REQUEST_PREFIX}/{re.sub(r'[^A-Za-z0-9_.-]', '-', request_id)}"


def execution_name(request_id: str) -> str:
    """The build or destroy execution a custom-resource request starts (a resent request reuses it)."""
    return f"cfn-{request_id}"[:80]


def failed_physical_id(request_id: str) -> str:
    """The physical id of a Create that failed: it names the request, hence the execution."""
    return f"{FAILED_PREFIX}{request_id}"


# -- a failed Create whose rollback left resources ------------------------------------------------
# Report Failure records it (factory account, SecureString: the target may hold an external id)
# when it answers a Create FAILED with leftovers; the Delete CloudFormation sends for that
# resource reads it back and tears down exactly what the execution created; Report Destroyed
# forgets it. Only the factory writes these, so a physical id naming any other execution (a
# forged one, or a Create that rolled back cleanly) finds no record and tears nothing down.
def record_rollback(execution: str, target: dict[str, Any] | None, flow_logs: dict[str, Any] | None) -> None:
    ssm = aws.client("ssm", own_account=True)
    aws.call(
        "PutParameter",
        ssm.put_parameter,
        Name=rollback_parameter(execution),
        Value=json.dumps({"execution": execution, "target": target, "flowLogs": flow_logs}),
        Type="SecureString",
        Overwrite=True,
    )


def pending_rollback(execution: str) -> dict[str, Any] | None:
    ssm = aws.client("ssm", own_account=True)
    stored = aws.call(
        "GetParameter", ssm.get_parameter, missing_ok=True, Name=rollback_parameter(execution), WithDecryption=True
    )
    return json.loads(stored["Parameter"]["Value"]) if stored else None


def forget_rollback(execution: str) -> None:
    ssm = aws.client("ssm", own_account=True)
    aws.call("DeleteParameter", ssm.delete_parameter, missing_ok=True, Name=rollback_parameter(execution))


def rollback_parameter(execution: str) -> str:
    return f"{ROLLBACK_PREFIX}/{re.sub(r'[^A-Za-z0-9_.-]', '-', execution)}"


def respond(
    request_id: str,
    status: str,
    *,
    physical_id: str | None = None,
    data: dict[str, str] | None = None,
    reason: str | None = None,
) -> bool:
    """Send SUCCESS/FAILED for a stored request. False if it was already answered."""
    ssm = aws.client("ssm", own_account=True)
    name = request_parameter(request_id)
    stored = aws.call("GetParameter", ssm.get_parameter, missing_ok=True, Name=name, WithDecryption=True)
    if not stored:
        return False
    record = json.loads(stored["Parameter"]["Value"])
    physical = physical_id or record.get("physicalResourceId") or failed_physical_id(request_id)
    body = build_response(record, status, physical, data or {}, reason)
    if len(body) > MAX_RESPONSE_BYTES and status == "SUCCESS":
        body = build_response(
            record,
            "FAILED",
            physical,
            {},
            f"the response would be {len(body)} bytes, over CloudFormation's {MAX_RESPONSE_BYTES}: "
            f"read the outputs from SSM {OUTPUT_PREFIX}/<name>/ instead of Fn::GetAtt for this many subnets",
        )
    request = urllib.request.Request(record["responseUrl"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - CloudFormation's pre-signed URL
        answer.read()
    aws.call("DeleteParameter", ssm.delete_parameter, missing_ok=True, Name=name)
    return True


def build_response(
    record: dict[str, Any], status: str, physical: str, data: dict[str, str], reason: str | None
) -> bytes:
    response = {
        "Status": status,
        "PhysicalResourceId": physical,
        "StackId": record["stackId"],
        "RequestId": record["requestId"],
        "LogicalResourceId": record["logicalResourceId"],
        "Data": data,
    }
    if reason or status == "FAILED":
        response["Reason"] = (reason or "failed")[:MAX_REASON]
    return json.dumps(response).encode()


def response_data(network: dict[str, Any]) -> dict[str, str]:
    """Fn::GetAtt attributes: VpcId, CidrBlock, <Tier>SubnetIds, NatGatewayIds, RouteTableIds."""
    data = {
        "VpcId": network["vpcId"],
        "CidrBlock": network["cidr"],
        "NatGatewayIds": ",".join(n["natGatewayId"] for n in network["natGateways"]),
        "RouteTableIds": ",".join(rt["routeTableId"] for rt in network["routeTables"]),
    }
    for tier, subnets in network["subnets"].items():
        data[f"{pascal(tier)}SubnetIds"] = ",".join(s["subnetId"] for s in subnets)
    return data


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)
