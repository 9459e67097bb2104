"""Exception classes whose *names* are the contract with the state machine.

Step Functions matches `Retry`/`Catch` `ErrorEquals` against the `errorType` of a failed Lambda
invocation, which is the class name of the exception the handler raised. Renaming a class here
means changing statemachine/*.asl.json too (tests/contract checks the two agree).
"""

from __future__ import annotations


class VpcFactoryError(Exception):
    """Base class: every error a handler raises on purpose."""


class InvalidSpec(VpcFactoryError):
    """The spec is wrong. Raised before any AWS call; names the offending field.

    `field` is the exact path into the input; the message shows at most MAX_FIELD characters of
    it (a path holds the input's keys, and a key can be 200 KB long)."""

    MAX_FIELD = 200

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        shown = field if len(field) <= self.MAX_FIELD else f"{field[: self.MAX_FIELD]}…"
        super().__init__(f"{shown}: {reason}")


class InvalidManifest(VpcFactoryError):
    """A rollout's manifest is wrong (manifest.parse_manifest): nothing was started. Every line is
    checked and `problems` lists every problem found, each "line N: field: reason" (or, for the
    whole manifest, "<name>: reason"); the message joins them, at most MAX_LISTED of them."""

    MAX_LISTED = 50  # a Step Functions error cause holds at most 32,768 characters

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        listed = "; ".join(self.problems[: self.MAX_LISTED])
        more = len(self.problems) - self.MAX_LISTED
        super().__init__(listed + (f"; and {more} more" if more > 0 else ""))


class VpcNotFound(VpcFactoryError):
    """Destroy was asked for a VPC that does not exist (in the target account and Region): nothing
    was deleted. A CloudFormation Delete of a VPC already gone is a success instead, never this."""


class AwsThrottled(VpcFactoryError):
    """An AWS API (EC2, SSM, STS, CloudWatch Logs, Step Functions, ...) answered a throttling code
    (RequestLimitExceeded, Throttling, ...) after botocore's own retries. The ASL retries it with
    backoff and jitter. The message names the operation."""


class AwsCallFailed(VpcFactoryError):
    """Any other AWS API error (EC2, SSM, STS, Logs, Step Functions, ...): not retried by the
    workflow, it goes to the rollback path. The message names the operation and AWS's code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed with {code}: {message}")


class ResourceNotYetVisible(AwsCallFailed):
    """EC2 answered `Invalid*ID.NotFound` (or `NatGatewayNotFound`) for an id this build just
    created, or was just given (a bring-your-own Elastic IP): EC2 is eventually consistent, a new
    resource can be invisible to other calls for a few seconds. The ASL retries it with backoff;
    once the retries are used up the message still names the id that was not found."""

    def __init__(self, operation: str, code: str, message: str, resource_id: str) -> None:
        self.resource_id = resource_id
        super().__init__(
            operation,
            code,
            f"{message} ({resource_id} is new to this build and EC2 is eventually consistent, so the "
            f"call is retried with backoff; if it keeps failing, {resource_id} does not exist in this "
            "account and Region)",
        )


class AlreadyDone(AwsCallFailed):
    """EC2 refused a create or an association because what it would make exists already (a
    repeated CreateSubnet, AssociateRouteTable or CreateRoute: aws.call's `exists`). Raised only
    where the caller asked for it, on a first attempt that skipped its lookup (network.Build.fresh),
    which then looks up and carries on: it never reaches the state machine."""


class Ipv6AssociationFailed(VpcFactoryError):
    """The VPC's Amazon-provided IPv6 /56 association went `failed` (or `failing`): a dual-stack
    network cannot be built in this VPC. The message carries EC2's status message."""


class ResourceInUse(VpcFactoryError):
    """DependencyViolation (or an EIP still mapped) while tearing down, or something of ours still
    listed after a teardown attempt (a NotFound that did not mean gone): retried with backoff."""


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


class AdoptionRefused(VpcFactoryError):
    """A custom-resource Create found a VPC of the same spec name that it did not build: taking it
    over would let deleting the stack destroy a network the stack never created. Refused unless the
    resource sets AdoptExisting: "true"."""


class BuildInProgress(VpcFactoryError):
    """Another execution is building a network of the same spec name in the same account and Region
    (it holds the build lock, build_lock.py). Raised by Validate And Plan before anything is created;
    the message names that execution. Two builds of one name would reconcile into each other's
    half-built VPC."""


class BuildLockFailed(VpcFactoryError):
    """The build-lock table (or Step Functions, asked about the lock's holder) answered an error that
    is not "held by another build": the build did not start. The message names the call and code."""


class TransitGatewayAttachmentNotAccepted(VpcFactoryError):
    """The transit gateway VPC attachment was still `pendingAcceptance` when the build's wait ran
    out: the gateway belongs to another account (shared through AWS RAM) that has not accepted it.
    The message names the gateway and its owner account, which must accept it (or enable
    AutoAcceptSharedAttachments). The build rolls back (the attachment is deleted)."""


class TransitGatewayAttachmentFailed(VpcFactoryError):
    """The transit gateway VPC attachment went `failed` or `rejected` (or was deleted) while the
    build waited for it: the message names it, the gateway and the gateway's owner account."""


class VpcEndpointFailed(VpcFactoryError):
    """An interface VPC endpoint went `failed`, `rejected` or `expired` (or was deleted) while the
    build waited for it (interface_endpoints.py): the message names it, its service and EC2's reason.
    The build rolls back (the endpoint is deleted)."""


class InvalidRolloutInput(VpcFactoryError):
    """The rollout's execution input is wrong (a field other than the manifest's lines): nothing
    was started. The message starts with the field, as InvalidSpec's does."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")
