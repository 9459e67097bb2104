"""The CLI when a run is cut short or cannot clean up, as an operator meets it: Ctrl-C during
`apply` (embedded, and against a served emulator, on a terminal or not), `vpcfactory emulator`
on a port in use and told to stop, and `status` of a rollback that could not finish."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.workflow.test_cli_end_to_end import CLI, ROOT, serve_emulator
from vpcfactory.tags import TAG_EXECUTION, tag_dict

ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "NO_COLOR": "1"}
# The one execution of this module whose rollback cannot finish: its 2nd CreateRoute fails, then
# its first DeleteSubnet is refused (not retried), so the rollback stops with the subnets left.
LEFT = "left-1"


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_the_cli():
    """The CLIs here run as a terminal's foreground job would, where Ctrl-C (SIGINT) is delivered. A
    suite started as a background job of a non-interactive shell (`make test &`, nohup, a CI step
    run that way) has SIGINT ignored, and a child inherits an ignored signal: the CLI would never see
    the Ctrl-C these tests send, and would build to the end. Ignored here, it is the default again
    for the test's duration, so the processes it starts get SIGINT as a foreground job does."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def served():
    # 1 simulated second = 50 ms: the NAT wait lasts seconds, long enough to interrupt a build in it
    with serve_emulator(
        "0.05",
        ENV,
        ["--fail-at", f"CreateRoute:2@{LEFT}", "--fail-at", f"DeleteSubnet:1=UnauthorizedOperation@{LEFT}"],
    ) as ready:
        yield ready


def spec_file(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load((EXAMPLES / "seed.yaml").read_text()), "name": name}))
    return str(path)


def client(service: str, url: str):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def sfn_client(url: str):
    return client("stepfunctions", url)


class Cli:
    """A CLI process whose stderr is read as it comes (from a pipe, or from a terminal: a pty)."""

    def __init__(self, *args: str, terminal: bool = False) -> None:
        self.chunks: list[str] = []
        if terminal:
            self._master, slave = pty.openpty()
            self.proc = subprocess.Popen(
                [*CLI, *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=slave, stdin=slave, text=True
            )
            os.close(slave)
            reader = self._read_terminal
        else:
            self.proc = subprocess.Popen(
                [*CLI, *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            reader = self._read_pipe
        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()

    def _read_pipe(self) -> None:
        for line in self.proc.stderr:
            self.chunks.append(line)

    def _read_terminal(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:  # the process closed the terminal
                return
            if not data:
                return
            self.chunks.append(data.decode(errors="replace"))

    @property
    def stderr(self) -> str:
        return "".join(self.chunks)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            assert self.proc.poll() is None, f"exited {self.proc.returncode} before {text!r}:\n{self.stderr[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.stderr[-3000:]}"
            time.sleep(0.02)

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.proc.returncode, out


def wait_until_ended(sfn, arn: str) -> dict:
    deadline = time.monotonic() + 180
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.1)
    return described


# -- Ctrl-C during apply ------------------------------------------------------------------------
def test_ctrl_c_during_an_embedded_apply_stops_the_execution_and_exits_130_with_one_json_object(tmp_path):
    # Given an apply on the embedded emulator, waiting for its NAT gateway
    run = Cli("apply", spec_file(tmp_path, "interrupted-here"), "--json", "--time-scale", "0.05")
    run.wait_for("Wait For NAT Gateways")

    # When the operator presses Ctrl-C
    run.interrupt()
    code, out = run.finish()

    # Then the execution was stopped (the emulator lived in the process), said in a sentence
    assert code == 130, run.stderr[-3000:]
    assert "the embedded emulator keeps nothing" in run.stderr
    assert "Traceback" not in run.stderr
    doc = json.loads(out)  # still exactly one JSON object on stdout
    assert doc["status"] == "FAILED" and doc["error"] == "Interrupted" and doc["executionStatus"] == "ABORTED"
    assert doc["executionArn"].startswith("arn:aws:states:") and doc["error"] == "Interrupted"
    assert set(doc) >= {"status", "executionArn", "vpcId", "output", "error", "cause", "message"}


def test_ctrl_c_during_an_apply_against_a_served_emulator_leaves_the_execution_running_and_says_how_to_follow_it(
    served, tmp_path
):
    url = served["endpoint"]
    # Given an apply against the served emulator, waiting for its NAT gateway (not on a terminal)
    run = Cli("apply", spec_file(tmp_path, "goes-on"), "--endpoint-url", url, "--name", "goes-on-1", "--json")
    run.wait_for("Wait For NAT Gateways")

    # When the operator presses Ctrl-C
    run.interrupt()
    code, out = run.finish()

    # Then the CLI exits 130 and says the execution continues, with the commands to follow or stop it
    assert code == 130, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "interrupted; the execution continues" in run.stderr
    assert f"vpcfactory status goes-on-1 --endpoint-url {url}" in run.stderr
    doc = json.loads(out)
    assert doc["status"] == "FAILED" and doc["error"] == "Interrupted" and doc["executionStatus"] == "RUNNING"
    assert doc["statusCommand"] == f"vpcfactory status goes-on-1 --endpoint-url {url}"
    stop = f"aws stepfunctions stop-execution --execution-arn {doc['executionArn']} --endpoint-url {url}"
    assert doc["stopCommand"] == stop and stop in run.stderr
    # and it does: the build finishes without the CLI
    assert wait_until_ended(sfn_client(url), doc["executionArn"])["status"] == "SUCCEEDED"


def test_a_second_ctrl_c_on_a_terminal_stops_the_execution_as_stopped_by_the_operator(served, tmp_path):
    url = served["endpoint"]
    # Given an apply against the served emulator on a terminal, interrupted once
    run = Cli(
        "apply", spec_file(tmp_path, "stop-it"), "--endpoint-url", url, "--name", "stop-it-1", "--json", terminal=True
    )
    run.wait_for("Wait For NAT Gateways")
    run.interrupt()
    run.wait_for("press Ctrl-C again")

    # When the operator presses Ctrl-C again
    run.interrupt()
    code, out = run.finish()

    # Then the execution is stopped, with an error that says who stopped it, and the CLI says it did not roll back
    assert code == 130, run.stderr[-3000:]
    doc = json.loads(out)
    assert doc["status"] == "FAILED" and doc["error"] == "Interrupted" and doc["executionStatus"] == "ABORTED"
    described = sfn_client(url).describe_execution(executionArn=doc["executionArn"])
    assert (described["status"], described["error"]) == ("ABORTED", "StoppedByOperator")
    assert "Ctrl-C" in described["cause"]
    assert "does not roll back" in run.stderr and "Traceback" not in run.stderr

    # and status shows it stopped, with what it left (found by its tag) and the runbook section
    status = subprocess.run(
        [*CLI, "status", "stop-it-1", "--endpoint-url", url], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    assert status.stdout.startswith("ABORTED")
    assert "stopped       it did not roll back" in status.stdout
    assert "interrupting-apply-or-destroy" in status.stdout


# -- status of a rollback that could not finish -------------------------------------------------
def test_status_of_a_rollback_that_could_not_finish_lists_what_is_left_with_the_clean_error(served, tmp_path):
    url = served["endpoint"]
    # Given a build that fails, and whose rollback is refused a DeleteSubnet
    build = subprocess.run(
        [*CLI, "apply", spec_file(tmp_path, "left"), "--endpoint-url", url, "--name", LEFT, "--json"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 1, build.stderr[-3000:]
    assert json.loads(build.stdout)["error"] == "RollbackIncomplete"

    # When the operator asks for its status
    text = subprocess.run(
        [*CLI, "status", LEFT, "--endpoint-url", url], cwd=ROOT, env=ENV, capture_output=True, text=True
    ).stdout
    doc = json.loads(
        subprocess.run(
            [*CLI, "status", LEFT, "--endpoint-url", url, "--json"], cwd=ROOT, env=ENV, capture_output=True, text=True
        ).stdout
    )

    # Then it says the rollback could not finish and lists exactly what is left in the account
    ec2 = client("ec2", url)
    left = sorted(
        s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if tag_dict(s.get("Tags")).get(TAG_EXECUTION) == LEFT
    )
    assert left and doc["created"]["subnet"] == left
    total = sum(len(ids) for ids in doc["created"].values())
    assert f"rollback      could not finish: {total} resources it created are still there" in text
    assert "deleted what it had created" not in text and "nothing left" not in text
    assert all(subnet in text for subnet in left)
    assert "what to do next: docs/operations.md#a-rollback-or-destroy-could-not-finish" in text
    # with the error as its message: what stopped the rollback and what started it, no JSON, no traces
    error_line = next(line for line in text.splitlines() if line.startswith("error"))
    assert "RollbackIncomplete" in error_line
    assert "DeleteSubnet failed with UnauthorizedOperation" in error_line
    assert "CreateRoute failed with InternalError" in error_line
    assert "stackTrace" not in text and '\\"' not in text and '{"' not in error_line
    assert doc["rollback"] == "incomplete" and doc["message"] in error_line
    # and the execution's own cause holds no stack traces either (they stay in the function's log)
    assert "stackTrace" not in json.loads(build.stdout)["cause"]


# -- vpcfactory emulator: port in use, signals, request logs ------------------------------------
def emulator(*args: str, stderr) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "emulator", *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=stderr, text=True
    )


def read_all(file) -> str:
    file.seek(0)
    return file.read()


def test_the_emulator_on_a_port_in_use_says_so_in_one_line_and_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        proc = emulator("--port", str(port), stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=120)

    assert proc.returncode == 2
    assert out == ""
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert f"port {port} is in use" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_emulator_stops_cleanly_on_a_signal_while_it_starts(sig):
    with tempfile.TemporaryFile("w+") as stderr:
        proc = emulator("--port", "0", stderr=stderr)
        # once it says it is starting (its signal handlers are in place), before its ready line
        deadline = time.monotonic() + 120
        while "starting on 127.0.0.1:" not in read_all(stderr):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)

        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        err = read_all(stderr)

    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    if out:  # the signal came after all of start-up: then it stopped as a served emulator does
        assert json.loads(out)["endpoint"]
    else:
        assert "stopped while starting" in err


@pytest.mark.parametrize("log_requests", [False, True], ids=["quiet by default", "--log-requests"])
def test_the_served_emulator_logs_requests_only_when_asked_and_stops_cleanly_on_sigint(log_requests):
    with tempfile.TemporaryFile("w+") as stderr:
        proc = emulator("--port", "0", *(["--log-requests"] if log_requests else []), stderr=stderr)
        ready = json.loads(proc.stdout.readline())
        sfn_client(ready["endpoint"]).list_state_machines()

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        err = read_all(stderr)

    assert proc.returncode == 0, err[-3000:]
    assert ('"POST / HTTP/1.1" 200' in err) is log_requests


@pytest.mark.parametrize("waits", ["wait_for_stop", "stop.wait"])
def test_the_served_emulator_stops_on_a_signal_the_kernel_delivers_to_another_thread(waits):
    # Given a process whose main thread waits for the stop as `vpcfactory emulator` does, and a
    # SIGTERM the kernel hands to another of its threads (any thread may receive a process's signal;
    # Python runs the handler in the main thread only when that thread wakes up)
    script = f"""
import signal, sys, threading, time
from vpcfactory_tools.cli import wait_for_stop
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
def elsewhere():
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
threading.Thread(target=elsewhere, daemon=True).start()
{"wait_for_stop(stop)" if waits == "wait_for_stop" else "stop.wait()"}
print("stopped")
"""
    proc = subprocess.Popen([*CLI[:1], "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        # start-up ~0.3 s, the signal at 0.3 s, a check every 0.2 s: ample room on a loaded machine;
        # the bare wait is given 3 s to show it never returns
        out, _ = proc.communicate(timeout=10 if waits == "wait_for_stop" else 3)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()

    # Then the emulator's wait stops within its check interval; a bare Event.wait() never would
    assert (out.strip() == "stopped") is (waits == "wait_for_stop")
