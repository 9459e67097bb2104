"""Defect 13 of issue 11: with the OrganizationId parameter, the functions may assume the target
role only in accounts of that organization (aws:ResourceOrgID), evaluated by the emulator's IAM.
A module of its own: it deploys a stack with another parameter, in an emulator of its own."""

from __future__ import annotations

from vpcfactory_tools.emulator.settings import EmulatorSettings

from .conftest import TIME_SCALE


def test_with_an_organization_id_the_target_role_is_assumed_only_in_its_accounts_defect_13(seed_spec):
    from moto.organizations.models import organizations_backends

    from vpcfactory_tools.emulator.embedded import EmbeddedEmulator

    organization_id = "o-vpcfactory01"
    settings = EmulatorSettings(time_scale=TIME_SCALE)
    with EmbeddedEmulator(settings, parameter_overrides={"OrganizationId": organization_id}) as emu:
        # Given an organization (moto makes up its id: give it the one the stack was deployed with)
        org = emu.client("organizations")
        org.create_organization(FeatureSet="ALL")
        organizations_backends["123456789012"]["aws"].org.id = organization_id
        status = org.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]
        member = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        member_id = member["AccountId"]

        # When a build targets an account outside it, nothing is assumed and nothing is created
        outside = emu.build({"spec": seed_spec, "target": {"accountId": "222222222222"}})
        assert outside.status == "FAILED"
        assert "not authorized to perform: sts:AssumeRole" in outside.cause
        assert "AccessDenied" in outside.cause

        # And a build in a member account goes through the role there
        inside = emu.build(
            {"spec": {**seed_spec, "name": seed_spec["name"] + "-m"}, "target": {"accountId": member_id}}
        )
        assert inside.status == "SUCCEEDED", inside.cause
        assert inside.output["vpcId"].startswith("vpc-")
