"""Flow logs are delivered, not only created: to CloudWatch Logs in a target account through a
delivery role of that account, and to S3 only when the bucket policy lets the log delivery
service write (otherwise AWS reports the flow log FAILED, and so does Verify)."""

from __future__ import annotations

import json

import boto3

from tests.workflow.owned import execution_name, s3_delivery_policy, tagged_with_execution

TARGET = "111111111111"
DELIVERY_ROLE = "vpcfactory-flow-logs-delivery"


def _in_target(emu):
    creds = emu.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{TARGET}:role/AWSControlTowerExecution", RoleSessionName="test"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def _flow_log(ec2, vpc_id):
    (flow,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    return flow


def test_a_cross_account_build_delivers_flow_logs_through_a_shared_role_of_the_target_account(emu, seed_spec):
    factory_iam = emu.client("iam")
    factory_roles = {r["RoleName"] for r in factory_iam.list_roles()["Roles"]}

    # Given a Control Tower-style build in another account, flow logs to CloudWatch Logs (the default)
    first = emu.build({"spec": seed_spec, "target": {"accountId": TARGET}})

    assert first.status == "SUCCEEDED", first.cause
    there = _in_target(emu)
    role_arn = f"arn:aws:iam::{TARGET}:role/{DELIVERY_ROLE}"
    flow = _flow_log(there.client("ec2"), first.vpc_id)
    assert flow["DeliverLogsPermissionArn"] == role_arn
    assert flow["DeliverLogsStatus"] == "SUCCESS"

    # the role lives in the target account, trusted by VPC Flow Logs acting for that account only
    iam = there.client("iam")
    role = iam.get_role(RoleName=DELIVERY_ROLE)["Role"]
    assert role["Arn"] == role_arn
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": TARGET}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ec2:*:{TARGET}:vpc-flow-log/*"}
    (statement,) = iam.get_role_policy(RoleName=DELIVERY_ROLE, PolicyName="deliver-flow-logs")["PolicyDocument"][
        "Statement"
    ]
    assert statement["Resource"] == f"arn:aws:logs:*:{TARGET}:log-group:*"
    assert set(statement["Action"]) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
    }
    # marked as the factory's, but with no build's ownership tags: no rollback or destroy finds it
    tags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert "vpcfactory:managed" in tags
    assert not {"vpcfactory:vpc", "vpcfactory:execution", "vpcfactory:logical-id"} & set(tags)
    # nothing IAM-related was created in the factory's account
    assert {r["RoleName"] for r in factory_iam.list_roles()["Roles"]} == factory_roles

    # a second network in that account reuses the role
    second = emu.build({"spec": {**seed_spec, "name": f"{seed_spec['name']}-2"}, "target": {"accountId": TARGET}})
    assert second.status == "SUCCEEDED", second.cause
    assert _flow_log(there.client("ec2"), second.vpc_id)["DeliverLogsPermissionArn"] == role_arn
    assert iam.get_role(RoleName=DELIVERY_ROLE)["Role"]["RoleId"] == role["RoleId"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]].count(DELIVERY_ROLE) == 1

    # and destroying both networks leaves the role for the account's next one
    for built in (first, second):
        destroyed = emu.run(
            emu.stack.destroy_arn,
            {"vpcId": built.vpc_id, "target": {"accountId": TARGET}},
            name=f"destroy-{execution_name(built)}"[:80],
        )
        assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert iam.get_role(RoleName=DELIVERY_ROLE)["Role"]["RoleId"] == role["RoleId"]
    assert iam.get_role_policy(RoleName=DELIVERY_ROLE, PolicyName="deliver-flow-logs")["PolicyDocument"]


def test_flow_logs_to_a_bucket_that_does_not_allow_delivery_fail_the_build_naming_the_fix(emu, seed_spec):
    bucket = f"{seed_spec['name']}-no-policy"
    emu.client("s3").create_bucket(Bucket=bucket)
    spec = {**seed_spec, "flowLogs": {"destination": "s3", "bucketArn": f"arn:aws:s3:::{bucket}", "prefix": "vpcs"}}

    result = emu.build(spec)

    assert result.status == "FAILED"
    assert result.error == "VerificationFailed", result.cause
    cause = result.cause
    assert "fl-" in cause and f"arn:aws:s3:::{bucket}/vpcs/" in cause
    assert "Access error" in cause
    assert "delivery.logs.amazonaws.com" in cause and "s3:PutObject" in cause
    # rolled back, flow log included
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []
    left = emu.client("ec2").describe_flow_logs(
        Filters=[{"Name": "tag:vpcfactory:execution", "Values": [execution_name(result)]}]
    )["FlowLogs"]
    assert left == []

    # with the documented bucket policy the same spec builds, and its flow log delivers
    emu.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(s3_delivery_policy(bucket, "123456789012")))
    fixed = emu.build(spec)
    assert fixed.status == "SUCCEEDED", fixed.cause
    assert _flow_log(emu.client("ec2"), fixed.vpc_id)["DeliverLogsStatus"] == "SUCCESS"


def test_flow_logs_to_a_bucket_that_does_not_exist_fail_in_validate_and_plan_before_anything_is_created(emu, seed_spec):
    from vpcfactory_tools.emulator import faults

    # Given flow logs to S3 and an emulator that, like every fresh one, holds no bucket
    faults.reset()
    bucket = f"{seed_spec['name']}-missing-logs"
    spec = {**seed_spec, "flowLogs": {"destination": "s3", "bucketArn": f"arn:aws:s3:::{bucket}", "prefix": "vpcs"}}

    result = emu.build(spec)

    # Then Validate And Plan refuses the spec, naming the field and how to make the bucket
    assert result.status == "FAILED"
    assert result.error == "InvalidSpec", result.cause
    cause = json.loads(result.cause)["errorMessage"]
    assert cause.startswith("flowLogs.bucketArn: ") and f"S3 bucket {bucket} does not exist" in cause
    assert "nothing was created" in cause and "the factory's account" in cause
    assert f"aws s3 mb s3://{bucket}" in cause and "delivery.logs.amazonaws.com" in cause
    assert "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html" in cause
    assert "`vpcfactory emulator`" in cause and f"aws s3 mb s3://{bucket} --endpoint-url ENDPOINT" in cause
    # and the only EC2 call of the run was Validate And Plan's zone lookup: no NAT, no EIP, nothing
    assert [op for _, op in faults.call_sequence(execution_name(result))] == ["DescribeAvailabilityZones"]
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_a_cross_account_build_checks_the_flow_log_bucket_as_the_target_role(emu, seed_spec):
    bucket = f"{seed_spec['name']}-missing-there"
    spec = {**seed_spec, "flowLogs": {"destination": "s3", "bucketArn": f"arn:aws:s3:::{bucket}"}}

    result = emu.build({"spec": spec, "target": {"accountId": TARGET}})

    assert result.status == "FAILED"
    assert result.error == "InvalidSpec", result.cause
    assert f"in account {TARGET}, as AWSControlTowerExecution" in result.cause
    there = _in_target(emu).client("ec2")
    assert tagged_with_execution(there, execution_name(result)) == []  # nothing made in the target account
