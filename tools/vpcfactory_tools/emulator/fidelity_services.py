"""Fidelity patches for what a VPC reaches beyond EC2: flow-log delivery to S3, and the names of
the AWS services a VPC endpoint can reach. Installed (and pinned) by :mod:`.fidelity`, like its own.

- Flow logs to S3: AWS creates the flow log whatever the bucket policy says, and reports
  ``DeliverLogsStatus: FAILED`` with ``DeliverLogsErrorMessage: Access error`` when the log delivery
  service may not write (EC2 API reference, ``FlowLog``; VPC User Guide, "Publish flow logs to
  Amazon S3", permissions). moto 5.2.5 reports ``SUCCESS`` for any existing bucket.
- Endpoint service names: in the China Regions (partition aws-cn) S3's endpoint service is
  ``cn.com.amazonaws.<region>.s3`` (DynamoDB stays ``com.amazonaws.<region>.dynamodb``); moto lists
  ``com.amazonaws.<region>.s3`` there. And CreateVpcEndpoint refuses a service name that
  DescribeVpcEndpointServices does not list (``InvalidServiceName``); moto accepts any string.
  A gateway endpoint to such a ``cn.`` service routes to the service's prefix list as anywhere
  else; moto finds a prefix list only by the exact service name, so it added no route at all.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import moto
from moto.ec2.exceptions import InvalidServiceName

# sha256[:16] of the moto code these patches wrap or read (see fidelity.PINNED_SOURCES).
PINNED_SOURCES: dict[str, str] = {
    # patched (wrapped)
    "moto.ec2.models.vpcs:VPCBackend.create_vpc_endpoint": "1aee19202a6094e7",
    "moto.ec2.models.vpcs:VPCBackend._collect_default_endpoint_services": "bcaf5d279ad95f87",
    # relied on: the Region's AWS-managed prefix lists (named com.amazonaws.<region>.<svc>)
    "moto.ec2.models.managed_prefixes:ManagedPrefixListBackend.create_default_pls": "f05bebac59269c6e",
    # relied on: the callers and attributes the patches read
    "moto.ec2.models.vpcs:VPCBackend.describe_vpc_endpoint_services": "1cafcafe3fcb8fb2",
    "moto.ec2.models.vpc_service_configuration:VPCServiceConfiguration.__init__": "a863286901f08192",
    "moto.ec2.models.flow_logs:FlowLogs.__init__": "3933cbd99d48a384",
    "moto.s3.models:FakeBucket.__init__": "8965d4badfeec9f4",
    "moto.s3.models:FakeBucket.get_permission": "7571412a3495a0e3",
}

LOG_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"
ACCESS_ERROR = "Access error"  # AWS's DeliverLogsErrorMessage when the destination refuses delivery

# Services whose endpoint service name in the China Regions is cn.com.amazonaws.<region>.<svc>
# (seen in `aws ec2 describe-vpc-endpoint-services` there; AWS CDK keeps the same exception list).
# Only the ones the factory uses: the rest keep moto's com.amazonaws.<region>.<svc>.
CN_PREFIXED_SERVICES = frozenset({"s3"})


# --- flow logs to S3: the bucket policy decides ---------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _allows_log_delivery(statement: dict[str, Any], object_arn: str, account_id: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (
        isinstance(principal, dict)
        and (
            LOG_DELIVERY_PRINCIPAL in _as_list(principal.get("Service", []))
            or "*" in _as_list(principal.get("AWS", []))
        )
    ):
        return False
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase("s3:putobject", action) for action in actions):
        return False
    if not any(fnmatch.fnmatchcase(object_arn, resource) for resource in _as_list(statement.get("Resource", []))):
        return False
    source_accounts = (statement.get("Condition") or {}).get("StringEquals", {}).get("aws:SourceAccount")
    return source_accounts is None or account_id in _as_list(source_accounts)


def s3_delivery_allowed(policy: str | bytes | None, log_destination: str, account_id: str, region: str) -> bool:
    """Whether a bucket policy lets the log delivery service write this flow log's objects.

    Deliberately minimal: an Allow statement whose principal is the service
    ``delivery.logs.amazonaws.com`` (or ``*``), whose actions cover ``s3:PutObject`` and whose
    resources match the object key AWS writes
    (``<bucket>/<prefix>/AWSLogs/<account>/vpcflowlogs/<region>/...``), with an
    ``aws:SourceAccount`` condition, if any, naming the flow log's account. Other conditions, Deny
    statements, ACLs and s3:GetBucketAcl are not evaluated.
    """
    if not policy:
        return False
    try:
        document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    except ValueError:
        return False
    object_arn = f"{log_destination.rstrip('/')}/AWSLogs/{account_id}/vpcflowlogs/{region}/2025/01/01/flow.log.gz"
    return any(
        _allows_log_delivery(statement, object_arn, account_id)
        for statement in _as_list(document.get("Statement", []))
        if isinstance(statement, dict)
    )


def patch_flow_logs_s3_delivery(original: Callable[..., Any]) -> Callable[..., Any]:
    """A flow log to S3 whose bucket policy does not allow delivery is created, then FAILED.

    AWS: CreateFlowLogs succeeds; DescribeFlowLogs reports ``DeliverLogsStatus: FAILED`` and
    ``DeliverLogsErrorMessage: Access error`` (``FlowLog`` in botocore's EC2 model: "Access error"
    when the destination refuses the log delivery service). The bucket needs the delivery policy
    of "Publish flow logs to Amazon S3" (principal ``delivery.logs.amazonaws.com``). moto 5.2.5:
    ``SUCCESS`` for any existing bucket. Here the bucket policy is evaluated once, at creation,
    by :func:`s3_delivery_allowed`.
    """

    def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
        created, unsuccessful = original(self, *args, **kwargs)
        from moto.s3.models import s3_backends

        for flow_log in created:
            if flow_log.log_destination_type != "s3" or not flow_log.log_destination:
                continue
            bucket_name = flow_log.log_destination.split(":", 5)[5].split("/", 1)[0]
            bucket = s3_backends[self.account_id][self.partition].buckets.get(bucket_name)
            policy = getattr(bucket, "policy", None)
            if not s3_delivery_allowed(policy, flow_log.log_destination, self.account_id, self.region_name):
                flow_log.deliver_logs_status = "FAILED"
                flow_log.deliver_logs_error_message = ACCESS_ERROR
        return created, unsuccessful

    return create_flow_logs


# --- VPC endpoint service names ------------------------------------------------------------------


def patch_partition_service_names(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeVpcEndpointServices names S3 ``cn.com.amazonaws.<region>.s3`` in the China Regions.

    AWS: in cn-north-1 and cn-northwest-1 several services, S3 among them, have endpoint service
    names ``cn.com.amazonaws.<region>.<svc>``, while DynamoDB keeps ``com.amazonaws.<region>.dynamodb``
    (``aws ec2 describe-vpc-endpoint-services`` there). moto 5.2.5: ``com.amazonaws.<region>.s3``.
    Here the services in :data:`CN_PREFIXED_SERVICES` are renamed for ``cn-*`` Regions (copies:
    moto's cache of default services is left as it is).
    """

    def collect_default_endpoint_services(account_id: str, region: str) -> list[dict[str, Any]]:
        services = _stored_default_services(original, account_id, region)
        if not region.startswith("cn-"):
            return services
        renamed = {f"com.amazonaws.{region}.{svc}" for svc in CN_PREFIXED_SERVICES}
        return [
            {**service, "ServiceName": f"cn.{service['ServiceName']}"}
            if service.get("ServiceName") in renamed
            else service
            for service in services
        ]

    return collect_default_endpoint_services


ENDPOINT_SERVICES_KIND = "vpc-endpoint-services"
_OWN_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _stored_default_services(original: Callable[..., Any], account_id: str, region: str) -> list[dict[str, Any]]:
    """moto's default endpoint services of ``region``, kept on disk between processes (disk_cache).

    moto computes them once per process and Region (its ``DEFAULT_VPC_ENDPOINT_SERVICES``, for any
    account) by importing and instantiating the backends of eleven services (CloudFormation,
    SageMaker, IoT...): ~0.5 s of CPU, paid by every CLI run and served emulator at the first
    build's DescribeVpcEndpointServices. They are the same in every process but for the
    ``ServiceId`` moto draws at random for each; an entry read back is put in moto's own cache,
    which moto then answers from as if it had computed it (the ids those of the process that
    stored it). The entry is named by the Region, its zones and moto's version."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
    from moto.ec2.models.vpcs import DEFAULT_VPC_ENDPOINT_SERVICES, ENDPOINT_SERVICE_COLLECTION_LOCK

    from . import disk_cache

    if region in DEFAULT_VPC_ENDPOINT_SERVICES:  # computed (or being computed) in this process
        return original(account_id, region)
    zones = sorted(z.name for zs in RegionsAndZonesBackend.zones.values() for z in zs if z.name.startswith(region))
    # moto's version and the source of this module (which patches how moto lists them): a change of
    # either is a new entry
    name = disk_cache.key({"region": region, "zones": zones, "moto": moto.__version__, "patches": _OWN_SOURCE})
    stored = disk_cache.read(ENDPOINT_SERVICES_KIND, name)
    if isinstance(stored, list) and all(isinstance(service, dict) for service in stored):
        with ENDPOINT_SERVICE_COLLECTION_LOCK:
            DEFAULT_VPC_ENDPOINT_SERVICES.setdefault(region, stored)
        return original(account_id, region)
    services = original(account_id, region)
    disk_cache.write(ENDPOINT_SERVICES_KIND, name, services)
    return services


def listed_service_names(backend: Any) -> set[str]:
    """Every service name DescribeVpcEndpointServices lists for this backend's account and Region."""
    names = {
        s["ServiceName"] for s in backend._collect_default_endpoint_services(backend.account_id, backend.region_name)
    }
    names |= {c.service_name for c in backend.configurations.values()}
    return names


def patch_vpc_endpoint_unknown_service(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateVpcEndpoint refuses a service name DescribeVpcEndpointServices does not list.

    AWS: ``InvalidServiceName`` "The Vpc Endpoint Service '<name>' does not exist" (EC2 API error
    codes) -- e.g. ``com.amazonaws.cn-north-1.s3``, whose real name is
    ``cn.com.amazonaws.cn-north-1.s3``. moto 5.2.5: any string is accepted (and only
    DescribeVpcEndpointServices' ``ServiceNames`` parameter is checked).
    """

    def create_vpc_endpoint(self: Any, vpc_id: str, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name not in listed_service_names(self):
            raise InvalidServiceName(service_name)
        return original(self, vpc_id, service_name, *args, **kwargs)

    return create_vpc_endpoint


def patch_partition_gateway_endpoint_routes(original: Callable[..., Any]) -> Callable[..., Any]:
    """A gateway endpoint to a ``cn.``-named service routes to that service's prefix list.

    AWS: creating a gateway endpoint adds, to each of its route tables, a route whose destination
    is the service's prefix list and whose target is the endpoint (Amazon VPC User Guide, "Gateway
    endpoints", routing) -- in the China Regions too, where S3's service is
    ``cn.com.amazonaws.<region>.s3``. moto 5.2.5 looks the prefix list up by the exact service
    name, and its S3 list is ``com.amazonaws.<region>.s3``: the endpoint got no prefix list and
    its route tables no route (Verify reports exactly that). Here such an endpoint takes the list
    of the same service without the ``cn.`` prefix, and its routes are added as moto adds them.
    """

    def create_vpc_endpoint(self: Any, vpc_id: str, service_name: str, *args: Any, **kwargs: Any) -> Any:
        endpoint = original(self, vpc_id, service_name, *args, **kwargs)
        interface = str(endpoint.vpc_endpoint_type or "").lower() == "interface"
        if interface or endpoint.destination_prefix_list_id or not service_name.startswith("cn."):
            return endpoint
        plain = service_name.removeprefix("cn.")
        prefix_list = next((p for p in self.managed_prefix_lists.values() if p.prefix_list_name == plain), None)
        if prefix_list is None:
            return endpoint
        endpoint.destination_prefix_list_id = prefix_list.id
        for route_table_id in endpoint.route_table_ids or []:
            self.create_route(route_table_id, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list.id)
        return endpoint

    return create_vpc_endpoint


# --- S3 bucket policies: a statement applies only when its condition holds -------------------------

# What every request the emulator serves is, for a bucket policy's conditions: boto3 (the handlers,
# the engine, the tests, the AWS CLI) reaches S3 over HTTPS, so aws:SecureTransport is true.
REQUEST_CONDITION_VALUES = {"aws:SecureTransport": "true"}


def _condition_holds(condition: dict[str, Any]) -> bool | None:
    """Whether a statement's Condition holds for an emulator request: None when it tests a key the
    emulator cannot know (the statement is then left to moto)."""
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            if key not in REQUEST_CONDITION_VALUES or operator not in ("Bool", "StringEquals"):
                return None
            if REQUEST_CONDITION_VALUES[key] not in [str(v).lower() for v in _as_list(wanted)]:
                return False
    return True


def patch_bucket_policy_conditions(original: Callable[..., Any]) -> Callable[..., Any]:
    """``FakeBucket.get_permission``: AWS applies a bucket policy statement only when its Condition
    holds (IAM User Guide, "Condition"); moto 5.2.5 evaluates a bucket policy without any request
    context and answers DENIED for every statement with a Condition, whatever its Effect. So the
    usual TLS-only statement (Deny s3:* when aws:SecureTransport is false, S3 User Guide, "Security
    best practices") denied every request. Here statements whose condition does not hold for an
    HTTPS request are left out before moto evaluates the rest."""

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        document = json.loads(self.policy)
        statements = _as_list(document.get("Statement", []))
        kept = []
        for statement in statements:
            holds = _condition_holds(statement.get("Condition") or {})
            if holds is True:  # applies: without the condition moto cannot misread
                kept.append({k: v for k, v in statement.items() if k != "Condition"})
            elif holds is None:  # a condition the emulator cannot decide: moto's answer
                kept.append(statement)
        saved = self.policy
        try:
            self.policy = json.dumps({**document, "Statement": kept}).encode()
            return original(self, action, resource)
        finally:
            self.policy = saved

    return get_permission
