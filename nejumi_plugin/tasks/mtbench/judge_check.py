"""`python -m nejumi_plugin judge-check`: how closely the config's MT-Bench judge rates like GPT-4
(docs/judge-check.md).

Neo's MT-Bench numbers are GPT-4's ratings, so a run with another judge is comparable only as far as that judge
rates like GPT-4. This judges the calibration set (`tasks.mtbench.calibration`) with the judge `mtbench.judge` names,
built, asked and retried exactly as a run would (the session's judge engine, the family's `JudgeSettings`,
`judge_all`), with the run's own judge prompts by default, and sets its ratings against GPT-4's recorded ones
(`judge_agreement`). Every call goes through a CallStore in a folder of its own, so a rerun makes no judge call.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...backends.base import BackendError
from ...config import ConfigError, RunConfig
from ...engine import Engine
from .calibration import CalibrationItem, balanced
from .data import JudgePrompt
from .judge import JudgeSettings, Verdict, judge_all
from .judge_agreement import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED, Agreement, AgreementReport, RatedPair
from .names import LANGUAGES

PROMPT_SETS = ("run", "recorded")  # the run's judge prompts, or the ones GPT-4 was given
ALL = "all"  # the report over every checked language
JSON_NAME = "judge-check.json"
HTML_NAME = "judge-check.html"


class JudgeCheckError(Exception):
    """Bad input (a language, a limit, the config, the data): said in one line, exit code 2."""


@dataclass(frozen=True)
class Checked:
    """One calibration item and what the judge made of it (a BackendError when it could not be judged)."""

    item: CalibrationItem
    verdict: Verdict | BackendError

    @property
    def pair(self) -> RatedPair | None:
        if isinstance(self.verdict, BackendError):
            return None
        return RatedPair(self.verdict.score, self.item.gpt4_rating, self.item.category)


@dataclass(frozen=True)
class JudgeCheck:
    """The outcome: the judge, the items judged, the agreement per language and over all of them (`ALL`)."""

    identity: Mapping[str, object]
    settings: JudgeSettings
    prompts: str  # one of PROMPT_SETS
    checked: tuple[Checked, ...]
    reports: dict[str, AgreementReport]  # language -> report, then ALL
    made: int  # judge calls made by this invocation
    stored: int  # judge calls answered by the CallStore

    def group(self, name: str) -> list[Checked]:
        """The items behind report `name` (a language, or ALL)."""
        return [c for c in self.checked if name in (ALL, c.item.language)]

    @property
    def failed(self) -> list[Checked]:
        return [c for c in self.checked if isinstance(c.verdict, BackendError)]


def parse_languages(lang: str | None) -> tuple[str, ...]:
    if lang is None:
        return LANGUAGES
    if lang not in LANGUAGES:
        raise JudgeCheckError(f"--lang {lang!r}: the calibration set has {' and '.join(LANGUAGES)}")
    return (lang,)


def select(items: Sequence[CalibrationItem], limit: int | None) -> list[CalibrationItem]:
    """`--limit`: the first `limit` items of each language (`calibration.balanced`); None: every item."""
    if limit is None:
        return list(items)
    if limit < 1:
        raise JudgeCheckError(f"--limit {limit}: must be at least 1")
    return balanced(items, limit)


def check(
    engine: Engine,
    items: Sequence[CalibrationItem],
    prompts: Mapping[str, Mapping[str, JudgePrompt]] | None,
    settings: JudgeSettings,
    *,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> JudgeCheck:
    """Judge `items` through `engine` (Neo's retry rule, as a run) and measure the agreement. `prompts` maps a
    language to its run's judge prompts; None judges every item with the prompt GPT-4 was given."""
    from .judge_agreement import agreement

    before = (engine.stats.generated, engine.stats.cached)
    matches = {i.id: i.match(None if prompts is None else prompts[i.language]) for i in items}
    verdicts = judge_all(engine, matches, settings)
    checked = tuple(Checked(i, verdicts[i.id]) for i in items)
    groups = {language: [c for c in checked if c.item.language == language] for language in LANGUAGES}
    groups = {k: v for k, v in groups.items() if v}
    groups[ALL] = list(checked)
    reports = {
        name: agreement([p for c in group if (p := c.pair) is not None], seed=seed, resamples=resamples, level=level)
        for name, group in groups.items()
    }
    made, stored = engine.stats.generated - before[0], engine.stats.cached - before[1]
    return JudgeCheck(
        engine.identity, settings, "recorded" if prompts is None else "run", checked, reports, made, stored
    )


def slug(identity: Mapping[str, object], settings: JudgeSettings, prompts: str, model: str | None = None) -> str:
    """`<provider or backend>-<model>-<hash>`: readable (`model`: the config's name for the judge, else the
    identity's, which for a local model is its resolved folder), and a different judge, sampling or prompt set gets
    another folder (the hash covers the whole identity, the settings and the prompt set)."""
    kind = str(identity.get("provider") or identity.get("backend") or "judge")
    name = re.sub(r"[^\w.\-]+", "_", f"{kind}-{model or identity.get('model', '')}").strip("._-") or "judge"
    facts = {"identity": dict(identity), "settings": asdict(settings), "prompts": prompts}
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{name[:80]}-{digest}"


def run_prompts(cfg: RunConfig, languages: Sequence[str]) -> dict[str, Mapping[str, JudgePrompt]]:
    """Each language's judge prompts as a run reads them (the family's data loader and its checks)."""
    from .data import MtbenchDataError
    from .family import MtbenchFamily

    family = MtbenchFamily()
    try:
        return {language: family.data(language, cfg).prompts for language in languages}
    except (MtbenchDataError, ConfigError) as err:
        raise JudgeCheckError(f"{err} (or judge with the prompts GPT-4 was given: --prompts recorded)") from None


def run(
    cfg: RunConfig,
    output_dir: Path,
    *,
    languages: Sequence[str] = LANGUAGES,
    limit: int | None = None,
    prompts: str = "run",
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> tuple[JudgeCheck, Path]:
    """Build the run's judge from `cfg` (the session's engine: same backend, retries, reasoning and settings),
    judge the selected items in `<output_dir>/judge-check-<slug>/`, write the JSON and HTML there."""
    from ...backends.factory import judge_backend
    from ...run_dir import RunDirError, hold
    from ...session import NejumiSession
    from .calibration import load_calibration
    from .family import MtbenchFamily

    if prompts not in PROMPT_SETS:
        raise JudgeCheckError(f"--prompts {prompts!r}: expected {' or '.join(PROMPT_SETS)}")
    items = select(load_calibration(languages), limit)
    probe = NejumiSession(cfg, output_dir)  # opens no store: only the judge's identity and settings are read
    problems = probe.key_problems({"judge"})
    if problems:
        raise JudgeCheckError("; ".join(problems))
    sets = run_prompts(cfg, languages) if prompts == "run" else None
    settings = MtbenchFamily().judge_settings(probe)
    identity = judge_backend(cfg, probe.judge_path).identity()
    folder = output_dir / f"judge-check-{slug(identity, settings, prompts, cfg.mtbench.judge.model)}"
    try:
        lock = hold(folder)
    except RunDirError as err:
        raise JudgeCheckError(str(err)) from None
    session = NejumiSession(cfg, output_dir, call_cache=folder / "calls.sqlite")
    try:
        result = check(session.engine("judge"), items, sets, settings, seed=seed, resamples=resamples, level=level)
    finally:
        session.close()
        lock.release()
    from .judge_check_page import page

    (folder / JSON_NAME).write_text(json.dumps(as_json(result), ensure_ascii=False, indent=1) + "\n", "utf-8")
    (folder / HTML_NAME).write_text(page(result), "utf-8")
    return result, folder


def find_result(
    output_dir: Path, identity: Mapping[str, object], settings: JudgeSettings, language: str
) -> dict[str, Any] | None:
    """The agreement with GPT-4 of an earlier judge-check of this very judge (same identity and settings) under
    `output_dir`, for `language` (else over every language it checked), preferring the run's own prompts; None when
    there is none. A run shows it beside its MT-Bench AVG."""
    wanted = _plain({"identity": dict(identity), "settings": asdict(settings)})
    found = []
    for path in sorted(output_dir.glob(f"judge-check-*/{JSON_NAME}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            judge, agreement = data["judge"], data["agreement"]
            if _plain({"identity": judge["identity"], "settings": judge["settings"]}) != wanted:
                continue
            report = agreement.get(language) or agreement[ALL]
            found.append(
                {
                    "path": str(path),
                    "prompts": judge["prompts"],
                    "language": language if language in agreement else ALL,
                    "overall": report["overall"],
                }
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # another version's file, or one cut short: not this judge's measure
    return min(found, key=lambda r: (r["prompts"] != "run", r["path"]), default=None)


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def as_json(result: JudgeCheck) -> dict[str, Any]:
    """judge-check.json: the judge, the statistics (overall and per category, per language and over `ALL`) and every
    item's pair."""
    first = next(iter(result.reports.values()))
    return {
        "judge": {"identity": dict(result.identity), "settings": asdict(result.settings), "prompts": result.prompts},
        "calibration": {
            "items": len(result.checked),
            "by_language": {k: sum(c.item.language == k for c in result.checked) for k in result.reports if k != ALL},
            "failed": len(result.failed),
        },
        "calls": {"made": result.made, "stored": result.stored},
        "bootstrap": {"level": first.level, "resamples": first.resamples, "seed": first.seed},
        "agreement": {
            name: {"overall": asdict(r.overall), "by_category": {c: asdict(a) for c, a in r.by_category.items()}}
            for name, r in result.reports.items()
        },
        "items": [_item_json(c) for c in result.checked],
    }


def _item_json(c: Checked) -> dict[str, Any]:
    i, v = c.item, c.verdict
    out: dict[str, Any] = {
        "id": i.id,
        "language": i.language,
        "category": i.category,
        "turn": i.turn,
        "judge_prompt": i.judge_prompt,
        "gpt4": i.gpt4_rating,
    }
    if isinstance(v, BackendError):
        return {**out, "judge": None, "error": str(v)}
    return {**out, "judge": v.score, "calls": v.calls, "judgment": v.judgment}


def table(result: JudgeCheck) -> str:
    """The terminal summary: one block per language and one over all of them."""
    lines = []
    names = {ALL: "all languages"}
    for name, report in result.reports.items():
        lines += ["", f"{names.get(name, name)} ({len(result.group(name))} items)", _row_header()]
        rows = [*report.by_category.items(), ("overall", report.overall)]
        lines += [_row(category, a) for category, a in rows]
        left = report.overall.n_unreadable
        if left or report.overall.n_off_scale:
            lines.append(
                f"  {left} unreadable rating(s) left out; {report.overall.n_off_scale} off-scale left out of kappa"
            )
    return "\n".join(lines)


COLUMNS = ("category", "n", "spearman", "pearson", "kappa", "bias [low, high]", "within±1")
WIDTHS = (12, 4, 8, 8, 7, 22, 8)


def _row_header() -> str:
    return "  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(COLUMNS, WIDTHS)))


def _row(category: str, a: Agreement) -> str:
    bias = "n/a" if a.bias is None else f"{a.bias:+.2f} [{a.bias_low:+.2f}, {a.bias_high:+.2f}]"
    cells = (category, str(a.n), _f(a.spearman), _f(a.pearson), _f(a.kappa), bias, _f(a.within_one, 2))
    return "  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, WIDTHS)))


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
