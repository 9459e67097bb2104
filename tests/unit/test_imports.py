"""How the packages import each other: no cycles, and the operator CLI loads moto only to run on it.

Pure: the cycle check reads the source (ast); the CLI check runs the CLI in a fresh interpreter
with no target, a refused --help, or nothing that needs the emulator, and makes no network call.
"""

from __future__ import annotations

import ast
import json
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
