"""Bytecode in the deployment package: what `make build` adds to the output of `sam build`.

Why: a function's /var/task is read-only and `sam build` ships sources only (its Python builder
drops `*.pyc` and `__pycache__`), so every cold start compiled every module of ours that a handler
imports, and never kept the result. In the bench's Lambda-like layout that compilation was the
largest part of a handler's import after boto3 itself: about a third of `import boto3`
(docs/performance.md, "Cold start and size"). The Powertools layer comes with bytecode (its release
canary fails a layer that recompiles any of its sources); with this step our package does too.

How:

- Compiled by the functions' runtime interpreter (python3.13): bytecode is specific to a minor
  version (a `cpython-311` .pyc is ignored by 3.13, which then compiles the source as before). It
  is found as $VPCFACTORY_RUNTIME_PYTHON, else `python3.13` on PATH, else a pyenv install of 3.13;
  each candidate is asked for its cache tag before it is used. None found: the package ships
  sources only, exactly as `sam build` made it (correct; cold starts compile), and the step says so.
  `sam build --use-container` would not help on its own: the container has python3.13, but the
  Python builder still drops bytecode.
- Checked-hash .pyc (PEP 552): valid while the source's hash matches, whatever the file dates.
  `sam deploy` zips every entry with one fixed date (1980, samcli's make_zip), so timestamp-based
  .pyc would be stale on arrival and recompiled at every cold start. A source that does not match
  its .pyc is compiled, never run stale.
- Reproducible: the same sources give the same bytes, so an unchanged package keeps its zip's hash
  and `sam deploy` does not redeploy it. Each file is recorded under /var/task (where Lambda puts
  it), not under the build host's path, and PYTHONHASHSEED=0 (marshal writes sets in hash order).

Cost: size. 3.13's .pyc carry location tables (PEP 657); one function's zip grows ~2.9x
(~150 KB -> ~435 KB, docs/performance.md): nothing next to Lambda's 50 MB limit, and the download
of a few hundred KB is not what a cold start waits for.

`python -m vpcfactory_tools.bytecode [BUILD_DIR]` (default .aws-sam/build): the Makefile's `build`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode.cfn_yaml import loads

RUNTIME_PYTHON_ENV = "VPCFACTORY_RUNTIME_PYTHON"
INVALIDATION_MODE = "checked-hash"
TASK_ROOT = "/var/task"  # where Lambda extracts a function's package (LAMBDA_TASK_ROOT)
DEFAULT_BUILD_DIR = Path(".aws-sam") / "build"


def cache_tag(runtime: str) -> str:
    """Lambda's runtime name -> the cache tag of its bytecode: python3.13 -> cpython-313."""
    return "cpython-" + runtime.removeprefix("python").replace(".", "")


def python_functions(build_dir: Path) -> dict[Path, str]:
    """Each Python function's directory in a `sam build` output -> its runtime (read from the
    built template, where CodeUri names the function's directory)."""
    template = loads((build_dir / "template.yaml").read_text(encoding="utf-8"))
    defaults = (template.get("Globals") or {}).get("Function") or {}
    found: dict[Path, str] = {}
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        runtime = properties.get("Runtime", defaults.get("Runtime"))
        code = properties.get("CodeUri", defaults.get("CodeUri"))
        if not (isinstance(runtime, str) and runtime.startswith("python") and isinstance(code, str)):
            continue
        if (build_dir / code).is_dir():
            found[build_dir / code] = runtime
    return found


def interpreter_tag(python: str) -> str | None:
    """The cache tag of an interpreter, or None if it does not run (a pyenv shim for a version
    that is installed but not selected exits non-zero, for one)."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_interpreter(runtime: str) -> str | None:
    """An interpreter of this runtime's version on this host, or None."""
    version = runtime.removeprefix("python")
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = [
        os.environ.get(RUNTIME_PYTHON_ENV),
        shutil.which(runtime),
        *(str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/{runtime}"), reverse=True)),
    ]
    wanted = cache_tag(runtime)
    return next((c for c in candidates if c and interpreter_tag(c) == wanted), None)


# One interpreter for all directories (compile_dir per directory, so each file is recorded under
# /var/task, where Lambda puts the package: the .pyc do not depend on the build host's paths).
_COMPILE = (
    "import compileall, py_compile, sys\n"
    "mode = py_compile.PycInvalidationMode.CHECKED_HASH\n"
    "ok = [compileall.compile_dir(d, quiet=1, ddir=sys.argv[1], invalidation_mode=mode) for d in sys.argv[2:]]\n"
    "sys.exit(0 if all(ok) else 1)\n"
)


def compile_tree(directories: list[Path], python: str) -> None:
    """Checked-hash, reproducible .pyc beside every source under each of `directories`, by `python`."""
    done = subprocess.run(
        [python, "-c", _COMPILE, TASK_ROOT, *map(str, directories)],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:  # a source that does not compile: the package is broken anyway
        raise RuntimeError(f"compiling the package failed: {(done.stdout + done.stderr).strip()[-2000:]}")


def _sources(directory: Path) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.relative_to(directory).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(directory.rglob("*.py"))
    )


def compile_package(directories: list[Path], python: str) -> None:
    """compile_tree for function directories, each distinct tree once: the functions share one
    CodeUri, and a .pyc depends only on its source (recorded under /var/task), so the others get
    copies of the same bytes."""
    same: dict[tuple[tuple[str, str], ...], list[Path]] = {}
    for directory in directories:
        same.setdefault(_sources(directory), []).append(directory)
    compile_tree([group[0] for group in same.values()], python)
    for first, *others in same.values():
        for pyc in first.rglob("__pycache__/*.pyc"):
            for other in others:
                copy = other / pyc.relative_to(first)
                copy.parent.mkdir(exist_ok=True)
                shutil.copyfile(pyc, copy)


def add_bytecode(build_dir: Path, python: str | None = None) -> dict[str, Any]:
    """Compile every Python function of a `sam build` output with its runtime's interpreter
    (`python`, or the one find_interpreter finds). Returns what was done: the runtime, the
    interpreter (None: none found, sources only), the cache tag and the functions compiled."""
    functions = python_functions(build_dir)
    runtimes = sorted(set(functions.values()))
    if len(runtimes) > 1:  # one template, one runtime (tests/contract): say so rather than guess
        raise ValueError(f"more than one Python runtime in {build_dir}: {runtimes}")
    runtime = runtimes[0] if runtimes else None
    interpreter = python or (find_interpreter(runtime) if runtime else None)
    if runtime and interpreter:
        compile_package(sorted(functions), interpreter)
    return {
        "runtime": runtime,
        "python": interpreter,
        "cacheTag": cache_tag(runtime) if runtime else None,
        "functions": len(functions) if interpreter else 0,
        "invalidationMode": INVALIDATION_MODE,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpcfactory_tools.bytecode",
        description="Add the runtime's bytecode (checked-hash .pyc) to a `sam build` output.",
    )
    parser.add_argument("build_dir", nargs="?", type=Path, default=DEFAULT_BUILD_DIR)
    args = parser.parse_args(argv)
    if not (args.build_dir / "template.yaml").is_file():
        print(f"error: no sam build output in {args.build_dir} (run sam build first)", file=sys.stderr)
        return 2
    done = add_bytecode(args.build_dir)
    if done["python"] is None:
        print(
            f"warning: no {done['runtime']} interpreter found (set {RUNTIME_PYTHON_ENV}): the package ships "
            "sources only and every cold start compiles them",
            file=sys.stderr,
        )
    else:
        print(f"bytecode ({done['cacheTag']}, {INVALIDATION_MODE}) for {done['functions']} functions: {done['python']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
