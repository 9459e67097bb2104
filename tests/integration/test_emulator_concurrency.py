"""EC2 calls a handler makes at once from threads (issue 16: a stage's independent calls side by
side) meet an EC2 that is safe under concurrency, as AWS's is: the emulator handles one EC2 request
at a time (faults.py's dispatch lock), so moto's check-then-insert (a new subnet's CIDR against the
VPC's others) and its dict walks never interleave with another request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ec2.models import subnets as moto_subnets

from vpcfactory_tools.emulator import faults
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured


@pytest.fixture(scope="module", autouse=True)
def _dispatch_hook() -> Iterator[None]:
    installed_before = faults.installed()
    faults.install()
    yield
    if not installed_before:
        faults.uninstall()


def build_slowly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build moto's Subnet slowly: widens the window between moto's CIDR-conflict check and the
    insert of the new subnet, where a second request slips in on plain moto."""
    original = moto_subnets.Subnet.__init__

    def slow_init(self: Any, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)
        original(self, *args, **kwargs)

    monkeypatch.setattr(moto_subnets.Subnet, "__init__", slow_init)


def test_two_overlapping_subnets_created_at_once_one_is_refused_as_on_aws(
    ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a VPC, and two requests for overlapping subnets sent at the same moment
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    build_slowly(monkeypatch)
    together = threading.Barrier(2, timeout=5)
    outcomes: list[str] = []

    def create(cidr: str) -> None:
        together.wait()
        try:
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone="us-east-1a")
            outcomes.append("created")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    # When both run at once
    with configured(EmulatorSettings(time_scale=0.001)):
        threads = [threading.Thread(target=create, args=(cidr,)) for cidr in ("10.0.0.0/24", "10.0.0.0/23")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then EC2 refuses the second, whichever it is (plain moto creates both)
    assert sorted(outcomes) == ["InvalidSubnet.Conflict", "created"]
    listed = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(listed) == 1


def test_many_subnets_created_at_once_all_exist_with_distinct_ids(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    together = threading.Barrier(18, timeout=10)
    made: list[str] = []

    def create(n: int) -> None:
        together.wait()
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone="us-east-1a")
        made.append(subnet["Subnet"]["SubnetId"])

    with configured(EmulatorSettings(time_scale=0.001)):
        threads = [threading.Thread(target=create, args=(n,)) for n in range(18)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    listed = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(set(made)) == 18
    assert sorted(s["SubnetId"] for s in listed) == sorted(made)
