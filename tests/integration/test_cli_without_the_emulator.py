"""Against a target the CLI never loads the emulator, even when the target does not answer
(tests/unit/test_imports.py covers the commands that make no network call)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.unit.test_imports import CLI_WITHOUT_THE_EMULATOR, ROOT

REFUSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


def test_plan_and_status_at_a_target_that_refuses_exit_2_without_loading_moto():
    spec = str(ROOT / "examples" / "production.yaml")
    argv = [
        ["plan", spec, "--json", "--endpoint-url", REFUSED],
        ["status", "build-x", "--json", "--endpoint-url", REFUSED],
        ["destroy", "vpc-0123456789abcdef0", "--json", "--endpoint-url", REFUSED],
    ]

    done = subprocess.run(
        [sys.executable, "-c", CLI_WITHOUT_THE_EMULATOR, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])

    assert set(report["codes"].values()) == {2}, report["codes"]
    assert report["moto"] == []
    assert report["emulator"] == []
