"""The one fake Lambda context the suites hand to handlers (what Powertools' inject_lambda_context
reads), instead of a copy per test module. Tests that take fixtures use `lambda_context`
(tests/conftest.py); module-level helpers build one with LambdaContext()."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req"
    remaining_millis: int = 60_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
