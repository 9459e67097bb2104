"""EventBridge event -> build execution input (pure, so it is tested with real-shaped samples)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

CONTROL_TOWER_SOURCE = "aws.controltower"
VPC_REQUESTED = ("vpcfactory", "VPC Requested")


def execution_input(
    event: EventBridgeEvent | Mapping[str, Any],
    default_spec: Callable[[], dict[str, Any]],
    default_role_name: str | None,
) -> dict[str, Any] | None:
    """The build input for an event, or None if the event is not one we act on."""
    if not isinstance(event, EventBridgeEvent):
        event = EventBridgeEvent(dict(event))
    detail = event.detail or {}
    if event.source == CONTROL_TOWER_SOURCE:
        if detail.get("eventName") != "CreateManagedAccount":
            return None
        status = (detail.get("serviceEventDetails") or {}).get("createManagedAccountStatus") or {}
        if status.get("state") != "SUCCEEDED":
            return None
        account = (status.get("account") or {}).get("accountId")
        target = {"accountId": account, "region": event.region}
        if default_role_name:
            target["roleName"] = default_role_name
        return {"spec": default_spec(), "target": target}
    if (event.source, event.detail_type) == VPC_REQUESTED:
        payload: dict[str, Any] = {"spec": detail.get("spec")}
        if detail.get("target"):
            payload["target"] = detail["target"]
        return payload
    return None
