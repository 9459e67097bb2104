"""Deploy template.yaml into moto as CloudFormation would: from the template the SAM transform
produces (translate.py), every intrinsic resolved (intrinsics.py), so a template CloudFormation
would refuse (a malformed `Fn::Split`, a reference to nothing) is refused here too.

Created in moto, fully resolved:
- every AWS::IAM::ManagedPolicy (a customer managed policy) and AWS::IAM::Role (trust policy,
  attached managed policies, AWS managed ones by ARN, inline policies): what an IAM evaluator
  reads from moto's IAM backend;
- every AWS::SQS::Queue (the functions' dead-letter queue);
- every AWS::DynamoDB::Table (the build locks): key schema, billing mode, encryption, TTL; a table
  property the emulator does not deploy is refused rather than ignored;
- every AWS::Lambda::Function, named `<stack>-<LogicalId>`, with its own role, its Handler (run in
  this process by lambda_runtime), Runtime, Timeout, MemorySize, Architectures, Environment;
- every AWS::StepFunctions::StateMachine from its local definition file with its
  DefinitionSubstitutions applied, with its own role.
Not created (NOT_CREATED), but given the physical id and attributes AWS would give them so that
references resolve, and their properties resolved all the same: log groups (creating them would
put untagged groups in the account the factory and its tests inspect), EventBridge rules and
Lambda permissions (moto does not deliver events to Lambda). A resource whose Condition is false
is not deployed. Ref of an `AWS::SSM::Parameter::Value<...>` parameter gives the parameter's name
(CloudFormation would read the SSM parameter; only the Powertools layer uses one, unused here).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from vpcfactory_tools.emulator.intrinsics import IntrinsicError, Resolver, pseudo_parameters
from vpcfactory_tools.emulator.translate import PROJECT_ROOT, TEMPLATE, Translation, translated

__all__ = ["PROJECT_ROOT", "TEMPLATE", "Stack", "deploy", "function_environment", "load_template", "substitute"]

NOT_CREATED = {"AWS::Logs::LogGroup", "AWS::Events::Rule", "AWS::Lambda::Permission", "AWS::Scheduler::Schedule"}
QUEUE_ATTRIBUTES = {
    "DelaySeconds",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
}


@dataclass
class Stack:
    name: str
    region: str
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> function ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> state machine ARN
    parameters: dict[str, Any] = field(default_factory=dict)  # resolved values (defaults + overrides)
    roles: dict[str, str] = field(default_factory=dict)  # logical id -> IAM role ARN (every role)
    environment: dict[str, str] = field(default_factory=dict)  # the functions' variables, resolved
    function_roles: dict[str, str] = field(default_factory=dict)  # function logical id -> its role's ARN
    policies: dict[str, str] = field(default_factory=dict)  # logical id -> customer managed policy ARN
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> DynamoDB table name
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> S3 bucket name
    resources: dict[str, Any] = field(default_factory=dict)  # logical id -> what Ref returns (deployed ones)
    not_created: list[str] = field(default_factory=list)  # deployed by name only (see NOT_CREATED)
    account_id: str = ""

    @property
    def build_arn(self) -> str:
        return self.state_machines["BuildStateMachine"]

    @property
    def destroy_arn(self) -> str:
        return self.state_machines["DestroyStateMachine"]

    @property
    def rollout_arn(self) -> str:
        return self.state_machines["RolloutStateMachine"]

    @property
    def rollout_bucket(self) -> str:
        return self.buckets["RolloutBucket"]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as written (intrinsics as Ref/Fn::* keys)."""
    from cfnlint.decode.cfn_yaml import loads  # ~0.4 s of imports: not in every emulator start

    return loads(path.read_text())


def _placeholder_zip() -> bytes:
    # moto stores the code; our in-process runtime imports the real module named by Handler.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README", "code runs in-process from functions/")
    return buf.getvalue()


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    out = re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: substitutions.get(m.group(1), m.group(0)), definition)
    missing = sorted(set(re.findall(r"\$\{([A-Za-z0-9]+)\}", out)))
    if missing:
        raise ValueError(f"DefinitionSubstitutions missing for {missing}")
    json.loads(out)  # the substituted definition must be JSON
    return out


class PhysicalIds:
    """What Ref and Fn::GetAtt of each resource give, as the emulator names what it deploys."""

    NAME_PROPERTY = {
        "AWS::Lambda::Function": ("FunctionName", 64),
        "AWS::IAM::Role": ("RoleName", 64),
        "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128),
        "AWS::StepFunctions::StateMachine": ("StateMachineName", 80),
        "AWS::SQS::Queue": ("QueueName", 80),
        "AWS::DynamoDB::Table": ("TableName", 255),
        "AWS::S3::Bucket": ("BucketName", 63),
        "AWS::Logs::LogGroup": ("LogGroupName", 512),
        "AWS::Events::Rule": ("Name", 64),
        "AWS::Lambda::Permission": (None, 256),
    }

    def __init__(self, template: dict[str, Any], *, stack_name: str, region: str, account_id: str) -> None:
        self.resources = template.get("Resources") or {}
        self.stack_name, self.region, self.account_id = stack_name, region, account_id
        self.partition = pseudo_parameters(region=region, account_id=account_id, stack_name=stack_name)[
            "AWS::Partition"
        ]
        self.resolver: Resolver | None = None
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()

    def _kind(self, logical_id: str) -> str:
        return self.resources[logical_id].get("Type", "")

    def name(self, logical_id: str) -> str:
        if logical_id in self._names:
            return self._names[logical_id]
        kind = self._kind(logical_id)
        if kind not in self.NAME_PROPERTY:
            raise KeyError(logical_id)
        key, limit = self.NAME_PROPERTY[kind]
        props = self.resources[logical_id].get("Properties") or {}
        if key and key in props:
            if logical_id in self._naming or self.resolver is None:
                raise IntrinsicError(f"Resources.{logical_id}.Properties.{key}", "the name refers to itself")
            self._naming.add(logical_id)
            try:
                name = self.resolver.resolve(props[key], f"Resources.{logical_id}.Properties.{key}")
            finally:
                self._naming.discard(logical_id)
            if not isinstance(name, str):
                raise IntrinsicError(f"Resources.{logical_id}.Properties.{key}", f"a name must be a string: {name!r}")
        elif kind == "AWS::S3::Bucket":
            # CloudFormation's generated bucket names: stack and logical id, lower case, and a
            # random suffix (here the account id: deterministic, and unique per account).
            name = f"{self.stack_name}-{logical_id}".lower()[: limit - 13] + f"-{self.account_id}"
        else:
            name = f"{self.stack_name}-{logical_id}"[:limit]
        self._names[logical_id] = name
        return name

    def _path(self, logical_id: str) -> str:
        path = (self.resources[logical_id].get("Properties") or {}).get("Path", "/")
        return path if isinstance(path, str) else "/"

    def arn(self, logical_id: str) -> str:
        kind, name = self._kind(logical_id), self.name(logical_id)
        p, r, a = self.partition, self.region, self.account_id
        arns = {
            "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
            "AWS::IAM::Role": f"arn:{p}:iam::{a}:role{self._path(logical_id)}{name}",
            "AWS::IAM::ManagedPolicy": f"arn:{p}:iam::{a}:policy{self._path(logical_id)}{name}",
            "AWS::StepFunctions::StateMachine": f"arn:{p}:states:{r}:{a}:stateMachine:{name}",
            "AWS::SQS::Queue": f"arn:{p}:sqs:{r}:{a}:{name}",
            "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
            "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{name}",
            "AWS::S3::Bucket": f"arn:{p}:s3:::{name}",
        }
        if kind not in arns:
            raise KeyError(logical_id)
        return arns[kind]

    def ref(self, logical_id: str) -> str:
        kind = self._kind(logical_id)
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::StepFunctions::StateMachine"):
            return self.arn(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self.name(logical_id)}"
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self._kind(logical_id)
        supported = {
            "AWS::Lambda::Function": {"Arn"},
            "AWS::IAM::Role": {"Arn"},
            "AWS::IAM::ManagedPolicy": {"PolicyArn"},
            "AWS::StepFunctions::StateMachine": {"Arn", "Name"},
            "AWS::SQS::Queue": {"Arn", "QueueName", "QueueUrl"},
            "AWS::DynamoDB::Table": {"Arn"},
            "AWS::Logs::LogGroup": {"Arn"},
            "AWS::Events::Rule": {"Arn"},
            "AWS::S3::Bucket": {"Arn"},
        }
        if attribute not in supported.get(kind, set()):
            raise KeyError(f"{logical_id}.{attribute}")
        if attribute in ("Arn", "PolicyArn"):
            return self.arn(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        return self.name(logical_id)


def deploy(
    *,
    stack_name: str = "vpcfactory",
    region: str = "us-east-1",
    parameter_overrides: dict[str, Any] | None = None,
    template_path: Path = TEMPLATE,
    endpoint_url: str | None = None,
) -> Stack:
    overrides = {k: str(v) for k, v in (parameter_overrides or {}).items()}
    translation = translated(template_path, region=region, parameter_values=overrides)
    session = boto3.session.Session(region_name=region)
    account_id = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    return deploy_translation(
        translation,
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        parameter_overrides=overrides,
        session=session,
        endpoint_url=endpoint_url,
    )


def deploy_translation(
    translation: Translation,
    *,
    stack_name: str,
    region: str,
    account_id: str,
    parameter_overrides: dict[str, str],
    session: Any,
    endpoint_url: str | None,
) -> Stack:
    template = translation.template
    resources: dict[str, Any] = template.get("Resources") or {}
    physical = PhysicalIds(template, stack_name=stack_name, region=region, account_id=account_id)
    resolver = Resolver(
        template,
        parameter_values=parameter_overrides,
        pseudo=pseudo_parameters(region=region, account_id=account_id, stack_name=stack_name),
        ref=physical.ref,
        get_att=physical.get_att,
    )
    physical.resolver = resolver
    stack = Stack(name=stack_name, region=region, parameters=dict(resolver.parameters), account_id=account_id)

    # Resolve everything before creating anything: a template CloudFormation refuses creates nothing.
    props: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources.items():
        if resolver.deployed(logical_id):
            props[logical_id] = resolver.resolve(resource.get("Properties") or {}, f"Resources.{logical_id}.Properties")
    for name, output in (template.get("Outputs") or {}).items():
        if "Condition" not in output or resolver.condition(output["Condition"], f"Outputs.{name}.Condition"):
            resolver.resolve(output, f"Outputs.{name}")
    stack.resources = {
        logical_id: resolver.resolve({"Ref": logical_id}, logical_id)
        for logical_id in props
        if resources[logical_id]["Type"] in PhysicalIds.NAME_PROPERTY
    }

    def of_type(kind: str) -> list[str]:
        return [logical_id for logical_id in props if resources[logical_id]["Type"] == kind]

    def expect(logical_id: str, arn: str) -> str:
        planned = physical.arn(logical_id)
        if arn != planned:
            raise RuntimeError(f"{logical_id}: moto created {arn}, references to it resolved to {planned}")
        return arn

    iam = session.client("iam", endpoint_url=endpoint_url)
    for logical_id in of_type("AWS::IAM::ManagedPolicy"):
        p = props[logical_id]
        described = {"Description": p["Description"]} if "Description" in p else {}
        created = iam.create_policy(
            PolicyName=physical.name(logical_id),
            Path=p.get("Path", "/"),
            PolicyDocument=_document(p["PolicyDocument"]),
            **described,
        )
        stack.policies[logical_id] = expect(logical_id, created["Policy"]["Arn"])
    for logical_id in of_type("AWS::IAM::Role"):
        p = props[logical_id]
        name = physical.name(logical_id)
        described = {"Description": p["Description"]} if "Description" in p else {}
        created = iam.create_role(
            RoleName=name,
            Path=p.get("Path", "/"),
            AssumeRolePolicyDocument=_document(p["AssumeRolePolicyDocument"]),
            **described,
        )
        stack.roles[logical_id] = expect(logical_id, created["Role"]["Arn"])
        for arn in p.get("ManagedPolicyArns", []):
            if ":iam::aws:policy/" in arn:
                ensure_aws_managed_policy(account_id, arn)
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)  # NoSuchEntity for a policy nobody defines
        for policy in p.get("Policies", []):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=_document(policy["PolicyDocument"])
            )
    for logical_id in of_type("AWS::IAM::ManagedPolicy"):  # a managed policy may name the roles it attaches to
        for role in props[logical_id].get("Roles", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=stack.policies[logical_id])
    for logical_id in of_type("AWS::IAM::Policy"):
        p = props[logical_id]
        for role in p.get("Roles", []):
            iam.put_role_policy(
                RoleName=role, PolicyName=p["PolicyName"], PolicyDocument=_document(p["PolicyDocument"])
            )

    queues = of_type("AWS::SQS::Queue")
    if queues:
        sqs = session.client("sqs", endpoint_url=endpoint_url)
        for logical_id in queues:
            attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props[logical_id].items()}
            attributes = {k: v for k, v in attributes.items() if k in QUEUE_ATTRIBUTES}
            url = sqs.create_queue(QueueName=physical.name(logical_id), Attributes=attributes)["QueueUrl"]
            stack.queues[logical_id] = url

    tables = of_type("AWS::DynamoDB::Table")
    if tables:
        dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
        for logical_id in tables:
            stack.tables[logical_id] = _create_table(dynamodb, physical.name(logical_id), props[logical_id], logical_id)

    buckets = of_type("AWS::S3::Bucket")
    if buckets:
        s3 = session.client("s3", endpoint_url=endpoint_url)
        for logical_id in buckets:
            stack.buckets[logical_id] = _create_bucket(s3, physical.name(logical_id), props[logical_id], logical_id)
        for logical_id in of_type("AWS::S3::BucketPolicy"):
            p = props[logical_id]
            s3.put_bucket_policy(Bucket=p["Bucket"], Policy=_document(p["PolicyDocument"]))

    lam = session.client("lambda", endpoint_url=endpoint_url)
    code = _placeholder_zip()
    for logical_id in of_type("AWS::Lambda::Function"):
        p = props[logical_id]
        where = f"Resources.{logical_id}.Properties"
        if "Handler" not in p or "Runtime" not in p:
            raise IntrinsicError(where, "the emulator runs zip functions by Handler and Runtime; one is missing")
        if p["Role"] not in stack.roles.values():
            raise IntrinsicError(f"{where}.Role", f"{p['Role']} is not a role of this stack")
        extra: dict[str, Any] = {}
        if "Environment" in p:
            extra["Environment"] = {"Variables": {k: str(v) for k, v in p["Environment"].get("Variables", {}).items()}}
        if "DeadLetterConfig" in p:
            extra["DeadLetterConfig"] = p["DeadLetterConfig"]
        if "TracingConfig" in p:
            extra["TracingConfig"] = p["TracingConfig"]
        if "Description" in p:
            extra["Description"] = p["Description"]
        created = lam.create_function(
            FunctionName=physical.name(logical_id),
            Runtime=p["Runtime"],
            Role=p["Role"],
            Handler=p["Handler"],
            Code={"ZipFile": code},
            Timeout=int(p.get("Timeout", 3)),
            MemorySize=int(p.get("MemorySize", 128)),
            Architectures=list(p.get("Architectures", ["x86_64"])),
            **extra,
        )
        stack.functions[logical_id] = expect(logical_id, created["FunctionArn"])
        stack.function_roles[logical_id] = p["Role"]

    sfn = session.client("stepfunctions", endpoint_url=endpoint_url)
    for logical_id in of_type("AWS::StepFunctions::StateMachine"):
        p = props[logical_id]
        definition = _definition(logical_id, p, translation)
        subs = {k: str(v) for k, v in p.get("DefinitionSubstitutions", {}).items()}
        tags = [{"key": t["Key"], "value": str(t["Value"])} for t in p.get("Tags", [])]
        created = sfn.create_state_machine(
            name=physical.name(logical_id),
            definition=substitute(definition, subs),
            roleArn=p["RoleArn"],
            type=p.get("StateMachineType", "STANDARD"),
            **({"tags": tags} if tags else {}),
        )
        stack.state_machines[logical_id] = expect(logical_id, created["stateMachineArn"])

    handled = {"AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::SQS::Queue"}
    handled |= {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"}
    handled |= {"AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"}
    stack.not_created = [logical_id for logical_id in props if resources[logical_id]["Type"] not in handled]

    stack.environment = function_environment({logical_id: props[logical_id] for logical_id in stack.functions})
    # The handlers run in this process: their environment is this process's.
    os.environ.update({k: v for k, v in stack.environment.items() if not k.startswith("POWERTOOLS_")})
    return stack


# AWS::DynamoDB::Table properties the emulator deploys; TableName is the physical name.
TABLE_PROPERTIES = {
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "SSESpecification",
    "TimeToLiveSpecification",
    "DeletionProtectionEnabled",
    "Tags",
}


def _create_table(dynamodb: Any, name: str, p: dict[str, Any], logical_id: str) -> str:
    """CreateTable (and UpdateTimeToLive) from the resource's properties, as CloudFormation makes
    them: its SSESpecification.SSEEnabled is the API's SSESpecification.Enabled."""
    unknown = sorted(set(p) - TABLE_PROPERTIES)
    if unknown:
        raise IntrinsicError(f"Resources.{logical_id}.Properties", f"the emulator does not deploy {unknown}")
    extra: dict[str, Any] = {}
    for key in ("BillingMode", "ProvisionedThroughput", "Tags", "DeletionProtectionEnabled"):
        if key in p:
            extra[key] = p[key]
    if "SSESpecification" in p:
        sse = p["SSESpecification"]
        extra["SSESpecification"] = {
            "Enabled": sse.get("SSEEnabled") in (True, "true"),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    dynamodb.create_table(
        TableName=name, AttributeDefinitions=p["AttributeDefinitions"], KeySchema=p["KeySchema"], **extra
    )
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        enabled = ttl["Enabled"] in (True, "true")
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": enabled}
        )
    return name


# AWS::S3::Bucket properties the emulator deploys (each with the S3 API call that sets it).
BUCKET_PROPERTIES = {
    "BucketName",
    "BucketEncryption",
    "PublicAccessBlockConfiguration",
    "OwnershipControls",
    "VersioningConfiguration",
    "LifecycleConfiguration",
    "Tags",
}


def _create_bucket(s3: Any, name: str, p: dict[str, Any], logical_id: str) -> str:
    """CreateBucket and the Put* call of each property, as CloudFormation makes them (the
    property shapes are the API's, except in BucketEncryption's rules and a lifecycle rule's `Id`)."""
    unknown = sorted(set(p) - BUCKET_PROPERTIES)
    if unknown:
        raise IntrinsicError(f"Resources.{logical_id}.Properties", f"the emulator does not deploy {unknown}")
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **where)
    if "BucketEncryption" in p:
        rules = [  # the API's Rules; CloudFormation's ServerSideEncryptionByDefault is its ApplyServer...
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in r.items()
            }
            for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in p:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
    if "VersioningConfiguration" in p:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
    if "LifecycleConfiguration" in p:
        rules = [
            {("ID" if k == "Id" else k): v for k, v in rule.items()} | {"Filter": rule.get("Filter", {"Prefix": ""})}
            for rule in p["LifecycleConfiguration"]["Rules"]
        ]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "Tags" in p:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": p["Tags"]})
    return name


def _document(document: Any) -> str:
    """A policy document for moto's IAM. The SAM policy templates expand to statements without a
    Version, which AWS accepts (2008-10-17: the same except that `${...}` policy variables are
    literal) and moto refuses; with no `${` in it, "2012-10-17" means the same, so say that."""
    text = json.dumps(document)
    if isinstance(document, dict) and "Version" not in document and "${" not in text:
        return json.dumps({"Version": "2012-10-17", **document})
    return text


@functools.cache
def _aws_managed_policy_data(name: str) -> dict[str, Any] | None:
    """One AWS managed policy from the copy moto ships (its `iam.load_aws_managed_policies`
    switch would load all ~1,600 into every IAM backend: half a second each time)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data as data

    start = data.find(f"\n {json.dumps(name)}:")
    if start < 0:
        return None
    value, _end = json.JSONDecoder().raw_decode(data, data.index(":", start + 2 + len(name)) + 1)
    return value


def ensure_aws_managed_policy(account_id: str, arn: str) -> None:
    """Make an AWS managed policy (arn:aws:iam::aws:policy/...) known to moto's IAM backend of
    the account, as it is to every AWS account; an ARN AWS does not define stays unknown."""
    from moto.iam.models import AWSManagedPolicy, iam_backends

    partition = arn.split(":")[1]
    backend = iam_backends[account_id][partition]
    if arn in backend.managed_policies:
        return
    path, _, name = arn.split(":policy", 1)[1].rpartition("/")
    data = _aws_managed_policy_data(name)
    if data is None or f"{path}/" != data.get("Path"):
        return  # attach_role_policy answers NoSuchEntity, as AWS would
    policy = AWSManagedPolicy.from_data(name, account_id, backend.region_name, data)
    backend.managed_policies[policy.arn] = policy


def _definition(logical_id: str, props: dict[str, Any], translation: Translation) -> str:
    where = f"Resources.{logical_id}.Properties"
    if logical_id in translation.definition_files:
        return translation.definition_files[logical_id].read_text()
    if "DefinitionString" in props:
        return str(props["DefinitionString"])
    if "Definition" in props:
        return json.dumps(props["Definition"])
    raise IntrinsicError(where, "no local DefinitionUri, DefinitionString or Definition to deploy")


def function_environment(functions: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The functions' environment variables (resolved properties by logical id), merged. Every
    function runs in the emulator's one process, so their variables share one environment: a
    name must mean the same everywhere."""
    merged: dict[str, str] = {}
    for logical_id, props in functions.items():
        for name, value in (props.get("Environment") or {}).get("Variables", {}).items():
            resolved = str(value)
            if merged.get(name, resolved) != resolved:
                raise ValueError(f"{logical_id} sets {name} differently from another function")
            merged[name] = resolved
    return merged
