"""Poll-loop bookkeeping shared by the wait handlers (VPC available, NATs available/deleted).

Each loop threads a `wait` object through its Choice state: {"status": "done"|"waiting",
"attempts": n, "waitSeconds": s}. The Wait state reads `waitSeconds` (SecondsPath), so the
schedule (a long first wait for NAT gateways, then short polls) lives in the template's
parameters, reaches the handlers through the ASL's DefinitionSubstitutions, and is testable here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vpcfactory.errors import WaitTimedOut

if TYPE_CHECKING:
    from vpcfactory.contracts import Wait


@dataclass(frozen=True)
class PollConfig:
    interval_seconds: int
    max_attempts: int
    initial_wait_seconds: int

    @classmethod
    def from_event(cls, raw: Mapping[str, Any] | None) -> PollConfig:
        raw = raw or {}
        interval = int(raw.get("intervalSeconds", 5))
        return cls(
            interval_seconds=interval,
            max_attempts=int(raw.get("maxAttempts", 60)),
            initial_wait_seconds=int(raw.get("initialWaitSeconds", interval)),
        )

    def first(self, done: bool) -> Wait:
        """The wait object right after the create call."""
        if done:
            return {"status": "done", "attempts": 0, "waitSeconds": 0}
        return {"status": "waiting", "attempts": 0, "waitSeconds": self.initial_wait_seconds}

    def next(self, wait: Wait | None, done: bool, what: str) -> Wait:
        """The wait object after one more check; raises WaitTimedOut when attempts run out."""
        attempts = (int(wait["attempts"]) if wait else 0) + 1
        if done:
            return {"status": "done", "attempts": attempts, "waitSeconds": 0}
        if attempts >= self.max_attempts:
            raise WaitTimedOut(f"{what}: still not ready after {attempts} checks")
        return {"status": "waiting", "attempts": attempts, "waitSeconds": self.interval_seconds}
