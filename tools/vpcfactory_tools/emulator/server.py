"""`vpcfactory emulator`: an AWS-compatible endpoint on 127.0.0.1 with the factory deployed in it.

A moto server runs in this process (so the same fidelity patches and in-process Lambda runtime
apply); any AWS client can use it with --endpoint-url. Handlers invoked by the Step Functions
engine call back into the server through AWS_ENDPOINT_URL; the engine's own Lambda client finds
it through MOTO_PORT.

The port is bound before anything else starts, in the calling thread: a port in use is
:class:`~.port.PortInUse` at once (moto's server binds in its own thread, where werkzeug prints its
error and ends only that thread, so the caller waited forever). Requests are not logged one
line each unless asked (``log_requests``); werkzeug's errors still are.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from typing import Any, TextIO

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from vpcfactory import aws as factory_aws
from vpcfactory_tools.emulator import iam_enforcement
from vpcfactory_tools.emulator.deploy import deploy
from vpcfactory_tools.emulator.embedded import EMULATOR_ENVIRONMENT, ENGINE_CONFIG, install_patches
from vpcfactory_tools.emulator.port import listen
from vpcfactory_tools.emulator.settings import EmulatorSettings, configure

# sha256[:16] of the moto code _Server relies on (see fidelity.PINNED_SOURCES): it replaces
# _server_entry and start, and keeps stop.
PINNED_SOURCES: dict[str, str] = {
    "moto.moto_server.threaded_moto_server:ThreadedMotoServer._server_entry": "ef744bd45e1e465a",
    "moto.moto_server.threaded_moto_server:ThreadedMotoServer.stop": "0106e010279b6fee",
}


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No line per request (a build makes hundreds); errors still go to log_error."""


class _Server(ThreadedMotoServer):
    """moto's threaded server on a socket bound by the caller (see the module docstring)."""

    def __init__(self, sock: socket.socket, *, log_requests: bool) -> None:
        super().__init__(ip_address="127.0.0.1", port=sock.getsockname()[1], verbose=False)
        self._sock = sock
        self._handler = MotoRequestHandler if log_requests else _QuietRequestHandler

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=self._handler, fd=self._sock.fileno()
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server_entry, daemon=True)
        self._thread.start()
        while not self._server_ready_event.wait(0.05):
            if not self._thread.is_alive():
                raise RuntimeError(f"the emulator's HTTP server on port {self._port} did not start")


def start_server(
    *,
    port: int = 0,
    settings: EmulatorSettings,
    region: str = "us-east-1",
    log_requests: bool = False,
    sock: socket.socket | None = None,
) -> tuple[ThreadedMotoServer, dict[str, Any]]:
    """Serve the emulator on 127.0.0.1:port (0: any free port), or on `sock` (from port.listen),
    with the stack deployed in it.

    Raises port.PortInUse before anything else is done. If start-up is interrupted (an exception,
    or a signal handler raising), the server is stopped before the exception goes on."""
    sock = sock or listen(port)
    try:
        return _start(sock, settings, region, log_requests)
    finally:
        sock.close()  # the server holds its own duplicate (closing twice is harmless)


def _start(
    sock: socket.socket, settings: EmulatorSettings, region: str, log_requests: bool
) -> tuple[ThreadedMotoServer, dict[str, Any]]:
    port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(EMULATOR_ENVIRONMENT)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("VPCFACTORY_LOG_LEVEL", "WARNING"))
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": endpoint,
            "MOTO_PORT": str(port),
        }
    )
    iam_enforcement.require_evaluator(settings.iam)
    install_patches()
    configure(settings)
    factory_aws.reset_clients()
    server = _Server(sock, log_requests=log_requests)
    server.start()
    try:
        # The Step Functions engine only executes state machines when told to (the switch that
        # mock_aws(config=...) flips in the embedded emulator; POST /moto-api/config does the same).
        moto_api_backend.set_config(ENGINE_CONFIG)
        stack = deploy(region=region, endpoint_url=endpoint)
    except BaseException:
        server.stop()
        raise
    ready = {
        "endpoint": endpoint,
        "region": region,
        "buildStateMachineArn": stack.build_arn,
        "destroyStateMachineArn": stack.destroy_arn,
        "rolloutStateMachineArn": stack.rollout_arn,
        "rolloutBucket": stack.rollout_bucket,
        "customResourceFunctionArn": stack.functions.get("CustomResourceFunction"),
        "iamEvaluation": settings.iam,
    }
    return server, ready


def serve(
    *,
    port: int,
    time_scale: float,
    faults: list[Any],
    out: TextIO,
    stop: threading.Event,
    region: str = "us-east-1",
    consistency_delay_seconds: float = 0.0,
) -> int:
    settings = EmulatorSettings(
        time_scale=time_scale, faults=faults, consistency_delay_seconds=consistency_delay_seconds
    )
    server, ready = start_server(port=port, settings=settings, region=region)
    out.write(json.dumps(ready) + "\n")
    out.flush()
    try:
        stop.wait()
    finally:
        server.stop()
    return 0
