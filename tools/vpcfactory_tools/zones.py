"""The availability zones `vpcfactory plan` and `diagram` lay a spec out over when they have no
target to ask: the embedded emulator's, i.e. moto's built-in table, frozen in data/zones.json.

Asking moto itself would load it (and its EC2 models) just to read a constant: ~2 s of imports
for a command that makes no AWS call. The file is what moto's DescribeAvailabilityZones
answers in every region it knows; tests/integration/test_zone_table.py checks it still is, and
`python -m vpcfactory_tools.zones` rewrites it after a moto upgrade. A region missing from the
file is asked of moto, as before.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

ZONES_FILE = Path(__file__).resolve().parent / "data" / "zones.json"
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@functools.cache
def _table() -> dict[str, list[dict[str, Any]]]:
    return json.loads(ZONES_FILE.read_text(encoding="utf-8"))["regions"]


def emulator_zones(region: str) -> list[dict[str, Any]]:
    """DescribeAvailabilityZones' `AvailabilityZones` as the embedded emulator answers it in `region`."""
    zones = _table().get(region)
    if zones is None:
        return moto_zones([region])[region]
    return [{**zone, "RegionName": region, "Messages": []} for zone in zones]


def moto_zones(regions: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Ask an in-memory moto (nothing persists, no AWS call)."""
    import boto3
    from moto import mock_aws

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # One session for every Region: a session parses EC2's service model (megabytes of JSON)
        # once for all its clients, where a session per Region parsed it once per Region.
        session = boto3.session.Session()
        return {
            region: [
                dict(zone)
                for zone in session.client("ec2", region_name=region).describe_availability_zones()["AvailabilityZones"]
            ]
            for region in regions
        }


def known_regions() -> list[str]:
    """Every EC2 Region botocore knows, in the partitions the factory builds in."""
    import boto3

    session = boto3.session.Session()
    return sorted({r for p in PARTITIONS for r in session.get_available_regions("ec2", partition_name=p)})


def table_from_moto() -> dict[str, Any]:
    """The content of data/zones.json, read from moto (RegionName and Messages are left out: the
    key and [] in every answer)."""
    import moto

    answers = moto_zones(known_regions())
    regions = {
        region: [{k: v for k, v in zone.items() if k not in ("RegionName", "Messages")} for zone in zones]
        for region, zones in answers.items()
        if zones
    }
    return {"source": f"moto {moto.__version__} DescribeAvailabilityZones", "regions": regions}


def main() -> int:
    table = table_from_moto()
    lines = ",\n".join(f"    {json.dumps(r)}: {json.dumps(z)}" for r, z in table["regions"].items())
    ZONES_FILE.write_text(f'{{\n  "source": {json.dumps(table["source"])},\n  "regions": {{\n{lines}\n  }}\n}}\n')
    print(f"wrote {ZONES_FILE} ({len(table['regions'])} regions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
