"""The deployment package's bytecode (vpcfactory_tools/bytecode.py) and the bench's Lambda-like
layout: bytecode is used where Lambda would use it, never where it would not.

"Used" is checked the way Powertools' layer canary checks its layer: a module whose bytecode is
valid is loaded without its source being compiled (SourceFileLoader.source_to_code never runs).
Pure: files and fresh interpreters only.
"""

from __future__ import annotations

import calendar
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from samcli.lib.package.utils import make_zip

from bench.measures import lambda_layout
from vpcfactory_tools import bytecode

ROOT = Path(__file__).resolve().parents[2]
HERE = f"python{sys.version_info.major}.{sys.version_info.minor}"  # a "runtime" this interpreter is

# Compiles nothing itself: loads every module under a directory as the import system would (its
# loader's get_code) and prints which sources had to be compiled. Runs in a fresh interpreter.
LOAD_ALL = """
import importlib.machinery, json, pathlib, sys
compiled = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def track(loader, data, path, *, _optimize=-1):
    compiled.append(pathlib.Path(path).name)
    return source_to_code(loader, data, path, _optimize=_optimize)
importlib.machinery.SourceFileLoader.source_to_code = track
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    importlib.machinery.SourceFileLoader(path.stem, str(path)).get_code(path.stem)
print(json.dumps(compiled))
"""


def sam_build_output(tmp_path: Path, runtime: str = HERE, functions: tuple[str, ...] = ("AFunction", "BFunction")):
    """What `sam build` leaves: a built template (CodeUri = each function's directory) and one
    copy of functions/ per function, sources only."""
    build = tmp_path / "build"
    resources = "".join(
        f"  {name}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: {name}\n"
        "      Handler: vpcfactory.handlers.check_vpc.handler\n"
        for name in functions
    )
    build.mkdir(parents=True)
    (build / "template.yaml").write_text(f"Globals:\n  Function:\n    Runtime: {runtime}\nResources:\n{resources}")
    for name in functions:
        shutil.copytree(ROOT / "functions", build / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return build


def compiled_sources(directory: Path, python: str = sys.executable) -> list[str]:
    done = subprocess.run(
        [python, "-c", LOAD_ALL, str(directory)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # /var/task is read-only
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def unzipped_as_lambda_would(function_dir: Path, tmp_path: Path) -> Path:
    """The function's directory zipped as `sam deploy` zips it (samcli's make_zip: every entry
    dated 1980), then extracted with those dates, as /var/task."""
    archive = make_zip(str(tmp_path / "function"), str(function_dir))
    task = tmp_path / "var-task"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(task)
        for info in zf.infolist():
            epoch = calendar.timegm((*info.date_time, 0, 0, 0))
            os.utime(task / info.filename, (epoch, epoch))
    return task


def test_after_sam_deploys_zip_round_trip_no_module_of_the_package_is_compiled(tmp_path):
    # Given a sam build output with the runtime's bytecode added (here: this interpreter's)
    build = sam_build_output(tmp_path)
    done = bytecode.add_bytecode(build, python=sys.executable)
    assert done == {
        "runtime": HERE,
        "python": sys.executable,
        "cacheTag": sys.implementation.cache_tag,
        "functions": 2,
        "invalidationMode": "checked-hash",
    }
    # When one function's directory is zipped and extracted as Lambda gets it (1980 dates)
    task = unzipped_as_lambda_would(build / "AFunction", tmp_path)
    # Then every module loads from its bytecode: nothing is compiled
    assert len(list(task.rglob("*.py"))) > 40
    assert compiled_sources(task) == []


def test_without_bytecode_every_module_is_compiled_and_a_changed_source_is_never_run_stale(tmp_path):
    build = sam_build_output(tmp_path, functions=("AFunction",))
    sources = sorted(p.name for p in (build / "AFunction").rglob("*.py"))
    assert sorted(compiled_sources(build / "AFunction")) == sources  # sam build's output: sources only

    bytecode.add_bytecode(build, python=sys.executable)
    spec = build / "AFunction" / "vpcfactory" / "spec.py"
    spec.write_text(spec.read_text() + "\n# edited after the build\n")
    assert compiled_sources(build / "AFunction") == ["spec.py"]  # checked-hash: the edit is seen


def test_the_bytecode_is_the_same_for_every_function_and_every_build_directory(tmp_path):
    # Same sources, different build directories: byte-identical .pyc (a rebuild of unchanged code
    # leaves the zip's hash, so sam deploy leaves the function alone), recorded under /var/task.
    first = sam_build_output(tmp_path / "one")
    second = sam_build_output(tmp_path / "two", functions=("OtherFunction",))
    bytecode.add_bytecode(first, python=sys.executable)
    bytecode.add_bytecode(second, python=sys.executable)
    tag = sys.implementation.cache_tag
    spec_pyc = Path("vpcfactory") / "__pycache__" / f"spec.{tag}.pyc"
    copies = {(d / spec_pyc).read_bytes() for d in (first / "AFunction", first / "BFunction", second / "OtherFunction")}
    assert len(copies) == 1
    flags = int.from_bytes(copies.pop()[4:8], "little")
    assert flags == 0b11  # PEP 552: hash-based, checked against the source

    loader = importlib.machinery.SourcelessFileLoader("spec", str(first / "AFunction" / spec_pyc))
    assert loader.get_code("spec").co_filename == "/var/task/vpcfactory/spec.py"


def test_an_interpreter_of_another_version_is_never_taken_for_the_runtime(monkeypatch):
    monkeypatch.setenv(bytecode.RUNTIME_PYTHON_ENV, sys.executable)
    assert bytecode.find_interpreter(HERE) == sys.executable
    assert bytecode.find_interpreter("python3.99") is None  # the variable names a 3.11, not a 3.99
    assert bytecode.interpreter_tag("/nonexistent/python3.13") is None
    assert bytecode.cache_tag("python3.13") == "cpython-313"


def test_without_the_runtime_interpreter_the_package_stays_sources_only(tmp_path, monkeypatch, capsys):
    build = sam_build_output(tmp_path, runtime="python3.99", functions=("AFunction",))
    assert bytecode.main([str(build)]) == 0
    assert "no python3.99 interpreter found" in capsys.readouterr().err
    assert not list(build.rglob("*.pyc"))


RUNTIME = bytecode.find_interpreter("python3.13")


@pytest.mark.skipif(RUNTIME is None, reason="no python3.13 on this host: make build ships sources only")
def test_the_runtime_loads_the_shipped_package_without_compiling_any_module(tmp_path):
    # The real thing: python3.13 bytecode, zipped as sam deploy does, loaded by python3.13.
    build = sam_build_output(tmp_path, runtime="python3.13", functions=("AFunction",))
    assert bytecode.add_bytecode(build)["cacheTag"] == "cpython-313"
    task = unzipped_as_lambda_would(build / "AFunction", tmp_path)
    assert compiled_sources(task, python=str(RUNTIME)) == []
    assert len(compiled_sources(task)) > 40  # this interpreter (3.11) ignores 3.13's bytecode


def test_the_lambda_like_layout_keeps_the_bytecode_of_single_file_modules(tmp_path):
    # typing_extensions (Powertools' Logger imports it) is one file, not a package: its .pyc is in
    # the __pycache__ beside it, which the layout links too, or every run compiled it. Only the
    # layout's top level is loaded here: the packages' own directories bring their __pycache__.
    opt = lambda_layout(tmp_path / "opt")
    top_level = sorted(p.name for p in opt.glob("*.py"))
    assert "typing_extensions.py" in top_level and "six.py" in top_level
    done = subprocess.run(
        [sys.executable, "-S", "-c", LOAD_ALL.replace('rglob("*.py")', 'glob("*.py")'), str(opt)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == []


# Imports MODULE with every compilation of a source recorded; prints the compiled files' paths.
IMPORT_TRACKED = """
import importlib.machinery, json, sys
compiled = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def track(loader, data, path, *, _optimize=-1):
    compiled.append(str(path))
    return source_to_code(loader, data, path, _optimize=_optimize)
importlib.machinery.SourceFileLoader.source_to_code = track
__import__(sys.argv[1])
print(json.dumps(compiled))
"""


@pytest.mark.skipif(RUNTIME is None, reason="no python3.13 on this host: the bench measures on this interpreter")
def test_the_layout_for_the_runtime_imports_boto3_with_its_own_bytecode_and_leaves_the_venv_alone(tmp_path):
    # The bench's figure runs on the functions' runtime (python3.13), which ignores the venv's
    # cpython-311 bytecode: the layout is a linked copy without it, and compile_imports gives the
    # modules a handler imports the runtime's .pyc, written in the copy, never in the venv.
    import boto3

    from bench.measures import compile_imports

    venv_boto3 = Path(boto3.__file__).parent / "__pycache__"
    before = sorted(p.name for p in venv_boto3.glob("*"))
    opt = lambda_layout(tmp_path / "opt", python=str(RUNTIME))
    assert not (opt / "boto3").is_symlink() and not list(opt.rglob("*.pyc"))
    env = {**os.environ, "PYTHONPATH": str(opt), "PYTHONDONTWRITEBYTECODE": "1"}

    def compiled() -> list[str]:
        done = subprocess.run(
            [str(RUNTIME), "-S", "-c", IMPORT_TRACKED, "boto3"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return [p for p in json.loads(done.stdout) if p.startswith(str(opt))]

    assert len(compiled()) > 20  # no bytecode yet: botocore's modules compiled at every import
    compile_imports(str(RUNTIME), env, ["boto3"])
    assert compiled() == []
    assert list(opt.glob("botocore/__pycache__/*.cpython-313.pyc"))
    assert sorted(p.name for p in venv_boto3.glob("*")) == before
