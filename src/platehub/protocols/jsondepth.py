"""How deeply a parsed JSON value nests, for every door that takes JSON.

`json.loads` accepts nesting up to Python's recursion limit, but what is done with the value next
(storing it, copying it, `dataclasses.asdict`, encoding it again) recurses too and fails deeper in
the stack: a body nested a few hundred levels used to end in a server error. No protocol platehub
speaks nests more than a few levels, so every door refuses values deeper than MAX_DEPTH with its
own 4xx error. Counted without recursion."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # objects/arrays inside one another; the deepest protocol message nests 4


def depth(value: Any) -> int:
    """1 for a scalar, 1 + the deepest member for an object or array."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    return depth(value) > limit


def message(limit: int = MAX_DEPTH) -> str:
    return f"nested more than {limit} levels deep"
