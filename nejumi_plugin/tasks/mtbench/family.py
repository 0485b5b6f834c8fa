"""MT-Bench as a benchmark family: one task per language, one case per question (both turns and their judgments)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...config import ConfigError, RunConfig
from ...family import Broken, Built, FamilyBase, RunContext, Sample, Scored, Task
from .cases import MtbenchCase, enabled_languages, plan_cases
from .conversation import resolve_template
from .data import CATEGORIES, MtbenchData, MtbenchDataError, load_mtbench
from .judge import JudgeSettings
from .names import LANGUAGES, languages_in, output_table, task_of
from .rating import MAX_JUDGE_CALLS, NO_RATING
from .report import counts, samples_section, summary_lines
from .runner import MtbenchOptions, MtbenchRunner
from .tables import build_task_tables

if TYPE_CHECKING:
    import numpy as np


class MtbenchRunners:
    """One runner per language; a batch's questions are answered and judged language by language, as Neo does."""

    def __init__(self, family: MtbenchFamily, ctx: RunContext) -> None:
        self.family, self.ctx = family, ctx
        self._runners: dict[str, MtbenchRunner] = {}

    def of(self, language: str) -> MtbenchRunner:
        if language not in self._runners:
            self._runners[language] = self.family.language_runner(language, self.ctx)
        return self._runners[language]

    def prepare(self, cases: Sequence[MtbenchCase]) -> None:
        for language in dict.fromkeys(case.language for case in cases):
            self.of(language).prepare([case for case in cases if case.language == language])

    def score(self, case: MtbenchCase) -> Scored:
        return self.of(case.language).score(case)


class MtbenchFamily(FamilyBase):
    """Neo's MT-Bench: answers in two rounds, then the judge, all through the CallStore."""

    name = "mtbench"
    title = "MT-Bench"
    resampling = "questions within each category"

    def __init__(self) -> None:
        self._data: dict[str, MtbenchData] = {}

    def tasks(self, cfg: RunConfig) -> list[Task]:
        return [task_of(language) for language in LANGUAGES]

    def enabled(self, cfg: RunConfig) -> list[Task]:
        return [task_of(language) for language in enabled_languages(cfg)]

    def found(self, tables: Iterable[str]) -> list[Task]:
        return [task_of(language) for language in languages_in(tables)]

    def roles(self, cfg: RunConfig) -> set[str]:
        return {"model", "judge"} if enabled_languages(cfg) else set()

    def data(self, language: str, cfg: RunConfig) -> MtbenchData:
        """One language's questions, references and judge prompts, read and checked once."""
        if language not in self._data:
            from .sources import resolve_mtbench_dirs

            folders, keys = resolve_mtbench_dirs(cfg, language)
            self._data[language] = load_mtbench(
                language,
                folders["questions"],
                folders["references"],
                folders["judge_prompts"],
                cfg.mtbench.judge.model,
                keys,
            )
        return self._data[language]

    def cases(self, names: Sequence[str], ctx: RunContext) -> list[Any]:
        cases: list[Any] = []
        for language in names:
            if language not in enabled_languages(ctx.cfg):
                continue
            try:
                cases += plan_cases(language, ctx.cfg, self.data(language, ctx.cfg))
            except (MtbenchDataError, ConfigError, ValueError) as err:
                task = task_of(language).name
                cases.append(Broken(self.name, language, str(err), (task,), label=task))
        return cases

    def runner(self, ctx: RunContext) -> MtbenchRunners:
        return MtbenchRunners(self, ctx)

    def judge_settings(self, ctx: RunContext) -> JudgeSettings:
        judge, thinking = ctx.cfg.mtbench.judge, ctx.reasoning("judge").thinking
        deterministic = judge.api == "hf" and judge.temperature < 1e-4  # a retry would repeat the same answer
        budget = (judge.reasoning.answer_tokens or judge.max_tokens) if thinking else judge.max_tokens
        return JudgeSettings(judge.model, judge.temperature, budget, 1 if deterministic else MAX_JUDGE_CALLS, thinking)

    def language_runner(self, language: str, ctx: RunContext) -> MtbenchRunner:
        cfg, api = ctx.cfg, bool(ctx.cfg.model.api)
        name = (cfg.model.pretrained_model_name_or_path or cfg.model_name) if api else cfg.model_name
        model_id = cfg.mtbench.model_id or cfg.model_name.replace("/", "--")
        thinking, settings = ctx.reasoning("model"), self.judge_settings(ctx)
        options = MtbenchOptions(
            language=language,
            model_id=model_id.replace("--", "/").split("_hash_")[0],
            template=resolve_template(cfg, language, name),
            api=api,
            api_temperature=cfg.mtbench.api_temperature,
            max_new_token=(cfg.model.reasoning.answer_tokens or cfg.mtbench.max_new_token)
            if thinking.on
            else cfg.mtbench.max_new_token,
            judge=settings,
            thinking=thinking.thinking,
            canary=cfg.mtbench.judge.canary,
            judge_check=self.judge_check(language, ctx, settings),
        )
        return MtbenchRunner(self.data(language, cfg), self.answer_engine(ctx), ctx.engine("judge"), options)

    @staticmethod
    def answer_engine(ctx: RunContext) -> Any:
        """The evaluated model as Neo's MT-Bench loads it: in `mtbench.dtype` (null: FastChat's default, float16 on a
        GPU, float32 on a CPU), placed by Neo's GPU keys (`backends.placement`)."""
        cfg = ctx.cfg
        if cfg.model.api:
            return ctx.engine("model")
        from ...backends.placement import mtbench_placement

        placement = mtbench_placement(cfg.mtbench, cfg.model.device_map)
        return ctx.engine("model", dtype=cfg.mtbench.dtype or _fastchat_default_dtype(), placement=placement)

    def warnings(self, cfg: RunConfig, workers: int) -> list[str]:
        """Neo's GPU keys where they cannot mean on this run what they meant on Neo."""
        if not enabled_languages(cfg):
            return []
        from ...backends.placement import gpu_key_notes

        return gpu_key_notes(cfg.mtbench, api=bool(cfg.model.api), workers=workers, device_map=cfg.model.device_map)

    def build(self, task: Task, scored: Sequence[Scored], cfg: RunConfig) -> Built:
        judge, language = cfg.mtbench.judge, task.name.removeprefix("mtbench_")
        return build_task_tables(
            task,
            language,
            scored,
            cfg.model_name,
            {"api": judge.api, "model": judge.model},
            checked=next((r.data["judge_check"] for r in scored if r.data.get("judge_check")), None),
        )

    def judge_check(self, language: str, ctx: RunContext, settings: JudgeSettings) -> dict[str, Any] | None:
        """What an earlier `judge-check` of this run's judge (same identity and settings, in the run's output
        directory) measured against GPT-4, carried in the scored records (so xdist workers hand it to the report)
        and shown beside the AVG. Looked up only where a judge-check folder exists."""
        if not any(ctx.run_dir.parent.glob("judge-check-*/")):
            return None
        from .judge_check import find_result

        identity = ctx.engine("judge").backend.identity()
        return find_result(ctx.run_dir.parent, identity, settings, language)

    def columns(self, task: Task, cfg: RunConfig) -> list[str]:
        return [*CATEGORIES, "AVG"]

    def samples(self, task: Task, tables: Mapping[str, Mapping[str, Any]]) -> list[Sample]:
        """One sample per judged (question, turn), its rating the mean of its readable judgments (-1: none could be
        read); a question (both turns) is what is resampled."""
        output = tables.get(output_table(task.name.removeprefix("mtbench_")), {"columns": [], "data": []})
        cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for row in (dict(zip(output["columns"], values)) for values in output["data"]):
            cells.setdefault((int(row["question_id"]), int(row["turn"])), []).append(row)
        out = []
        for (qid, turn), rows in cells.items():
            ratings = [float(r["score"]) for r in rows if r["score"] != NO_RATING]
            value = sum(ratings) / len(ratings) if ratings else -1.0
            first = rows[0]
            out.append(
                Sample(
                    str(first["category"]),
                    str(qid),
                    f"q{qid} turn {turn}",
                    "rating",
                    value,
                    not ratings,
                    str(first.get("answer", "")),
                    str(first.get("question", "")),
                    first,
                    {"rows": rows},
                )
            )
        return out

    def replicates(self, task: Task, samples: Sequence[Sample], *, b: int, seed: int) -> dict[str, np.ndarray]:
        from .intervals import mtbench_replicates

        rows = [{**row, "category": s.group} for s in samples for row in s.facts["rows"]]
        return mtbench_replicates(rows, b=b, seed=seed)

    def data_files(self, scored: Sequence[Scored], cfg: RunConfig) -> dict[str, Any]:
        """sha256 of each language's question, reference and judge prompt files."""
        from ...provenance import file_digests

        languages = sorted({r.task.removeprefix("mtbench_") for r in scored}, key=lambda lang: (lang != "ja", lang))
        return {lang: file_digests(self.data(lang, cfg).files) for lang in languages}

    def summary(self, built: Sequence[Built]) -> list[str]:
        return summary_lines(built)

    def counts(self, task: Task, samples: Sequence[Sample]) -> dict[str, str]:
        return counts(samples)

    def report(self, tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
        return samples_section(tasks)


def _fastchat_default_dtype() -> str:
    try:
        import torch
    except ImportError:
        return "float32"
    return "float16" if torch.cuda.is_available() else "float32"
