"""The ``--fail-at OP[:N][=CODE]`` syntax."""

from __future__ import annotations

import pytest

from vpcfactory_tools.emulator.faults import CallRef, Fault, http_status, parse_call, parse_fault
from vpcfactory_tools.emulator.settings import EmulatorSettings

NO_ADDRESS = "InsufficientAddressCapacity"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CreateNatGateway", Fault("CreateNatGateway", 1, "InternalError")),
        ("CreateNatGateway:3", Fault("CreateNatGateway", 3, "InternalError")),
        ("CreateNatGateway=InsufficientAddressCapacity", Fault("CreateNatGateway", 1, NO_ADDRESS)),
        ("CreateNatGateway:1=InsufficientAddressCapacity", Fault("CreateNatGateway", 1, NO_ADDRESS)),
        ("DeleteSubnet:2=DependencyViolation", Fault("DeleteSubnet", 2, "DependencyViolation")),
        ("CreateRoute=InvalidNatGatewayID.NotFound", Fault("CreateRoute", 1, "InvalidNatGatewayID.NotFound")),
        ("  AllocateAddress:10 ", Fault("AllocateAddress", 10, "InternalError")),
    ],
)
def test_a_valid_spec_parses_to_operation_call_number_and_code(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


def test_a_fault_prints_back_as_the_full_spec() -> None:
    assert str(parse_fault("CreateVpc")) == "CreateVpc:1=InternalError"
    fault = Fault("CreateVpc", 4, "VpcLimitExceeded")
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "operation is missing"),
        (":2=InternalError", "operation is missing"),
        ("createNatGateway", "PascalCase"),
        ("create-nat-gateway", "PascalCase"),
        ("CreateNatGateways", "did you mean CreateNatGateway"),
        ("CreateNatGateway:0", "must be >= 1"),
        ("CreateNatGateway:-1", "not a positive integer"),
        ("CreateNatGateway:x", "not a positive integer"),
        ("CreateNatGateway:", "not a positive integer"),
        ("CreateNatGateway:1=", "not an AWS error code"),
        ("CreateNatGateway=Bad Code", "not an AWS error code"),
        ("CreateNatGateway:1:2", "not a positive integer"),
    ],
)
def test_a_bad_spec_is_a_value_error_that_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="expected OP\\[:N\\]\\[=CODE\\]") as exc:
        parse_fault(text)

    assert complaint in str(exc.value)


def test_a_fault_built_directly_is_validated_too() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        Fault("CreateVpc", 0)
    with pytest.raises(ValueError, match="PascalCase"):
        Fault("create_vpc")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InternalError", 500),
        ("InsufficientAddressCapacity", 500),
        ("Unavailable", 503),
        ("ServiceUnavailable", 503),
        ("RequestLimitExceeded", 503),
        ("DependencyViolation", 400),
    ],
)
def test_each_code_maps_to_the_http_status_ec2_sends(code: str, status: int) -> None:
    assert http_status(code) == status
    assert Fault("CreateVpc", 1, code).http_status == status


def test_settings_reject_a_throttle_outside_zero_to_one_and_a_non_positive_time_scale() -> None:
    with pytest.raises(ValueError, match="throttle"):
        EmulatorSettings(throttle=1.5)
    with pytest.raises(ValueError, match="time_scale"):
        EmulatorSettings(time_scale=0)


# -- aiming at one execution, crashes, throttling windows --------------------------------------------


def test_a_fault_can_be_aimed_at_one_execution_and_prints_back_the_same() -> None:
    fault = parse_fault("CreateRoute:2=InsufficientAddressCapacity@build-team-a-20250101T000000-1a2b3c4d")

    assert fault == Fault("CreateRoute", 2, NO_ADDRESS, "build-team-a-20250101T000000-1a2b3c4d")
    assert parse_fault(str(fault)) == fault
    assert parse_fault("CreateVpc@run-1") == Fault("CreateVpc", 1, "InternalError", "run-1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CreateVpc", CallRef("CreateVpc", 1)),
        ("CreateNatGateway:2", CallRef("CreateNatGateway", 2)),
        (" CreateSubnet:9@build-a ", CallRef("CreateSubnet", 9, "build-a")),
    ],
)
def test_a_crash_point_parses_to_operation_call_number_and_execution(text: str, expected: CallRef) -> None:
    assert parse_call(text) == expected
    assert parse_call(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("CreateVpc=InternalError", "a crash takes no error code"),
        ("CreateVpcs", "did you mean CreateVpc"),
        ("CreateVpc:0", "must be >= 1"),
        ("CreateVpc@", "is not an execution name"),
        ("CreateVpc@has space", "is not an execution name"),
    ],
)
def test_a_bad_crash_point_is_a_value_error_that_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="expected OP\\[:N\\]\\[@EXECUTION\\]") as exc:
        parse_call(text)

    assert complaint in str(exc.value)


def test_settings_reject_a_negative_throttle_limit() -> None:
    with pytest.raises(ValueError, match="throttle_limit"):
        EmulatorSettings(throttle=1.0, throttle_limit=-1)
