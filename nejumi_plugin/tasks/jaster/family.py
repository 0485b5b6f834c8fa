"""jaster (llm-jp-eval 1.2) as a benchmark family: its tasks are Neo's four, (ja, en) x (0-shot, few-shot)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...config import ConfigError, RunConfig
from ...family import Broken, Built, FamilyBase, RunContext, Sample, Scored, Task
from .cases import JasterSetting, enabled_settings, plan_cases
from .data import DataError, JasterLayout
from .data import Sample as Shot
from .datasets import CATEGORIES, DATASETS, expand_target, get_spec
from .metrics import DATASET_METRICS
from .names import output_table, settings_in, task_of
from .prompts import PromptTemplates, TemplateError, build_template, render
from .report import counts, samples_section, summary_lines
from .runner import JasterOptions, JasterRunner
from .samples import metrics_from_columns, samples_of
from .tables import build_task_tables

if TYPE_CHECKING:
    import numpy as np


_DUMMY = Shot("a {braced} input", "an output")  # few-shot inputs carry braces: they are escaped, never fields


class JasterFamily(FamilyBase):
    """Neo's jaster: one case per (dataset, shot setting, split, sample), one engine call per batch."""

    name = "jaster"
    title = "jaster"
    resampling = "test samples within each dataset"

    def __init__(self) -> None:
        self._layout: JasterLayout | None = None
        self._settings: dict[str, JasterSetting] = {}

    def _known(self, settings: Iterable[JasterSetting]) -> list[Task]:
        tasks = []
        for setting in settings:
            self._settings[setting.task] = setting
            tasks.append(task_of(setting))
        return tasks

    def tasks(self, cfg: RunConfig) -> list[Task]:
        ev, settings = cfg.llm_jp_eval, []
        for language, shots in (("ja", ev.ja_num_shots), ("en", ev.en_num_shots)):
            settings += [JasterSetting(language, n) for n in dict.fromkeys((0, shots))]
        return self._known(settings)

    def enabled(self, cfg: RunConfig) -> list[Task]:
        return self._known(enabled_settings(cfg))

    def found(self, tables: Iterable[str]) -> list[Task]:
        names = set(tables)
        return [t for t in self._known(settings_in(names)) if output_table(self._settings[t.name]) in names]

    def roles(self, cfg: RunConfig) -> set[str]:
        return {"model"} if enabled_settings(cfg) else set()

    def check(self, cfg: RunConfig) -> None:
        """`llm_jp_eval.target_dataset` names datasets jaster has, and every custom prompt and few-shot template
        formats once on a dummy sample, with and without few-shots."""
        ev = cfg.llm_jp_eval
        try:
            expand_target(ev.target_dataset)
        except ValueError as err:
            raise ConfigError(f"{cfg.source_path}: {err}") from None
        for language, shots in (("ja", ev.ja_num_shots), ("en", ev.en_num_shots)):
            side = ev.ja if language == "ja" else ev.en
            custom = PromptTemplates(side.custom_prompt_template, side.custom_fewshots_template)
            if custom == PromptTemplates():
                continue
            for n in sorted({0, max(1, shots)}):
                try:
                    template = build_template("an instruction", (_DUMMY,) * n, language, custom)
                    render(template, "an input", f"llm_jp_eval.{language}.custom_prompt_template")
                except TemplateError as err:
                    raise ConfigError(f"{cfg.source_path}: {err}") from None

    def layout(self, cfg: RunConfig) -> JasterLayout:
        if self._layout is None:
            from .sources import resolve_dataset_dir

            self._layout = JasterLayout(resolve_dataset_dir(cfg))
        return self._layout

    def cases(self, names: Sequence[str], ctx: RunContext) -> list[Any]:
        cases: list[Any] = []
        for name in names:
            try:
                cases += plan_cases((name,), ctx.cfg, self.layout(ctx.cfg))
            except (DataError, ConfigError, ValueError) as err:
                language = get_spec(name).language
                tasks = tuple(s.task for s in enabled_settings(ctx.cfg) if s.language == language)
                cases.append(Broken(self.name, name, str(err), tasks))
        return cases

    def runner(self, ctx: RunContext) -> JasterRunner:
        cfg, ev = ctx.cfg, ctx.cfg.llm_jp_eval
        thinking = ctx.reasoning("model")
        options = JasterOptions(
            run_name=ctx.run_name,
            model_name=cfg.model_name,
            templates={
                lang: PromptTemplates(side.custom_prompt_template, side.custom_fewshots_template)
                for lang, side in (("ja", ev.ja), ("en", ev.en))
            },
            add_special_tokens=ev.add_special_tokens,
            stop_at_blank_line=ev.stop_at_blank_line,
            max_tokens=cfg.model.reasoning.answer_tokens
            if thinking.on
            else (ev.api_max_tokens if cfg.model.api else None),
            thinking=thinking.thinking,
        )
        return JasterRunner(self.layout(cfg), ctx.engine("model", dtype=ev.torch_dtype), options)

    def build(self, task: Task, scored: Sequence[Scored], cfg: RunConfig) -> Built:
        return build_task_tables(task, self._settings[task.name], scored, cfg.model_name)

    def columns(self, task: Task, cfg: RunConfig) -> list[str]:
        setting = self._settings[task.name]
        selected = expand_target(cfg.llm_jp_eval.target_dataset)
        names = [n for n, spec in DATASETS.items() if n in selected and spec.language == setting.language]
        block = [f"{name}_{metric}" for name in names for metric in DATASET_METRICS]  # a file names its metrics
        return block + ([*CATEGORIES, "AVG"] if setting.language == "ja" else ["AVG"])

    def samples(self, task: Task, tables: Mapping[str, Mapping[str, Any]]) -> list[Sample]:
        setting = self._settings[task.name]
        output = tables.get(output_table(setting), {"columns": [], "data": []})
        rows = [dict(zip(output["columns"], row)) for row in output["data"]]
        board = tables.get(task.leaderboard, {"columns": []})
        return samples_of(rows, metrics_from_columns((r["target_dataset"] for r in rows), board["columns"]))

    def replicates(self, task: Task, samples: Sequence[Sample], *, b: int, seed: int) -> dict[str, np.ndarray]:
        from .intervals import jaster_replicates

        metrics = {s.group: s.facts["metrics"] for s in samples}
        return jaster_replicates([s.row for s in samples], self._settings[task.name].language, metrics, b=b, seed=seed)

    def data_files(self, scored: Sequence[Scored], cfg: RunConfig) -> dict[str, Any]:
        """sha256 of every split of each dataset the records scored."""
        from ...provenance import file_digests

        datasets = sorted({r.rows[0]["target_dataset"] for r in scored})
        layout = self.layout(cfg)
        return file_digests(
            {
                f"{split}/{name}.json": path
                for name in datasets
                for split in ("test", "dev", "train")
                if (path := layout.path(name, split)).exists()
            }
        )

    def summary(self, built: Sequence[Built]) -> list[str]:
        return summary_lines(built)

    def counts(self, task: Task, samples: Sequence[Sample]) -> dict[str, str]:
        return counts(samples)

    def report(self, tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
        return samples_section(tasks)
