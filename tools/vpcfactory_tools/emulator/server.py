"""`vpcfactory emulator`: an AWS-compatible endpoint on 127.0.0.1 with the factory deployed in it.

A moto server runs in this process (so the same fidelity patches and in-process Lambda runtime
apply); any AWS client can use it with --endpoint-url. Handlers invoked by the Step Functions
engine call back into the server through AWS_ENDPOINT_URL; the engine's own Lambda client finds
it through MOTO_PORT.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, TextIO

from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from vpcfactory import aws as factory_aws
from vpcfactory_tools.emulator import iam_enforcement
from vpcfactory_tools.emulator.deploy import deploy
from vpcfactory_tools.emulator.embedded import EMULATOR_ENVIRONMENT, ENGINE_CONFIG, install_patches
from vpcfactory_tools.emulator.settings import EmulatorSettings, configure


def start_server(
    *, port: int, settings: EmulatorSettings, region: str = "us-east-1"
) -> tuple[ThreadedMotoServer, dict[str, Any]]:
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
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # The Step Functions engine only executes state machines when told to (the switch that
    # mock_aws(config=...) flips in the embedded emulator; POST /moto-api/config does the same).
    moto_api_backend.set_config(ENGINE_CONFIG)
    stack = deploy(region=region, endpoint_url=endpoint)
    ready = {
        "endpoint": endpoint,
        "region": region,
        "buildStateMachineArn": stack.build_arn,
        "destroyStateMachineArn": stack.destroy_arn,
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
