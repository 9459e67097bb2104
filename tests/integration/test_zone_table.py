"""The zone table `vpcfactory plan` reads without a target (tools/vpcfactory_tools/data/zones.json)
is what the embedded emulator answers: if moto's zones change, `python -m vpcfactory_tools.zones`
rewrites it."""

from __future__ import annotations

from vpcfactory_tools import zones


def test_the_zone_table_is_what_the_emulator_answers_in_every_region():
    table = zones.table_from_moto()

    assert table["regions"] == zones._table()
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= set(table["regions"])


def test_a_region_the_table_lacks_is_asked_of_the_emulator(monkeypatch):
    monkeypatch.setattr(zones, "_table", lambda: {})

    assert [z["ZoneName"] for z in zones.emulator_zones("eu-west-1")] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_the_table_answers_as_describe_availability_zones_does():
    answer = zones.moto_zones(["ap-southeast-2"])["ap-southeast-2"]

    assert zones.emulator_zones("ap-southeast-2") == answer
