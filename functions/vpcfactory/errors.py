"""Exception classes whose *names* are the contract with the state machine.

Step Functions matches `Retry`/`Catch` `ErrorEquals` against the `errorType` of a failed Lambda
invocation, which is the class name of the exception the handler raised. Renaming a class here
means changing statemachine/*.asl.json too (tests/contract checks the two agree).
"""

from __future__ import annotations


class VpcFactoryError(Exception):
    """Base class: every error a handler raises on purpose."""


class InvalidSpec(VpcFactoryError):
    """The spec is wrong. Raised before any AWS call; names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class Ec2Throttled(VpcFactoryError):
    """EC2 answered RequestLimitExceeded/Throttling. The ASL retries it with backoff and jitter."""


class Ec2CallFailed(VpcFactoryError):
    """Any other EC2 error: not retried by the workflow, it goes to the rollback path."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed with {code}: {message}")


class ResourceInUse(VpcFactoryError):
    """DependencyViolation (or an EIP still mapped) while tearing down: retried with backoff."""


class NatGatewayFailed(VpcFactoryError):
    """A NAT gateway went to `failed`; the message carries its failureCode."""


class WaitTimedOut(VpcFactoryError):
    """A wait/poll loop used up its attempts (VPC not available, NAT still pending/deleting)."""


class NotOwnedByFactory(VpcFactoryError):
    """Destroy was asked to delete a resource that does not carry our ownership tags."""


class VerificationFailed(VpcFactoryError):
    """Read back, the network differs from its plan (a route, a subnet, a setting): roll back."""


class ReplacementRequired(VpcFactoryError):
    """Applying the spec to the VPC it built would change or remove something that exists
    (CIDR, a tier, an AZ, a NAT's routes). Refused unless the caller allows a replacement."""
