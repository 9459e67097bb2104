"""IAM in the emulator: every AWS request a Lambda handler makes is authorized, before it is sent,
against the policies of the identity making it, as AWS would.

- **Who**: a handler in the factory's account acts as its function's execution role (the role the
  deploy created from the SAM-translated template, with its managed and inline policies, read from
  moto's IAM); a handler working in a target account acts as the role it assumed there. A target
  account's role that moto's IAM does not hold is taken to be what Control Tower / Organizations
  give it (``AWSControlTowerExecution`` and ``OrganizationAccountAccessRole`` carry
  ``AdministratorAccess``); that is an assumption of the emulator, said in :data:`ASSUMED_ROLE_POLICY`.
- **What**: :mod:`.authorization` turns the request into the authorizations AWS makes (action,
  resource ARN, condition keys, per the Service Authorization Reference).
- **How**: a real evaluator, ``@cloud-copilot/iam-simulate`` (:mod:`.iam_evaluator`), decides each one.
- A denied request fails as AWS fails it, before the service sees it: ``UnauthorizedOperation``
  (EC2, HTTP 403), ``AccessDenied`` (STS, IAM), ``AccessDeniedException`` (JSON services), with
  AWS's message shape ("User: ... is not authorized to perform: ... on resource: ...").

The hook is client-side (botocore's ``before-parameter-build`` keeps the API parameters,
``before-call`` answers for a denied request), so it works the same in the embedded and the
served emulator: the handlers always run in the emulator's process. Requests made by anything
but a handler (a test's client, the AWS CLI against a served emulator) are not evaluated.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders

from . import lambda_runtime
from .authorization import Authorization, Caller, authorizations
from .patching import Patcher, PatchSet
from .settings import current

DEFAULT_ACCOUNT = "123456789012"
API_PARAMS = "vpcfactory_api_params"
# What a role in a target account that moto's IAM does not hold is assumed to allow.
ASSUMED_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AdministratorAccessAssumedByTheEmulator", "Effect": "Allow", "Action": "*", "Resource": "*"}
    ],
}
QUERY_PROTOCOL_CODES = {"ec2": "UnauthorizedOperation", "sts": "AccessDenied", "iam": "AccessDenied"}

_lock = threading.Lock()
_stats: Counter[str] = Counter()
_totals: Counter[str] = Counter()  # since the process started (reset_stats keeps them)
_denials: list[dict[str, Any]] = []
_MAX_DENIALS = 1000


@dataclass(frozen=True)
class Identity:
    """The principal a request is made as, and its identity-based policies."""

    principal: str
    policies: tuple[str, ...]  # JSON documents


class Denied(Exception):
    def __init__(self, identity: Identity, authorization: Authorization, decision: str) -> None:
        self.identity, self.authorization, self.decision = identity, authorization, decision
        kind = (
            "an explicit deny in an identity-based policy"
            if decision == "ExplicitlyDenied"
            else ("no identity-based policy allows the " + authorization.action + " action")
        )
        super().__init__(
            f"User: {identity.principal} is not authorized to perform: {authorization.action} on resource: "
            f"{authorization.resource} because {kind} [vpcfactory emulator: {authorization.why}; "
            f"context {json.dumps(dict(authorization.context), sort_keys=True)}]"
        )


# -- the world the condition keys come from: moto's backends ------------------------------------


class MotoWorld:
    def _ec2(self, caller: Caller) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[caller.account][caller.region]

    def ec2_resource(self, caller: Caller, kind: str, resource_id: str) -> dict[str, Any] | None:
        backend = self._ec2(caller)
        found: dict[str, Any] | None = None
        if kind == "vpc" and resource_id in backend.vpcs:
            found = {"tenancy": getattr(backend.vpcs[resource_id], "instance_tenancy", "default")}
        elif kind == "subnet":
            subnet = next(
                (s for zone in list(backend.subnets.values()) for s in list(zone.values()) if s.id == resource_id), None
            )
            if subnet is not None:
                found = {"vpcId": subnet.vpc_id, "az": subnet.availability_zone}
        elif kind == "route-table" and resource_id in backend.route_tables:
            found = {"vpcId": backend.route_tables[resource_id].vpc_id}
        elif (kind == "internet-gateway" and resource_id in backend.internet_gateways) or (
            kind == "egress-only-internet-gateway" and resource_id in backend.egress_only_internet_gateways
        ):
            found = {}
        elif kind == "natgateway" and resource_id in backend.nat_gateways:
            found = {"vpcId": backend.nat_gateways[resource_id].vpc_id}
        elif kind == "elastic-ip":
            eip = next((a for a in list(backend.addresses) if a.allocation_id == resource_id), None)
            if eip is not None:
                found = {"domain": eip.domain, "publicIp": eip.public_ip}
        elif kind == "security-group":
            group = backend.get_security_group_from_id(resource_id)
            if group is not None:
                found = {"vpcId": group.vpc_id}
        elif kind == "vpc-endpoint" and resource_id in backend.vpc_end_points:
            found = {
                "vpcId": backend.vpc_end_points[resource_id].vpc_id,
                "serviceName": backend.vpc_end_points[resource_id].service_name,
            }
        elif kind == "vpc-flow-log" and resource_id in backend.flow_logs:
            found = {"destinationType": backend.flow_logs[resource_id].log_destination_type}
        elif kind in ("ipam", "ipam-pool", "ipam-scope"):
            from vpcfactory_tools.emulator import ipam

            found = ipam.find_resource(backend, kind, resource_id)
        if found is None:
            return None
        found["tags"] = dict(backend.tags.get(resource_id, {}))
        return found

    def route_table_association(self, caller: Caller, association_id: str) -> tuple[str | None, str | None]:
        for table in list(self._ec2(caller).route_tables.values()):
            target = table._associations.get(association_id)
            if target is not None:
                return table.id, target if str(target).startswith("subnet-") else None
        return None, None

    def log_group_tags(self, caller: Caller, name: str) -> dict[str, str] | None:
        from moto.logs.models import logs_backends

        backend = logs_backends[caller.account][caller.region]
        group = backend.groups.get(name)
        if group is None:
            return None
        return dict(backend.list_tags_for_resource(group.arn.removesuffix(":*")) or {})

    def role_exists(self, caller: Caller, arn: str) -> bool:
        return _role(arn) is not None

    def organization_of(self, account: str, partition: str) -> str | None:
        from moto.organizations.models import organizations_backends

        management, org_partition = organizations_backends.master_accounts.get(account, (account, partition))
        organization = organizations_backends[management][org_partition].org
        return organization.id if organization is not None else None


def _role(arn: str) -> Any:
    from moto.iam.models import iam_backends

    account = arn.split(":")[4]
    partition = arn.split(":")[1]
    try:
        return iam_backends[account][partition].get_role_by_arn(arn)
    except Exception:  # moto raises its own IAMNotFoundException
        return None


@functools.cache
def _aws_managed_policy(arn: str) -> str | None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = arn.rsplit("/", 1)[-1]
    document = json.loads(aws_managed_policies_data).get(name, {}).get("Document")
    return json.dumps(document) if document else None


def _policy_document(policy: Any) -> str | None:
    """The default version's document of a moto managed policy (AWS managed ones from moto's data)."""
    document = next((v.document for v in getattr(policy, "versions", []) if v.is_default), None)
    if not document and str(getattr(policy, "arn", "")).startswith("arn:aws:iam::aws:policy/"):
        return _aws_managed_policy(policy.arn)
    return document if isinstance(document, str) else json.dumps(document) if document else None


def role_policies(role: Any) -> tuple[str, ...]:
    """The identity-based policies of a moto IAM role: attached managed ones, then inline ones."""
    documents = [_policy_document(p) for p in role.managed_policies.values()]
    documents += [d if isinstance(d, str) else json.dumps(d) for d in role.policies.values()]
    return tuple(d for d in documents if d)


def _function_identity(function_name: str, account: str, region: str) -> Identity | None:
    from moto.awslambda.models import lambda_backends

    try:
        fn = lambda_backends[account][region].get_function(function_name)
    except Exception:
        return None
    role = _role(fn.role)
    if role is None:
        return Identity(f"arn:aws:sts::{account}:assumed-role/{fn.role.rsplit('/', 1)[-1]}/{function_name}", ())
    session = f"arn:{fn.role.split(':')[1]}:sts::{account}:assumed-role/{role.name}/{function_name}"
    return Identity(session, role_policies(role))


def _assumed_identity(access_key: str) -> tuple[Identity, str] | None:
    """The identity behind temporary credentials from sts:AssumeRole (any account)."""
    from moto.sts.models import sts_backends

    for account, partitions in list(sts_backends.items()):
        for backend in list(partitions.values()):
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                role = _role(assumed.role_arn)
                policies = role_policies(role) if role is not None else (json.dumps(ASSUMED_ROLE_POLICY),)
                return Identity(assumed.arn, policies), account
    return None


# -- the hook ---------------------------------------------------------------------------------------


def _keep_api_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """before-parameter-build: the API parameters as the caller gave them."""
    if lambda_runtime.current_invocation() is not None:
        context[API_PARAMS] = dict(params)


def _denied_response(service: str, denied: Denied) -> tuple[AWSResponse, dict[str, Any]]:
    code = QUERY_PROTOCOL_CODES.get(service, "AccessDeniedException")
    http = AWSResponse("https://vpcfactory.emulator/iam", 403, HTTPHeaders(), None)
    parsed = {
        "Error": {"Code": code, "Message": str(denied)},
        "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": {}},
    }
    return http, parsed


def _authorize(model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> Any:
    """before-call: authorize the request; answer for the service if IAM would deny it."""
    running = lambda_runtime.current_invocation()
    if running is None or not current().iam or API_PARAMS not in context:
        return None
    service = model.service_model.service_name
    operation = model.name
    region = request_signer._region_name
    credentials = request_signer._credentials
    access_key = credentials.get_frozen_credentials().access_key if credentials is not None else ""
    assumed = _assumed_identity(access_key) if access_key and access_key != "testing" else None
    if assumed is not None:
        identity, account = assumed
    else:
        account = DEFAULT_ACCOUNT
        found = _function_identity(running.function_name, account, region)
        if found is None:
            return None  # not one of the stack's functions (a test's own Lambda): nothing to evaluate
        identity = found
    caller = Caller(account=account, region=region)
    wanted = authorizations(service, operation, context[API_PARAMS], caller, MotoWorld())
    denied = _evaluate(identity, caller, wanted)
    with _lock:
        for counter in (_stats, _totals):
            counter["requests"] += 1
            counter["authorizations"] += len(wanted)
            if denied is not None:
                counter["denied"] += 1
        if denied is not None and len(_denials) < _MAX_DENIALS:
            _denials.append(
                {
                    "function": running.function_name,
                    "execution": running.execution,
                    "action": denied.authorization.action,
                    "resource": denied.authorization.resource,
                    "why": denied.authorization.why,
                    "decision": denied.decision,
                }
            )
    if denied is None:
        return None
    return _denied_response(service, denied)


def _evaluate(identity: Identity, caller: Caller, wanted: list[Authorization]) -> Denied | None:
    from .iam_evaluator import AuthzRequest, evaluate

    requests = [
        AuthzRequest(
            action=a.action,
            resource=a.resource,
            resource_account=caller.account,
            principal=identity.principal,
            identity_policies=tuple(json.loads(p) for p in identity.policies),
            context=dict(a.context),
        )
        for a in wanted
    ]
    for authorization, decision in zip(wanted, evaluate(requests), strict=True):
        if not decision.allowed:
            return Denied(identity, authorization, decision.decision)
    return None


class EvaluatorUnavailable(RuntimeError):
    """IAM evaluation is on but its evaluator is not installed."""


def require_evaluator(enabled: bool) -> None:
    """Refuse to start an emulator that should evaluate IAM and cannot: a local run that quietly
    skipped IAM would tell the user a build works that AWS would deny. (The CLI turns IAM off with
    a note instead; the test suite and CI always evaluate.)"""
    if not enabled:
        return
    from .iam_evaluator import available

    ok, reason = available()
    if not ok:
        raise EvaluatorUnavailable(f"IAM evaluation is on but unavailable: {reason} (or EmulatorSettings(iam=False))")


def stats() -> dict[str, int]:
    """Requests evaluated, authorizations made and requests denied since the last reset."""
    with _lock:
        return dict(_stats)


def totals() -> dict[str, int]:
    """Like :func:`stats`, since the process started."""
    with _lock:
        return dict(_totals)


def denials() -> list[dict[str, Any]]:
    with _lock:
        return list(_denials)


def reset_stats() -> None:
    with _lock:
        _stats.clear()
        _denials.clear()


_HOOKS = (("before-parameter-build", _keep_api_params), ("before-call", _authorize))


def _apply(patcher: Patcher) -> None:
    """Register the hook in every botocore session created from now on (idempotent)."""
    for hook in _HOOKS:
        patcher.append(botocore_handlers.BUILTIN_HANDLERS, hook)


# installed while every hook is registered (install() registers a missing one again)
_patches = PatchSet(
    _apply,
    _lock,
    check_version=False,
    is_installed=lambda: all(hook in botocore_handlers.BUILTIN_HANDLERS for hook in _HOOKS),
)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
