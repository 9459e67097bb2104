"""Reading a spec file (YAML or JSON) as the CLI does: bounded, strict, one-line errors.

A spec becomes a Step Functions execution input, which AWS caps at 256 KiB (262,144 bytes of
UTF-8; Step Functions quotas, "Maximum input or output size for a task, state, or execution"),
so a bigger file is refused before it is parsed: a 60 MB file cannot cost half a minute. YAML
aliases (`*name`) are refused, so a few hundred bytes cannot expand into gigabytes (the
"billion laughs"); so are keys given twice in one mapping (YAML and JSON parsers silently keep
the last one, which hides a mistake) and nesting deeper than any spec needs.

Every problem is a SpecFileError with one line of text; InvalidSpec (from parse_spec) is for what
the spec says, this is for whether it can be read at all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from vpcfactory.errors import InvalidSpec
from vpcfactory.spec import shown

MAX_INPUT_BYTES = 256 * 1024  # Step Functions: an execution input is at most 256 KiB of UTF-8
MAX_DEPTH = 32  # a spec nests 4 deep (tiers[0].tags.KEY); a {spec, target} wrapper adds one
MERGE_TAG = "tag:yaml.org,2002:merge"


class SpecFileError(Exception):
    """The file cannot be read as a spec (missing, too big, not UTF-8, not YAML/JSON). One line.
    `unreadable`: the file itself could not be read (missing, a directory, no permission)."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.unreadable = unreadable


def read_spec_file(path: str, stdin: Any = None) -> dict[str, Any]:
    """The mapping a spec file holds ('-' reads stdin). Raises SpecFileError, or InvalidSpec for a
    key given twice or a document that is not a mapping."""
    data = _read_bytes(path, stdin)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecFileError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as UTF-8"
        ) from None
    doc = load_yaml(text, path)
    if doc is None:
        raise InvalidSpec("(spec)", f"{path} is empty: a spec is a mapping (name, cidr, availabilityZones, tiers)")
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else f"the single value {shown(doc)}"
        raise InvalidSpec("(spec)", f"{path} holds {kind}, not a mapping (name, cidr, availabilityZones, tiers)")
    size = len(json.dumps(doc, default=str, skipkeys=True).encode("utf-8"))
    if size > MAX_INPUT_BYTES:  # YAML can be shorter than the JSON it becomes
        raise SpecFileError(f"{path} becomes {size:,} bytes of JSON: {_limit()}")
    return doc


def _limit() -> str:
    return f"a spec is at most {MAX_INPUT_BYTES:,} bytes (256 KiB, Step Functions' limit on an execution input)"


def _read_bytes(path: str, stdin: Any) -> bytes:
    try:
        if path == "-":
            stream = stdin or sys.stdin
            raw = getattr(stream, "buffer", stream).read(MAX_INPUT_BYTES + 1)
            data = raw.encode("utf-8") if isinstance(raw, str) else raw
        else:
            file = Path(path)
            if file.is_dir():
                raise SpecFileError(f"{path} is a directory, not a spec file", unreadable=True)
            with file.open("rb") as stream:
                data = stream.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror or exc}", unreadable=True) from None
    if len(data) > MAX_INPUT_BYTES:
        raise SpecFileError(f"{path} is over {MAX_INPUT_BYTES:,} bytes: {_limit()}")
    return data


# libyaml's parser when PyYAML has it: parsing 256 KiB of YAML takes under a second instead of
# six. It refuses nesting deeper than 1,000 levels itself; _check_nodes refuses more than MAX_DEPTH.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, path: str = "the spec") -> Any:
    """Parse YAML (or JSON, which is YAML) strictly. Raises SpecFileError or InvalidSpec."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()  # composing shares an aliased node: nothing expands yet
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "").split())
        raise SpecFileError(f"{path} is not valid YAML or JSON: {_cut(problem, 200)}{where}") from None
    except yaml.YAMLError as exc:
        raise SpecFileError(f"{path} is not valid YAML or JSON: {_cut(' '.join(str(exc).split()), 200)}") from None
    except RecursionError:  # PyYAML without libyaml composes recursively
        raise SpecFileError(f"{path} is nested more than {MAX_DEPTH} levels deep; a spec needs 5") from None
    except ValueError as exc:  # int() refuses a number of more than 4,300 digits
        raise SpecFileError(f"{path} holds a value it cannot read: {_cut(str(exc).split(';')[0], 120)}") from None
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node) -> None:
    """Refuse aliases (a node reached twice), nesting deeper than MAX_DEPTH and a key given twice
    in one mapping, before anything is constructed. Iterative: no recursion on hostile input."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 1)]
    while stack:
        node, at, depth = stack.pop()
        if id(node) in seen:
            raise SpecFileError(
                f"line {node.start_mark.line + 1}: this value is used again through a YAML alias (*name); "
                "aliases are not accepted in a spec: write the value out where it is used"
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise SpecFileError(f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{at}[{i}]", depth + 1) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            keys: dict[tuple[str, str], yaml.Mark] = {}
            for key_node, value_node in node.value:
                field = at
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != MERGE_TAG:
                    key, mark = (key_node.tag, key_node.value), key_node.start_mark
                    field = f"{at}.{key_node.value}" if at else key_node.value
                    if key in keys:
                        first = keys[key]
                        where = (
                            f"line {mark.line + 1}, columns {first.column + 1} and {mark.column + 1}"
                            if first.line == mark.line
                            else f"lines {first.line + 1} and {mark.line + 1}"
                        )
                        raise InvalidSpec(field or '""', f"given twice in one mapping ({where}): give each key once")
                    keys[key] = mark
                stack.append((key_node, at, depth + 1))
                stack.append((value_node, field, depth + 1))


def _cut(text: str | None, limit: int = 64) -> str:
    text = text or ""
    return text if len(text) <= limit else f"{text[:limit]}…"
