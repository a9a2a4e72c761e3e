"""Read a search space's YAML safely and within bounds.

``yaml.SafeLoader`` only (no Python objects from a file: docs/design.md, "Trust"), with
limits a hand-written space never reaches but a hostile or broken one does: the file is
at most 1 MiB and 100,000 YAML nodes; aliases may not expand it beyond 100,000 nodes
either (a "billion laughs" file of a few hundred bytes would otherwise make validation
walk 10**9 values); nesting, also through aliases, is at most 64 deep. Each limit is checked before the nodes it counts are built. A key
given twice in one mapping is an error naming the key and both lines (YAML itself
lets the last one win silently).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from sweep.errors import UserError
from trainable.problems import describe

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "read_yaml", "read_yaml_mapping"]

MAX_FILE_BYTES = 1 << 20  # 1 MiB: the shipped spaces are ~1.5 KB
MAX_NODES = 100_000  # YAML nodes, also after alias expansion: 3x a space with every param at the choices cap
MAX_DEPTH = 64  # nested collections; a space needs 4 (params.x.when.y)

_MERGE_TAG = "tag:yaml.org,2002:merge"


# libyaml's parser where PyYAML was built with it: it reads a 1 MiB file in a fraction
# of a second, where the pure-Python one takes 10 s or more.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BoundedLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys and integers Python cannot read."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            _check_duplicate_keys(self, node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Node) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # beyond Python's limit on int("..."), 4300 digits by default
            limit = sys.get_int_max_str_digits()
            raise ConstructorError(None, None, f"an integer with more than {limit} digits", node.start_mark) from None


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _check_events(text: str) -> None:
    """The file's own nodes and nesting, from the parser's events, before any node is built."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise ComposerError(
                    None, None, f"more than {MAX_NODES:,} YAML nodes, the limit for a search space", event.start_mark
                )


def _check_duplicate_keys(loader: _BoundedLoader, node: MappingNode) -> None:
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # `<<: *defaults`: explicit keys may override merged ones
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in first:
                raise ConstructorError(
                    None, None, f"key {key!r} is given twice (first at line {first[key] + 1})", key_node.start_mark
                )
            first[key] = key_node.start_mark.line
        except TypeError:  # an unhashable key: SafeConstructor reports it itself
            continue


def _check_expanded_size(root: Node) -> None:
    """Count the nodes, and the depth, the document has once every alias is expanded, without expanding it.

    An alias is the same node object as its anchor, so a memo per node keeps the count
    linear in the file; a node reached again while it is being counted is a recursive
    alias (``&a [*a]``), which expands forever.
    """
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, levels) below and including it
    open_nodes: set[int] = set()

    def measure(node: Node) -> tuple[int, int]:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in open_nodes:
            raise ComposerError(
                None, None, "an alias refers to a node that contains it (a recursive alias)", node.start_mark
            )
        open_nodes.add(key)
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        sizes = [measure(child) for child in children]
        nodes, levels = 1 + sum(n for n, _ in sizes), 1 + max((d for _, d in sizes), default=0)
        if nodes > MAX_NODES:
            raise ComposerError(
                None,
                None,
                f"aliases (*name) expand this document to more than {MAX_NODES:,} "
                f"YAML nodes, the limit for a search space",
                node.start_mark,
            )
        if levels > MAX_DEPTH:  # aliases can nest what the file itself does not
            raise ComposerError(
                None, None, f"aliases (*name) nest this document more than {MAX_DEPTH} levels deep", node.start_mark
            )
        open_nodes.discard(key)
        memo[key] = nodes, levels
        return memo[key]

    if root is not None:
        measure(root)


def read_yaml(path: Path, shown: str) -> Any:
    """The parsed file; ``UserError`` (``shown: rule``) for an unreadable, oversized or invalid one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise UserError(f"{shown}: cannot read the file: {error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{shown}: the file is larger than {MAX_FILE_BYTES // 1024} KiB, the limit for a search space")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{shown}: cannot read the file: {error}") from None
    loader = _BoundedLoader(text)
    try:
        _check_events(text)
        node = loader.get_single_node()
        if node is None:  # an empty file
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise UserError(f"{shown}: {_yaml_problem(error)}") from None
    finally:
        loader.dispose()


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        context = f" ({error.context})" if error.context else ""
        return f"invalid YAML at {where}: {error.problem}{context}"
    return f"invalid YAML: {error}"


def read_yaml_mapping(path: Path, shown: str, keys: Sequence[str]) -> dict[str, Any]:
    """``read_yaml`` of a file whose top level must be a mapping (a space, a study); ``keys`` name what it may hold."""
    raw = read_yaml(path, shown)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"{type(raw).__name__} {describe(raw)}"
        raise UserError(f"{shown}: the top level must be a mapping of keys ({', '.join(keys)}), got {got}")
    return raw
