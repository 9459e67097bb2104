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
from typing import Any, cast

import boto3
from moto import mock_aws

from vpcfactory import aws as factory_aws
from vpcfactory_tools.emulator import (
    conditional_writes,
    consistency,
    distributed_map,
    endpoints_and_nat,
    engine_iam,
    engine_integrations,
    engine_time,
    faults,
    fidelity,
    iam_enforcement,
    ipam,
    json_paths,
    lambda_runtime,
    request_dispatch,
    service_models,
    sfn_api,
    state_copies,
    transit_gateways,
)
from vpcfactory_tools.emulator.deploy import Stack, deploy
from vpcfactory_tools.emulator.settings import EmulatorSettings, configure
from vpcfactory_tools.execution_results import ExecutionResult, execution_name, wait_for_execution

ENGINE_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "core": {"reset_boto3_session": False}}

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


def without_ami_catalogue() -> None:
    """moto builds its ~1,000-AMI catalogue into every EC2 backend it creates, one per account and
    Region (~0.4 s each: a rollout to 100 accounts paid ~40 s). Nothing the factory runs reads an
    AMI, so the emulator leaves it out; moto reads the setting at each backend's creation, and a
    user who wants the catalogue sets ``MOTO_EC2_LOAD_DEFAULT_AMIS=true``."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def install_patches() -> None:
    """Everything that turns plain moto into our emulator (each install is idempotent).

    EC2 requests pass one hook chain on ``EC2Response.call_action``, outermost first: faults
    (count the call, inject a fault or throttle) -> consistency (NotFound for ids not visible
    yet) -> moto, whose backends carry the fidelity patches. Order matters: each hook wraps
    what is there when it installs. DynamoDB item writes are serialized (conditional_writes). Every
    botocore session reads the service models through one loader (service_models); the engine parses
    each JSONPath once (json_paths) and copies state data as JSON (state_copies); moto finds each
    request's method without listing its class (request_dispatch)."""
    without_ami_catalogue()
    service_models.install()
    request_dispatch.install()
    lambda_runtime.install()
    engine_time.install()
    json_paths.install()
    state_copies.install()
    engine_integrations.install()
    distributed_map.install()
    sfn_api.install()
    endpoints_and_nat.install()  # before fidelity: fidelity's patches of the same methods wrap it
    fidelity.install()
    transit_gateways.install()
    ipam.install()
    conditional_writes.install()
    consistency.install()
    faults.install()
    iam_enforcement.install()
    engine_iam.install()  # last: it wraps what the other engine patches left (distributed_map too)


END_CHECK_SECONDS = 0.02  # as often as wait_for_execution polls


def _await_end(execution_arn: str, deadline: float) -> None:
    """Return once the engine's execution has ended (or at ``deadline``), reading its status in
    this process instead of asking DescribeExecution every 20 ms: each of those calls costs
    ~1.5 ms of CPU (botocore, moto's serializer), ~100 of them per build. The engine sets the
    status last, after the output, error and cause (sfn_api._reflect_execution_status), so the one
    DescribeExecution that follows reads the same answer the polling would have. An execution
    this cannot find (not the engine's) is left to the polling."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = execution_arn.split(":")
    try:
        execution = stepfunctions_parser_backends[parts[4]][parts[3]].describe_execution(execution_arn)
    except Exception:  # noqa: BLE001 - ExecutionDoesNotExist, no such backend: leave it to the polling
        return
    if not hasattr(execution, "exec_status"):
        return  # plain moto's execution, not the engine's
    while execution.exec_status == ExecutionStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(END_CHECK_SECONDS)


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
        self._settings_before: EmulatorSettings | None = None

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
        # The settings are process-wide (the engine's clock, faults, IAM): the ones in force before
        # come back when this emulator stops, so a time scale or a fault does not outlive it.
        self._settings_before = configure(self.settings)
        faults.reset()
        self._mock = mock_aws(config=cast(Any, ENGINE_CONFIG))  # moto's DefaultConfig (a TypedDict)
        self._mock.start()
        factory_aws.reset_clients()
        try:
            self.stack = deploy(
                stack_name=self.stack_name, region=self.region, parameter_overrides=self.parameter_overrides
            )
        except BaseException:  # a start that fails leaves nothing of itself: mock, settings, environment
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._clients.clear()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        factory_aws.reset_clients()
        if self._settings_before is not None:
            configure(self._settings_before)
            self._settings_before = None
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
                session: Any = boto3.session.Session(region_name=self.region)  # client(str): not one literal
                self._clients[service] = session.client(service)
            return self._clients[service]

    def start_execution(self, state_machine_arn: str, payload: Any, name: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]

    def run(self, state_machine_arn: str, payload: Any, *, name: str, timeout: float = 600.0) -> ExecutionResult:
        arn = self.start_execution(state_machine_arn, payload, name)
        return self.wait(arn, timeout=timeout)

    def wait(self, execution_arn: str, *, timeout: float = 600.0) -> ExecutionResult:
        """The execution's result once it has ended (what wait_for_execution answers, without
        asking DescribeExecution every 20 ms meanwhile: see _await_end)."""
        deadline = time.monotonic() + timeout
        _await_end(execution_arn, deadline)
        try:
            return wait_for_execution(
                self.client("stepfunctions"), execution_arn, timeout=max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:  # said as wait_for_execution says it, with the whole timeout
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout}s") from None

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

    def rollout(
        self,
        manifest_text: str,
        *,
        rollout_id: str | None = None,
        name: str | None = None,
        timeout: float = 1800.0,
        suffix: str = ".jsonl",
        **settings: Any,
    ) -> ExecutionResult:
        """Upload a manifest to the rollout bucket and run the rollout state machine over it
        (settings: mode, maxConcurrency, toleratedFailurePercentage)."""
        assert self.stack is not None, "start() the emulator first"
        name = name or rollout_id or execution_name("rollout")
        key = f"manifests/{name}{suffix}"
        self.client("s3").put_object(Bucket=self.stack.rollout_bucket, Key=key, Body=manifest_text.encode())
        payload: dict[str, Any] = {"manifest": {"bucket": self.stack.rollout_bucket, "key": key}, **settings}
        if rollout_id:
            payload["rolloutId"] = rollout_id
        return self.run(self.stack.rollout_arn, payload, name=name, timeout=timeout)

    def ready_line(self) -> dict[str, Any]:
        assert self.stack is not None
        return {
            "region": self.region,
            "buildStateMachineArn": self.stack.build_arn,
            "destroyStateMachineArn": self.stack.destroy_arn,
            "rolloutStateMachineArn": self.stack.rollout_arn,
            "rolloutBucket": self.stack.rollout_bucket,
        }
