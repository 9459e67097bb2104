"""vpcfactory — plan, apply and destroy VPCs with the factory's state machines.

    vpcfactory plan SPEC [--json] [--endpoint-url URL | --stack NAME]
    vpcfactory apply SPEC [--json] [TARGET] [--fail-at OP[:N][=CODE]] [--crash-after OP[:N]]
                          [--throttle P [--seed S]] [--time-scale X] [--consistency-delay S] [--no-iam]
    vpcfactory destroy VPC_ID [--json] [TARGET]
    vpcfactory status EXECUTION [--json] [--history] TARGET
    vpcfactory diagram SPEC|VPC_ID -o FILE.svg|.png [--endpoint-url URL | --stack NAME]
    vpcfactory emulator [--port N] [--fail-at ...] [--crash-after ...] [--throttle P] [--time-scale X]
                        [--consistency-delay S] [--no-iam]
    TARGET: (none = embedded emulator) | --endpoint-url URL | --stack NAME | --state-machine-arn ARN

Exit codes: 0 succeeded; 1 the execution failed (and was rolled back); 2 invalid input or usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import yaml

from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec, split_input

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
DOCS = "docs/operations.md"
# Where the runbook says what to do next, by the error an execution ended with.
RUNBOOK = {
    "RollbackIncomplete": f"{DOCS}#a-rollback-or-destroy-could-not-finish",
    "DestroyIncomplete": f"{DOCS}#a-rollback-or-destroy-could-not-finish",
    "ReplacementRequired": f"{DOCS}#day-2-growth (and `vpcfactory plan SPEC --stack ...` for the diff)",
    "NotOwnedByFactory": f"{DOCS}#a-build-failed",
}


def runbook(error: str | None) -> str:
    return RUNBOOK.get(error or "", f"{DOCS}#a-build-failed")


class UsageError(Exception):
    pass


# -- input ------------------------------------------------------------------------------------
def load_document(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidSpec("(spec)", f"{path} must hold a mapping (the spec), not {type(doc).__name__}")
    return doc


def validate(doc: dict[str, Any]) -> Any:
    spec_raw, _target = split_input(doc)
    return parse_spec(spec_raw)


def parse_faults(texts: list[str]) -> list[Any]:
    from vpcfactory_tools.emulator.faults import parse_fault

    try:
        return [parse_fault(t) for t in texts]
    except ValueError as exc:
        raise UsageError(f"--fail-at: {exc}") from exc


def parse_crashes(texts: list[str]) -> list[Any]:
    from vpcfactory_tools.emulator.faults import parse_call

    try:
        return [parse_call(t) for t in texts]
    except ValueError as exc:
        raise UsageError(f"--crash-after: {exc}") from exc


def emulator_settings(args: argparse.Namespace) -> Any:
    """The embedded or served emulator's settings from the command line."""
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    delay = args.consistency_delay
    if not (math.isfinite(delay) and delay >= 0):
        raise UsageError(f"--consistency-delay: {delay!r} is not a number of simulated seconds >= 0 (e.g. 2)")
    iam = not args.no_iam
    if iam:
        from vpcfactory_tools.emulator.iam_evaluator import available

        iam, reason = available()
        if not iam:
            print(f"note: IAM evaluation is off: {reason}", file=sys.stderr, flush=True)
    try:
        return EmulatorSettings(
            time_scale=args.time_scale,
            iam=iam,
            consistency_delay_seconds=delay,
            faults=parse_faults(args.fail_at),
            crash_after=parse_crashes(args.crash_after),
            throttle=args.throttle,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


# -- targets ----------------------------------------------------------------------------------
def remote_session(args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    """A Step Functions client and the state machine ARNs of a deployed (or served) factory."""
    import boto3

    session = boto3.session.Session(region_name=args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint_url)
    arns: dict[str, str] = {}
    if args.state_machine_arn:
        arns = {"build": args.state_machine_arn, "destroy": args.state_machine_arn}
    elif args.stack:
        cfn = session.client("cloudformation", endpoint_url=args.endpoint_url)
        outputs = cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
        values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        arns = {
            "build": values.get("BuildStateMachineArn", ""),
            "destroy": values.get("DestroyStateMachineArn", ""),
        }
    else:
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"].endswith("-build-vpc"):
                    arns["build"] = machine["stateMachineArn"]
                elif machine["name"].endswith("-destroy-vpc"):
                    arns["destroy"] = machine["stateMachineArn"]
    if not arns.get("build") or not arns.get("destroy"):
        raise UsageError("no factory state machines found at the target (is the stack deployed?)")
    return sfn, arns


def has_target(args: argparse.Namespace) -> bool:
    return bool(args.endpoint_url or args.stack or args.state_machine_arn)


def run_execution(args: argparse.Namespace, which: str, payload: dict[str, Any], prefix: str, out: TextIO) -> int:
    from vpcfactory_tools.emulator.embedded import EmbeddedEmulator, execution_name, wait_for_execution
    from vpcfactory_tools.progress import follow, view_for

    # Progress goes to stderr: live on a terminal, plain lines in a pipe or with --json (stdout
    # then carries exactly one JSON object).
    name = args.name or execution_name(prefix)
    if has_target(args):
        sfn, arns = remote_session(args)
        arn = sfn.start_execution(stateMachineArn=arns[which], name=name, input=json.dumps(payload))["executionArn"]
        print(f"started {arn}", file=sys.stderr, flush=True)
        follow(sfn, arn, view_for(sys.stderr, plain=args.json))
        result = wait_for_execution(sfn, arn)
        return report(result, args, out)

    settings = emulator_settings(args)
    print(
        f"target: the embedded emulator (no AWS account; time scale {args.time_scale:g})", file=sys.stderr, flush=True
    )
    with EmbeddedEmulator(settings) as emu:
        sfn = emu.client("stepfunctions")
        arn = emu.start_execution(emu.stack.build_arn if which == "build" else emu.stack.destroy_arn, payload, name)
        print(f"started {arn}", file=sys.stderr, flush=True)
        follow(sfn, arn, view_for(sys.stderr, plain=args.json, time_scale=args.time_scale), time_scale=args.time_scale)
        result = wait_for_execution(sfn, arn)
    return report(result, args, out)


def report(result: Any, args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory_tools.progress import short_cause

    code = EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED
    if args.json:
        out.write(json.dumps(result.as_contract()) + "\n")
        return code
    if code == EXIT_OK:
        out.write(f"{result.status}: {result.execution_arn}\n")
        output = result.output or {}
        if output.get("vpcId"):
            zones = ", ".join(output.get("availabilityZones", []))
            out.write(f"VPC {output['vpcId']} {output.get('cidr', '')} in {zones}\n")
            for tier, subnets in output.get("subnets", {}).items():
                cells = "  ".join(f"{s['subnetId']} {s['cidr']} ({s['az']})" for s in subnets)
                out.write(f"  {tier:<12} {cells}\n")
            for nat in output.get("natGateways", []):
                out.write(f"  nat          {nat['natGatewayId']} in {nat['az']} ({nat.get('publicIp')})\n")
    else:
        out.write(f"{result.status}: {result.error}: {short_cause(result.cause, 2000)}\n")
        out.write(f"execution: {result.execution_arn}\nwhat to do next: {runbook(result.error)}\n")
        if has_target(args):
            flag = (
                f"--stack {args.stack}"
                if args.stack
                else f"--endpoint-url {args.endpoint_url}"
                if args.endpoint_url
                else f"--state-machine-arn {args.state_machine_arn}"
            )
            out.write(f"where it stopped and what is left: vpcfactory status {result.execution_arn} {flag}\n")
    return code


# -- commands ---------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory.growth import compare
    from vpcfactory_tools import plan_view

    doc = load_document(args.spec)
    spec = validate(doc)
    ec2 = target_ec2(args, split_input(doc)[1])
    zones = ec2.describe_availability_zones()["AvailabilityZones"] if ec2 else emulator_zones(args)
    plan = plan_network(spec, zones)
    # Against a target, the diff: what a re-apply would add and what it refuses (growth.compare,
    # the same code Validate And Plan runs). Without one there is nothing to compare with.
    diff = compare(plan, ec2) if ec2 is not None else None
    if args.json:
        out.write(json.dumps({**plan, **plan_view.facts(spec, plan, diff)}, indent=2) + "\n")
    else:
        plan_view.render(spec, plan, out, diff)
    return EXIT_OK


def target_ec2(args: argparse.Namespace, target: dict[str, Any] | None) -> Any:
    """An EC2 client where the spec's VPC lives, or None for the embedded emulator (no state to diff).

    --endpoint-url: a served emulator (or any AWS-compatible endpoint); --stack: the account of your
    credentials. A spec with a `target` is read in that account through its role, as the build does.
    """
    if not (args.endpoint_url or getattr(args, "stack", None)):
        return None
    return ec2_client(args, target)


def ec2_client(args: argparse.Namespace, target: dict[str, Any] | None) -> Any:
    """EC2 at the target endpoint (or AWS), in the spec's target account when it names one."""
    import boto3

    from vpcfactory.aws import normalize_target, role_arn

    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    target = normalize_target(target) if target else None
    if target:
        sts = session.client("sts", endpoint_url=args.endpoint_url)
        kwargs = {"RoleArn": role_arn(target), "RoleSessionName": "vpcfactory-cli"}
        if target.get("externalId"):
            kwargs["ExternalId"] = target["externalId"]
        creds = sts.assume_role(**kwargs)["Credentials"]
        session = boto3.session.Session(
            region_name=target["region"],
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session.client("ec2", endpoint_url=args.endpoint_url)


def emulator_zones(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The region's zones as the emulator knows them (an in-memory moto; nothing persists)."""
    import boto3
    from moto import mock_aws

    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.session.Session(region_name=region).client("ec2")
        return ec2.describe_availability_zones()["AvailabilityZones"]


def cmd_apply(args: argparse.Namespace, out: TextIO) -> int:
    doc = load_document(args.spec)
    validate(doc)  # a bad spec exits 2 before anything is started
    name = doc.get("name", doc.get("spec", {}).get("name", "vpc"))
    if args.allow_replace:
        # a change that needs a new VPC builds one instead of being refused (the old one stays)
        doc = {**(doc if "spec" in doc else {"spec": doc}), "allowReplace": True}
    return run_execution(args, "build", doc, f"build-{name}", out)


def cmd_destroy(args: argparse.Namespace, out: TextIO) -> int:
    if not args.vpc_id.startswith("vpc-"):
        raise InvalidSpec("VPC_ID", f"{args.vpc_id!r} is not a VPC id (vpc-...)")
    return run_execution(args, "destroy", {"vpcId": args.vpc_id}, f"destroy-{args.vpc_id}", out)


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory_tools import status as status_view

    if not has_target(args):
        raise UsageError(
            "status needs a target: the embedded emulator keeps nothing between runs. Serve one with "
            "`vpcfactory emulator` and pass --endpoint-url, or use --stack for a deployed factory "
            f"({DOCS}#following-a-build)"
        )
    sfn, arns = remote_session(args)
    arn = resolve_execution(sfn, arns, args.execution)
    described = sfn.describe_execution(executionArn=arn)
    target = split_input(json.loads(described.get("input") or "{}"))[1]
    try:
        ec2 = ec2_client(args, target)
    except Exception:  # noqa: BLE001 - e.g. no access to the target account: status reads the history
        ec2 = None
    status, timeline = status_view.execution_status(sfn, arn, ec2)
    if args.json:
        out.write(json.dumps({**status, "history": [u.line() for u in timeline]}) + "\n")
    else:
        status_view.render(status, timeline, out, full=args.history)
    return {"SUCCEEDED": EXIT_OK, "RUNNING": EXIT_OK}.get(status["status"], EXIT_FAILED)


def resolve_execution(sfn: Any, arns: dict[str, str], execution: str) -> str:
    """An execution ARN from an ARN or a name (looked up on the build, then the destroy machine)."""
    from botocore.exceptions import ClientError

    if execution.startswith("arn:"):
        candidates = [execution]
    else:
        candidates = [
            f"{machine.replace(':stateMachine:', ':execution:', 1)}:{execution}"
            for machine in dict.fromkeys((arns["build"], arns["destroy"]))
        ]
    for arn in candidates:
        try:
            sfn.describe_execution(executionArn=arn)
            return arn
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "InvalidArn"):
                raise
    raise UsageError(f"no execution {execution!r} on the factory's state machines")


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """A picture of the network a spec plans, or of a VPC as it exists (read from EC2)."""
    from vpcfactory_tools import diagram

    suffix = Path(args.output).suffix.lower()
    if suffix not in (".svg", ".png"):
        raise UsageError(f"-o {args.output}: the picture is written as .svg or .png")
    if args.source.startswith("vpc-"):
        if not (args.endpoint_url or args.stack):
            raise UsageError(
                f"{args.source}: a VPC is read from an account: pass --endpoint-url (e.g. `vpcfactory emulator`) "
                "or --stack (your credentials' account); for a spec, pass its file"
            )
        try:
            network = diagram.network_from_vpc(ec2_client(args, None), args.source)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    else:
        doc = load_document(args.source)
        spec = validate(doc)
        ec2 = target_ec2(args, split_input(doc)[1])
        zones = ec2.describe_availability_zones()["AvailabilityZones"] if ec2 else emulator_zones(args)
        network = diagram.network_from_plan(plan_network(spec, zones))
    try:
        path = diagram.render(network, args.output)
    except RuntimeError as exc:  # Graphviz missing, or dot could not draw it
        raise UsageError(str(exc)) from exc
    if args.json:
        out.write(json.dumps({"path": str(path), "vpc": network.name, "subnets": len(network.subnets)}) + "\n")
    else:
        out.write(f"wrote {path}\n")
    return EXIT_OK


def cmd_emulator(args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory_tools.emulator.server import start_server

    settings = emulator_settings(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server, ready = start_server(port=args.port, settings=settings, region=args.region or "us-east-1")
    out.write(json.dumps(ready) + "\n")
    out.flush()
    try:
        stop.wait()
    finally:
        server.stop()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpcfactory", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def target_options(p: argparse.ArgumentParser) -> None:
        group = p.add_mutually_exclusive_group()
        group.add_argument("--endpoint-url", help="an AWS-compatible endpoint, e.g. `vpcfactory emulator`'s")
        group.add_argument("--stack", help="a deployed factory's CloudFormation stack name")
        group.add_argument("--state-machine-arn", help="the state machine to start")
        p.add_argument("--region", help="AWS region (default: $AWS_DEFAULT_REGION or us-east-1)")
        p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        p.add_argument("--name", help="execution name (default: generated)")

    def emulator_options(p: argparse.ArgumentParser, default_scale: float) -> None:
        p.add_argument(
            "--fail-at",
            action="append",
            default=[],
            metavar="OP[:N][=CODE]",
            help="embedded emulator: fail the Nth call of an EC2 operation with an AWS error code",
        )
        p.add_argument(
            "--crash-after",
            action="append",
            default=[],
            metavar="OP[:N][@EXECUTION]",
            help="emulator: let the Nth call of an EC2 operation succeed, then kill the Lambda "
            "handler that made it (Runtime.ExitError)",
        )
        p.add_argument(
            "--throttle",
            type=float,
            default=0.0,
            metavar="P",
            help="emulator: fail a fraction P (0..1) of EC2 request attempts with RequestLimitExceeded",
        )
        p.add_argument("--seed", type=int, default=0, help="emulator: seed of the --throttle draws (reproducible runs)")
        p.add_argument(
            "--time-scale",
            type=float,
            default=default_scale,
            help="real seconds per simulated second (waits and NAT timings shrink by this)",
        )
        p.add_argument(
            "--consistency-delay",
            type=float,
            default=0.0,
            metavar="S",
            help="emulator: new EC2 resources answer Invalid*ID.NotFound to other calls for S simulated "
            "seconds (EC2's eventual consistency; default 0 = off)",
        )
        p.add_argument(
            "--no-iam",
            action="store_true",
            help="emulator: do not evaluate the handlers' requests against their roles' IAM policies "
            "(on by default when the evaluator is installed: make iam-simulator)",
        )

    p = sub.add_parser("plan", help="validate a spec and print the network it plans (and, against a target, the diff)")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true", help="print the plan (with addressSpace, warnings, diff) as JSON")
    p.add_argument("--region")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--endpoint-url", help="diff against the VPC at this endpoint (e.g. `vpcfactory emulator`)")
    group.add_argument("--stack", help="diff against the VPC in your credentials' account (a deployed factory)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("apply", help="build the VPC a spec describes (or grow the one it built)")
    p.add_argument("spec")
    p.add_argument(
        "--allow-replace",
        action="store_true",
        help="if the spec changes what its VPC has (CIDR, a removed tier/AZ), build a new VPC",
    )
    target_options(p)
    emulator_options(p, 0.01)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("destroy", help="delete a VPC the factory built (only what carries its tags)")
    p.add_argument("vpc_id", metavar="VPC_ID")
    target_options(p)
    emulator_options(p, 0.01)
    p.set_defaults(func=cmd_destroy)

    p = sub.add_parser("status", help="where an execution is and what it created so far")
    p.add_argument("execution", metavar="EXECUTION", help="execution ARN or name")
    p.add_argument("--history", action="store_true", help="show every update, not the last 12")
    target_options(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("diagram", help="draw the network of a spec or of an existing VPC as SVG or PNG")
    p.add_argument("source", metavar="SPEC|VPC_ID", help="a spec file (the plan) or a VPC id (read from EC2)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.svg|FILE.png")
    p.add_argument("--json", action="store_true", help="print {path, vpc, subnets} as one JSON object")
    p.add_argument("--region")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--endpoint-url", help="read the VPC (or the zones) at this endpoint")
    group.add_argument("--stack", help="read the VPC in your credentials' account")
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("emulator", help="serve an AWS-compatible endpoint with the factory deployed in it")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--region")
    emulator_options(p, 0.01)
    p.set_defaults(func=cmd_emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Lambda handlers run in this process on the emulator and log to stdout; keep stdout for
    # our own output (one JSON object with --json) and send everything else to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    # moto's Step Functions engine logs every caught task error at ERROR with its full state;
    # the progress lines already say what failed.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INVALID if exc.code else EXIT_OK
    try:
        return args.func(args, out)
    except InvalidSpec as exc:
        print(f"invalid spec: {exc}", file=sys.stderr)
        print("nothing was created; the spec format is in README.md#the-spec", file=sys.stderr)
        if getattr(args, "json", False):
            out.write(
                json.dumps(
                    {
                        "status": "FAILED",
                        "executionArn": None,
                        "vpcId": None,
                        "output": None,
                        "error": "InvalidSpec",
                        "cause": str(exc),
                        "field": exc.field,
                    }
                )
                + "\n"
            )
        return EXIT_INVALID
    except UsageError as exc:
        print(f"vpcfactory: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        out.flush()
        sys.stdout = out


if __name__ == "__main__":
    sys.exit(main())
