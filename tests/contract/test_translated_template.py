"""The template CloudFormation really receives (issue 11): template.yaml after the SAM transform.

cfn-lint run on the SAM template validates it against SAM's schemas; CloudFormation receives
the transform's output, where SAM policy templates are expanded and every intrinsic is checked.
A `Fn::Split` with three arguments inside `SSMParameterReadPolicy` passed the first and fails the
second (E1019), so the translation is linted here, with every rule, informational ones included.
The emulator deploys this same translation (vpcfactory_tools/emulator/deploy.py).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from vpcfactory_tools.emulator.intrinsics import IntrinsicError, Resolver, pseudo_parameters
from vpcfactory_tools.emulator.translate import load_sam_template, translate, translated

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
OLD_SPLIT = {
    "SSMParameterReadPolicy": {
        "ParameterName": {
            "Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "DefaultSpecParameterName"}, 2]}],
        }
    }
}


def _lint(template: dict[str, Any]) -> list[Any]:
    config = ManualArgs(include_checks=["I"], regions=["us-east-1"])
    return lint(json.dumps(template), config=config)


def _resolver(template: dict[str, Any], **parameters: str) -> Resolver:
    """Resolves references as the emulator names things (functions <stack>-<LogicalId>)."""
    resources = template["Resources"]

    def ref(logical_id: str) -> str:
        if resources[logical_id]["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/vpcfactory-{logical_id}"
        return f"vpcfactory-{logical_id}"

    def get_att(logical_id: str, attribute: str) -> str:
        return f"arn:aws:x:us-east-1:{ACCOUNT}:{logical_id}.{attribute}"

    return Resolver(
        template,
        parameter_values=parameters,
        pseudo=pseudo_parameters(region="us-east-1", account_id=ACCOUNT, stack_name="vpcfactory"),
        ref=ref,
        get_att=get_att,
    )


def _with_old_split() -> dict[str, Any]:
    sam = load_sam_template(ROOT / "template.yaml")
    sam["Resources"]["StartFromEventFunction"]["Properties"]["Policies"].append(copy.deepcopy(OLD_SPLIT))
    return sam


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def translation():
    return translated(ROOT / "template.yaml")


def test_the_translated_template_passes_every_cfn_lint_rule_informational_ones_included(translation):
    matches = _lint(translation.template)
    assert not matches, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in matches)


def test_the_same_lint_finds_the_three_argument_split_the_template_used_to_have():
    matches = _lint(translate(_with_old_split()).template)
    e1019 = [m for m in matches if m.rule.id == "E1019"]
    assert e1019, [f"{m.rule.id} {m.message}" for m in matches]
    assert all("StartFromEventFunctionRole" in m.path for m in e1019)
    assert all(m.path[-1] == "Fn::Split" for m in e1019)


def test_the_emulator_refuses_the_three_argument_split_naming_where_it_is():
    template = translate(_with_old_split()).template
    role = template["Resources"]["StartFromEventFunctionRole"]
    with pytest.raises(IntrinsicError) as refused:
        _resolver(template).resolve(role["Properties"], "Resources.StartFromEventFunctionRole.Properties")
    assert refused.value.where.startswith("Resources.StartFromEventFunctionRole.Properties.Policies[")
    assert refused.value.where.endswith(".Fn::Select[1].Fn::Split")
    assert "exactly 2 arguments, found 3" in str(refused.value)


@pytest.mark.parametrize("name", ["/vpcfactory/default-spec", "/org/network/spec.v2"])
def test_the_start_from_event_function_may_get_exactly_the_default_spec_parameter(translation, name):
    template = translation.template
    role = _resolver(template, DefaultSpecParameterName=name).resolve(
        template["Resources"]["StartFromEventFunctionRole"], "StartFromEventFunctionRole"
    )
    ssm = [s for s in _statements(role) if "ssm:" in json.dumps(s["Action"])]
    assert ssm == [
        {
            "Sid": "ReadTheDefaultSpec",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}",
        }
    ]


def test_each_state_machine_may_invoke_exactly_the_functions_its_definition_names(translation):
    template = translation.template
    for machine in ("BuildStateMachine", "DestroyStateMachine"):
        props = template["Resources"][machine]["Properties"]
        named = {
            value["Fn::GetAtt"][0]
            for value in props["DefinitionSubstitutions"].values()
            if isinstance(value, dict)
            and "Fn::GetAtt" in value
            and template["Resources"][value["Fn::GetAtt"][0]]["Type"] == "AWS::Lambda::Function"
        }
        role_id = props["RoleArn"]["Fn::GetAtt"][0]
        role = _resolver(template).resolve(template["Resources"][role_id], role_id)
        invoked = {
            s["Resource"]
            for s in _statements(role)
            if s["Effect"] == "Allow" and s["Action"] == ["lambda:InvokeFunction"]
        }
        expected = {f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:vpcfactory-{f}*" for f in named}
        assert invoked == expected, machine


def test_every_function_gets_its_own_role_with_the_policies_the_sam_template_lists(translation):
    template = translation.template
    sam = load_sam_template(ROOT / "template.yaml")
    functions = [k for k, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    roles = set()
    for logical_id in functions:
        role_id = template["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        roles.add(role_id)
        attached = template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
        listed = [p for p in sam["Resources"][logical_id]["Properties"]["Policies"] if set(p) == {"Ref"}]
        assert all(p in attached for p in listed), logical_id
        assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in attached
    assert len(roles) == len(functions)


def test_each_state_machine_keeps_its_local_definition_file(translation):
    assert translation.definition_files == {
        "BuildStateMachine": ROOT / "statemachine" / "build_vpc.asl.json",
        "DestroyStateMachine": ROOT / "statemachine" / "destroy_vpc.asl.json",
        "RolloutStateMachine": ROOT / "statemachine" / "rollout.asl.json",
    }
    location = translation.template["Resources"]["BuildStateMachine"]["Properties"]["DefinitionS3Location"]
    assert location == {"Bucket": "vpcfactory-local", "Key": "statemachine/build_vpc.asl.json"}


def test_the_translation_is_made_once_per_process_and_each_caller_gets_its_own_copy(translation, monkeypatch):
    from vpcfactory_tools.emulator import translate as translate_module

    def must_not_translate_again(*args, **kwargs):
        raise AssertionError("the template was translated again: the per-process cache was missed")

    monkeypatch.setattr(translate_module, "translate", must_not_translate_again)
    again = translated(ROOT / "template.yaml")
    assert again.template == translation.template
    again.template["Resources"].clear()
    assert translated(ROOT / "template.yaml").template["Resources"]


def test_the_example_stack_that_uses_the_factory_passes_every_cfn_lint_rule():
    # Plain CloudFormation (no transform): what CloudFormation receives is the file itself.
    example = translated(ROOT / "examples" / "custom-resource-stack.yaml")
    assert example.template == load_sam_template(ROOT / "examples" / "custom-resource-stack.yaml")
    matches = _lint(example.template)
    assert not matches, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in matches)


# -- the translation cached on disk: every CLI run and served emulator is a new process ----------


@pytest.fixture
def disk_cache(tmp_path, monkeypatch):
    """An empty disk cache of our own, and an empty per-process cache (restored after)."""
    from vpcfactory_tools.emulator import translate as translate_module

    monkeypatch.setenv(translate_module.CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setattr(translate_module, "_CACHE", {})
    return translate_module


def _counting_translations(module, monkeypatch) -> list[Path]:
    made: list[Path] = []
    real = module.translate

    def counted(*args, **kwargs):
        made.append(kwargs["base_dir"])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "translate", counted)
    return made


def test_a_translation_read_back_from_the_disk_equals_a_fresh_one(disk_cache, monkeypatch):
    # Given a translation made in one process and kept on disk
    first = translated(ROOT / "template.yaml")
    assert len(list(disk_cache.cache_dir().glob("*.json"))) == 1

    # When another process (an empty per-process cache) asks for it, translating nothing
    monkeypatch.setattr(disk_cache, "_CACHE", {})
    made = _counting_translations(disk_cache, monkeypatch)
    again = translated(ROOT / "template.yaml")

    # Then it is read from the disk and is exactly what the translator makes
    assert made == []
    fresh = translate(load_sam_template(ROOT / "template.yaml"), base_dir=ROOT)
    assert again == fresh == first
    assert again.definition_files == fresh.definition_files  # Paths, as a fresh translation has them
    assert again.code_uris == fresh.code_uris


def test_the_disk_cache_is_missed_when_the_template_region_parameters_or_translator_change(
    disk_cache, monkeypatch, tmp_path
):
    template = tmp_path / "template.yaml"
    template.write_text((ROOT / "template.yaml").read_text())
    stat = template.stat()
    made = _counting_translations(disk_cache, monkeypatch)
    translated(template)

    # The template changed (same size and modification time: the cache goes by its bytes)
    text = template.read_text()
    assert text.count("poll it this often.") == 1
    template.write_text(text.replace("poll it this often.", "poll it that often."))
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert template.stat().st_size == stat.st_size
    monkeypatch.setattr(disk_cache, "_CACHE", {})
    changed = translated(template)
    assert len(made) == 2
    assert "poll it that often." in json.dumps(changed.template["Parameters"])

    # Another Region, other parameter values
    translated(template, region="eu-west-1")
    translated(template, parameter_values={"LogLevel": "DEBUG"})
    assert len(made) == 4

    # With nothing changed, nothing is translated again
    monkeypatch.setattr(disk_cache, "_CACHE", {})
    translated(template, region="eu-west-1")
    assert len(made) == 4

    # Another translator (or cfn-lint, botocore, translate.py): the same inputs again
    monkeypatch.setattr(disk_cache, "_CACHE", {})
    monkeypatch.setattr(disk_cache, "translator_versions", lambda: {"aws-sam-translator": "0.0.0"})
    translated(template, region="eu-west-1")
    assert len(made) == 5


def test_the_cache_key_names_every_version_the_translation_depends_on():
    from vpcfactory_tools.emulator import translate as translate_module

    versions = translate_module.translator_versions()
    assert set(versions) == {"aws-sam-translator", "cfn-lint", "botocore", "translate.py"}
    import samtranslator

    assert versions["aws-sam-translator"] == samtranslator.__version__


def test_an_unreadable_cache_file_is_translated_again_and_rewritten(disk_cache, monkeypatch):
    translated(ROOT / "template.yaml")
    (cached,) = disk_cache.cache_dir().glob("*.json")
    cached.write_text('{"template": {"Resources": ')  # cut short

    monkeypatch.setattr(disk_cache, "_CACHE", {})
    made = _counting_translations(disk_cache, monkeypatch)
    again = translated(ROOT / "template.yaml")

    assert len(made) == 1
    assert again == translate(load_sam_template(ROOT / "template.yaml"), base_dir=ROOT)
    assert json.loads(cached.read_text())["template"] == again.template
    assert [p.name for p in disk_cache.cache_dir().iterdir()] == [cached.name]  # no temporary file left


def test_an_empty_cache_directory_setting_keeps_nothing_on_disk(disk_cache, monkeypatch, tmp_path):
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, "")
    assert disk_cache.cache_dir() is None
    translated(ROOT / "template.yaml")
    assert not (tmp_path / "cache").exists()


def test_processes_writing_and_reading_one_cache_file_at_once_never_read_part_of_it(disk_cache, tmp_path):
    # Given a translation, and several processes (pytest-xdist workers, CLI runs) that write it
    # and read it back at the same time
    translation = translated(ROOT / "template.yaml")
    key = "k" * 64
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from vpcfactory_tools.emulator import translate as t\n"
        "stored = json.loads(Path(sys.argv[2]).read_text())\n"
        "expected = t.Translation(stored['template'], {k: Path(v) for k, v in stored['definition_files'].items()},"
        " {k: Path(v) for k, v in stored['code_uris'].items()})\n"
        "for _ in range(40):\n"
        "    if sys.argv[1] == 'write':\n"
        "        t._write_cached(sys.argv[3], expected)\n"
        "    found = t._read_cached(sys.argv[3])\n"
        "    assert found is None or found == expected, 'read part of a cache file'\n"
    )
    source = tmp_path / "expected.json"
    source.write_text(
        json.dumps(
            {
                "template": translation.template,
                "definition_files": {k: str(v) for k, v in translation.definition_files.items()},
                "code_uris": {k: str(v) for k, v in translation.code_uris.items()},
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, role, str(source), key], env=env, stderr=subprocess.PIPE)
        for role in ("write", "write", "read", "read")
    ]

    # Then every reader found the whole file or none, and the file left is whole
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert disk_cache._read_cached(key) == translation
    assert not list(disk_cache.cache_dir().glob("*.tmp"))
