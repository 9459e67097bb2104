"""What every benchmark module shares: the repository root, the error a benchmark raises when it
cannot measure, the run's configuration, and the progress log and rounding helpers."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """A benchmark could not be measured (a build failed, sam build failed, ...). A failed execution
    carries its status, error and cause, which the results then report for that scenario."""

    def __init__(
        self, message: str, *, status: str | None = None, error: str | None = None, cause: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.cause = status, error, cause

    def as_result(self) -> dict[str, Any]:
        """A scenario that could not be measured, as the results report it (every other figure stays)."""
        return {
            "status": self.status or "NOT_MEASURED",
            "error": self.error or type(self).__name__,
            "cause": self.cause or str(self),
        }


def measured(result: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a scenario's result holds figures (not a failure reported by BenchError.as_result)."""
    return isinstance(result, dict) and "error" not in result


@dataclass
class BenchConfig:
    time_scale: float = 0.02
    """Real seconds per simulated second for the time-to-ready runs."""
    ec2_call_seconds: float = 0.1
    scenarios: tuple[str, ...] = ("seed", "seedMinimal", "ha3", "ha6")
    local_runs: int = 5
    local_time_scale: float = 0.0001
    import_runs: int = 5
    import_jobs: int = field(default_factory=lambda: 2 if (os.cpu_count() or 1) >= 4 else 1)
    """Interpreters timed at once (each is single-threaded; 2 with 4+ CPUs, so they do not compete)."""
    handlers: tuple[str, ...] | None = None
    """Handler modules to time (None: every module in functions/vpcfactory/handlers)."""
    package: bool = True
    growth_azs: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    growth_tiers: tuple[int, ...] = (1, 2, 3, 4, 5)
    growth_base_azs: int = 3
    growth_base_tiers: int = 3
    fleet_accounts: int = 100
    """The fleet scenario: one rollout of examples/seed.yaml to this many accounts (0: none) ..."""
    fleet_concurrency: int = 20
    """... at this maxConcurrency ..."""
    fleet_first_account: int = 100_000_000_000
    """... account ids counting up from this one (12 digits)."""
    seed_baseline: Path | None = None

    @classmethod
    def quick(cls) -> BenchConfig:
        """Tiny repetitions: every figure, none of them meaningful (the smoke test)."""
        return cls(
            time_scale=0.01,
            local_runs=1,
            import_runs=1,
            handlers=("vpcfactory.handlers.check_vpc",),
            growth_azs=(1, 2),
            growth_tiers=(1, 2),
            growth_base_azs=1,
            growth_base_tiers=1,
            fleet_accounts=6,
            fleet_concurrency=2,
        )


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def round_or_none(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
