"""How the packages import each other: no cycles, the operator CLI loads moto only to run on it,
and a handler's cold start loads neither the X-Ray SDK nor what it does not use.

Pure: the cycle check reads the source (ast); the CLI check runs the CLI in a fresh interpreter
with no target, a refused --help, or nothing that needs the emulator, and makes no network call;
the handler check imports the handlers in a fresh interpreter and calls nothing.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "vpcfactory": ROOT / "functions" / "vpcfactory",
    "vpcfactory_tools": ROOT / "tools" / "vpcfactory_tools",
    "bench": ROOT / "bench",
}


def modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the first-party modules it imports: anywhere in the file (a function's late import
    and an `if TYPE_CHECKING:` import are edges too: a late import is how a cycle hides)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
                imported.add(base)
                imported.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in imported if m in known and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_lambda_package_or_the_tooling_imports_itself_through_others():
    graph = import_graph()
    assert len(graph) > 40  # the walk found the packages

    assert cycles(graph) == []


def test_the_cycle_check_would_see_a_cycle_closed_by_a_late_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_lambda_package_imports_nothing_of_the_tooling():
    graph = import_graph()

    assert {
        m: sorted(i for i in imported if i.startswith("vpcfactory_tools"))
        for m, imported in graph.items()
        if m.startswith("vpcfactory.") and any(i.startswith("vpcfactory_tools") for i in imported)
    } == {}


CLI_WITHOUT_THE_EMULATOR = """
import contextlib, io, json, sys
from vpcfactory_tools import cli, execution_results, plan_view, progress, status, zones  # status/apply --stack paths
import vpcfactory.growth
codes = {}
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        codes[" ".join(argv)] = cli.main(argv)
print(json.dumps({"codes": codes, "moto": sorted(m for m in sys.modules if m == "moto" or m.startswith("moto.")),
                  "emulator": sorted(m for m in sys.modules if m.startswith("vpcfactory_tools.emulator")),
                  "observability": "vpcfactory.observability" in sys.modules}))
"""


def test_the_cli_loads_neither_moto_nor_the_emulator_for_help_plan_or_status():
    # Given commands that do not run on the emulator: help, a plan without a target (the zone table)
    spec = str(ROOT / "examples" / "production.yaml")
    argv = [["--help"], ["plan", spec, "--json"], ["plan", spec], ["status", "--help"], ["apply", "--help"]]

    # When they run in a fresh interpreter
    done = subprocess.run(
        [sys.executable, "-c", CLI_WITHOUT_THE_EMULATOR, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])

    # Then each answered, and nothing of moto or the emulator was imported
    assert set(report["codes"].values()) == {0}, report["codes"]
    assert report["moto"] == []
    assert report["emulator"] == []
    # nor the handlers' Powertools logger: created before an embedded emulator sets its log level,
    # it would print handler logs on the CLI's stdout (apply --json must print one JSON object)
    assert report["observability"] is False


HANDLERS_AT_COLD_START = """
import json, os, sys
from pathlib import Path
import vpcfactory.handlers
handlers = sorted(p.stem for p in Path(vpcfactory.handlers.__path__[0]).glob("*.py") if p.stem != "__init__")
def loaded(*prefixes):
    return sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes))
entry_points = {"custom_resource", "start_from_event"}  # they take AWS's events: Powertools' data classes
for name in handlers:
    if name not in entry_points:
        __import__("vpcfactory.handlers." + name)
stages = {
    "dataClasses": loaded("aws_lambda_powertools.utilities.data_classes"),
    "contracts": loaded("vpcfactory.contracts"),
}
for name in entry_points:
    __import__("vpcfactory.handlers." + name)
print(json.dumps({"handlers": handlers, "xray": loaded("aws_xray_sdk"), **stages}))
"""


def test_no_handler_imports_the_xray_sdk_and_only_the_entry_points_import_powertools_data_classes():
    # Given a fresh interpreter that looks like a deployed function: in Lambda, with tracing on
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_TRACE")}
    env.update({"LAMBDA_TASK_ROOT": str(ROOT / "functions"), "AWS_LAMBDA_FUNCTION_NAME": "vpcfactory-test"})

    # When it imports every handler module, as each function's cold start does
    done = subprocess.run(
        [sys.executable, "-c", HANDLERS_AT_COLD_START],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    report = json.loads(done.stdout.splitlines()[-1])

    # Then none loaded the X-Ray SDK (~130 ms of cold start; traces are Lambda's own: observability.py)
    assert len(report["handlers"]) > 20
    assert report["xray"] == []
    # nor the data_classes package (every event class Powertools has), but the two that parse
    # AWS's events; nor contracts.py, whose TypedDicts are types only
    assert report["dataClasses"] == []
    assert report["contracts"] == []
