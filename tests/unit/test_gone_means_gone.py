"""A delete is done when EC2 says *the resource it deletes* is gone, and only then.

Each delete has its own NotFound codes (aws.GONE_CODES, from the EC2 API Reference's error codes);
any other NotFound -- InvalidRoute.NotFound from DeleteVpcEndpoints, say -- is a failure, and so is
the right code about another id. Batch deletes answer per-item `Unsuccessful` entries instead of
raising: those are checked the same way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from vpcfactory import aws
from vpcfactory.errors import AwsCallFailed, ResourceInUse

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions" / "vpcfactory"
SUBNET = "subnet-0123456789abcdef0"
OTHER_SUBNET = "subnet-0fedcba9876543210"
VPCE = "vpce-0123456789abcdef0"
VPCE_2 = "vpce-0aaaaaaaaaaaaaaaa"
TABLE = "rtb-0123456789abcdef0"


@pytest.fixture
def ec2():
    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    aws.forget_fresh()
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_a_delete_answered_with_its_own_not_found_about_its_id_counts_as_done(ec2):
    client, stub = ec2
    stub.add_client_error("delete_subnet", "InvalidSubnetID.NotFound", f"The subnet ID '{SUBNET}' does not exist")

    assert aws.call("DeleteSubnet", client.delete_subnet, missing_ok=True, SubnetId=SUBNET) is None


def test_a_delete_answered_with_its_own_not_found_naming_no_id_counts_as_done(ec2):
    client, stub = ec2
    stub.add_client_error("delete_route_table", "InvalidRouteTableID.NotFound", "The route table does not exist")

    assert aws.call("DeleteRouteTable", client.delete_route_table, missing_ok=True, RouteTableId=TABLE) is None


def test_a_not_found_about_another_resource_than_the_deleted_one_is_an_error(ec2):
    client, stub = ec2
    stub.add_client_error(
        "delete_vpc_endpoints",
        "InvalidRoute.NotFound",
        f"no route with destination-prefix-list-id pl-0123456789abcdef0 in route table {TABLE}",
    )

    with pytest.raises(AwsCallFailed) as exc:
        aws.call("DeleteVpcEndpoints", client.delete_vpc_endpoints, missing_ok=True, VpcEndpointIds=[VPCE])

    assert exc.value.code == "InvalidRoute.NotFound"


def test_the_deleted_resources_not_found_code_about_another_id_is_an_error(ec2):
    client, stub = ec2
    stub.add_client_error("delete_subnet", "InvalidSubnetID.NotFound", f"The subnet ID '{OTHER_SUBNET}' does not exist")

    with pytest.raises(AwsCallFailed) as exc:
        aws.call("DeleteSubnet", client.delete_subnet, missing_ok=True, SubnetId=SUBNET)

    assert exc.value.code == "InvalidSubnetID.NotFound" and OTHER_SUBNET in str(exc.value)


def test_another_delete_operations_not_found_code_is_an_error(ec2):
    client, stub = ec2
    stub.add_client_error("delete_subnet", "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")

    with pytest.raises(AwsCallFailed) as exc:
        aws.call("DeleteSubnet", client.delete_subnet, missing_ok=True, SubnetId=SUBNET)

    assert exc.value.code == "InvalidVpcID.NotFound"


def test_an_operation_with_no_known_gone_code_never_counts_a_not_found_as_done(ec2):
    client, stub = ec2
    stub.add_client_error("delete_route", "InvalidRoute.NotFound", "The route does not exist")

    with pytest.raises(AwsCallFailed):
        aws.call(
            "DeleteRoute", client.delete_route, missing_ok=True, RouteTableId=TABLE, DestinationCidrBlock="0.0.0.0/0"
        )


def test_a_parameter_already_deleted_counts_as_done_even_when_its_name_looks_like_an_id():
    ssm = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    name = "/vpcfactory/rollback/build-production-0123abcd"
    with Stubber(ssm) as stub:
        stub.add_client_error("delete_parameter", "ParameterNotFound", f"Parameter {name} not found.")

        assert aws.call("DeleteParameter", ssm.delete_parameter, missing_ok=True, Name=name) is None


def test_a_batch_delete_with_no_unsuccessful_item_is_done(ec2):
    client, stub = ec2
    stub.add_response("delete_vpc_endpoints", {"Unsuccessful": []}, {"VpcEndpointIds": [VPCE, VPCE_2]})

    aws.delete_batch("DeleteVpcEndpoints", client.delete_vpc_endpoints, "VpcEndpointIds", [VPCE, VPCE_2])


def test_a_batch_delete_counts_an_item_answered_gone_about_that_id_as_done(ec2):
    client, stub = ec2
    gone = {"ResourceId": VPCE, "Error": {"Code": "InvalidVpcEndpointId.NotFound", "Message": "does not exist"}}
    stub.add_response("delete_vpc_endpoints", {"Unsuccessful": [gone]})

    aws.delete_batch("DeleteVpcEndpoints", client.delete_vpc_endpoints, "VpcEndpointIds", [VPCE, VPCE_2])


def test_a_batch_delete_fails_on_an_unsuccessful_item_that_is_not_about_its_endpoint_being_gone(ec2):
    client, stub = ec2
    item = {"ResourceId": VPCE_2, "Error": {"Code": "InvalidRoute.NotFound", "Message": f"no route in {TABLE}"}}
    stub.add_response("delete_vpc_endpoints", {"Unsuccessful": [item]})

    with pytest.raises(AwsCallFailed) as exc:
        aws.delete_batch("DeleteVpcEndpoints", client.delete_vpc_endpoints, "VpcEndpointIds", [VPCE, VPCE_2])

    assert exc.value.code == "InvalidRoute.NotFound"
    assert VPCE_2 in str(exc.value) and TABLE in str(exc.value)


def test_a_batch_delete_item_blocked_by_a_dependency_is_resource_in_use(ec2):
    client, stub = ec2
    item = {"ResourceId": "fl-0123456789abcdef0", "Error": {"Code": "DependencyViolation", "Message": "in use"}}
    stub.add_response("delete_flow_logs", {"Unsuccessful": [item]})

    with pytest.raises(ResourceInUse):
        aws.delete_batch("DeleteFlowLogs", client.delete_flow_logs, "FlowLogIds", ["fl-0123456789abcdef0"])


def test_a_batch_delete_whose_whole_call_says_one_id_is_gone_deletes_the_others_one_by_one(ec2):
    client, stub = ec2
    stub.add_client_error(
        "delete_vpc_endpoints", "InvalidVpcEndpointId.NotFound", f"The VPC endpoint '{VPCE}' does not exist"
    )
    stub.add_client_error(
        "delete_vpc_endpoints",
        "InvalidVpcEndpointId.NotFound",
        f"The VPC endpoint '{VPCE}' does not exist",
        expected_params={"VpcEndpointIds": [VPCE]},
    )
    stub.add_response("delete_vpc_endpoints", {"Unsuccessful": []}, {"VpcEndpointIds": [VPCE_2]})

    aws.delete_batch("DeleteVpcEndpoints", client.delete_vpc_endpoints, "VpcEndpointIds", [VPCE, VPCE_2])


def test_an_empty_batch_calls_nothing(ec2):
    client, _ = ec2

    aws.delete_batch("DeleteVpcEndpoints", client.delete_vpc_endpoints, "VpcEndpointIds", [])


def _missing_ok_operations() -> list[tuple[str, str]]:
    """(file, operation) of every aws.call(..., missing_ok=True) in the Lambda code, of every
    aws.delete_batch, and of every delete teardown.py makes through its `attempt` helper (which
    calls with missing_ok=True)."""
    found = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        where = path.relative_to(FUNCTIONS).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "attempt" and len(node.args) > 2:
                found.append((where, ast.unparse(node.args[2]).strip("'\"")))
                continue
            if name == "delete_batch" and node.args:
                found.append((where, ast.unparse(node.args[0]).strip("'\"")))
                continue
            missing_ok = next((k.value for k in node.keywords if k.arg == "missing_ok"), None)
            if name != "call" or missing_ok is None:
                continue
            if isinstance(missing_ok, ast.Constant) and missing_ok.value is False:
                continue
            found.append((where, ast.unparse(node.args[0]).strip("'\"")))
    return found


def test_every_delete_that_tolerates_gone_names_an_operation_whose_gone_codes_are_known():
    calls = _missing_ok_operations()

    assert {("teardown.py", "DeleteVpc"), ("teardown.py", "DeleteVpcEndpoints")} <= set(calls), "the scan is blind"
    # Variables: teardown's `attempt` helper (its callers are checked) and delete_batch's own call.
    variable = {("teardown.py", "operation"), ("aws.py", "operation")}
    unknown = [(where, op) for where, op in calls if op not in aws.GONE_CODES and (where, op) not in variable]
    assert unknown == []


def test_no_gone_code_is_a_not_found_of_some_other_resource():
    # Each operation's codes name its own resource: a route, prefix list or VPC is never "gone"
    # for a delete of something else.
    assert "InvalidRoute.NotFound" not in set().union(*aws.GONE_CODES.values())
    assert "InvalidPrefixListID.NotFound" not in set().union(*aws.GONE_CODES.values())
    assert aws.GONE_CODES["DeleteSubnet"].isdisjoint({"InvalidVpcID.NotFound"})
    assert aws.GONE_CODES["DeleteVpcEndpoints"] == {"InvalidVpcEndpointId.NotFound", "InvalidVpcEndpoint.NotFound"}
