"""The checks a provider's keys get, alike for `model` and `mtbench.judge`: the name is one the registry knows,
a server of the user's has its URL, and only a provider that reads options is given any (never
ignored)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from ..backends.registry import providers


def check_api(value: Any, names: Sequence[str], expected_prefix: str = "one of ") -> str:
    """`value` when it is one of `names`, else a ValueError listing them (and the closest, for a typo)."""
    if isinstance(value, str) and value in names:
        return value
    expected = "expected " + expected_prefix + ", ".join(names)
    if isinstance(value, str):
        if value.lower() == "false":
            raise ValueError(f"{expected}; write false without quotes")
        close = difflib.get_close_matches(value.lower(), names, n=1)
        if close:
            raise ValueError(f'{expected}; did you mean "{close[0]}"?')
    raise ValueError(expected)


def check_base_url(api: str | None, base_url: str | None, where: str) -> None:
    """A server of the user's needs its URL; `where`: the keys' prefix in the message (`model.`)."""
    known = providers().get(api or "")
    if known is not None and known.needs_base_url and not base_url:
        raise ValueError(f"api: {api} needs {where}base_url, the server's OpenAI URL (e.g. http://host:8000/v1)")


def check_options(api: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """`options` only for a provider that reads them (`api: mock`), checked by its own model; never ignored."""
    known = providers().get(api or "")
    if known is not None:
        known.check_options(options)
    elif options:
        raise ValueError("a local model takes no options")
    return options
