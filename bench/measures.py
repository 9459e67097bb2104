"""The measurements besides time to ready: local speed (wall timings and where the time goes),
cold start and size (fresh-interpreter import times, a Lambda-like layout, the deployment
package), and growth (call counts and time over AZs and tiers)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import ROOT, BenchConfig, BenchError, log, median
from bench.harness import Bench, simulate_build
from bench.model import analyse_execution
from bench.scenarios import GROWTH_TIERS, growth_spec, seed_spec

HANDLERS = ROOT / "functions" / "vpcfactory" / "handlers"


# -- 3: local speed --------------------------------------------------------------------------------


def measure_local_speed(bench: Bench, seed: ModuleType | None) -> dict[str, Any]:
    """Wall time of a full build of examples/seed.yaml (warm process) and of the seed script, on the
    same emulator with no latency and a tiny time scale (waits cost ~nothing), interleaved; and
    where the build's time goes (medians): moto's EC2 handling, the Lambda tasks (invocation
    plumbing + handler code + their EC2 calls, summed over parallel branches), and the critical
    path split into tasks and the engine between them."""
    from vpcfactory_tools.emulator import latency

    config = bench.config
    spec = seed_spec()
    factory: list[float] = []
    script: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)
    script_parts: dict[str, list[float]] = defaultdict(list)
    for round_ in range(config.local_runs + 1):  # round 0 warms both up
        bench.fresh_account(config.local_time_scale, 0.0)
        t0 = time.perf_counter()
        result, execution = bench.build(spec)
        elapsed = time.perf_counter() - t0
        if round_:
            factory.append(elapsed)
            analysis = analyse_execution(bench.history(result.execution_arn), bench.states, [], config.local_time_scale)
            on_path = analysis["criticalPath"]
            path_tasks = sum(
                v["seconds"] for k, v in on_path["states"].items() if bench.states.get(k, {}).get("Type") == "Task"
            )
            parts["ec2Calls"].append(sum(latency.call_counts(execution).values()))
            parts["ec2DispatchSeconds"].append(latency.dispatch_seconds())
            parts["lambdaTaskSeconds"].append(sum(i.model_seconds for i in analysis["invocations"]))
            parts["criticalPathTaskSeconds"].append(path_tasks)
            parts["criticalPathEngineSeconds"].append(on_path["computeSeconds"] - path_tasks)
            parts["lambdaInvocations"].append(analysis["lambdaInvocations"])
            parts["stateTransitions"].append(analysis["transitions"])
        if seed is not None:
            bench.fresh_account(config.local_time_scale, 0.0)
            ec2 = bench.emu.client("ec2")
            with latency.simulated_waiter_sleeps():
                t0 = time.perf_counter()
                seed.build_seed_vpc(ec2)
                elapsed = time.perf_counter() - t0
            if round_:
                script.append(elapsed)
                script_parts["ec2Calls"].append(len(latency.calls()))
                script_parts["ec2DispatchSeconds"].append(latency.dispatch_seconds())
    return {
        "runs": config.local_runs,
        "timeScale": config.local_time_scale,
        "factorySeconds": _stats(factory),
        "seedScriptSeconds": _stats(script) if script else None,
        "ratio": round(median(factory) / median(script), 3) if script else None,
        "factoryWork": {k: round(median(v), 4) for k, v in parts.items()},
        "seedScriptWork": {k: round(median(v), 4) for k, v in script_parts.items()} or None,
    }


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": round(median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": [round(v, 4) for v in values],
    }


# -- 4: cold start and size ------------------------------------------------------------------------


def handler_modules() -> list[str]:
    return sorted(f"vpcfactory.handlers.{p.stem}" for p in HANDLERS.glob("*.py") if p.stem != "__init__")


def lambda_environment() -> dict[str, str]:
    """The process environment a deployed function sees, as far as imports care: the template's
    Globals environment (Powertools settings), a region, and no emulator/test switches (tracing
    is on: the template sets Tracing: Active; since issue 16 no handler imports the X-Ray SDK for it,
    Lambda records the invocation's segments itself)."""
    from vpcfactory_tools.emulator.deploy import load_template

    template = load_template()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    parameters = template.get("Parameters", {})
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            value = parameters.get(value["Ref"], {}).get("Default", "")
        env[name] = str(value)
    env.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "vpcfactory-bench",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    return env


def parse_importtime(stderr: str, module: str) -> tuple[float, dict[str, float]]:
    """From ``-X importtime`` output: (ms of the top-level import of ``module``, plus its parent
    packages if they were imported on their own; what the packages our code imports directly
    cost, by top-level package: name -> cumulative ms, the five largest)."""
    wanted = {".".join(module.split(".")[: k + 1]) for k in range(module.count(".") + 1)}
    total_us = 0
    entries: list[tuple[int, str, int]] = []  # (depth, module, cumulative us), in output order
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, name.strip(), int(parts[1])))
        if depth == 0 and name.strip() in wanted:
            total_us += int(parts[1])
    if not total_us:
        raise BenchError(f"no import time for {module} in the -X importtime output")
    # A module is printed after everything it imports: its parent is the next line one level up.
    direct: dict[str, int] = defaultdict(int)
    parents: list[tuple[int, str]] = []
    for depth, name, cumulative in reversed(entries):
        while parents and parents[-1][0] >= depth:
            parents.pop()
        root = name.split(".")[0]
        if parents and parents[-1][1].startswith("vpcfactory") and root != "vpcfactory":
            direct[root] += cumulative
        parents.append((depth, name))
    top = sorted(direct.items(), key=lambda kv: -kv[1])[:5]
    return total_us / 1000, {k: round(v / 1000, 1) for k, v in top}


def interpreter_cpu_ms(
    code: str, env: dict[str, str], flags: Sequence[str] = (), python: str | None = None
) -> tuple[float, str]:
    """One fresh interpreter (``python``, else this one) running ``code``: the CPU milliseconds it
    used (user + system, from the kernel's record of that child: ``os.wait4``) and what it wrote to
    stderr. CPU time, unlike wall time, does not grow while the interpreter waits for a processor on
    a busy machine."""
    with tempfile.TemporaryFile("w+") as stderr:
        argv = [python or sys.executable, *flags, "-c", code]
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        deadline = threading.Timer(120, proc.kill)  # a hung import fails the bench, not hangs it
        deadline.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reaps it: the kernel's usage of this child
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            deadline.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read()
    if proc.returncode:
        raise BenchError(f"python -c {code!r} failed: {err.strip().splitlines()[-1:]}")
    return (usage.ru_utime + usage.ru_stime) * 1000.0, err


def import_time(
    module: str, env: dict[str, str], flags: Sequence[str] = (), python: str | None = None
) -> tuple[float, dict[str, float], float]:
    """One fresh interpreter: ``python -X importtime -c "import MODULE"``: the import's wall
    milliseconds and its heaviest packages (``-X importtime``), and the interpreter's CPU ms."""
    cpu, err = interpreter_cpu_ms(f"import {module}", env, [*flags, "-X", "importtime"], python)
    return (*parse_importtime(err, module), cpu)


def measure_imports(
    modules: Sequence[str],
    runs: int,
    jobs: int = 1,
    env: dict[str, str] | None = None,
    flags: Sequence[str] = (),
    python: str | None = None,
) -> dict[str, Any]:
    """Median of ``runs`` fresh-interpreter import times of each module, and of ``import boto3``
    (the floor every boto3 function pays): wall ms as ``-X importtime`` reports them, and CPU ms
    (the interpreter's user + system time less a bare interpreter's, ``python -c pass``, median of
    as many runs). The slowest module is the slowest by CPU. ``python``: the interpreter (this one
    when None)."""
    env = env or lambda_environment()
    work = [(m, k) for k in range(runs) for m in [*modules, "boto3"]]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        timed = list(pool.map(lambda item: (item[0], import_time(item[0], env, flags, python)), work))
        # the same flags as the imports (-X importtime included), so only the import differs
        bare_flags = [*flags, "-X", "importtime"]
        bare = median(pool.map(lambda _: interpreter_cpu_ms("pass", env, bare_flags, python)[0], range(runs)))
    by_module: dict[str, list[float]] = defaultdict(list)
    cpu_of: dict[str, list[float]] = defaultdict(list)
    heaviest: dict[str, dict[str, float]] = {}
    for module, (ms, packages, cpu) in timed:
        by_module[module].append(ms)
        cpu_of[module].append(max(0.0, cpu - bare))
        heaviest.setdefault(module, packages)
    handlers: dict[str, dict[str, Any]] = {
        m: {
            "medianMs": round(median(by_module[m]), 1),
            "runsMs": [round(v, 1) for v in by_module[m]],
            "cpuMedianMs": round(median(cpu_of[m]), 1),
        }
        for m in modules
    }
    slowest = max(modules, key=lambda m: handlers[m]["cpuMedianMs"])
    return {
        "runs": runs,
        "jobs": jobs,
        "python": platform.python_version(),
        "handlers": handlers,
        "maxMedianMs": handlers[slowest]["medianMs"],
        "slowest": slowest,
        "boto3MedianMs": round(median(by_module["boto3"]), 1),
        "maxCpuMedianMs": handlers[slowest]["cpuMedianMs"],
        "boto3CpuMedianMs": round(median(cpu_of["boto3"]), 1),
        "bareInterpreterCpuMs": round(bare, 1),
        "heaviestPackagesMs": heaviest[slowest],
    }


def sam_build(build_dir: Path, sam: Path | None = None) -> float:
    """``sam build --build-dir BUILD_DIR`` (offline: no requirements.txt); returns its seconds."""
    sam = sam or Path(sys.executable).with_name("sam")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(sam), "build", "--build-dir", str(build_dir), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode:
        raise BenchError(f"sam build failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
    return time.perf_counter() - t0


def package_size(build_dir: Path, scratch: Path) -> dict[str, Any]:
    """One function's directory of a ``sam build``, zipped (deflate, as sam deploy uploads it)."""
    functions = sorted(d for d in build_dir.iterdir() if d.is_dir())
    sizes = {d.name: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in functions}
    measured = functions[0]
    archive = scratch / "function.zip"
    files = sorted(f for f in measured.rglob("*") if f.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.relative_to(measured).as_posix())
    return {
        "function": measured.name,
        "functions": len(functions),
        "zippedBytes": archive.stat().st_size,
        "unzippedBytes": sizes[measured.name],
        "files": len(files),
        "sameForEveryFunction": len(set(sizes.values())) == 1,
    }


# What a deployed function can import besides its own package: boto3 from the Lambda runtime,
# Powertools and the X-Ray SDK from the Powertools layer -- and their dependencies.
LAMBDA_PROVIDED = ("boto3", "aws-lambda-powertools", "aws-xray-sdk")


def _provided_packages() -> dict[str, Path]:
    """Each top-level module or package of what Lambda provides (LAMBDA_PROVIDED and everything
    they require), by name -> where this venv has it."""
    from importlib import metadata

    found: dict[str, Path] = {}
    seen: set[str] = set()
    todo = list(LAMBDA_PROVIDED)
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in dist.requires or [] if "extra ==" not in r]
        for top in {f.parts[0] for f in dist.files or []}:
            if top.endswith((".dist-info", ".egg-info", ".pth")) or top in ("..", "__pycache__", "bin"):
                continue
            source = Path(str(dist.locate_file(top)))
            if source.exists():
                found.setdefault(top, source)
    return found


def lambda_layout(target: Path, python: str | None = None) -> Path:
    """A directory holding only the packages the Lambda runtime and the Powertools layer provide:
    /opt/python, roughly. The dev venv holds ~150 more distributions (sam-cli, moto, awscrt, ...);
    some change what boto3 imports (awscrt), all slow metadata scans.

    With their bytecode, as Lambda has them (the runtime's boto3 and the layer's packages come
    compiled: the Powertools layer's canary fails a layer that recompiles any of its sources,
    powertools-lambda-python, layer_v3/layer/canary/bytecode_monitor.py).

    For this interpreter (``python`` None): links to the venv's packages, which carry this
    interpreter's bytecode; a single-file module (typing_extensions.py, which Powertools' Logger
    imports; six.py) keeps its .pyc in the __pycache__ beside it, which is linked too. Without that
    link every run compiled typing_extensions (~25 ms, the largest item of a handler's import after
    boto3 before issue 16), which Lambda does not.

    For another interpreter (``python``: the functions' runtime, python3.13, when this host has
    one): the same packages as hard links (a copy across file systems) without the venv's bytecode,
    which that interpreter ignores; compile_imports then gives them its own."""
    target.mkdir(parents=True, exist_ok=True)
    packages = _provided_packages()
    if python is None:
        from importlib.util import cache_from_source

        for top, source in packages.items():
            if not (target / top).exists():
                (target / top).symlink_to(source)
            cached = Path(cache_from_source(str(source))) if top.endswith(".py") else None
            if cached and cached.exists() and not (target / "__pycache__" / cached.name).exists():
                (target / "__pycache__").mkdir(exist_ok=True)
                (target / "__pycache__" / cached.name).symlink_to(cached)
        return target
    for top, source in packages.items():
        if source.is_dir():
            shutil.copytree(source, target / top, copy_function=_link_or_copy, ignore=_BYTECODE, dirs_exist_ok=True)
        elif not (target / top).exists():
            _link_or_copy(str(source), str(target / top))
    return target


_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def compile_imports(python: str, env: dict[str, str], modules: Sequence[str]) -> None:
    """``python`` imports each of ``modules`` once with bytecode on, in ``env``: every module they
    import gets that interpreter's .pyc where it lives (the layout's packages; the package under
    test has the build's already), as the runtime's and the layer's packages have theirs."""
    writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "; ".join(f"import {m}" for m in modules)
    done = subprocess.run([python, "-S", "-c", code], env=writing, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise BenchError(f"{python} -S -c {code!r} failed: {done.stderr.strip()[-500:]}")


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, destination)


def measure_cold_start(config: BenchConfig) -> dict[str, Any]:
    """Import times in the dev venv (every handler) and in a Lambda-like layout (the slowest there:
    those within 15 % of the slowest, 3 to 8; the slowest of them in the layout, against ``import
    boto3`` in the same layout, is issue 16's figure); the deployment package's size.

    The layout is what a function sees: the package as ``make build`` ships it as /var/task (``sam
    build``, then the runtime's bytecode, vpcfactory_tools.bytecode), the runtime's and the layer's
    packages with their bytecode (lambda_layout), ``python -S``, no bytecode written (/var/task is
    read-only), and the runtime's interpreter (python3.13) when this host has one, as Lambda runs
    it: that is the figure. The same layout is also measured with the bench's own interpreter (the
    package compiled the same way for it, since it ignores 3.13's .pyc) and reported beside it
    (``lambdaLayout.hostInterpreter``). When this host has no python3.13 the build ships sources
    only, and the layout, on this interpreter, compiles them at every import, as Lambda would
    (``package.bytecode`` says which)."""
    from vpcfactory_tools import bytecode

    modules = list(config.handlers or handler_modules())
    log(f"import times: {len(modules)} handler modules x {config.import_runs} fresh interpreters")
    out: dict[str, Any] = {"imports": measure_imports(modules, config.import_runs, config.import_jobs)}
    if not config.package:
        return out
    with tempfile.TemporaryDirectory(prefix="vpcfactory-bench-") as tmp:
        scratch = Path(tmp)
        log("sam build")
        seconds = sam_build(scratch / "build")
        shipped = bytecode.add_bytecode(scratch / "build")
        out["package"] = {
            **package_size(scratch / "build", scratch),
            "samBuildSeconds": round(seconds, 2),
            "bytecode": shipped,
        }
        task = scratch / "build" / out["package"]["function"]
        # The slowest in the dev venv need not be the slowest in the layout (another interpreter, fewer
        # packages): every handler within 15 % of the dev venv's slowest (at least 3, at most 8) is
        # timed in it, and the slowest of those there is the figure.
        handlers = out["imports"]["handlers"]
        ranked = sorted(handlers, key=lambda m: -handlers[m]["cpuMedianMs"])
        close = [m for m in ranked if handlers[m]["cpuMedianMs"] >= 0.85 * handlers[ranked[0]]["cpuMedianMs"]]
        candidates = ranked[: min(8, max(3, len(close)))]
        other = shipped["python"] and shipped["cacheTag"] != sys.implementation.cache_tag
        runtime = shipped["python"] if other else None  # the runtime's interpreter, when not this one

        def layout_figure(python: str | None) -> dict[str, Any]:
            opt = lambda_layout(scratch / f"opt-{'runtime' if python else 'host'}", python)
            env = {
                **lambda_environment(),
                "PYTHONPATH": f"{task}{os.pathsep}{opt}",
                "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: Lambda keeps no bytecode it compiles
            }
            if python:
                compile_imports(python, env, [*candidates, "boto3"])
            elif other:
                bytecode.compile_tree([task], sys.executable)  # beside the runtime's .pyc: each reads its own
            runs, jobs = config.import_runs, config.import_jobs
            lean = measure_imports(candidates, runs, jobs, env=env, flags=("-S",), python=python)
            slowest = lean["slowest"]
            return {
                "handler": slowest,
                "interpreter": bytecode.interpreter_tag(python) if python else sys.implementation.cache_tag,
                "medianMs": lean["maxMedianMs"],
                "runsMs": lean["handlers"][slowest]["runsMs"],
                "boto3MedianMs": lean["boto3MedianMs"],
                "ratio": round(lean["maxMedianMs"] / lean["boto3MedianMs"], 3),
                "cpuMedianMs": lean["maxCpuMedianMs"],
                "boto3CpuMedianMs": lean["boto3CpuMedianMs"],
                "cpuRatio": (
                    round(lean["maxCpuMedianMs"] / lean["boto3CpuMedianMs"], 3) if lean["boto3CpuMedianMs"] else None
                ),
                "heaviestPackagesMs": lean["heaviestPackagesMs"],
            }

        on = f", on {runtime} and on this interpreter" if runtime else ""
        log(f"import time in a Lambda-like layout: {', '.join(candidates)}{on}")
        host = layout_figure(None)
        figure = layout_figure(runtime) if runtime else host
        out["lambdaLayout"] = {
            **figure,
            "packageBytecode": bool(shipped["python"]),
            **({"hostInterpreter": host} if runtime else {}),
        }
    return out


# -- 5: growth -------------------------------------------------------------------------------------


def measure_growth(bench: Bench) -> dict[str, Any]:
    config = bench.config
    cache: dict[tuple[int, int], dict[str, Any]] = {}

    def point(azs: int, tiers: int) -> dict[str, Any]:
        if (azs, tiers) not in cache:
            log(f"growth: {azs} AZ x {tiers} tiers")
            run = simulate_build(bench, growth_spec(azs, tiers))
            cache[(azs, tiers)] = {
                "availabilityZones": azs,
                "tiers": tiers,
                "subnets": run["subnets"],
                "stateTransitions": run["cost"]["stateTransitions"],
                "lambdaInvocations": run["cost"]["lambdaInvocations"],
                "ec2Calls": run["cost"]["ec2Calls"],
                "simulatedSeconds": run["simulatedSeconds"],
                "ratio": run["ratio"],
                "timeScale": run["timeScale"],
                "extraPolls": run["extraPolls"],
            }
        return cache[(azs, tiers)]

    return {
        "spec": "examples/production.yaml (NAT per AZ), tiers from: "
        + ", ".join(f"{t['name']}/{t['type']}" for t in GROWTH_TIERS),
        "byAvailabilityZones": [point(a, config.growth_base_tiers) for a in config.growth_azs],
        "byTiers": [point(config.growth_base_azs, t) for t in config.growth_tiers],
    }
