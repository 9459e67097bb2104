"""IAM in the emulator: every AWS request a Lambda handler makes, and every one Step Functions makes
for a state machine, is authorized, before it is sent, against the policies of the identity making
it, as AWS would.

- **Who**: a handler in the factory's account acts as its function's execution role (the role the
  deploy created from the SAM-translated template, with its managed and inline policies, read from
  moto's IAM); a handler working in a target account acts as the role it assumed there. A target
  account's role that moto's IAM does not hold is taken to be what Control Tower / Organizations
  give it (``AWSControlTowerExecution`` and ``OrganizationAccountAccessRole`` carry
  ``AdministratorAccess``); that is an assumption of the emulator, said in :data:`ASSUMED_ROLE_POLICY`.
  Step Functions acts as the **state machine's execution role** (its ``RoleArn``, or a task's
  ``Credentials.RoleArn``) for the calls of its service integrations: the engine's clients carry
  that role's session credentials (:func:`engine_credentials`, made by :mod:`.engine_iam`), and
  what it authorizes without an API call of the engine (a Distributed Map's child executions, the
  managed rule of a ``.sync`` task) is authorized through :func:`authorize_role`. A role moto's
  IAM does not hold is not evaluated (a plain-moto test's made-up role).
- **What**: :mod:`.authorization` turns the request into the authorizations AWS makes (action,
  resource ARN, condition keys, per the Service Authorization Reference).
- **How**: a real evaluator, ``@cloud-copilot/iam-simulate`` (:mod:`.iam_evaluator`), decides each one.
- A denied request fails as AWS fails it, before the service sees it: ``UnauthorizedOperation``
  (EC2, HTTP 403), ``AccessDenied`` (STS, IAM, S3), ``AccessDeniedException`` (JSON services;
  HTTP 400 from Step Functions, whose API answers every client error with 400), with AWS's message
  shape ("User: ... is not authorized to perform: ... on resource: ..."). Denials are counted in
  :func:`stats` and listed in :func:`denials`, the engine's with the role and execution they were
  made for.

The hook is client-side (botocore's ``before-parameter-build`` keeps the API parameters,
``before-call`` answers for a denied request), so it works the same in the embedded and the
served emulator: the handlers and the Step Functions engine always run in the emulator's process.
Requests made by anything else (a test's client, the AWS CLI against a served emulator) are not
evaluated.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
import threading
import uuid
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
DENIED_CODES = {"ec2": "UnauthorizedOperation", "sts": "AccessDenied", "iam": "AccessDenied", "s3": "AccessDenied"}
# Step Functions answers every client error, AccessDeniedException included, with HTTP 400 (its
# API reference, "Common Errors"; AWS's own message: "Service: AWSStepFunctions; Status Code: 400;
# Error Code: AccessDeniedException"); the other services deny with 403.
DENIED_STATUS = {"stepfunctions": 400}

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


@dataclass(frozen=True)
class EngineSession:
    """Step Functions acting as a state machine's role, for one execution (or for no execution:
    a state machine being created)."""

    role_arn: str
    execution: str | None

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def principal(self) -> str:
        """``arn:aws:sts::<account>:assumed-role/<role>/<session>``. Step Functions names its
        session with 32 letters (as AWS's denials show: ``.../assumed-role/MyRole/GGzJDbzYyvar...``);
        here they are derived from the execution, so one execution keeps one session."""
        digest = hashlib.sha256(f"{self.role_arn}|{self.execution}".encode()).digest()
        letters = string.ascii_letters
        session = "".join(letters[b % len(letters)] for b in digest)
        partition = self.role_arn.split(":")[1]
        return f"arn:{partition}:sts::{self.account}:assumed-role/{self.role_arn.rsplit('/', 1)[-1]}/{session}"

    def identity(self) -> Identity | None:
        """The role's policies as they are now (a test may change them between two calls), or
        None for a role moto's IAM does not hold."""
        role = _role(self.role_arn)
        return Identity(self.principal, role_policies(role)) if role is not None else None


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


# Step Functions' sessions by access key (one per role and execution; a few hundred bytes each).
_engine_sessions: dict[str, EngineSession] = {}


def engine_credentials(role_arn: str, execution: str | None) -> tuple[str, str]:
    """The (access key, secret key) the engine's client for ``execution`` signs with, so that the
    hook knows it as Step Functions acting as ``role_arn``. Temporary credentials' keys start with
    ``ASIA``; moto answers an unknown key as the default account, as it did the engine's ``ak``."""
    session = EngineSession(role_arn, execution)
    key = "ASIA" + hashlib.sha256(f"{role_arn}|{execution}".encode()).hexdigest()[:16].upper()
    with _lock:
        _engine_sessions[key] = session
    return key, "vpcfactory-emulator-step-functions"


def engine_session(access_key: str) -> EngineSession | None:
    with _lock:
        return _engine_sessions.get(access_key)


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
    """before-parameter-build: the API parameters as the caller gave them (``before-call`` has the
    serialized request only; whether the caller is evaluated is known there, from its credentials)."""
    if current().iam:
        context[API_PARAMS] = dict(params)


def _denied_response(service: str, denied: Denied) -> tuple[AWSResponse, dict[str, Any]]:
    code = DENIED_CODES.get(service, "AccessDeniedException")
    status = DENIED_STATUS.get(service, 403)
    http = AWSResponse("https://vpcfactory.emulator/iam", status, HTTPHeaders(), None)
    parsed = {
        "Error": {"Code": code, "Message": str(denied)},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RequestId": str(uuid.uuid4())},
    }
    return http, parsed


def _authorize(model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> Any:
    """before-call: authorize the request; answer for the service if IAM would deny it."""
    if not current().iam or API_PARAMS not in context:
        return None
    credentials = request_signer._credentials
    access_key = credentials.get_frozen_credentials().access_key if credentials is not None else ""
    running = lambda_runtime.current_invocation()
    engine = engine_session(access_key) if running is None else None
    if running is None and engine is None:
        return None  # neither a handler nor Step Functions: a test's or an operator's own client
    service = model.service_model.service_name
    region = request_signer._region_name
    if engine is not None:
        found = engine.identity()
        if found is None:
            return None  # a role moto's IAM does not hold: its policies are unknown
        identity, account = found, engine.account
        made_for: dict[str, Any] = {"function": None, "role": engine.role_arn, "execution": engine.execution}
    else:
        assert running is not None
        assumed = _assumed_identity(access_key) if access_key and access_key != "testing" else None
        if assumed is not None:
            identity, account = assumed
        else:
            account = DEFAULT_ACCOUNT
            found = _function_identity(running.function_name, account, region)
            if found is None:
                return None  # not one of the stack's functions (a test's own Lambda): nothing to evaluate
            identity = found
        made_for = {"function": running.function_name, "execution": running.execution}
    caller = Caller(account=account, region=region)
    wanted = authorizations(service, model.name, context[API_PARAMS], caller, MotoWorld())
    denied = _check(identity, caller, wanted, made_for)
    if denied is None:
        return None
    return _denied_response(service, denied)


def authorize_role(
    role_arn: str, region: str, wanted: list[Authorization], *, execution: str | None = None
) -> Denied | None:
    """Authorize what Step Functions does as a state machine's role without an API call of its
    engine (counted and listed like every other request): the first denial, or None when allowed,
    when IAM evaluation is off, or when moto's IAM does not hold the role."""
    if not current().iam or not wanted:
        return None
    session = EngineSession(role_arn, execution)
    identity = session.identity()
    if identity is None:
        return None
    caller = Caller(account=session.account, region=region)
    return _check(identity, caller, wanted, {"function": None, "role": role_arn, "execution": execution})


def _check(identity: Identity, caller: Caller, wanted: list[Authorization], made_for: dict[str, Any]) -> Denied | None:
    """Evaluate one request's authorizations and count it: the first denial, or None."""
    denied = _evaluate(identity, caller, wanted)
    with _lock:
        for counter in (_stats, _totals):
            counter["requests"] += 1
            counter["authorizations"] += len(wanted)
            if made_for.get("function") is None:
                counter["stepFunctionsRequests"] += 1  # made by Step Functions as a state machine's role
            if denied is not None:
                counter["denied"] += 1
        if denied is not None and len(_denials) < _MAX_DENIALS:
            _denials.append(
                {
                    **made_for,
                    "principal": identity.principal,
                    "action": denied.authorization.action,
                    "resource": denied.authorization.resource,
                    "why": denied.authorization.why,
                    "decision": denied.decision,
                }
            )
    return denied


@functools.lru_cache(maxsize=256)
def _parsed_policies(policies: tuple[str, ...]) -> Any:
    """The documents of a role's policies (JSON texts), parsed once per distinct set of texts: the
    role's requests share them (and what iam_evaluator derives from them), and nothing changes them.
    A role whose policies change has other texts, so it is parsed anew."""
    from .iam_evaluator import PolicySet

    return PolicySet(json.loads(p) for p in policies)


def _evaluate(identity: Identity, caller: Caller, wanted: list[Authorization]) -> Denied | None:
    from .iam_evaluator import AuthzRequest, evaluate

    policies = _parsed_policies(identity.policies)
    requests = [
        AuthzRequest(
            action=a.action,
            resource=a.resource,
            resource_account=caller.account,
            principal=identity.principal,
            identity_policies=policies,
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
    """Requests evaluated (``stepFunctionsRequests`` of them made by Step Functions), authorizations
    made and requests denied since the last reset."""
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
