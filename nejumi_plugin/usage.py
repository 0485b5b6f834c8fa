"""Token usage: per call from the backends, summed per record, per task and per run for `leaderboard.json`'s meta."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .backends.base import Completion

if TYPE_CHECKING:
    from .family import Scored

FIELDS = ("calls", "prompt_tokens", "output_tokens")
# reasoning tokens as the providers report them; the calls whose provider does not (Anthropic, Cohere, most
# OpenAI-compatible servers), so that "not reported" never reads as "no thinking"; the answers cut while thinking
THINKING_FIELDS = ("reasoning_tokens", "reasoning_tokens_unreported", "budget_spent_thinking")


def token_usage(completions: Iterable[Completion]) -> dict[str, int]:
    """Calls and tokens behind some completions (a backend that reports no count adds 0)."""
    out = dict.fromkeys(FIELDS, 0)
    for c in completions:
        out["calls"] += 1
        out["prompt_tokens"] += c.prompt_tokens or 0
        out["output_tokens"] += c.output_tokens or 0
    return out


def thinking_usage(completions: Iterable[Completion]) -> dict[str, int]:
    """What a reasoning model spent thinking: its reasoning tokens (as reported, and the calls that reported none)
    and the answers that ran out of budget while thinking."""
    out = dict.fromkeys(THINKING_FIELDS, 0)
    for c in completions:
        if c.reasoning_tokens is None:
            out["reasoning_tokens_unreported"] += 1
        else:
            out["reasoning_tokens"] += c.reasoning_tokens
        out["budget_spent_thinking"] += int(c.thinking_exhausted)
    return out


def thinking_summary(records: Iterable[Scored]) -> dict[str, dict[str, int]]:
    """`thinking_usage` summed per task, over the records of tasks whose model thought."""
    per_task: dict[str, dict[str, int]] = {}
    for record in records:
        if record.reasoning is not None:
            task = per_task.setdefault(record.task, dict.fromkeys(THINKING_FIELDS, 0))
            for key in THINKING_FIELDS:
                task[key] += int(record.reasoning.get(key, 0))
    return dict(sorted(per_task.items()))


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for key in FIELDS:
        into[key] = into.get(key, 0) + int(more.get(key, 0))


def usage_summary(records: Iterable[Scored]) -> dict[str, Any]:
    """`{"total": {role: counts}, "per_task": {task: {role: counts}}}`, role being "model" or "judge"; replayed
    calls count too (the row's cost, not this run's)."""
    per_task: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    total: dict[str, dict[str, int]] = {}
    for record in records:
        for role, counts in record.usage.items():
            _add(per_task[record.task].setdefault(role, {}), counts)
            _add(total.setdefault(role, {}), counts)
    return {"total": total, "per_task": dict(per_task)}
