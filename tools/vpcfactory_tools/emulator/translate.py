"""template.yaml as CloudFormation receives it: the SAM transform run offline.

`sam deploy` sends the SAM template to CloudFormation, which runs the AWS::Serverless-2016-10-31
transform and then creates what the *translated* template says: an AWS::Lambda::Function and its
own AWS::IAM::Role per function, an AWS::StepFunctions::StateMachine and its role per state
machine, SAM policy templates expanded into inline policies. The emulator deploys from that
translation and cfn-lint checks it (tests/contract/test_translated_template.py), so a template
CloudFormation would refuse is refused here too.

The translation uses the translator aws-sam-cli ships (samtranslator), the way `sam validate`
runs it: local CodeUri/DefinitionUri paths are swapped for placeholder S3 locations (the
translator accepts no local path) and the managed-policy map is empty (it would need IAM
credentials; the template names no AWS managed policy by bare name, only by ARN). No network,
no credentials. The placeholders are `s3://vpcfactory-local/<path relative to the template>`, so
the translated template still says which local file each function's code and each state
machine's definition is; `Translation.definition_files` has the same, by logical id.

A translation costs about a second the first time in a process (importing cfn-lint's YAML loader
and samtranslator) and tens of milliseconds after; it is cached per process by template file
(path, size, mtime), region and parameter values, and on disk (:func:`cache_dir`) by everything
it is made from: the template's bytes and path, region, parameter values, and the versions of
samtranslator, cfn-lint (the YAML loader), botocore (the partition of a Region) and of this
module's own source. Every CLI run and served emulator is a new process: the disk cache spares
each of them that second.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from vpcfactory_tools.emulator import disk_cache

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = PROJECT_ROOT / "template.yaml"
LOCAL_BUCKET = "vpcfactory-local"  # the placeholder bucket of local code and definitions


class TranslationError(ValueError):
    """The SAM translator refused the template (CloudFormation would fail the transform)."""


@dataclass(frozen=True)
class Translation:
    template: dict[str, Any]  # the CloudFormation template (plain dicts and lists)
    definition_files: dict[str, Path] = field(default_factory=dict)  # state machine logical id -> local ASL
    code_uris: dict[str, Path] = field(default_factory=dict)  # function logical id -> local code directory


def load_sam_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as plain dicts (intrinsics in their long form: Ref, Fn::Sub ...)."""
    return _load_text(path.read_text())


def _load_text(text: str) -> dict[str, Any]:
    from cfnlint.decode.cfn_yaml import loads  # ~0.4 s of imports (sympy): only when translating

    return json.loads(json.dumps(loads(text)))


def _local(uri: Any) -> bool:
    return isinstance(uri, str) and "://" not in uri


def _to_placeholder(props: dict[str, Any], key: str, base: Path, found: dict[str, Path], logical_id: str) -> None:
    uri = props.get(key)
    if not isinstance(uri, str) or not _local(uri):
        return
    local = (base / uri).resolve()
    found[logical_id] = local
    try:
        key_path = local.relative_to(base.resolve()).as_posix()
    except ValueError:  # a path outside the template's directory: keep only its name
        key_path = local.name
    props[key] = f"s3://{LOCAL_BUCKET}/{key_path}"


def translate(
    sam_template: dict[str, Any],
    *,
    region: str = "us-east-1",
    parameter_values: dict[str, Any] | None = None,
    base_dir: Path = PROJECT_ROOT,
) -> Translation:
    """Run the SAM transform offline on a SAM template (not modified). A template without the
    transform is returned as is (a copy)."""
    import boto3
    from samtranslator.parser import parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(sam_template)
    definition_files: dict[str, Path] = {}
    code_uris: dict[str, Path] = {}
    transforms = sam.get("Transform", [])
    if "AWS::Serverless-2016-10-31" not in (transforms if isinstance(transforms, list) else [transforms]):
        return Translation(sam, definition_files, code_uris)

    global_code: dict[str, Path] = {}
    fn_globals = sam.get("Globals", {}).get("Function", {})
    _to_placeholder(fn_globals, "CodeUri", base_dir, global_code, "Globals")
    for logical_id, resource in sam.get("Resources", {}).items():
        props = resource.setdefault("Properties", {}) if isinstance(resource, dict) else {}
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind == "AWS::Serverless::Function":
            _to_placeholder(props, "CodeUri", base_dir, code_uris, logical_id)
            if logical_id not in code_uris and "Globals" in global_code and "CodeUri" not in props:
                code_uris[logical_id] = global_code["Globals"]
        elif kind == "AWS::Serverless::StateMachine":
            _to_placeholder(props, "DefinitionUri", base_dir, definition_files, logical_id)
        elif kind == "AWS::Serverless::LayerVersion":
            _to_placeholder(props, "ContentUri", base_dir, {}, logical_id)

    translator = Translator(
        managed_policy_map=None,
        sam_parser=parser.Parser(),
        plugins=[],
        # Only its region is read (the AWS::Region/AWS::Partition pseudo parameters): no call is made.
        boto_session=boto3.session.Session(region_name=region),
    )
    try:
        out = translator.translate(
            sam_template=sam, parameter_values=dict(parameter_values or {}), get_managed_policy_map=dict
        )
    except InvalidDocumentException as exc:
        causes = " ".join(str(cause) for cause in exc.causes)
        raise TranslationError(f"the SAM transform refuses the template: {exc} {causes}".strip()) from exc
    template = json.loads(json.dumps(out))  # plain types only (the translator returns some of its own)
    return Translation(template, definition_files, code_uris)


_CACHE: dict[tuple[Any, ...], Translation] = {}
_CACHE_LOCK = threading.Lock()


def translated(
    path: Path = TEMPLATE, *, region: str = "us-east-1", parameter_values: dict[str, Any] | None = None
) -> Translation:
    """The translation of the template file at `path`, cached per process. Each caller gets its
    own copy of the template (callers may modify it)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (
        str(path),
        stat.st_size,
        stat.st_mtime_ns,
        region,
        json.dumps(parameter_values or {}, sort_keys=True, default=str),
    )
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            text = path.read_bytes()
            disk_key = _disk_key(path, text, region, parameter_values)
            cached = _read_cached(disk_key)
            if cached is None:
                cached = translate(
                    _load_text(text.decode()), region=region, parameter_values=parameter_values, base_dir=path.parent
                )
                _write_cached(disk_key, cached)
            _CACHE[key] = cached
    return Translation(copy.deepcopy(cached.template), dict(cached.definition_files), dict(cached.code_uris))


# -- the cache on disk (disk_cache) ---------------------------------------------------------------

CACHE_DIR_VARIABLE = disk_cache.CACHE_DIR_VARIABLE
KIND = "sam-translations"
_SOURCES = ("aws-sam-translator", "cfn-lint", "botocore")


def cache_dir() -> Path | None:
    """The directory of cached translations, or None when nothing is kept on disk."""
    return disk_cache.directory(KIND)


@functools.cache
def translator_versions() -> dict[str, str]:
    """What a translation depends on besides its inputs: the packages that make it and this module."""
    versions = {name: metadata.version(name) for name in _SOURCES}
    versions["translate.py"] = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return versions


def _disk_key(path: Path, text: bytes, region: str, parameter_values: dict[str, Any] | None) -> str:
    return disk_cache.key(
        {
            "path": str(path),
            "template": hashlib.sha256(text).hexdigest(),
            "region": region,
            "parameters": parameter_values or {},
            "versions": translator_versions(),
        }
    )


def _read_cached(key: str) -> Translation | None:
    stored: Any = disk_cache.read(KIND, key)
    try:
        return Translation(
            stored["template"],
            {k: Path(v) for k, v in stored["definition_files"].items()},
            {k: Path(v) for k, v in stored["code_uris"].items()},
        )
    except (KeyError, TypeError, AttributeError):
        return None  # not cached yet, or not a translation: translate again (and rewrite it)


def _write_cached(key: str, translation: Translation) -> None:
    stored = {
        "template": translation.template,
        "definition_files": {k: str(v) for k, v in translation.definition_files.items()},
        "code_uris": {k: str(v) for k, v in translation.code_uris.items()},
    }
    disk_cache.write(KIND, key, stored)
