"""Base model of every config section and the safe parser for the Python literals Neo passed to ``eval()``."""

from __future__ import annotations

import ast
from typing import Any

from pydantic import BaseModel, ConfigDict

_MAX_LITERAL_LEN = 1000  # longest string handed to ast.literal_eval


class Section(BaseModel):
    """A config mapping: unknown keys are errors, no silent coercion (strict), immutable (frozen).

    Strict matters: in Neo a quoted ``"false"`` was a truthy string, so it is rejected rather than coerced.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, protected_namespaces=())


def parse_literal(text: str, expected: str) -> Any:
    """``ast.literal_eval(text)``: only Python literals are accepted, nothing is ever executed.

    Raises ``ValueError("expected <expected>...")`` for anything else (calls, names, over-long strings).
    """
    if len(text) > _MAX_LITERAL_LEN:
        raise ValueError(f"expected {expected} (string longer than {_MAX_LITERAL_LEN} characters)")
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"expected {expected}; only Python literals are accepted, nothing is evaluated") from None
