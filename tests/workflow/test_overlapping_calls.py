"""A stage's independent EC2 calls overlap (issue 16): on the emulator with the latency model, as
`make bench` runs it, the subnets of a build take about one call's simulated time per wave of calls,
not one per subnet, and the network comes out as it did when the calls went one by one."""

from __future__ import annotations

from typing import Any

from tests.workflow.conftest import BENCH_EC2_CALL_SECONDS
from tests.workflow.owned import execution_name
from vpcfactory import fanout
from vpcfactory_tools.emulator import latency

CALL = BENCH_EC2_CALL_SECONDS  # simulated seconds per EC2 call, as `make bench` has it
SKEW = 0.001  # float rounding: calls handed over at once begin at the same simulated instant


def span(calls: list[Any]) -> float:
    """Simulated seconds from the first call's start to the last call's end."""
    return max(c.simulated_start + c.simulated_seconds for c in calls) - min(c.simulated_start for c in calls)


def test_a_stages_calls_overlap_in_simulated_time_and_the_network_is_the_same(bench_emulator, everything_spec):
    # Given examples/everything.yaml in 3 zones: 9 subnets, the 3 public ones with two attributes to
    # set (public IPs, IPv6), the 3 app ones with one (IPv6), 2 NAT gateways
    latency.reset()

    # When it is built
    result = bench_emulator.build(everything_spec)

    # Then it succeeds, and each stage's calls went out side by side
    assert result.status == "SUCCEEDED", result.cause
    calls = latency.calls(execution_name(result))
    by_op = {
        op: [c for c in calls if c.operation == op]
        for op in ("CreateSubnet", "ModifySubnetAttribute", "AllocateAddress", "CreateNatGateway")
    }
    assert len(by_op["CreateSubnet"]) == 9 < fanout.EC2_WIDTH
    # one wave: 9 subnets in about one call's time, not 9 calls' (0.9 s)
    assert span(by_op["CreateSubnet"]) <= CALL + SKEW
    # a subnet's own attributes one after the other (2 calls), the subnets side by side
    assert len(by_op["ModifySubnetAttribute"]) == 9
    assert span(by_op["ModifySubnetAttribute"]) <= 2 * CALL + SKEW
    # the Elastic IPs and then the NAT gateways: one wave each
    for op in ("AllocateAddress", "CreateNatGateway"):
        assert len(by_op[op]) == 2 and span(by_op[op]) <= CALL + SKEW, op
    # every subnet was created before the first attribute call (eventual consistency: the order stays)
    assert max(c.started_at for c in by_op["CreateSubnet"]) < min(c.started_at for c in by_op["ModifySubnetAttribute"])

    # And the network is what the plan says, in the plan's order
    output = result.output
    assert [list(output["subnets"]), [len(s) for s in output["subnets"].values()]] == [
        ["public", "app", "data"],
        [3] * 3,
    ]
    for subnets in output["subnets"].values():
        assert [s["az"] for s in subnets] == output["availabilityZones"]
    assert len(output["natGateways"]) == 2
