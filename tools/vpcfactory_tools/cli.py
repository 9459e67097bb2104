"""vpcfactory — plan, apply and destroy VPCs with the factory's state machines.

    vpcfactory plan SPEC [--json] [--endpoint-url URL | --stack NAME]
    vpcfactory apply SPEC [--json] [TARGET] [--fail-at OP[:N][=CODE]] [--crash-after OP[:N]]
                          [--throttle P [--seed S]] [--time-scale X] [--consistency-delay S] [--no-iam]
    vpcfactory destroy VPC_ID [--json] TARGET
    vpcfactory rollout MANIFEST [--audit] [--max-concurrency N] [--tolerated-failure-percentage P]
                       [--rollout-id ID] [--json] [TARGET] [--fail-at ...] [--time-scale X] ...
    vpcfactory status EXECUTION [--json] [--history] --endpoint-url URL | --stack NAME
    vpcfactory diagram SPEC|VPC_ID -o FILE.svg|.png [--endpoint-url URL | --stack NAME]
    vpcfactory emulator [--port N] [--fail-at ...] [--crash-after ...] [--throttle P] [--time-scale X]
                        [--consistency-delay S] [--no-iam]
    TARGET: (none = embedded emulator) | --endpoint-url URL | --stack NAME | --state-machine-arn ARN
    (for rollout, --state-machine-arn is the rollout state machine's)
    (the --fail-at ... --no-iam flags act on an emulator: the embedded one, or `vpcfactory emulator`)

Exit codes: 0 succeeded; 1 the execution failed (and was rolled back; a rollout: more accounts
failed than it tolerates); 2 invalid input or usage.
With --json, stdout holds exactly one JSON object, a refusal included (docs/operations.md).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn, TextIO

from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import plan_network
from vpcfactory.spec import VPC_ID_RE, parse_spec, plural, shown, split_input
from vpcfactory_tools.execution_results import DOCS, runbook

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
EXECUTION_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")  # a subset of Step Functions' names that tags accept


class UsageError(Exception):
    """Something the user got wrong (an argument, a flag, a file, the target): one line on stderr,
    exit 2 and, with --json, the error object (error_object). `error` names it there; `field` is the
    argument or flag at fault when there is one. `line` is what stderr says when it is not the
    message, `notes` are lines said after it (each problem of a manifest); `extra` are fields added
    to the error object (its `problems`)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        error: str = "UsageError",
        line: str = "",
        notes: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.error = error
        self.line = line  # what stderr says, when not the message
        self.notes = notes or []
        self.extra = extra or {}


# -- input ------------------------------------------------------------------------------------
def load_document(path: str) -> dict[str, Any]:
    """The spec file's mapping (spec_file: at most 256 KiB, UTF-8, no aliases, no key twice)."""
    from vpcfactory_tools.spec_file import SpecFileError, read_spec_file

    try:
        return read_spec_file(path)
    except SpecFileError as exc:
        if exc.unreadable:
            raise UsageError(str(exc), field="SPEC") from None
        raise UsageError(str(exc), error="InvalidSpec") from None  # the whole file: no field in it


def validate(doc: dict[str, Any]) -> Any:
    spec_raw, _target = split_input(doc)
    return parse_spec(spec_raw)


def parse_faults(texts: list[str]) -> list[Any]:
    from vpcfactory_tools.emulator.fault_spec import parse_fault

    try:
        return [parse_fault(t) for t in texts]
    except ValueError as exc:
        raise UsageError(f"--fail-at: {exc}", field="--fail-at") from exc


def parse_crashes(texts: list[str]) -> list[Any]:
    from vpcfactory_tools.emulator.fault_spec import parse_call

    try:
        return [parse_call(t) for t in texts]
    except ValueError as exc:
        raise UsageError(f"--crash-after: {exc}", field="--crash-after") from exc


# The emulator-only flags and their defaults. They default to None on the command line, so that
# giving one with a target (where it would do nothing) is refused, not silently ignored.
EMULATOR_FLAGS: dict[str, Any] = {
    "fail_at": [],
    "crash_after": [],
    "throttle": 0.0,
    "seed": 0,
    "time_scale": 0.01,
    "consistency_delay": 0.0,
    "no_iam": False,
}


def emulator_flag(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name, None)
    return EMULATOR_FLAGS[name] if value is None else value


def resolve_emulator_flags(args: argparse.Namespace) -> None:
    """Refuse emulator-only flags given with a target; fill in the defaults of the others."""
    if not hasattr(args, "time_scale"):
        return
    if args.command in ("apply", "destroy", "rollout") and has_target(args):
        given = [f"--{name.replace('_', '-')}" for name in EMULATOR_FLAGS if getattr(args, name) is not None]
        if given:
            target = target_flags(args).split(" --region")[0].split(" ")[0]
            flags = " and ".join(given) if len(given) <= 2 else f"{', '.join(given[:-1])} and {given[-1]}"
            one = len(given) == 1
            raise UsageError(
                f"{flags} {'works' if one else 'work'} on the emulator only; with {target} "
                f"{'it' if one else 'they'} would be ignored: give {'it' if one else 'them'} to "
                f"`vpcfactory emulator` when you start it instead, or leave out {target} to run on the "
                "embedded emulator",
                field=given[0],
            )
    for name in EMULATOR_FLAGS:
        setattr(args, name, emulator_flag(args, name))


def emulator_settings(args: argparse.Namespace) -> Any:
    """The embedded or served emulator's settings from the command line."""
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    delay = emulator_flag(args, "consistency_delay")
    if not (math.isfinite(delay) and delay >= 0):
        raise UsageError(
            f"--consistency-delay: {delay!r} is not a number of simulated seconds >= 0 (e.g. 2)",
            field="--consistency-delay",
        )
    scale = emulator_flag(args, "time_scale")
    if not (math.isfinite(scale) and scale > 0):
        raise UsageError(
            f"--time-scale must be a number of real seconds per simulated second > 0 (e.g. 0.01), got {scale!r}",
            field="--time-scale",
        )
    throttle = emulator_flag(args, "throttle")
    if not 0.0 <= throttle <= 1.0:  # nan too
        raise UsageError(
            f"--throttle must be a fraction between 0 and 1 (e.g. 0.2), got {throttle!r}", field="--throttle"
        )
    faults = parse_faults(emulator_flag(args, "fail_at"))
    crashes = parse_crashes(emulator_flag(args, "crash_after"))
    iam = not emulator_flag(args, "no_iam")
    if iam:  # (after every check: a refused command says one line)
        from vpcfactory_tools.emulator.iam_evaluator import available

        iam, reason = available()
        if not iam:
            print(f"note: IAM evaluation is off: {reason}", file=sys.stderr, flush=True)
    try:
        return EmulatorSettings(
            time_scale=scale,
            iam=iam,
            consistency_delay_seconds=delay,
            faults=faults,
            crash_after=crashes,
            throttle=throttle,
            seed=emulator_flag(args, "seed"),
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
            "rollout": values.get("RolloutStateMachineArn", ""),
        }
    else:
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"].endswith("-build-vpc"):
                    arns["build"] = machine["stateMachineArn"]
                elif machine["name"].endswith("-destroy-vpc"):
                    arns["destroy"] = machine["stateMachineArn"]
                elif machine["name"].endswith("-rollout"):
                    arns["rollout"] = machine["stateMachineArn"]
    if not arns.get("build") or not arns.get("destroy"):
        raise UsageError("no factory state machines found at the target (is the stack deployed?)")
    return sfn, arns


def has_target(args: argparse.Namespace) -> bool:
    return bool(args.endpoint_url or args.stack or args.state_machine_arn)


def _share_service_models() -> None:
    """Before the emulator (and moto) load: botocore reads its data through one loader per process
    from here on (emulator/service_models.py, which the emulator installs when it starts anyway), so
    moto's import-time session and every session after it parse the endpoint data and each service
    model once, not once per session (~0.3 s of CPU of an embedded run)."""
    from vpcfactory_tools.emulator import service_models

    service_models.install()


def run_execution(args: argparse.Namespace, which: str, payload: dict[str, Any], prefix: str, out: TextIO) -> int:
    from vpcfactory_tools.execution_results import execution_name, wait_for_execution
    from vpcfactory_tools.progress import follow, view_for

    # Progress goes to stderr: live on a terminal, plain lines in a pipe or with --json (stdout
    # then carries exactly one JSON object).
    name = args.name or execution_name(prefix)
    if has_target(args):
        sfn: Any = None
        arn: str | None = None
        try:
            sfn, arns = remote_session(args)
            started = sfn.start_execution(stateMachineArn=arns[which], name=name, input=json.dumps(payload))
            arn = started["executionArn"]
            print(f"started {arn}", file=sys.stderr, flush=True)
            follow(sfn, arn, view_for(sys.stderr, plain=args.json))
            result = wait_for_execution(sfn, arn)
        except KeyboardInterrupt:
            return interrupted_at_target(args, sfn, arn, name, out)
        return report(result, args, out)

    _share_service_models()
    from vpcfactory_tools.emulator.embedded import EmbeddedEmulator  # loads moto: only when we run on it

    settings = emulator_settings(args)
    print(
        f"target: the embedded emulator (no AWS account; time scale {args.time_scale:g})", file=sys.stderr, flush=True
    )
    stopped: str | None = None  # the execution an interrupt stopped
    with contextlib.ExitStack() as interrupted:
        try:
            with EmbeddedEmulator(settings) as emu:
                sfn = emu.client("stepfunctions")
                assert emu.stack is not None  # deployed when the emulator starts
                machine = emu.stack.build_arn if which == "build" else emu.stack.destroy_arn
                # What the spec names but does not build (an IPAM pool, a transit gateway): made here
                # for this run, their ids put in place of the spec's (emulator/fixtures.py).
                from vpcfactory_tools.emulator import fixtures

                payload, made = fixtures.provide(emu.client, payload)
                for line in made:
                    print(line, file=sys.stderr, flush=True)
                try:
                    arn = emu.start_execution(machine, payload, name)
                    print(f"started {arn}", file=sys.stderr, flush=True)
                    follow(
                        sfn,
                        arn,
                        view_for(sys.stderr, plain=args.json, time_scale=args.time_scale),
                        time_scale=args.time_scale,
                    )
                    result = wait_for_execution(sfn, arn)
                except KeyboardInterrupt:
                    interrupted.enter_context(_second_interrupt_exits(out))
                    # (by name: the interrupt may have come while StartExecution answered)
                    stopped = stop_embedded(sfn, f"{machine.replace(':stateMachine:', ':execution:', 1)}:{name}")
                    raise
        except KeyboardInterrupt:  # following it, or while the emulator started or stopped
            interrupted.enter_context(_second_interrupt_exits(out))
            return interrupted_embedded(args, stopped, out)
    return report(result, args, out)


# -- interrupted (Ctrl-C) ---------------------------------------------------------------------
# Against a target (a served emulator, AWS) the execution runs on without us: the first Ctrl-C
# stops following it, says so and how to follow or stop it, and exits 130. Stopping a build is
# not the safe default: a stopped (ABORTED) execution does not roll back. On a terminal a second
# Ctrl-C within STOP_WINDOW_SECONDS stops it (StopExecution, error StoppedByOperator). The embedded
# emulator lives in this process, so interrupting it ends the execution: it is stopped, and what
# it created goes with the process.
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
STOP_WINDOW_SECONDS = 5.0
STOPPED_ERROR = "StoppedByOperator"


def target_flags(args: argparse.Namespace) -> str:
    """The CLI flags that reach the same target (for the commands we suggest)."""
    flag = (
        f"--stack {args.stack}"
        if args.stack
        else f"--endpoint-url {args.endpoint_url}"
        if args.endpoint_url
        else f"--state-machine-arn {args.state_machine_arn}"
    )
    return flag + (f" --region {args.region}" if args.region else "")


def interrupted_at_target(args: argparse.Namespace, sfn: Any, arn: str | None, name: str, out: TextIO) -> int:
    flags = target_flags(args)
    status_command = f"vpcfactory status {name} {flags}"
    if arn is None:
        message = f"interrupted while starting {name}; if it started, it continues: `{status_command}`"
        print(message, file=sys.stderr, flush=True)
        return _interrupted_json(args, out, None, None, message, status_command=status_command)
    stop_command = f"aws stepfunctions stop-execution --execution-arn {arn}" + "".join(
        f" {flag} {value}"
        for flag, value in (("--endpoint-url", args.endpoint_url), ("--region", args.region))
        if value
    )
    try:
        state = sfn.describe_execution(executionArn=arn)["status"]
    except (Exception, KeyboardInterrupt):  # noqa: BLE001 - no answer (or Ctrl-C again): say what we know
        state = "RUNNING"
    if state != "RUNNING":
        message = f"interrupted; the execution has ended ({state}): `{status_command}`"
        print(message, file=sys.stderr, flush=True)
        return _interrupted_json(args, out, arn, state, message, status_command=status_command)
    tty = sys.stderr.isatty()
    print(
        f"interrupted; the execution continues: {arn}\n"
        f"  follow it: {status_command}\n"
        f"  stop it:   {stop_command}\n"
        "             (a stopped execution does not roll back; `vpcfactory status` then lists what it left)"
        + (
            f"\npress Ctrl-C again within {STOP_WINDOW_SECONDS:g} s to stop it now "
            "(otherwise the CLI exits and the execution goes on)"
            if tty
            else ""
        ),
        file=sys.stderr,
        flush=True,
    )
    if tty and _interrupted_again(STOP_WINDOW_SECONDS):
        with _second_interrupt_exits(out):
            return _stop_at_target(args, sfn, arn, status_command, out)
    message = f"interrupted; the execution continues: `{status_command}`"
    return _interrupted_json(
        args, out, arn, "RUNNING", message, status_command=status_command, stop_command=stop_command
    )


def _stop_at_target(args: argparse.Namespace, sfn: Any, arn: str, status_command: str, out: TextIO) -> int:
    import platform

    from botocore.exceptions import BotoCoreError, ClientError

    who = f"{os.environ.get('USER') or os.environ.get('USERNAME') or 'the operator'} on {platform.node()}"
    try:
        sfn.stop_execution(
            executionArn=arn,
            error=STOPPED_ERROR,
            cause=f"stopped by {who} with a second Ctrl-C in `vpcfactory {args.command}`",
        )
        state = sfn.describe_execution(executionArn=arn)["status"]
    except (BotoCoreError, ClientError) as exc:
        message = f"could not stop it ({exc}); it may still run: `{status_command}`"
        print(message, file=sys.stderr, flush=True)
        return _interrupted_json(args, out, arn, None, message, status_command=status_command)
    if state == "ABORTED":
        message = (
            f"stopped {arn}; a stopped execution does not roll back: what it created is still there. "
            f"`{status_command}` lists it; `vpcfactory destroy VPC_ID {target_flags(args)}` deletes a VPC it built"
        )
    else:  # it ended on its own before the stop reached it
        message = f"it had already ended ({state}): `{status_command}`"
    print(message, file=sys.stderr, flush=True)
    return _interrupted_json(args, out, arn, state, message, status_command=status_command)


def stop_embedded(sfn: Any, arn: str, drain_seconds: float = 10.0) -> str | None:
    """Stop the execution running in this process's emulator (the ARN, or None if it never
    started) and let its running handlers end: the mock must not be left while a handler still
    makes calls (they would go to AWS)."""
    import time

    from vpcfactory_tools.emulator import lambda_runtime

    stopped: str | None = arn
    try:
        sfn.stop_execution(
            executionArn=arn,
            error=STOPPED_ERROR,
            cause="the vpcfactory process running the embedded emulator was interrupted (Ctrl-C)",
        )
    except Exception:  # noqa: BLE001 - ExecutionDoesNotExist: it never started
        stopped = None
    deadline = time.monotonic() + drain_seconds
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        quiet = quiet + 1 if lambda_runtime.running_handlers() == 0 else 0
        time.sleep(0.05)
    return stopped


def interrupted_embedded(args: argparse.Namespace, arn: str | None, out: TextIO) -> int:
    if arn is None:
        message = "interrupted before the execution started; nothing was created"
    else:
        message = f"interrupted; stopped {arn}: the embedded emulator keeps nothing (it lived in this process)"
    print(message, file=sys.stderr, flush=True)
    return _interrupted_json(args, out, arn, "ABORTED" if arn else None, message)


def _interrupted_json(
    args: argparse.Namespace,
    out: TextIO,
    arn: str | None,
    state: str | None,
    message: str,
    **commands: str,
) -> int:
    """With --json, the one object on stdout: the contract's fields (status stays within the
    contract's SUCCEEDED|FAILED: FAILED, with error Interrupted), plus executionStatus (what the
    execution does now: RUNNING, ABORTED, ...), message, and the commands to follow or stop it
    (statusCommand, stopCommand)."""
    if args.json:
        doc = {
            "status": "FAILED",
            "executionArn": arn,
            "vpcId": None,
            "output": None,
            "error": "Interrupted",
            "cause": message,
            "message": message,
            "executionStatus": state,
            **{f"{key.removesuffix('_command')}Command": value for key, value in commands.items()},
        }
        out.write(json.dumps(doc) + "\n")
        out.flush()
    return EXIT_INTERRUPTED


def _interrupted_again(seconds: float) -> bool:
    """True if Ctrl-C comes again within `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            time.sleep(0.05)
    except KeyboardInterrupt:
        return True
    return False


@contextlib.contextmanager
def _second_interrupt_exits(out: TextIO) -> Iterator[None]:
    """While an interrupted run cleans up, another Ctrl-C ends the process at once, quietly."""

    def now(*_: Any) -> None:
        print("interrupted again: exiting now", file=sys.stderr, flush=True)
        with contextlib.suppress(Exception):
            out.flush()
        os._exit(EXIT_INTERRUPTED)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, now)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def report(result: Any, args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory_tools.progress import short_cause

    code = EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED
    if args.json:
        out.write(json.dumps(result.as_contract()) + "\n")
        return code
    if code == EXIT_OK:
        out.write(f"{result.status}: {result.execution_arn}\n")
        output = result.output or {}
        if args.command == "destroy":
            out.write(destroyed_line(output, args.vpc_id) + "\n")
        elif output.get("vpcId"):
            zones = output.get("availabilityZones", [])
            out.write(
                f"VPC {output['vpcId']} {output.get('cidr', '')} in {plural(len(zones), 'zone')} ({', '.join(zones)})\n"
            )
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


def destroyed_line(output: dict[str, Any], vpc_id: str) -> str:
    """What a successful destroy deleted (its output is the destroy's scope: vpcId and name)."""
    name = output.get("name")
    return (
        f"destroyed VPC {output.get('vpcId') or vpc_id}{f' ({name})' if name else ''} and everything the factory "
        "built in it (subnets, route tables, gateways, Elastic IPs, endpoints, flow logs); its published "
        "outputs are removed"
    )


def note_unfired(args: argparse.Namespace) -> None:
    """After an embedded run: a --fail-at or --crash-after that never fired is said on stderr, with
    how many calls of its operation the run made (a fault at call 3 of an operation called twice
    tested nothing)."""
    from vpcfactory_tools.emulator import faults

    for flag, texts, parse in (
        ("--fail-at", args.fail_at, parse_faults),
        ("--crash-after", args.crash_after, parse_crashes),
    ):
        for text, ref in zip(texts, parse(texts), strict=True):
            made = faults.call_counts(ref.execution).get(ref.operation, 0)
            if made < ref.call:
                by = f"execution {ref.execution}" if ref.execution else "the run"
                print(
                    f"note: {flag} {text} never fired: {by} made {plural(made, f'{ref.operation} call')}",
                    file=sys.stderr,
                    flush=True,
                )


# -- commands ---------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    from vpcfactory.growth import compare
    from vpcfactory_tools import plan_view

    doc = load_document(args.spec)
    spec = validate(doc)
    ec2 = target_ec2(args, split_input(doc)[1])
    zones = ec2.describe_availability_zones()["AvailabilityZones"] if ec2 else emulator_zones(args)
    plan = plan_network(spec, zones)
    if ec2 is not None:
        from vpcfactory import ipam

        plan = ipam.place(plan, ec2)  # IPAM: the pool's next block (a preview) or the existing VPC's
    # Against a target, the diff: what a re-apply would add and what it refuses (growth.compare,
    # the same code Validate And Plan runs). Without one there is nothing to compare with.
    # (Growing a VPC: the plan in the route-table layout that VPC has, as the build would follow it.)
    diff = None
    if ec2 is not None:
        plan, diff = compare(plan, ec2)
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


def ec2_client(args: argparse.Namespace, target: Mapping[str, Any] | None) -> Any:
    """EC2 at the target endpoint (or AWS), in the spec's target account when it names one."""
    import botocore.session

    from vpcfactory.aws import assumed_session, normalize_target

    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = botocore.session.get_session()
    session.set_config_variable("region", region)
    target = normalize_target(target) if target else None
    if target:  # as the handlers do (vpcfactory.aws), with the CLI's own credentials and session name
        session, _expires = assumed_session(
            session.create_client("sts", endpoint_url=args.endpoint_url), target, "vpcfactory-cli"
        )
    return session.create_client("ec2", endpoint_url=args.endpoint_url)


def emulator_zones(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The region's zones as the embedded emulator knows them (its table, read without loading moto)."""
    from vpcfactory_tools.zones import emulator_zones as zones_of

    return zones_of(args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")


def cmd_apply(args: argparse.Namespace, out: TextIO) -> int:
    doc = load_document(args.spec)
    validate(doc)  # a bad spec exits 2 before anything is started
    name = doc.get("name", doc.get("spec", {}).get("name", "vpc"))
    if args.allow_replace:
        # a change that needs a new VPC builds one instead of being refused (the old one stays)
        doc = {**(doc if "spec" in doc else {"spec": doc}), "allowReplace": True}
    code = run_execution(args, "build", doc, f"build-{name}", out)
    if not has_target(args) and code in (EXIT_OK, EXIT_FAILED):
        note_unfired(args)
    return code


def cmd_destroy(args: argparse.Namespace, out: TextIO) -> int:
    if not VPC_ID_RE.fullmatch(args.vpc_id):
        raise UsageError(
            f"{shown(args.vpc_id)} is not a VPC id (vpc- and 8 or 17 hex digits, e.g. vpc-0123456789abcdef0)",
            field="VPC_ID",
        )
    if not has_target(args):
        raise UsageError(
            "destroy needs a target: the embedded emulator starts empty on every run, so it has no VPC to "
            "destroy. Serve one with `vpcfactory emulator` and apply and destroy with --endpoint-url URL, "
            "or pass --stack NAME for a deployed factory"
        )
    return run_execution(args, "destroy", {"vpcId": args.vpc_id}, f"destroy-{args.vpc_id}", out)


# -- rollout: one network to many accounts -----------------------------------------------------
# The rollout state machine (statemachine/rollout.asl.json) reads the manifest from the stack's
# rollout bucket; the CLI checks it first (manifest.parse_manifest, as Prepare Rollout does), uploads
# it to manifests/<rolloutId>.jsonl|.csv and starts the rollout under the rollout id's name.
MAX_CONCURRENCY = 1000  # Prepare Rollout's bound too (what one rollout starts at once)
DEFAULT_CONCURRENCY = 10
ROLLOUT_BUCKET_TAG = "vpcfactory:rollout-bucket"  # on the rollout state machine (template.yaml)
MAX_PROBLEMS_SAID = 100  # problems of a manifest listed on stderr; --json lists them all


@dataclasses.dataclass
class Rollout:
    """What `vpcfactory rollout` starts: the manifest's text, where it goes and the input's settings."""

    rollout_id: str
    mode: str  # build | audit
    text: str
    key: str  # manifests/<rolloutId>.jsonl|.csv
    max_concurrency: int
    tolerated_failure_percentage: float
    accounts: int  # the manifest's items

    def payload(self, bucket: str) -> dict[str, Any]:
        percentage = self.tolerated_failure_percentage
        return {
            "manifest": {"bucket": bucket, "key": self.key},
            "mode": self.mode,
            "rolloutId": self.rollout_id,
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": int(percentage) if percentage == int(percentage) else percentage,
        }


def default_rollout_id() -> str:
    import secrets
    import time

    return f"rollout-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}"


def read_manifest(path: str) -> str:
    """The manifest file's text (- reads stdin)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the manifest {path}: {exc.strerror or exc}", field="MANIFEST") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"{path}: not UTF-8 text (byte {exc.start:,})"
        raise UsageError(
            f"invalid manifest {path}: {problem}",
            field="MANIFEST",
            error="InvalidManifest",
            extra={"problems": [problem]},
        ) from None


def prepare_rollout(args: argparse.Namespace) -> Rollout:
    """The flags and the manifest checked, before anything is uploaded or started (exit 2 otherwise)."""
    from vpcfactory.errors import InvalidManifest
    from vpcfactory.manifest import ROLLOUT_ID_RE, parse_manifest
    from vpcfactory_tools.rollouts import manifest_key

    if not 1 <= args.max_concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--max-concurrency {args.max_concurrency}: give 1 to {MAX_CONCURRENCY} (the accounts built at once)",
            field="--max-concurrency",
        )
    percentage = args.tolerated_failure_percentage
    if not 0 <= percentage <= 100:  # nan too
        raise UsageError(
            f"--tolerated-failure-percentage {percentage:g}: give a percentage from 0 to 100 (the share of accounts "
            "that may fail while the rollout still succeeds)",
            field="--tolerated-failure-percentage",
        )
    rollout_id = args.rollout_id if args.rollout_id is not None else default_rollout_id()
    if not ROLLOUT_ID_RE.fullmatch(rollout_id):
        raise UsageError(
            f"--rollout-id {shown(rollout_id)}: a rollout id is 1 to 40 letters, digits, '-' and '_' (it names the "
            "rollout's execution, its builds and its files)",
            field="--rollout-id",
        )
    name = "stdin" if args.manifest == "-" else args.manifest
    text = read_manifest(args.manifest)
    try:
        items = parse_manifest(text, name=name, regions=known_regions())
    except InvalidManifest as exc:
        problems = exc.problems
        said = problems[:MAX_PROBLEMS_SAID]
        if len(problems) > len(said):
            said.append(f"... and {len(problems) - len(said)} more (--json lists them all)")
        head = f"invalid manifest {name}: {plural(len(problems), 'problem')}, nothing was started"
        raise UsageError(
            f"{head}: {exc}",
            field="MANIFEST",
            error="InvalidManifest",
            line=f"{head}:",
            notes=said,
            extra={"problems": problems},
        ) from None
    return Rollout(
        rollout_id=rollout_id,
        mode="audit" if args.audit else "build",
        text=text,
        key=manifest_key(rollout_id, text),
        max_concurrency=args.max_concurrency,
        tolerated_failure_percentage=percentage,
        accounts=len(items),
    )


def cmd_rollout(args: argparse.Namespace, out: TextIO) -> int:
    rollout = prepare_rollout(args)
    what = "audits" if rollout.mode == "audit" else "builds"
    print(
        f"rollout {rollout.rollout_id}: {what} {plural(rollout.accounts, 'account')} "
        f"({rollout.max_concurrency} at once, {rollout.tolerated_failure_percentage:g} % may fail)",
        file=sys.stderr,
        flush=True,
    )
    if has_target(args):
        return rollout_at_target(args, rollout, out)
    code = rollout_embedded(args, rollout, out)
    if code in (EXIT_OK, EXIT_FAILED):
        note_unfired(args)
    return code


def rollout_session(args: argparse.Namespace) -> tuple[Any, Any, str, str]:
    """(Step Functions client, S3 client, the rollout state machine's ARN, the rollout bucket) of a
    deployed (or served) factory: from --state-machine-arn, the --stack's outputs, or the state
    machine named *-rollout at the endpoint; the bucket from the stack's RolloutBucketName output
    or the state machine's vpcfactory:rollout-bucket tag."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint_url)
    machine, bucket = args.state_machine_arn, None
    if args.stack:
        cfn = session.client("cloudformation", endpoint_url=args.endpoint_url)
        outputs = cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
        values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        machine, bucket = values.get("RolloutStateMachineArn"), values.get("RolloutBucketName")
        if not machine:
            raise UsageError(
                f"the stack {args.stack} has no RolloutStateMachineArn output: deploy this version of the factory "
                "(fleets came with it) first",
                field="--stack",
            )
    elif not machine:
        found = [
            m["stateMachineArn"]
            for page in sfn.get_paginator("list_state_machines").paginate()
            for m in page["stateMachines"]
            if m["name"].endswith("-rollout")
        ]
        if len(found) != 1:
            raise UsageError(
                "no rollout state machine at the target (is this version of the factory deployed there?)"
                if not found
                else f"{len(found)} rollout state machines at the target: name one with --state-machine-arn"
            )
        machine = found[0]
    if not bucket:
        tags = sfn.list_tags_for_resource(resourceArn=machine).get("tags", [])
        bucket = next((t["value"] for t in tags if t["key"] == ROLLOUT_BUCKET_TAG), None)
        if not bucket:
            raise UsageError(
                f"{machine} carries no {ROLLOUT_BUCKET_TAG} tag: is it the factory's rollout state machine?",
                field="--state-machine-arn" if args.state_machine_arn else None,
            )
    # Path-style addressing at an endpoint (a served emulator on 127.0.0.1 has no bucket subdomains).
    config = Config(s3={"addressing_style": "path"}) if args.endpoint_url else None
    s3 = session.client("s3", endpoint_url=args.endpoint_url, config=config)
    return sfn, s3, machine, bucket


def rollout_at_target(args: argparse.Namespace, rollout: Rollout, out: TextIO) -> int:
    from botocore.exceptions import ClientError

    from vpcfactory_tools.execution_results import wait_for_execution
    from vpcfactory_tools.rollouts import follow_rollout, read_report

    sfn: Any = None
    arn: str | None = None
    try:
        sfn, s3, machine, bucket = rollout_session(args)
        # A rollout id names one execution for 90 days: refused before the manifest is uploaded
        # (an upload would replace the earlier rollout's manifest under the same key).
        try:
            earlier = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{rollout.rollout_id}"
            sfn.describe_execution(executionArn=earlier)
            raise UsageError(
                f"a rollout {rollout.rollout_id} already ran on {machine} ({earlier}; names stay taken for 90 days): "
                "choose another --rollout-id, or leave it out for a generated one. To run its failed accounts "
                f"again, redrive it: aws stepfunctions redrive-execution --execution-arn {earlier}",
                field="--rollout-id",
                error="ExecutionAlreadyExists",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
        s3.put_object(Bucket=bucket, Key=rollout.key, Body=rollout.text.encode("utf-8"))
        print(f"uploaded the manifest to s3://{bucket}/{rollout.key}", file=sys.stderr, flush=True)
        started = sfn.start_execution(
            stateMachineArn=machine, name=rollout.rollout_id, input=json.dumps(rollout.payload(bucket))
        )
        arn = started["executionArn"]
        print(f"started {arn}", file=sys.stderr, flush=True)
        follow_rollout(sfn, arn, rollout.mode, _say, poll_seconds=2.0)
        result = wait_for_execution(sfn, arn)
        report = read_report(s3, bucket, rollout.rollout_id)
    except KeyboardInterrupt:
        return interrupted_at_target(args, sfn, arn, rollout.rollout_id, out)
    return rollout_result(args, result, rollout, bucket, report, out)


def rollout_embedded(args: argparse.Namespace, rollout: Rollout, out: TextIO) -> int:
    _share_service_models()
    from vpcfactory_tools.emulator.embedded import EmbeddedEmulator  # loads moto: only when we run on it
    from vpcfactory_tools.execution_results import wait_for_execution
    from vpcfactory_tools.rollouts import follow_rollout, read_report

    settings = emulator_settings(args)
    scale = emulator_flag(args, "time_scale")
    print(f"target: the embedded emulator (no AWS account; time scale {scale:g})", file=sys.stderr, flush=True)
    stopped: str | None = None
    with contextlib.ExitStack() as interrupted:
        try:
            with EmbeddedEmulator(settings) as emu:
                sfn, s3 = emu.client("stepfunctions"), emu.client("s3")
                assert emu.stack is not None  # deployed when the emulator starts
                machine, bucket = emu.stack.rollout_arn, emu.stack.rollout_bucket
                try:
                    s3.put_object(Bucket=bucket, Key=rollout.key, Body=rollout.text.encode("utf-8"))
                    arn = emu.start_execution(machine, rollout.payload(bucket), rollout.rollout_id)
                    print(f"started {arn}", file=sys.stderr, flush=True)
                    follow_rollout(sfn, arn, rollout.mode, _say, poll_seconds=0.05)
                    result = wait_for_execution(sfn, arn)
                    report = read_report(s3, bucket, rollout.rollout_id)
                except KeyboardInterrupt:
                    interrupted.enter_context(_second_interrupt_exits(out))
                    name = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{rollout.rollout_id}"
                    stopped = stop_embedded_rollout(sfn, name, emu.stack.build_arn)
                    raise
        except KeyboardInterrupt:
            interrupted.enter_context(_second_interrupt_exits(out))
            return interrupted_embedded(args, stopped, out)
    return rollout_result(args, result, rollout, bucket, report, out)


def stop_embedded_rollout(sfn: Any, arn: str, build_arn: str) -> str | None:
    """Stop a rollout running in this process's emulator and the builds it started (they are
    executions of their own: stopping the rollout alone would leave them making calls after the
    mock is gone), then let the running handlers end (stop_embedded)."""
    from botocore.exceptions import BotoCoreError, ClientError

    stopped = stop_embedded(sfn, arn, drain_seconds=0.0)
    with contextlib.suppress(BotoCoreError, ClientError):
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=build_arn, statusFilter="RUNNING")
        for build in [e for page in pages for e in page["executions"]]:
            stop_embedded(sfn, build["executionArn"], drain_seconds=0.0)
    stop_embedded(sfn, arn)  # (already stopped: this only waits for the handlers)
    return stopped


def rollout_result(
    args: argparse.Namespace, result: Any, rollout: Rollout, bucket: str, report: dict[str, Any] | None, out: TextIO
) -> int:
    from vpcfactory_tools import rollouts

    doc = rollouts.contract(
        status=result.status,
        execution_arn=result.execution_arn,
        rollout_id=rollout.rollout_id,
        mode=rollout.mode,
        report=report,
        bucket=bucket,
        error=result.error,
        cause=result.cause,
    )
    code = EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED
    if args.json:
        out.write(json.dumps(doc) + "\n")
        return code
    rollouts.render(doc, out)
    if code != EXIT_OK and has_target(args):
        out.write(
            "what to do next: the table says why each account failed; once fixed, redrive the rollout to run "
            "only its failed accounts again: aws stepfunctions redrive-execution --execution-arn "
            f"{result.execution_arn}\n"
        )
    return code


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
    """An execution ARN from an ARN or a name (looked up on the build, the destroy, then the rollout
    machine)."""
    from botocore.exceptions import ClientError

    if execution.startswith("arn:"):
        candidates = [execution]
    else:
        candidates = [
            f"{machine.replace(':stateMachine:', ':execution:', 1)}:{execution}"
            for machine in dict.fromkeys((arns["build"], arns["destroy"], arns.get("rollout") or arns["build"]))
        ]
    for arn in candidates:
        try:
            sfn.describe_execution(executionArn=arn)
            return arn
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "InvalidArn"):
                raise
    raise UsageError(f"no execution {shown(execution)} on the factory's state machines", field="EXECUTION")


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """A picture of the network a spec plans, or of a VPC as it exists (read from EC2)."""
    from vpcfactory_tools import diagram

    output = Path(args.output)
    if output.suffix.lower() not in (".svg", ".png"):
        raise UsageError(f"-o {args.output}: the picture is written as .svg or .png", field="-o")
    if not output.parent.is_dir():
        problem = "is not a directory" if output.parent.exists() else "does not exist (create it first)"
        raise UsageError(f"-o {args.output}: the directory {output.parent} {problem}", field="-o")
    if output.is_dir():
        raise UsageError(f"cannot write -o {args.output}: it is a directory", field="-o")
    if not os.access(output.parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise UsageError(f"cannot write -o {args.output}: permission denied", field="-o")
    # An existing file is a spec, whatever its name (vpc-prod.yaml); otherwise a VPC id is a VPC.
    is_vpc = not Path(args.source).exists() and args.source != "-" and args.source.startswith("vpc-")
    if is_vpc and not VPC_ID_RE.fullmatch(args.source):
        raise UsageError(
            f"{shown(args.source)} is neither a spec file nor a VPC id (vpc- and 8 or 17 hex digits)",
            field="SPEC|VPC_ID",
        )
    if is_vpc:
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
    except OSError as exc:  # e.g. no permission to write there
        raise UsageError(f"cannot write -o {args.output}: {exc.strerror or exc}", field="-o") from None
    if args.json:
        out.write(json.dumps({"path": str(path), "vpc": network.name, "subnets": len(network.subnets)}) + "\n")
    else:
        out.write(f"wrote {path}\n")
    return EXIT_OK


class _StopStarting(BaseException):
    """Raised by `vpcfactory emulator`'s signal handler while it starts: start-up ends at once.
    (A BaseException, so no `except Exception` on the way swallows it.)"""


STOP_CHECK_SECONDS = 0.2


def wait_for_stop(stop: threading.Event) -> None:
    """Block the main thread until ``stop`` is set by a signal handler, waking every
    :data:`STOP_CHECK_SECONDS`. Python runs signal handlers in the main thread, but the kernel may
    deliver a process's SIGTERM to any of its threads (the server's, the IAM evaluator's pumps):
    then nothing wakes a main thread blocked in ``stop.wait()`` with no timeout, the handler never
    runs, and the emulator ignores the signal for good (seen under load: a served emulator still
    running minutes after its SIGTERM)."""
    while not stop.wait(STOP_CHECK_SECONDS):
        pass


def cmd_emulator(args: argparse.Namespace, out: TextIO) -> int:
    """Serve until SIGTERM or SIGINT (Ctrl-C), which stop it cleanly (exit 0) at any time, start-up
    included; a second one exits at once. A port in use is a usage error (exit 2), said in one line."""
    stop = threading.Event()
    starting = True

    def on_signal(*_: Any) -> None:
        if stop.is_set():
            os._exit(EXIT_OK)  # asked twice: do not wait for the clean stop
        stop.set()
        if starting:
            raise _StopStarting

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = None
    try:
        from vpcfactory_tools.emulator.port import PortUnavailable, listen

        try:
            sock = listen(args.port)  # first: a port in use is said at once, not after loading moto
        except PortUnavailable as exc:
            raise UsageError(str(exc)) from None
        with sock:
            print(
                f"vpcfactory emulator: starting on 127.0.0.1:{sock.getsockname()[1]} "
                "(loading the emulator and deploying template.yaml take a few seconds)",
                file=sys.stderr,
                flush=True,
            )
            settings = emulator_settings(args)
            _share_service_models()
            from vpcfactory_tools.emulator.server import start_server

            server, ready = start_server(
                sock=sock,
                settings=settings,
                region=args.region or "us-east-1",
                log_requests=getattr(args, "log_requests", False),
            )
        starting = False
        out.write(json.dumps(ready) + "\n")
        out.flush()
        wait_for_stop(stop)
    except _StopStarting:
        print("vpcfactory emulator: stopped while starting", file=sys.stderr, flush=True)
    finally:
        starting = False
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are a UsageError (one line; the error object with --json), not
    the usage text and an exit."""

    def error(self, message: str) -> NoReturn:
        named = re.match(r"argument ([^:]+): ", message)
        field = named.group(1).split("/")[-1] if named else None
        raise UsageError(f"{message} (see `{self.prog} --help`)", field=field)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vpcfactory")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


REGION_HELP = "AWS Region (default: $AWS_DEFAULT_REGION, else us-east-1)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vpcfactory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def target_options(p: argparse.ArgumentParser, *, starts: bool = True) -> None:
        """TARGET and --json; `starts`: the command starts an execution (--state-machine-arn, --name)."""
        group = p.add_mutually_exclusive_group()
        group.add_argument("--endpoint-url", help="an AWS-compatible endpoint, e.g. `vpcfactory emulator`'s")
        group.add_argument("--stack", help="a deployed factory's CloudFormation stack name")
        if starts:
            group.add_argument("--state-machine-arn", help="the state machine to start")
        else:
            p.set_defaults(state_machine_arn=None, name=None)
        p.add_argument("--region", help=REGION_HELP)
        p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        if starts:
            p.add_argument("--name", help="execution name (default: generated; unique per state machine)")

    def emulator_options(p: argparse.ArgumentParser, default_scale: float) -> None:
        # Every default is None here (EMULATOR_FLAGS holds the real ones): apply and destroy refuse
        # these flags with a target, which they cannot tell from a default otherwise.
        only = "emulator only" if p.prog.endswith(" emulator") else "embedded emulator only"
        p.add_argument(
            "--fail-at",
            action="append",
            default=None,
            metavar="OP[:N][=CODE]",
            help=f"{only}: fail the Nth call of an EC2 operation with an AWS error code (default code "
            "InternalError); a fault that never fires is reported after the run",
        )
        p.add_argument(
            "--crash-after",
            action="append",
            default=None,
            metavar="OP[:N][@EXECUTION]",
            help=f"{only}: let the Nth call of an EC2 operation succeed, then kill the Lambda "
            "handler that made it (Runtime.ExitError)",
        )
        p.add_argument(
            "--throttle",
            type=float,
            default=None,
            metavar="P",
            help=f"{only}: fail a fraction P (0..1) of EC2 request attempts with RequestLimitExceeded",
        )
        p.add_argument(
            "--seed", type=int, default=None, help=f"{only}: seed of the --throttle draws (reproducible runs)"
        )
        p.add_argument(
            "--time-scale",
            type=float,
            default=None,
            metavar="X",
            help=f"{only}: real seconds per simulated second, > 0 (waits and NAT timings shrink by this; "
            f"default {default_scale:g})",
        )
        p.add_argument(
            "--consistency-delay",
            type=float,
            default=None,
            metavar="S",
            help=f"{only}: new EC2 resources answer Invalid*ID.NotFound to other calls for S simulated "
            "seconds (EC2's eventual consistency; default 0 = off)",
        )
        p.add_argument(
            "--no-iam",
            action="store_true",
            default=None,
            help=f"{only}: do not evaluate the handlers' requests against their roles' IAM policies "
            "(on by default when the evaluator is installed: make iam-simulator)",
        )

    p = sub.add_parser("plan", help="validate a spec and print the network it plans (and, against a target, the diff)")
    p.add_argument("spec", metavar="SPEC", help="the spec file (YAML or JSON; - reads stdin)")
    p.add_argument("--json", action="store_true", help="print the plan (with addressSpace, warnings, diff) as JSON")
    p.add_argument("--region", help=REGION_HELP)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--endpoint-url", help="diff against the VPC at this endpoint (e.g. `vpcfactory emulator`)")
    group.add_argument("--stack", help="diff against the VPC in your credentials' account (a deployed factory)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("apply", help="build the VPC a spec describes (or grow the one it built)")
    p.add_argument("spec", metavar="SPEC", help="the spec file (YAML or JSON; - reads stdin)")
    p.add_argument(
        "--allow-replace",
        action="store_true",
        help="if the spec changes what its VPC has (CIDR, a removed tier/AZ), build a new VPC",
    )
    target_options(p)
    emulator_options(p, 0.01)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("destroy", help="delete a VPC the factory built (only what carries its tags)")
    p.add_argument("vpc_id", metavar="VPC_ID", help="the VPC to delete (vpc-...); needs a target")
    target_options(p)  # no emulator options: the embedded emulator starts empty, so destroy needs a target
    p.set_defaults(func=cmd_destroy)

    p = sub.add_parser("rollout", help="build one network in many accounts and Regions (or audit them) from a manifest")
    p.add_argument(
        "manifest",
        metavar="MANIFEST",
        help="JSON Lines or CSV: accountId, region, one of spec/specKey/specParameter, roleName (- reads stdin)",
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="compare each account's network with its spec (read-only: compliant, drifted or missing) instead of "
        "building it",
    )
    p.add_argument(
        "--max-concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"accounts worked on at once, 1 to {MAX_CONCURRENCY} (default {DEFAULT_CONCURRENCY})",
    )
    p.add_argument(
        "--tolerated-failure-percentage",
        type=float,
        default=0.0,
        metavar="P",
        help="the rollout succeeds while at most P %% of its accounts fail, 0 to 100 (default 0: any failure fails it)",
    )
    p.add_argument(
        "--rollout-id",
        metavar="ID",
        help="the rollout's name (its execution, its builds' names, its files): 1-40 letters, digits, - and _ "
        "(default: rollout-<UTC time>-<4 hex digits>)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--endpoint-url", help="an AWS-compatible endpoint, e.g. `vpcfactory emulator`'s")
    group.add_argument("--stack", help="a deployed factory's CloudFormation stack name")
    group.add_argument("--state-machine-arn", help="the rollout state machine to start")
    p.add_argument("--region", help=REGION_HELP)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    emulator_options(p, 0.01)
    p.set_defaults(func=cmd_rollout, name=None)

    p = sub.add_parser("status", help="where an execution is and what it created so far")
    p.add_argument("execution", metavar="EXECUTION", help="execution ARN or name")
    p.add_argument("--history", action="store_true", help="show every update, not the last 12")
    target_options(p, starts=False)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("diagram", help="draw the network of a spec or of an existing VPC as SVG or PNG")
    p.add_argument("source", metavar="SPEC|VPC_ID", help="a spec file (the plan) or a VPC id (read from EC2)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE.svg|FILE.png",
        help="the picture to write, SVG or PNG by its suffix (its directory must exist)",
    )
    p.add_argument("--json", action="store_true", help="print {path, vpc, subnets} as one JSON object")
    p.add_argument("--region", help=REGION_HELP)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--endpoint-url", help="read the VPC (or the zones) at this endpoint")
    group.add_argument("--stack", help="read the VPC in your credentials' account")
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("emulator", help="serve an AWS-compatible endpoint with the factory deployed in it")
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000; 0 = any free port)")
    p.add_argument("--region", help="AWS Region the emulator serves (default us-east-1)")
    p.add_argument(
        "--log-requests", action="store_true", help="log every HTTP request on stderr (errors are always logged)"
    )
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
    argv = sys.argv[1:] if argv is None else list(argv)
    wants_json = "--json" in argv  # before parsing: an argparse error is answered in JSON too
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return EXIT_INVALID if exc.code else EXIT_OK
        wants_json = bool(getattr(args, "json", False))
        check_arguments(args)
        return args.func(args, out)
    except Exception as exc:
        error = user_error(exc, args)
        if error is None:  # a bug: the traceback is what helps; --json still gets its one object
            if wants_json:
                out.write(json.dumps(error_object("InternalError", f"{type(exc).__name__}: {exc}")) + "\n")
            raise
        print(f"vpcfactory: {error.line}", file=sys.stderr)
        for note in error.notes:
            print(f"  {note}", file=sys.stderr)
        if wants_json:
            out.write(json.dumps({**error_object(error.error, error.message, error.field), **error.extra}) + "\n")
        return EXIT_INVALID
    finally:
        out.flush()
        sys.stdout = out


# -- what the user got wrong: one line, exit 2, one JSON object ---------------------------------
MAX_MESSAGE = 2000


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@dataclasses.dataclass
class UserError:
    error: str  # the name in the error object (InvalidSpec, UsageError, TargetUnreachable, an AWS code)
    message: str  # one line
    field: str | None = None
    line: str = ""  # what stderr says (the message, with advice where it helps)
    notes: list[str] = dataclasses.field(default_factory=list)  # more lines on stderr, after `line`
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # more fields of the error object

    def __post_init__(self) -> None:
        self.message = one_line(self.message)
        self.line = one_line(self.line or self.message)


def error_object(error: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one JSON object a refused command prints with --json: the result contract's fields
    (status FAILED, nothing started: executionArn, vpcId and output null), the error's name, a
    one-line message (also as `cause`, as for a failed execution) and the field or flag at fault."""
    return {
        "status": "FAILED",
        "executionArn": None,
        "vpcId": None,
        "output": None,
        "error": error,
        "message": one_line(message),
        "cause": one_line(message),
        "field": field,
    }


def user_error(exc: Exception, args: argparse.Namespace | None) -> UserError | None:
    """The one place that turns what the user got wrong into an answer; None for anything else."""
    from botocore import exceptions as boto

    if isinstance(exc, UsageError):
        notes = [one_line(note) for note in exc.notes]
        return UserError(exc.error, str(exc), exc.field, exc.line, notes=notes, extra=exc.extra)
    if isinstance(exc, InvalidSpec):
        return UserError(
            "InvalidSpec",
            str(exc),
            exc.field,
            f"invalid spec: {exc} (nothing was created; the spec format is in README.md#the-spec)",
        )
    url = getattr(args, "endpoint_url", None)
    if isinstance(exc, boto.ClientError):
        return _client_error(exc, args)
    if isinstance(exc, (boto.EndpointConnectionError, boto.ConnectTimeoutError, boto.ConnectionClosedError)):
        where = url or getattr(exc, "kwargs", {}).get("endpoint_url") or "AWS"
        hint = " (is `vpcfactory emulator` running there?)" if url else " (check the network and --region)"
        return UserError("TargetUnreachable", f"cannot reach {where}{hint}", "--endpoint-url" if url else None)
    if isinstance(exc, (boto.NoCredentialsError, boto.PartialCredentialsError, boto.ProfileNotFound)):
        hint = (
            "; `vpcfactory emulator` takes any (e.g. AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing)"
            if url
            else ""
        )
        return UserError("NoCredentials", f"{exc}: configure a profile or set AWS_ACCESS_KEY_ID{hint}")
    if isinstance(exc, boto.BotoCoreError):
        return UserError(type(exc).__name__, str(exc))
    return None


def _client_error(exc: Any, args: argparse.Namespace | None) -> UserError:
    """The target refused a request: its error code is the name, with what to do for the usual ones."""
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    message = exc.response.get("Error", {}).get("Message", "")
    field = None
    advice = ""
    if code == "ExecutionAlreadyExists" and getattr(args, "command", None) == "rollout":
        field = "--rollout-id"
        advice = (
            f"a rollout {shown(getattr(args, 'rollout_id', None) or '')} already ran on that state machine (names "
            "stay taken for 90 days after it ends): choose another --rollout-id, or leave it out for a generated one"
        )
    elif code == "ExecutionAlreadyExists":
        field = "--name"
        advice = (
            f"an execution named {shown(getattr(args, 'name', None) or '')} already exists on that state "
            "machine (names stay taken for 90 days after it ends): choose another --name, or leave --name "
            "out for a generated one"
        )
    elif code == "InvalidName":
        field = "--name"
    elif getattr(args, "stack", None) and exc.operation_name == "DescribeStacks" and code == "ValidationError":
        field, advice = (
            "--stack",
            f"no stack {shown(getattr(args, 'stack', None))} in this account and Region (--region?)",
        )
    elif getattr(args, "state_machine_arn", None) and code in (
        "StateMachineDoesNotExist",
        "InvalidArn",
        "ResourceNotFound",
    ):
        field = "--state-machine-arn"
    text = advice or f"the target refused {exc.operation_name}: {code}: {message}"
    return UserError(code, text, field)


def check_arguments(args: argparse.Namespace) -> None:
    """What can be refused before anything runs: the Region, the endpoint URL, emulator-only flags."""
    region, source = getattr(args, "region", None), "--region"
    if region is None and args.command != "emulator":  # the emulator serves us-east-1 unless told
        region, source = os.environ.get("AWS_DEFAULT_REGION") or None, "$AWS_DEFAULT_REGION"
    if region is not None and region not in known_regions():
        raise UsageError(
            f"{source} {shown(region)} is not an AWS Region (e.g. us-east-1, eu-west-1, cn-north-1, us-gov-west-1)",
            field="--region" if source == "--region" else None,
        )
    name = getattr(args, "name", None)
    if name is not None and not EXECUTION_NAME_RE.fullmatch(name):
        raise UsageError(
            f"--name {shown(name)}: an execution name is 1 to 80 letters, digits, '-' and '_' (it becomes the "
            "vpcfactory:execution tag of everything the execution creates)",
            field="--name",
        )
    url = getattr(args, "endpoint_url", None)
    if url is not None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(
                f"--endpoint-url {shown(url)} is not an http(s) URL (e.g. http://127.0.0.1:5000)",
                field="--endpoint-url",
            )
    resolve_emulator_flags(args)
    if url is not None:
        reachable(parsed)


def reachable(url: urllib.parse.SplitResult, timeout: float = 5.0) -> None:
    """Connect once to the endpoint: a refused connection is said at once (botocore would retry it
    for about 15 seconds before giving up)."""
    import socket

    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        raise UsageError(
            f"--endpoint-url {shown(url.geturl())}: the port is not a number from 0 to 65535", field="--endpoint-url"
        ) from None
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        hint = "is `vpcfactory emulator` running there?"
        raise UsageError(
            f"cannot reach --endpoint-url {url.geturl()}: {exc.strerror or exc} ({hint})",
            field="--endpoint-url",
            error="TargetUnreachable",
        ) from None


@functools.cache
def known_regions() -> frozenset[str]:
    """Every Region botocore knows, in every partition (aws, aws-cn, aws-us-gov, the ISO ones)."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )


if __name__ == "__main__":
    sys.exit(main())
