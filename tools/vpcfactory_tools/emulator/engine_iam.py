"""IAM for what Step Functions does for a state machine: every call its engine makes, as the state
machine's execution role, and the task failing as AWS fails it when the role does not allow it.

On AWS, Step Functions calls the services of a state machine's integrations with the credentials of
its execution role (its ``RoleArn``, or a task's ``Credentials.RoleArn``): ``lambda:invoke`` is
``lambda:InvokeFunction`` on the function, ``states:startExecution.sync:2`` is
``states:StartExecution`` on the target and ``states:DescribeExecution`` on the execution it
follows, a Distributed Map's ``ItemReader`` is ``s3:GetObject`` (``s3:ListBucket`` over a prefix) and
its ``ResultWriter`` ``s3:PutObject``, an ``aws-sdk`` task is its API's action (Step Functions
developer guide: "IAM policies for AWS Step Functions", "IAM policies for using Distributed Map
states", each integration's "IAM policies" page). moto 5.2.5's engine makes those calls through
``boto_client_for``, with the fixed credentials ``ak``/``sk`` and no identity; nothing evaluated
them. Here:

- ``boto_client_for`` (one copy per moto module that imports it) signs with the role's session
  credentials from :func:`iam_enforcement.engine_credentials`, so :mod:`iam_enforcement`'s hook
  evaluates each call as ``arn:aws:sts::<account>:assumed-role/<role>/<session>``, counts it and
  answers a denied one as the service would.
- What Step Functions authorizes without an engine call is authorized explicitly
  (:func:`iam_enforcement.authorize_role`): a Distributed Map starting its child workflow
  executions (moto runs them in-process) needs ``states:StartExecution`` on the state machine; a
  state machine with a ``.sync`` task of Step Functions needs ``events:PutTargets``/``PutRule``/
  ``DescribeRule`` on the rule Step Functions manages, ``StepFunctionsGetEventsForStepFunctionsExecutionRule``.
  AWS checks the latter when the state machine is created or updated and refuses it with
  ``AccessDeniedException`` "'<role ARN>' is not authorized to create managed-rule." (as reported
  in terraform-aws-modules/terraform-aws-step-functions#11 and hashicorp/terraform-provider-aws#14008).
- A denied call fails as AWS fails it. ``lambda:invoke``: ``Lambda.AWSLambdaException``, cause
  "User: arn:aws:sts::...:assumed-role/<role>/<session> is not authorized to perform:
  lambda:InvokeFunction on resource: <function> because no identity-based policy allows the
  lambda:InvokeFunction action (Service: AWSLambda; Status Code: 403; Error Code:
  AccessDeniedException; Request ID: ...; Proxy: null)" (AWS's own, quoted in
  awslabs/aws-deployment-framework#460). Step Functions calls Lambda with the AWS SDK for Java,
  which names an error its model does not list (``AccessDeniedException`` is not in Lambda's model)
  after the service's base exception; the developer guide lists ``Lambda.AWSLambdaException``
  ("Handle Lambda service exceptions"). The same rule gives ``StepFunctions.AWSStepFunctionsException``
  for ``states:startExecution`` (moto named it ``StepFunctions.AccessDeniedExceptionException``).
  The ``ItemReader`` fails the Map state with ``States.ItemReaderFailed`` and the ``ResultWriter``
  with ``States.ResultWriterFailed`` (the States language's names for "a Map state failed to read
  all items as specified by the ItemReader field" / "to write all results as specified by the
  ResultWriter field"), with S3's message in the cause; moto let the ``ClientError`` out as
  ``States.Runtime``. A Map Run whose child executions may not be started fails the Map state with
  ``States.Runtime`` and the IAM message (AWS shows that message; the error name is this
  emulator's choice, not verified on AWS).

Not evaluated: the child executions' own ``states:DescribeExecution``/``StopExecution`` (moto runs
them in-process and makes neither call), and the ``ResultWriter``'s test write AWS makes before the
Map Run starts (AWS: "Failed to write a test manifest into the specified output bucket", aws/aws-cdk#32144):
here the results are written, and authorized, when the Map Run ends.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.exceptions import AWSError
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
    resource_eval_s3 as item_reader_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3 as result_writer_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from . import iam_enforcement
from .authorization import Authorization, Caller, managed_rule_authorizations, map_run_authorizations
from .patching import Patcher, PatchSet

_PARSER = "moto.stepfunctions.parser.asl"
_STATE_MAP = f"{_PARSER}.component.state.exec.state_map"
_SERVICE = f"{_PARSER}.component.state.exec.state_task.service"
# Every moto module that imports boto_client_for (a test checks the list against moto's source).
CLIENT_MODULES = (
    f"{_PARSER}.utils.boto_client",
    f"{_PARSER}.component.state.exec.state_task.lambda_eval_utils",
    f"{_STATE_MAP}.item_reader.eval.resource_eval_s3",
    f"{_STATE_MAP}.result_writer.resource_eval.resource_eval_s3",
    *(
        f"{_SERVICE}.state_task_service_{name}"
        for name in ("aws_sdk", "batch", "dynamodb", "ecs", "events", "glue", "sfn", "sns", "sqs", "unsupported")
    ),
)
# The emulator's own modules that make the engine's clients with a ``boto_client_for`` imported by
# name (a test checks this list too): their copy is replaced as well, or their calls would not be
# evaluated. (``distributed_map`` writes the ResultWriter's files.)
EMULATOR_CLIENT_MODULES = ("vpcfactory_tools.emulator.distributed_map",)
PINNED_SOURCES: dict[str, str] = {
    # replaced: the client is made as moto makes it, with the role's credentials
    f"{_PARSER}.utils.boto_client:boto_client_for": "1f44dc2ac8aa2179",
    # wrapped
    f"{_PARSER}.component.state.exec.state_task.state_task:StateTask._eval_state_credentials": "c3a8b53e139d7979",
    f"{_STATE_MAP}.item_reader.eval.resource_eval_s3:ResourceEvalS3.eval_resource": "f5d27cd5d783f5ac",
    f"{_STATE_MAP}.result_writer.resource_eval.resource_eval_s3:ResourceEvalS3.eval_resource": "f5d27cd5d783f5ac",
    f"{_STATE_MAP}.iteration.distributed_iteration_component:"
    "DistributedIterationComponent._map_run": "e45cb604929ff346",
    f"{_SERVICE}.state_task_service_lambda:StateTaskServiceLambda._from_error": "ba630b50b845a8d3",
    f"{_SERVICE}.state_task_service_sfn:StateTaskServiceSfn._from_error": "7cdee0936130a4c1",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.create_state_machine": "dc56ec54216f7b97",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.update_state_machine": "03b6b2ec8ffdfbb0",
}

# The execution an ItemReader or ResultWriter reads or writes for, while it does (their S3 client
# is made from the execution's role alone).
_local = threading.local()


def _execution_of(env: Any) -> str | None:
    try:
        return str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):
        return None


@contextmanager
def _working_for(env: Any) -> Iterator[None]:
    previous = getattr(_local, "execution", None)
    _local.execution = _execution_of(env)
    try:
        yield
    finally:
        _local.execution = previous


# -- the engine's clients ---------------------------------------------------------------------------

# The session the engine's clients come from. moto's own uses boto3's default session, which may
# have been made before iam_enforcement registered its hooks (botocore gives a session the
# handlers registered when it is made): a client of it would go unevaluated. One session per
# state of the hooks.
_sessions: dict[bool, Any] = {}
_sessions_lock = threading.Lock()


def _session() -> Any:
    hooked = iam_enforcement.installed()
    with _sessions_lock:
        if hooked not in _sessions:
            _sessions[hooked] = boto3.session.Session()
        return _sessions[hooked]


# The engine's clients, by everything that makes one differ (credentials: one role session per
# execution). moto makes a new client for every Lambda task (15 per build, ~10 ms each: a tenth of a
# local build's wall time); a client is thread-safe and holds no per-call state, so one per key
# serves every task of the execution. Bounded: a fleet runs hundreds of executions.
_CLIENTS_KEPT = 256
_clients: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for``, signing as the state machine's role for the execution."""
    kwargs: dict[str, Any] = {}
    if not botocore_stubber.enabled:
        kwargs["endpoint_url"] = f"http://localhost:{moto_server_port()}"
    role_arn = getattr(state_credentials, "role_arn", None)
    if role_arn:
        execution = getattr(state_credentials, "execution_arn", None) or getattr(_local, "execution", None)
        access_key, secret_key = iam_enforcement.engine_credentials(str(role_arn), execution)
    else:
        access_key, secret_key = "ak", "sk"
    session = _session()
    key = (id(session), region, service, access_key, secret_key, kwargs.get("endpoint_url"))
    with _sessions_lock:
        if key in _clients:
            _clients.move_to_end(key)
            return _clients[key]
    client = session.client(
        aws_access_key_id=access_key,
        region_name=region,
        service_name=service,
        aws_secret_access_key=secret_key,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
        **kwargs,
    )
    with _sessions_lock:
        _clients[key] = client
        while len(_clients) > _CLIENTS_KEPT:
            _clients.popitem(last=False)
    return client


def _make_eval_state_credentials(original: Any) -> Any:
    def _eval_state_credentials(self: Any, env: Any) -> Any:
        credentials = original(self, env)
        credentials.execution_arn = _execution_of(env)  # read by boto_client_for
        return credentials

    _eval_state_credentials.__wrapped__ = original  # type: ignore[attr-defined]
    return _eval_state_credentials


# -- failures as AWS reports them -----------------------------------------------------------------


def _s3_cause(error: ClientError) -> str:
    """S3's error as the AWS SDK for Java words it (Step Functions' own SDK)."""
    response: dict[str, Any] = dict(error.response)
    meta = response.get("ResponseMetadata", {})
    return (
        f"{response.get('Error', {}).get('Message', '')} (Service: Amazon S3; Status Code: "
        f"{meta.get('HTTPStatusCode')}; Error Code: {response.get('Error', {}).get('Code')}; "
        f"Request ID: {meta.get('RequestId')}; Proxy: null)"
    )


def _map_failure(env: Any, typ: StatesErrorNameType, cause: str) -> FailureEventException:
    error_name = StatesErrorName(typ=typ)
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.TaskFailed,
            # (moto's EventDetails is a total TypedDict of every kind of event; one is set)
            event_details=cast(
                EventDetails,
                {"mapRunFailedEventDetails": MapRunFailedEventDetails(error=error_name.error_name, cause=cause)},
            ),
        )
    )


def _make_s3_step(original: Any, typ: StatesErrorNameType) -> Any:
    """The ItemReader's or ResultWriter's S3 request (``ResourceEvalS3.eval_resource``), made for its
    execution, failing the Map state with ``typ``."""

    def eval_resource(self: Any, env: Any) -> None:
        with _working_for(env):
            try:
                original(self, env)
            except ClientError as error:
                raise _map_failure(env, typ, _s3_cause(error)) from error

    eval_resource.__wrapped__ = original  # type: ignore[attr-defined]
    return eval_resource


def _make_map_run(original: Any) -> Any:
    """A Map Run starts its child workflow executions as the state machine's role."""

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        details = env.aws_execution_details
        state_machine = str(env.states.context_object.context_object_data["StateMachine"]["Id"])
        denied = iam_enforcement.authorize_role(
            details.role_arn, details.region, map_run_authorizations(state_machine), execution=_execution_of(env)
        )
        if denied is not None:
            raise _map_failure(env, StatesErrorNameType.StatesRuntime, str(denied))
        original(self, env, eval_input)

    _map_run.__wrapped__ = original  # type: ignore[attr-defined]
    return _map_run


def _modeled_errors(service: str) -> frozenset[str]:
    import botocore.session

    return frozenset(shape.name for shape in botocore.session.get_session().get_service_model(service).error_shapes)


def _sdk_error_name(prefix: str, service: str, base: str, code: str) -> str:
    """The error name Step Functions reports for a service's error ``code``: the AWS SDK for Java's
    exception class, ``<code>[Exception]`` for an error the service's model lists, the service's
    base exception ``base`` for any other."""
    if code not in _MODELED.setdefault(service, _modeled_errors(service)):
        return f"{prefix}.{base}"
    return f"{prefix}.{code if code.endswith('Exception') else code + 'Exception'}"


_MODELED: dict[str, frozenset[str]] = {}


def _make_from_error(original: Any, prefix: str, service: str, base: str) -> Any:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        event = original(self, env, ex)
        if not isinstance(ex, ClientError):
            return event
        name = _sdk_error_name(prefix, service, base, str(ex.response.get("Error", {}).get("Code")))
        details = dict(event.event_details or {}).get("taskFailedEventDetails")
        if details is None or details.get("error") == name:
            return event
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(name),
            event_type=event.event_type,
            event_details=cast(EventDetails, {"taskFailedEventDetails": {**details, "error": name}}),
        )

    _from_error.__wrapped__ = original  # type: ignore[attr-defined]
    return _from_error


# -- the managed rule of .sync tasks, checked when a state machine is created or updated ----------

SYNC_RESOURCE = re.compile(r"^arn:[\w-]+:states:::(?P<service>[\w-]+):\w+\.sync(:2)?$")


class ManagedRuleAccessDenied(AWSError):
    TYPE = "AccessDeniedException"
    STATUS = 400


def sync_services(definition: Any) -> set[str]:
    """The services of the ``.sync`` tasks of an ASL definition (in branches and map processors too)."""
    found: set[str] = set()
    states = definition.get("States") if isinstance(definition, dict) else None
    for state in (states or {}).values():
        if not isinstance(state, dict):
            continue
        match = SYNC_RESOURCE.match(str(state.get("Resource", "")))
        if state.get("Type") == "Task" and match:
            found.add(match["service"])
        for branch in state.get("Branches") or []:
            found |= sync_services(branch)
        for key in ("Iterator", "ItemProcessor"):
            found |= sync_services(state.get(key))
    return found


def _check_managed_rules(backend: Any, definition: str | None, role_arn: str | None) -> None:
    if not definition or not role_arn:
        return
    try:
        parsed = json.loads(definition)
    except ValueError:
        return  # moto answers the definition as invalid
    caller = Caller(account=backend.account_id, region=backend.region_name)
    wanted: list[Authorization] = [
        a for s in sorted(sync_services(parsed)) for a in managed_rule_authorizations(s, caller)
    ]
    if iam_enforcement.authorize_role(role_arn, backend.region_name, wanted) is not None:
        raise ManagedRuleAccessDenied(f"'{role_arn}' is not authorized to create managed-rule.")


def _make_create_state_machine(original: Any) -> Any:
    def create_state_machine(self: Any, name: str, definition: str, roleArn: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N803 - moto's name
        _check_managed_rules(self, definition, roleArn)
        return original(self, name, definition, roleArn, *args, **kwargs)

    create_state_machine.__wrapped__ = original  # type: ignore[attr-defined]
    return create_state_machine


def _make_update_state_machine(original: Any) -> Any:
    def update_state_machine(
        self: Any, arn: str, definition: str | None = None, role_arn: str | None = None, **kwargs: Any
    ) -> Any:
        if definition or role_arn:
            try:
                current = self.describe_state_machine(arn)
            except Exception:  # moto answers the unknown state machine itself
                current = None
            if current is not None:
                _check_managed_rules(self, definition or current.definition, role_arn or current.roleArn)
        return original(self, arn, definition, role_arn, **kwargs)

    update_state_machine.__wrapped__ = original  # type: ignore[attr-defined]
    return update_state_machine


def _apply(patcher: Patcher) -> None:
    import importlib

    from moto.stepfunctions.parser.asl.utils import boto_client

    boto_client_for.__wrapped__ = boto_client.boto_client_for  # type: ignore[attr-defined]
    for module in CLIENT_MODULES:
        patcher.set(importlib.import_module(module), "boto_client_for", boto_client_for)
    for module in EMULATOR_CLIENT_MODULES:
        loaded = importlib.import_module(module)
        if hasattr(loaded, "boto_client_for"):
            patcher.set(loaded, "boto_client_for", boto_client_for)
    patcher.set(StateTask, "_eval_state_credentials", _make_eval_state_credentials(StateTask._eval_state_credentials))
    for reader_or_writer, typ in (
        (item_reader_s3.ResourceEvalS3, StatesErrorNameType.StatesItemReaderFailed),
        (result_writer_s3.ResourceEvalS3, StatesErrorNameType.StatesResultWriterFailed),
    ):
        patcher.set(reader_or_writer, "eval_resource", _make_s3_step(reader_or_writer.eval_resource, typ))
    patcher.set(DistributedIterationComponent, "_map_run", _make_map_run(DistributedIterationComponent._map_run))
    patcher.set(
        StateTaskServiceLambda,
        "_from_error",
        _make_from_error(StateTaskServiceLambda._from_error, "Lambda", "lambda", "AWSLambdaException"),
    )
    patcher.set(
        StateTaskServiceSfn,
        "_from_error",
        _make_from_error(
            StateTaskServiceSfn._from_error, "StepFunctions", "stepfunctions", "AWSStepFunctionsException"
        ),
    )
    backend = StepFunctionsParserBackend
    patcher.set(backend, "create_state_machine", _make_create_state_machine(backend.create_state_machine))
    patcher.set(backend, "update_state_machine", _make_update_state_machine(backend.update_state_machine))


_patches = PatchSet(_apply)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
