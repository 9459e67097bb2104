"""Shared fixtures. Suites by what they need (STYLE.md): unit/ (pure), integration/ (handlers and
emulator patches on moto), workflow/ (the real ASL on the embedded emulator), contract/
(template <-> ASL <-> code)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# No test may reach a real AWS account, whatever the developer's shell holds.
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
        # moto builds ~1000 AMI objects into every EC2 backend it creates (one per account and
        # Region: each emulator, each rollout account), ~0.4 s each; nothing here reads an AMI.
        # The CLI runs and served emulators the tests start inherit it.
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }
)


# moto's Step Functions engine logs every caught task error at ERROR with its whole state tree;
# a failing test's own assertion says more.
logging.getLogger("moto").setLevel(logging.CRITICAL)


def load_example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def unique(spec: dict) -> dict:
    """The spec under a name of its own. The name is a network's identity (applying a spec
    with an existing name grows that VPC), so tests sharing an emulator must not share names."""
    return {**spec, "name": f"{spec['name'][:20]}-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def seed_spec() -> dict:
    return unique(load_example("seed.yaml"))


@pytest.fixture
def production_spec() -> dict:
    return unique(load_example("production.yaml"))


@pytest.fixture
def everything_spec() -> dict:
    return unique(load_example("everything.yaml"))


def _iam_totals() -> dict[str, int] | None:
    """What this process's IAM evaluation did, or None if it never loaded."""
    import sys

    module = sys.modules.get("vpcfactory_tools.emulator.iam_enforcement")
    return None if module is None else module.totals()


# Under pytest-xdist (`make test` runs the suite on every core) each worker evaluates in its own
# process: a worker hands its totals to the controller, which adds them up for the summary.
_WORKER_IAM_TOTALS: list[dict[str, int]] = []


def pytest_collection_modifyitems(config, items):  # noqa: ARG001 - pytest's hook signature
    """The modules that hold the slow sweeps run first, each kept whole (its module-scoped emulator
    is built once), the rest in their usual order. Under xdist's worksteal a worker that runs dry
    takes tests from the end of another's queue: with the sweeps (up to ~35 s each) at the front,
    what is left at the end is short, and no worker idles while another finishes a long sweep
    alone (it did: ~30 s of the whole run's ~5.5 min)."""
    slow = {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in slow)  # stable: order kept within


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    totals = _iam_totals()
    if workeroutput is not None and totals is not None:
        workeroutput["iamTotals"] = totals


@pytest.hookimpl(optionalhook=True)  # an xdist hook: optional, so `-p no:xdist` still loads this file
def pytest_testnodedown(node, error):  # noqa: ARG001 - xdist's hook signature
    totals = getattr(node, "workeroutput", {}).get("iamTotals")
    if totals is not None:
        _WORKER_IAM_TOTALS.append(totals)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest's hook signature
    """How much the emulator's IAM evaluation did in this run (issue 11 asks for the number)."""
    parts = [t for t in (_iam_totals(), *_WORKER_IAM_TOTALS) if t is not None]
    if not parts:
        return
    totals = {key: sum(part.get(key, 0) for part in parts) for key in {k for part in parts for k in part}}
    terminalreporter.write_line(
        f"IAM evaluation: {totals.get('requests', 0)} requests evaluated "
        f"({totals.get('stepFunctionsRequests', 0)} of them Step Functions' own, as a state machine's role; "
        f"{totals.get('authorizations', 0)} authorizations), {totals.get('denied', 0)} denied"
    )


@pytest.fixture
def lambda_context():
    """A fake Lambda context for calling a handler directly (tests/lambda_context.py)."""
    from tests.lambda_context import LambdaContext

    return LambdaContext()
