"""pydantic's validation errors as the lines netsep shows users: ``key.path: rule, bad value``.

Both the trial config (``trainable/config.py``) and the search spaces (``sweep/spaces``)
are validated by pydantic v2 models. pydantic reports each problem with a location and
an error type; this module words them the way the rest of netsep does (the rule, then
the bad value, Optuna's "`low < high` must hold, but got (low=1.0, high=0.5)" style),
so a user reads one line per problem that names the key, the rule and the value.

A validator that finds several problems, or one below its own field, raises
``Problems`` with (sub-location, message) pairs instead of a plain ``ValueError``.
It imports nothing heavy: the command line checks a space without loading torch.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

__all__ = ["Loc", "Problems", "describe", "did_you_mean", "join_path", "problem_lines"]

Loc = tuple[str | int, ...]

_MAX_REPR = 80  # characters of a bad value shown: a 400-digit int or a long string stays one short line
_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class Problems(ValueError):
    """Raised in a validator: several problems, each at a location below the field's own."""

    def __init__(self, items: Sequence[tuple[Loc, str]]) -> None:
        self.items = list(items)
        super().__init__("; ".join(message for _, message in self.items))


def describe(value: Any) -> str:
    """A short ``repr``, plus a hint when a number arrived as text (YAML 1.1 reads ``1e-5`` so)."""
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        if "e" in value.lower():
            return f"{value!r} (a string: YAML 1.1 reads a number like 1e-5 as text, write 1.0e-5)"
        return f"{value!r} (a string: write the number without quotes)"
    if value is None:
        return "null"
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's 4300-digit str() limit
        return f"an integer with more than {_MAX_REPR} digits"
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def did_you_mean(word: Any, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for a close known word, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """``("params", "w_adv", "low")`` -> ``params.w_adv.low``; list indexes as ``[i]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def problem_lines(
    error: ValidationError, prefix: str = "", *, known_keys: Sequence[str] = (), skip_tag: bool = False
) -> list[tuple[str, str]]:
    """(key path, message) for each problem in ``error``, in pydantic's order.

    ``known_keys`` is listed after an unknown key; ``skip_tag`` drops the first element
    of each location, which for a discriminated union is the tag (``float`` in
    ``("float", "low")``), a detail of the schema rather than a key the user wrote.
    """
    lines: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        loc: Loc = tuple(item["loc"])
        if skip_tag and loc and item["type"] not in ("union_tag_invalid", "union_tag_not_found"):
            loc = loc[1:]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, Problems):
            lines.extend((join_path(prefix, loc + sub), message) for sub, message in cause.items)
            continue
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "type")  # a discriminated union's tag is the `type:` key
        lines.append((join_path(prefix, loc), _message(item, loc, known_keys)))
    return lines


def _message(item: Any, loc: Loc, known_keys: Sequence[str]) -> str:
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx", {})
    key = str(loc[-1]) if loc else "value"
    if kind == "extra_forbidden":
        known = f" (known keys: {', '.join(known_keys)})" if known_keys else ""
        return f"unknown key {key!r}{did_you_mean(key, known_keys)}{known}"
    if kind in _BOUNDS:
        symbol, bound = _BOUNDS[kind]
        return f"`{key} {symbol} {_number(ctx[bound])}` must hold, but got ({key}={describe(value)})"
    if kind == "too_short":
        return _too_short(ctx.get("min_length", 1), value)
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters are allowed, but got {len(value)}"
    if kind == "too_long":
        return f"at most {ctx['max_length']} items are allowed, but got {ctx.get('actual_length', len(value))}"
    if kind == "literal_error":
        return f"expected one of {ctx['expected']}, got {describe(value)}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx['expected_tags'].replace(chr(39), '')}, got {describe(ctx['tag'])}"
    if kind in ("missing", "union_tag_not_found"):
        return "missing (required)"
    if kind == "value_error":
        return str(ctx["error"])
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    return f"{item['msg']}, got {describe(value)}"


# pydantic's bound error -> (the rule's symbol, the ctx key pydantic stores the bound under)
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing_size": "an integer of at most 19 digits",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
}


def _number(bound: Any) -> str:
    """A bound as written in the schema: pydantic hands a float field's ``gt=0`` back as 0.0."""
    if isinstance(bound, float) and bound.is_integer() and abs(bound) < 1e15:
        return str(int(bound))
    return str(bound)


def _too_short(minimum: int, value: Any) -> str:
    need = "at least one item is required" if minimum == 1 else f"at least {minimum} items are required"
    if isinstance(value, (list, tuple)) and not value:
        return f"{need}, but got an empty list []"
    if isinstance(value, dict) and not value:
        return f"{need}, but got an empty mapping {{}}"
    return f"{need}, but got {describe(value)}"
