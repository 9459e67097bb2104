"""What the integration suites share: moto in-process (no server unless a test starts one), an EC2
client that does not retry (so an injected error reaches the test as it is), and the Lambda
context for handlers called directly (tests/lambda_context.py, via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from vpcfactory_tools.emulator import service_models

REGION = "us-east-1"
# total_max_attempts counts the first attempt: 1 = no SDK retry
NO_RETRIES = Config(region_name=REGION, retries={"mode": "standard", "total_max_attempts": 1})
# reset_boto3_session=False: creating a client takes ~10 ms instead of ~400 ms (DESIGN.md)
MOCK_CONFIG: dict[str, Any] = {"core": {"reset_boto3_session": False}}


@pytest.fixture(scope="session", autouse=True)
def _service_models_parsed_once() -> Iterator[None]:
    """Every boto3 session here (a test's clients, the handlers' on every fresh mock) reads the service
    models through one loader, as in the emulator (emulator/service_models.py): EC2's alone is ~0.15 s
    of JSON to parse per session otherwise."""
    was_installed = service_models.installed()
    service_models.install()
    yield
    if not was_installed:
        service_models.uninstall()


@pytest.fixture
def ec2() -> Iterator[Any]:
    """EC2 on a fresh in-process moto, without retries. The client comes from a new session, made
    after the module's patches are installed, so it carries the emulator's client hooks (faults)."""
    with mock_aws(config=MOCK_CONFIG):
        yield boto3.session.Session().client("ec2", config=NO_RETRIES)
