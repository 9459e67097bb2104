"""The stage contracts: what the plan, the execution state and each handler's event hold.

A build is a chain of small handlers that pass dicts through the state machine (the ASL's
`Payload` of each Task state builds the event a handler gets). These TypedDicts say what every
key is, so mypy checks each reader against its writer, and tests/contract/test_stage_contracts.py
checks each Task's `Payload` in the ASL against its handler's event type (no key sent that the
handler does not declare, none declared required that the ASL does not send).

Types only: a TypedDict is a plain dict at run time (nothing is validated or copied here, and no
third-party package is needed). The one validation of untrusted input is spec.parse_spec and
aws.normalize_target, in Validate And Plan, before anything is created.
"""

# No `from __future__ import annotations` here: Python 3.11 reads Required/NotRequired only from
# evaluated annotations, and the contract test reads __required_keys__ at run time.
from typing import Any, Literal, NotRequired, TypedDict

# -- the plan (plan.plan_network writes it; every build stage, growth and verify read it) -------


class Zone(TypedDict):
    name: str  # us-east-1a
    zoneId: str  # use1-az1: the physical zone, the same in every account


class NamedResource(TypedDict):
    logicalId: str
    name: str  # the Name tag


class RouteTarget(TypedDict):
    """A planned default route: to the Internet Gateway, a NAT gateway (`nat`: its logical id) or
    the egress-only Internet Gateway."""

    target: Literal["igw", "nat", "eigw"]
    nat: NotRequired[str]


class PlannedSubnet(TypedDict):
    logicalId: str  # subnet/<tier>/<az>
    tier: str
    type: str  # public | private | isolated (spec.TIER_TYPES)
    az: str
    azIndex: int
    cidr: str
    name: str
    mapPublicIpOnLaunch: bool
    tags: dict[str, str]
    routeTable: str  # the logical id of its route table
    ipv6Index: int | None  # the /64 number inside the VPC's /56, or None without IPv6
    assignIpv6AddressOnCreation: bool


class PlannedZoneAddress(TypedDict):
    """A regional NAT's brought-your-own Elastic IPs in one zone (AvailabilityZoneAddresses)."""

    availabilityZone: str
    availabilityZoneId: str
    allocationIds: list[str]


class PlannedNat(TypedDict):
    logicalId: str  # nat/<az>, or nat/regional (nat_modes.py)
    az: str | None  # None for regional
    subnet: str | None  # the logical id of the public subnet it sits in; None for regional
    eip: str | None  # eip/<az>; None for regional (no EIP allocated by us)
    eipAllocationId: str | None  # a brought-your-own Elastic IP, never released by us
    name: str
    # plan_network always writes both; NotRequired for plans made before regional NATs (then zonal).
    availabilityMode: NotRequired[Literal["zonal", "regional"]]
    zoneAddresses: NotRequired[list[PlannedZoneAddress]]  # regional manual mode; [] otherwise


class PlannedRouteTable(TypedDict):
    logicalId: str  # rtb/<tier>, or rtb/<tier>/<az> for a private tier whose zones may use different NATs (plan.py)
    tier: str
    type: str  # public | private | isolated (spec.TIER_TYPES)
    az: str | None  # None: the tier's one table
    name: str
    tags: dict[str, str]
    subnets: list[str]  # logical ids of the subnets it is associated with
    defaultRoute: RouteTarget | None
    ipv6DefaultRoute: RouteTarget | None
    # Private and isolated tables of a plan with a transit gateway: the destinations (IPv4 CIDRs,
    # prefix list ids) routed to it (transit.py). Absent elsewhere.
    transitGatewayRoutes: NotRequired[list[str]]


class PlannedFlowLogs(TypedDict):
    logicalId: str
    name: str
    destination: str  # cloud-watch-logs | s3
    logGroupName: str | None
    retentionDays: int | None
    bucketArn: str | None
    prefix: str | None
    trafficType: str  # ALL | ACCEPT | REJECT
    maxAggregationInterval: int


class PlannedGatewayEndpoint(TypedDict):
    logicalId: str  # vpce/<service>
    service: str  # the service key (s3, dynamodb); Configure VPC resolves the Region's name
    name: str
    routeTables: list[str]


class PlannedIpam(TypedDict):
    """The IPAM pool a VPC's IPv4 block comes from (ipam.py)."""

    poolId: str
    netmaskLength: int


class PlannedTransitGateway(TypedDict):
    """The VPC's transit gateway attachment (transit.py)."""

    logicalId: str  # tgw-attachment
    id: str  # the transit gateway (tgw-...), this account's or shared with it through AWS RAM
    routes: list[str]  # IPv4 CIDRs and prefix list ids sent to it from private and isolated tiers
    associateRouteTableId: str | None
    propagateRouteTableIds: list[str]
    name: str
    subnets: list[str]  # subnet/tgw/<az>: the attachment's /28s, one a zone


class PlannedInterfaceEndpoint(TypedDict):
    """An interface VPC endpoint (interface_endpoints.py)."""

    logicalId: str  # vpce/<service>
    service: str  # the service key (ssm, ecr.api); the build resolves the Region's full name
    name: str
    tier: str  # the tier whose subnets hold it
    subnets: list[str]  # that tier's subnets (logical ids); the build keeps those of zones the service offers


class Changes(TypedDict):
    """What this build does to what exists (growth.detect_changes): create a VPC, grow the one the
    spec name identifies (reconcile), or build a new one beside it (replace, when asked)."""

    mode: Literal["create", "reconcile", "replace"]
    vpcId: NotRequired[str]  # reconcile: the VPC being grown
    added: NotRequired[list[str]]  # reconcile: logical ids this build adds
    unchanged: NotRequired[int]  # reconcile: how many network resources stay as they are
    replaces: NotRequired[list[str]]  # replace: the VPCs left for the user to destroy
    because: NotRequired[list[str]]  # replace: the changes growth refused


class Plan(TypedDict):
    name: str
    cidr: str
    availabilityZones: list[Zone]
    azReservation: int
    tags: dict[str, str]
    vpc: NamedResource
    internetGateway: NamedResource | None
    subnets: list[PlannedSubnet]
    natGateways: list[PlannedNat]
    routeTables: list[PlannedRouteTable]
    monthlyCostUsd: dict[str, Any]
    costComparison: dict[str, Any]
    ipv6: bool
    egressOnlyInternetGateway: NamedResource | None
    flowLogs: PlannedFlowLogs | None
    gatewayEndpoints: list[PlannedGatewayEndpoint]
    lockDownDefaultSecurityGroup: bool
    changes: NotRequired[Changes]  # added by Validate And Plan once the account has been read
    # plan_network always writes it (None without a transit gateway); NotRequired for older plans.
    transitGateway: NotRequired[PlannedTransitGateway | None]
    # plan_network always writes it (None for a CIDR string); NotRequired for plans made before it.
    # With IPAM, cidr is the block the plan is laid in: the pool's preview, the existing VPC's CIDR,
    # or (only before Validate And Plan placed it) the nominal 0.0.0.0/<netmask>.
    ipam: NotRequired[PlannedIpam | None]
    # plan_network always writes both ([] and None without interface endpoints); NotRequired for older plans.
    interfaceEndpoints: NotRequired[list[PlannedInterfaceEndpoint]]
    endpointSecurityGroup: NotRequired[NamedResource | None]  # sg/endpoints


# -- what travels beside the plan ---------------------------------------------------------------


class Target(TypedDict):
    """The account a build works in (aws.normalize_target); None means the factory's own."""

    accountId: str
    region: str
    roleName: str
    externalId: NotRequired[str]


class Lock(TypedDict):
    """The build lock Validate And Plan took (build_lock.py), handed on to the release states."""

    key: str
    holder: str  # the holding execution's ARN


class PollSettings(TypedDict, total=False):
    """A poll loop's schedule, from the template's parameters (DefinitionSubstitutions: strings)."""

    initialWaitSeconds: int | str
    intervalSeconds: int | str
    maxAttempts: int | str


class Wait(TypedDict):
    """A poll loop's progress, threaded through its Choice state (polling.PollConfig)."""

    status: Literal["done", "waiting"]
    attempts: int
    waitSeconds: int


class CfnRequest(TypedDict, total=False):
    """The CloudFormation request a build answers (custom_resource.py puts it in the input)."""

    requestId: str
    requestType: Literal["Create", "Update", "Delete"]
    adoptExisting: bool


class TeardownScope(TypedDict, total=False):
    """Whose resources a rollback or destroy deletes: one execution's (a rollback), or a VPC's
    by id and spec name (a destroy); `rollbackOf` retries a failed Create's rollback."""

    execution: str
    vpcId: str
    name: str
    rollbackOf: str
    flowLogs: PlannedFlowLogs | None
    ipamPoolId: str  # a destroy of an IPAM VPC: the pool its CIDR came from (Resolve VPC, from its tag)


# -- each handler's event: the ASL's Payload of its Task state ------------------------------------


class Attempt(TypedDict):
    """Which attempt of its task an event is (network.Build.fresh): the Step Functions context
    object's $$.State.RetryCount and $$.Execution.RedriveCount (0 and 0: the first one)."""

    retry: int
    redrive: int


class StageEvent(TypedDict):
    """Every event carries the execution's name (the correlation id and ownership tag) and the
    target account (None: the factory's own). The creates that skip a lookup on a first attempt
    also carry `attempt`."""

    execution: str
    target: Target | None
    attempt: NotRequired[Attempt]


class ValidateEvent(TypedDict):
    execution: str
    executionArn: NotRequired[str]  # absent on a direct invocation: then no lock is taken
    input: Any  # the execution input, untrusted until parse_spec and normalize_target accept it
    defaultRoleName: NotRequired[str]


class ValidateResult(TypedDict):
    spec: dict[str, Any]
    plan: Plan
    target: Target | None
    cfn: CfnRequest | None
    lock: Lock | None


class CreateVpcEvent(StageEvent):
    plan: Plan
    poll: NotRequired[PollSettings]


class CheckVpcEvent(StageEvent):
    vpcId: str
    wait: Wait
    poll: NotRequired[PollSettings]
    ipv6: NotRequired[bool]


class VpcStageEvent(StageEvent):
    """Create Subnets, Create Internet Gateway."""

    plan: Plan
    vpcId: str


class VerifyNetworkEvent(VpcStageEvent):
    cidr: NotRequired[str]  # the VPC's primary IPv4 block, as Create VPC read it from EC2


class AllocateEipsEvent(StageEvent):
    plan: Plan


class CreateNatGatewaysEvent(StageEvent):
    plan: Plan
    network: list[dict[str, Any]]  # the outputs of the Parallel's branches (merge_branches)
    poll: NotRequired[PollSettings]


class CheckNatGatewaysEvent(StageEvent):
    ids: dict[str, str]  # NAT logical id -> NatGatewayId
    wait: Wait
    poll: NotRequired[PollSettings]


class CreateRouteTablesEvent(StageEvent):
    plan: Plan
    vpcId: str
    network: list[dict[str, Any]]


class BuiltRouteTable(TypedDict):
    """A route table Create Route Tables made or found (network.Build.create_route_tables)."""

    routeTableId: str
    tier: str
    az: str | None


class ConfigureVpcEvent(StageEvent):
    plan: Plan
    vpcId: str
    routeTables: dict[str, BuiltRouteTable]  # Create Route Tables' answer, by logical id
    flowLogsRoleArn: NotRequired[str]


class AddNatRoutesEvent(StageEvent):
    plan: Plan
    routing: list[dict[str, Any]]  # [{ids, wait} of the NAT wait, {routeTables}]


class ReportSuccessEvent(StageEvent):
    executionArn: str
    startTime: str  # $$.Execution.StartTime, ISO 8601
    network: dict[str, Any]  # Verify Network's description of what exists
    cfn: CfnRequest | None
    lock: Lock | None


class ReleaseBuildLockEvent(TypedDict):
    execution: str
    executionArn: str
    lock: Lock | None


class ResolveVpcEvent(TypedDict):
    execution: str
    input: Any  # {vpcId, target?, cfn?} or {rollbackOf, cfn?}: untrusted until checked
    defaultRoleName: NotRequired[str]


class TeardownEvent(StageEvent):
    """Roll Back, Start Teardown, Finish Teardown (and Finish Rollback)."""

    scope: TeardownScope
    poll: NotRequired[PollSettings]


class CheckNatDeletionEvent(StageEvent):
    scope: TeardownScope
    deletingIds: list[str]  # what Start Teardown began deleting (waits.py)
    wait: Wait
    poll: NotRequired[PollSettings]


class ReportLeftoversEvent(StageEvent):
    scope: TeardownScope
    error: dict[str, Any] | None  # the build's error (a rollback), None for a destroy
    teardownError: NotRequired[dict[str, Any] | None]


class ReportDestroyedEvent(StageEvent):
    scope: TeardownScope
    cfn: CfnRequest | None


# Report Failure is invoked by both state machines with the whole state, and by EventBridge with an
# execution's status change when it ended outside its failure path ("detail-type" is no identifier).
ReportFailureEvent = TypedDict(
    "ReportFailureEvent",
    {"execution": str, "state": dict[str, Any], "detail-type": str, "detail": dict[str, Any]},
    total=False,
)


# -- the rollout state machine (statemachine/rollout.asl.json; fleets) -----------------------------


class RolloutItemInput(TypedDict):
    """The build's execution input for one account: the spec wrapper (spec.split_input)."""

    spec: dict[str, Any]
    target: dict[str, Any]


class RolloutItemInvalid(TypedDict):
    error: str  # InvalidSpec: the item fails alone, nothing is started for it
    cause: str


class RolloutItem(TypedDict):
    """One element of rollouts/<id>/items.json, which the Distributed Map reads."""

    accountId: str
    region: str
    line: int  # the manifest line (or the OU account's position) it came from
    executionName: str  # manifest.execution_name; the ASL appends -r<redrive count>
    input: RolloutItemInput
    invalid: NotRequired[RolloutItemInvalid]


class PreparedRollout(TypedDict):
    rolloutId: str
    mode: Literal["build", "audit"]
    bucket: str
    itemsKey: str
    resultsPrefix: str
    reportKey: str
    count: int
    maxConcurrency: int
    toleratedFailurePercentage: float


class PrepareRolloutEvent(TypedDict):
    execution: str
    input: Any  # the rollout's execution input: untrusted until checked
    defaultRoleName: NotRequired[str]


class AuditNetworkEvent(TypedDict):
    execution: str
    item: RolloutItem
    rolloutId: str
    defaultRoleName: NotRequired[str]


class AuditResult(TypedDict):
    status: Literal["compliant", "drifted", "missing"]
    vpcId: str | None
    differences: list[str]
    cause: str


class SummarizeRolloutEvent(TypedDict):
    execution: str
    rollout: dict[str, Any]  # the whole state: prepared, and results (Map output) or mapError
