"""The judge canary: a few calibration items judged inside every MT-Bench run (`mtbench.judge.canary`).

A judge can change between two runs without changing its name (a provider's new snapshot, a local server's new
weights). `judge-check` measures a judge once, at length; the canary measures it again in each run, cheaply: the
first N calibration items of each language (round-robin over the categories, as `judge-check --limit N` picks
them) are judged in the same call as the run's own matches, with the run's judge prompts, settings and retries,
through the run's CallStore, so a rerun pays nothing. Their ratings are set against GPT-4's recorded ones
(`judge_agreement`) and go into the row's meta, the terminal summary and the report, with a warning outside `BAND`.
They never enter Neo's tables or the AVG: they live in the scored records' `data`, beside the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from ...backends.base import BackendError
from .calibration import CalibrationItem, balanced, load_calibration
from .data import JudgePrompt
from .judge import Match, Verdict

DEFAULT_ITEMS = 8  # per language: one per category
KEY_PREFIX = "canary/"  # its matches' keys, apart from the run's `<question_id>/<turn>`
# the band outside which the summary and the report warn: a judge whose mean rating is more than a point away
# from GPT-4's, or whose ranking of the items agrees with GPT-4's less than this (8 items: a coarse check)
MAX_ABS_BIAS = 1.0
MIN_SPEARMAN = 0.5


def canary_items(language: str, n: int) -> list[CalibrationItem]:
    """The first `n` calibration items of `language`, round-robin over its categories (none when `n` is 0)."""
    return balanced(load_calibration([language]), n) if n > 0 else []


def canary_matches(items: Iterable[CalibrationItem], prompts: Mapping[str, JudgePrompt]) -> dict[str, Match]:
    """The judge matches of the canary items, with the run's judge prompts, keyed `canary/<item id>`."""
    return {KEY_PREFIX + item.id: item.match(prompts) for item in items}


def canary_records(
    items: Iterable[CalibrationItem], verdicts: Mapping[str, Verdict | BackendError]
) -> list[dict[str, Any]]:
    """What a scored record keeps of each canary item: its id, category and turn, GPT-4's rating and the judge's
    (None when the judgment failed: left out, and said), and the judge calls it took."""
    out = []
    for item in items:
        verdict = verdicts[KEY_PREFIX + item.id]
        judged = verdict if isinstance(verdict, Verdict) else None
        out.append(
            {
                "id": item.id,
                "category": item.category,
                "turn": item.turn,
                "gpt4": item.gpt4_rating,
                "judge": None if judged is None else judged.score,
                "calls": 0 if judged is None else judged.calls,
                "error": None if judged is not None else str(verdict),
            }
        )
    return out


def canary_meta(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The canary's part of a task's meta from its scored records' canary items (each item once): the counts, the
    overall agreement with GPT-4, the band and the warning (None when within it). None: the run had no canary."""
    from .judge_agreement import RatedPair, agreement

    items: dict[str, Mapping[str, Any]] = {}
    for r in records:  # records of several invocations: a judged rating wins over a failed one
        if items.get(str(r["id"]), {}).get("judge") is None:
            items[str(r["id"])] = r
    if not items:
        return None
    judged = [r for r in items.values() if r["judge"] is not None]
    report = agreement(RatedPair(r["judge"], int(r["gpt4"]), str(r["category"])) for r in judged)
    overall = asdict(report.overall)
    return {
        "items": len(items),
        "failed": len(items) - len(judged),
        "calls": sum(int(r["calls"]) for r in items.values()),
        "agreement": overall,
        "band": {"max_abs_bias": MAX_ABS_BIAS, "min_spearman": MIN_SPEARMAN},
        "warning": warning(overall, len(items)),
        "ratings": [{k: r[k] for k in ("id", "category", "turn", "gpt4", "judge")} for r in items.values()],
    }


def warning(overall: Mapping[str, Any], items: int) -> str | None:
    """Why the canary's agreement is outside the band, in one sentence; None when it is within it."""
    n, bias, rho = overall["n"], overall["bias"], overall["spearman"]
    if n == 0:
        return f"none of the {items} canary ratings could be read: the judge's agreement with GPT-4 is unknown"
    problems = []
    if bias is not None and abs(bias) > MAX_ABS_BIAS:
        problems.append(f"its mean rating is {bias:+.2f} from GPT-4's (band ±{MAX_ABS_BIAS:g})")
    if rho is None:
        problems.append("its ratings carry no ranking to compare (one side is constant)")
    elif rho < MIN_SPEARMAN:
        problems.append(f"its ranking agrees with GPT-4's at Spearman {rho:.2f} (band ≥ {MIN_SPEARMAN:g})")
    if not problems:
        return None
    return "the judge does not rate like GPT-4 on the canary: " + "; ".join(problems)


def canary_line(meta: Mapping[str, Any] | None) -> str:
    """One line for the summary and the report: the canary's bias and rank agreement, or that there was none."""
    if not meta:
        return "canary: off (mtbench.judge.canary: 0)"
    a = meta["agreement"]
    line = f"canary ({meta['items']} items, {a['n']} readable): {agreement_words(a)}"
    return line + (f" — WARNING: {meta['warning']}" if meta["warning"] else " — within the band")


def judge_check_line(checked: Mapping[str, Any]) -> str:
    """An earlier judge-check of this judge (`judge_check.find_result`): its agreement with GPT-4 and where it is."""
    a = checked["overall"]
    within = "n/a" if a["within_one"] is None else format(a["within_one"], ".0%")
    return (
        f"judge-check ({a['n']} items, {checked['language']}, {checked['prompts']} prompts): {agreement_words(a)}, "
        f"within ±1 {within} ({checked['path']})"
    )


def agreement_words(a: Mapping[str, Any]) -> str:
    """`bias vs GPT-4 +0.75 [-0.88, +2.38], spearman 0.73` from an `Agreement` as JSON ("n/a" where undefined)."""
    bias = "n/a" if a["bias"] is None else f"{a['bias']:+.2f} [{a['bias_low']:+.2f}, {a['bias_high']:+.2f}]"
    rho = "n/a" if a["spearman"] is None else f"{a['spearman']:.2f}"
    return f"bias vs GPT-4 {bias}, spearman {rho}"
