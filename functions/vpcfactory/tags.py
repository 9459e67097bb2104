"""Ownership tags (DESIGN.md "Ownership tags"): every resource carries them from creation.

Rollback finds what a run created by `vpcfactory:execution`; destroy by `vpcfactory:vpc` inside
the VPC. Nothing without these tags is ever modified or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping

TAG_VPC = "vpcfactory:vpc"
TAG_EXECUTION = "vpcfactory:execution"
TAG_LOGICAL_ID = "vpcfactory:logical-id"
OWNERSHIP_KEYS = (TAG_VPC, TAG_EXECUTION, TAG_LOGICAL_ID)


def resource_tags(
    *, spec_name: str, execution: str, logical_id: str, name: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The full tag set of one resource: spec tags, then Name, then ownership (ownership wins)."""
    tags = dict(extra or {})
    tags["Name"] = name
    tags[TAG_VPC] = spec_name
    tags[TAG_EXECUTION] = execution
    tags[TAG_LOGICAL_ID] = logical_id
    return tags


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_dict(tag_list_: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list_ or []}
