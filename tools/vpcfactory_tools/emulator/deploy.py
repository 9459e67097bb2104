"""Deploy template.yaml into moto: every function by its Handler, every state machine from its
DefinitionUri with its DefinitionSubstitutions resolved — the same wiring `sam deploy` produces.

Only what the emulator needs is interpreted: Parameters (defaults and overrides), Globals,
IAM roles, `!GetAtt X.Arn` of functions and roles, `!Ref` of parameters and `!Sub` of
`${AWS::StackName}`.
Anything else in a substitution is an error, so the template cannot drift from what runs here.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode.cfn_yaml import loads

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = PROJECT_ROOT / "template.yaml"
LAMBDA_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Stack:
    name: str
    region: str
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> function ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> state machine ARN
    parameters: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # logical id -> IAM role ARN
    environment: dict[str, str] = field(default_factory=dict)  # the functions' variables, resolved

    @property
    def build_arn(self) -> str:
        return self.state_machines["BuildStateMachine"]

    @property
    def destroy_arn(self) -> str:
        return self.state_machines["DestroyStateMachine"]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return loads(path.read_text())


def _placeholder_zip() -> bytes:
    # moto stores the code; our in-process runtime imports the real module named by Handler.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README", "code runs in-process from functions/")
    return buf.getvalue()


def resolve(value: Any, stack: Stack) -> str:
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and arg in stack.parameters:
            return stack.parameters[arg]
        if fn == "Ref" and arg in stack.state_machines:
            return stack.state_machines[arg]
        if fn == "Fn::GetAtt" and list(arg)[1] == "Arn" and arg[0] in stack.functions:
            return stack.functions[arg[0]]
        if fn == "Fn::GetAtt" and list(arg)[1] == "Arn" and arg[0] in stack.roles:
            return stack.roles[arg[0]]
        if fn == "Fn::Sub" and isinstance(arg, str):
            return arg.replace("${AWS::StackName}", stack.name).replace("${AWS::Region}", stack.region)
    raise ValueError(f"the emulator cannot resolve {value!r}")


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    out = re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: substitutions.get(m.group(1), m.group(0)), definition)
    missing = sorted(set(re.findall(r"\$\{([A-Za-z0-9]+)\}", out)))
    if missing:
        raise ValueError(f"DefinitionSubstitutions missing for {missing}")
    json.loads(out)  # the substituted definition must be JSON
    return out


def deploy(
    *,
    stack_name: str = "vpcfactory",
    region: str = "us-east-1",
    parameter_overrides: dict[str, Any] | None = None,
    template_path: Path = TEMPLATE,
    endpoint_url: str | None = None,
) -> Stack:
    template = load_template(template_path)
    stack = Stack(name=stack_name, region=region)
    for name, param in template.get("Parameters", {}).items():
        if "Default" in param:
            stack.parameters[name] = str(param["Default"])
    stack.parameters.update({k: str(v) for k, v in (parameter_overrides or {}).items()})

    session = boto3.session.Session(region_name=region)
    iam = session.client("iam", endpoint_url=endpoint_url)
    role_arn = iam.create_role(
        RoleName=f"{stack_name}-emulator", AssumeRolePolicyDocument=json.dumps(LAMBDA_ROLE_POLICY)
    )["Role"]["Arn"]
    lam = session.client("lambda", endpoint_url=endpoint_url)
    sfn = session.client("stepfunctions", endpoint_url=endpoint_url)
    fn_globals = template.get("Globals", {}).get("Function", {})
    code = _placeholder_zip()

    resources = template["Resources"]
    for logical_id, res in resources.items():
        if res["Type"] == "AWS::IAM::Role":  # e.g. the flow-logs delivery role
            document = json.dumps(res["Properties"]["AssumeRolePolicyDocument"], default=str)
            stack.roles[logical_id] = iam.create_role(
                RoleName=f"{stack_name}-{logical_id}", AssumeRolePolicyDocument=document
            )["Role"]["Arn"]
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = {**fn_globals, **res.get("Properties", {})}
        created = lam.create_function(
            FunctionName=f"{stack_name}-{logical_id}",
            Runtime=props["Runtime"],
            Role=role_arn,
            Handler=props["Handler"],
            Code={"ZipFile": code},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Architectures=list(props.get("Architectures", ["x86_64"])),
        )
        stack.functions[logical_id] = created["FunctionArn"]

    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::StateMachine":
            continue
        props = res["Properties"]
        subs = {k: resolve(v, stack) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        definition = substitute((PROJECT_ROOT / props["DefinitionUri"]).read_text(), subs)
        name = resolve(props.get("Name", {"Fn::Sub": f"${{AWS::StackName}}-{logical_id}"}), stack)
        created = sfn.create_state_machine(
            name=name, definition=definition, roleArn=role_arn, type=props.get("Type", "STANDARD")
        )
        stack.state_machines[logical_id] = created["stateMachineArn"]
    stack.environment = function_environment(resources, fn_globals, stack)
    # The handlers run in this process: their environment is this process's.
    os.environ.update({k: v for k, v in stack.environment.items() if not k.startswith("POWERTOOLS_")})
    return stack


def function_environment(resources: dict[str, Any], fn_globals: dict[str, Any], stack: Stack) -> dict[str, str]:
    """The functions' environment variables, resolved. Every function runs in the emulator's one
    process, so their variables share one environment: a name must mean the same everywhere."""
    merged: dict[str, str] = {}
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        variables = {
            **fn_globals.get("Environment", {}).get("Variables", {}),
            **res.get("Properties", {}).get("Environment", {}).get("Variables", {}),
        }
        for name, value in variables.items():
            resolved = resolve(value, stack)
            if merged.get(name, resolved) != resolved:
                raise ValueError(f"{logical_id} sets {name} differently from another function")
            merged[name] = resolved
    return merged
