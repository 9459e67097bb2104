"""The embedded emulator: moto with its Step Functions engine on, our fidelity patches, the stack
from template.yaml deployed into it, and Lambda handlers running in this process.

    with EmbeddedEmulator(EmulatorSettings(time_scale=0.001)) as emu:
        result = emu.build(spec)          # runs statemachine/build_vpc.asl.json for real
        emu.destroy(result.vpc_id)

Everything (handlers included) talks to moto through the in-process mock, so there is no
network, no Docker and no AWS account involved.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from vpcfactory import aws as factory_aws
from vpcfactory_tools.emulator import (
    conditional_writes,
    consistency,
    engine_integrations,
    engine_time,
    faults,
    fidelity,
    iam_enforcement,
    lambda_runtime,
    sfn_api,
)
from vpcfactory_tools.emulator.deploy import Stack, deploy
from vpcfactory_tools.emulator.settings import EmulatorSettings, configure

ENGINE_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "core": {"reset_boto3_session": False}}
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

# What a local run needs in the environment: fake credentials (the mock intercepts every call,
# these just stop botocore from looking for real ones) and quiet Powertools.
EMULATOR_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "vpcfactory",
    "POWERTOOLS_METRICS_NAMESPACE": "VpcFactory",
}


def install_patches() -> None:
    """Everything that turns plain moto into our emulator (each install is idempotent).

    EC2 requests pass one hook chain on ``EC2Response.call_action``, outermost first: faults
    (count the call, inject a fault or throttle) -> consistency (NotFound for ids not visible
    yet) -> moto, whose backends carry the fidelity patches. Order matters: each hook wraps
    what is there when it installs. DynamoDB item writes are serialized (conditional_writes)."""
    lambda_runtime.install()
    engine_time.install()
    engine_integrations.install()
    sfn_api.install()
    fidelity.install()
    conditional_writes.install()
    consistency.install()
    faults.install()
    iam_enforcement.install()


@dataclass
class ExecutionResult:
    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    input: Any = None

    @property
    def vpc_id(self) -> str | None:
        if isinstance(self.output, dict) and self.output.get("vpcId"):
            return self.output["vpcId"]
        return None

    def as_contract(self) -> dict[str, Any]:
        """The object `vpcfactory apply --json` prints (DESIGN.md, CLI; docs/operations.md lists it).

        `cause` is the execution's cause as Step Functions has it (a Lambda error's JSON, stack
        trace included); `message` is the one line a person reads: the Lambda error's message,
        or the summary of a teardown report (null when the execution succeeded)."""
        from vpcfactory_tools.progress import cause_message

        message = " ".join(cause_message(self.cause).split()) if self.cause else ""
        return {
            "status": self.status,
            "executionArn": self.execution_arn,
            "vpcId": self.vpc_id,
            "output": self.output,
            "error": self.error,
            "message": message or (self.error if self.status != "SUCCEEDED" else None),
            "cause": self.cause,
        }


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 600.0, poll: float = 0.02) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] in TERMINAL:
            output = json.loads(desc["output"]) if desc.get("output") else None
            return ExecutionResult(
                execution_arn=execution_arn,
                status=desc["status"],
                output=output,
                error=desc.get("error"),
                cause=desc.get("cause"),
                input=json.loads(desc.get("input") or "null"),
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still {desc['status']} after {timeout}s")
        time.sleep(poll)


def execution_name(prefix: str) -> str:
    # Names are ≤ 80 chars of [A-Za-z0-9-_]; they become the vpcfactory:execution tag.
    return f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"[:80]


class EmbeddedEmulator:
    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        region: str = "us-east-1",
        parameter_overrides: dict[str, Any] | None = None,
        stack_name: str = "vpcfactory",
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.region = region
        self.parameter_overrides = parameter_overrides
        self.stack_name = stack_name
        self.stack: Stack | None = None
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EmbeddedEmulator:
        env = {**EMULATOR_ENVIRONMENT, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        env.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("VPCFACTORY_LOG_LEVEL", "WARNING"))
        for key, value in env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        # Everything runs in this process behind the mock, which only sees requests to AWS's own
        # endpoints: an endpoint in the environment (a served emulator's, LocalStack's) would send
        # the deployment's and the handlers' calls there instead.
        for key in [k for k in os.environ if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_")]:
            self._saved_env[key] = os.environ.pop(key)
        iam_enforcement.require_evaluator(self.settings.iam)
        install_patches()
        configure(self.settings)
        faults.reset()
        self._mock = mock_aws(config=ENGINE_CONFIG)
        self._mock.start()
        factory_aws.reset_clients()
        self.stack = deploy(
            stack_name=self.stack_name, region=self.region, parameter_overrides=self.parameter_overrides
        )
        return self

    def stop(self) -> None:
        self._clients.clear()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        factory_aws.reset_clients()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> EmbeddedEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reconfigure(self, settings: EmulatorSettings) -> None:
        """New faults/time scale for the next runs (resets the fault call counters).

        Settings that throttle also start the handlers with new boto3 clients, as a new Lambda
        sandbox would: each client carries botocore's retry quota, which throttling drains, and
        a throttled run must not inherit what an earlier one left of it (nor must a run after
        it). Other settings keep them: creating a client costs a few hundred milliseconds."""
        throttled = settings.throttle > 0 or self.settings.throttle > 0
        self.settings = settings
        configure(settings)
        faults.reset()  # "the Nth call" counts from here
        lambda_runtime.reset_reruns()
        if throttled:
            factory_aws.reset_clients()

    # -- clients and runs ---------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client of the emulator (one per service, kept until stop(): creating one
        loads its service model, which costs a few hundred milliseconds)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session(region_name=self.region).client(service)
            return self._clients[service]

    def start_execution(self, state_machine_arn: str, payload: Any, name: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]

    def run(self, state_machine_arn: str, payload: Any, *, name: str, timeout: float = 600.0) -> ExecutionResult:
        arn = self.start_execution(state_machine_arn, payload, name)
        return wait_for_execution(self.client("stepfunctions"), arn, timeout=timeout)

    def build(self, spec: dict[str, Any], *, name: str | None = None, timeout: float = 600.0) -> ExecutionResult:
        assert self.stack is not None, "start() the emulator first"
        return self.run(
            self.stack.build_arn,
            spec,
            name=name or execution_name(f"build-{spec.get('name', 'vpc')}"),
            timeout=timeout,
        )

    def destroy(self, vpc_id: str, *, name: str | None = None, timeout: float = 600.0) -> ExecutionResult:
        assert self.stack is not None, "start() the emulator first"
        return self.run(
            self.stack.destroy_arn,
            {"vpcId": vpc_id},
            name=name or execution_name(f"destroy-{vpc_id}"),
            timeout=timeout,
        )

    def ready_line(self) -> dict[str, Any]:
        assert self.stack is not None
        return {
            "region": self.region,
            "buildStateMachineArn": self.stack.build_arn,
            "destroyStateMachineArn": self.stack.destroy_arn,
        }
