"""What can be checked without the model is checked when the run starts, before anything is paid for: a mistake
found here costs nothing, one found after the last item costs the whole run."""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping, Sequence

from .metrics import DATASET_METRICS
from .blend import TASKS, BlendRequest, run_task
from .config import ConfigError, RunConfig
from .data_source import wandb_mode
from .gate import matching_columns
from .tasks.jaster.cases import enabled_settings
from .tasks.jaster.data import Sample
from .tasks.jaster.datasets import CATEGORIES, DATASETS, expand_target
from .tasks.jaster.prompts import PromptTemplates, TemplateError, build_template, render
from .tasks.mtbench.cases import enabled_languages
from .tasks.mtbench.data import CATEGORIES as MTBENCH_CATEGORIES

_DUMMY = Sample("a {braced} input", "an output")  # few-shot inputs carry braces: they are escaped, never fields


def check_templates(cfg: RunConfig) -> None:
    """Format every custom prompt and few-shot template once, on a dummy sample, with and without few-shots."""
    ev = cfg.llm_jp_eval
    for language, shots in (("ja", ev.ja_num_shots), ("en", ev.en_num_shots)):
        section = ev.ja if language == "ja" else ev.en
        custom = PromptTemplates(section.custom_prompt_template, section.custom_fewshots_template)
        if custom == PromptTemplates():
            continue
        for n in sorted({0, max(1, shots)}):
            try:
                template = build_template("an instruction", (_DUMMY,) * n, language, custom)
                render(template, "an input", f"llm_jp_eval.{language}.custom_prompt_template")
            except TemplateError as err:
                raise ConfigError(f"{cfg.source_path}: {err}") from None


ANTHROPIC_MIN_THINKING = 1024  # the Messages API refuses a smaller thinking budget


def check_reasoning(cfg: RunConfig) -> None:
    """A thinking budget the provider would refuse on every request is said now."""
    blocks = (("model.reasoning", cfg.model.api, cfg.model.reasoning),
              ("mtbench.judge.reasoning", cfg.mtbench.judge.api, cfg.mtbench.judge.reasoning))  # fmt: skip
    for key, api, block in blocks:
        if api == "anthropic" and block.mode == "on" and block.budget_tokens < ANTHROPIC_MIN_THINKING:
            raise ConfigError(f"{cfg.source_path}: {key}.budget_tokens: Anthropic's extended thinking takes at least "
                              f"{ANTHROPIC_MIN_THINKING} tokens (got {block.budget_tokens})")  # fmt: skip


def check_wandb(cfg: RunConfig) -> None:
    """A run that is to be logged to W&B needs wandb installed (else it would end unlogged, after all its items)."""
    mode = wandb_mode(cfg)
    if mode != "disabled" and importlib.util.find_spec("wandb") is None:
        raise ConfigError(f"{cfg.source_path}: wandb.mode: {mode}, but wandb is not installed: pip install "
                          "'nejumi[wandb]', or set wandb.mode: disabled (or WANDB_MODE=disabled)")  # fmt: skip


def _jaster_columns(cfg: RunConfig) -> list[str]:
    selected = expand_target(cfg.llm_jp_eval.target_dataset)
    columns = []
    for setting in enabled_settings(cfg):
        names = [name for name, spec in DATASETS.items() if name in selected and spec.language == setting.language]
        block = [f"{name}_{metric}" for name in names for metric in DATASET_METRICS]  # a file names its metrics
        block += [*CATEGORIES, "AVG"] if setting.language == "ja" else ["AVG"]
        columns += [f"{column}_jaster_{setting.suffix}" for column in block]
    return columns


def _mtbench_columns(language: str) -> list[str]:
    return [f"{column}_MTbench_{language}" for column in (*MTBENCH_CATEGORIES, "AVG")]


def _blend_columns(cfg: RunConfig, requests: Sequence[BlendRequest]) -> list[str]:
    """Every column a blended task may bring (Neo renames model_name too)."""
    evaluated = {s.task for s in enabled_settings(cfg)} | {f"mtbench_{lang}" for lang in enabled_languages(cfg)}
    tasks = {t for r in requests for t in (r.tasks or TASKS) if run_task(t) not in evaluated}
    columns = []
    for task in sorted(tasks):
        if task.startswith("mtbench_"):
            language = task.removeprefix("mtbench_")
            columns += [*_mtbench_columns(language), f"model_name_MTbench_{language}"]
        else:
            _, language, shots, _ = task.split("_")
            suffix = f"jaster_{language}_{shots}shot"
            names = [n for n, spec in DATASETS.items() if spec.language == language]
            block = [f"{n}_{m}" for n in names for m in DATASET_METRICS] + [*CATEGORIES, "AVG", "model_name"]
            columns += [f"{column}_{suffix}" for column in block]
    return columns


def reachable_columns(cfg: RunConfig, requests: Sequence[BlendRequest] = ()) -> list[str]:
    """Every leaderboard column the tasks this config switches on (and the blends it asks for) can produce."""
    columns = _jaster_columns(cfg)
    for language in enabled_languages(cfg):
        columns += _mtbench_columns(language)
    return columns + _blend_columns(cfg, requests)


def check_bounds(cfg: RunConfig, bounds: Mapping[str, float], requests: Sequence[BlendRequest] = ()) -> None:
    """A `--fail-under` key that no column of this run can match is a typo: said now, not after the run."""
    columns = reachable_columns(cfg, requests)
    for key in bounds:
        if not matching_columns(key, columns):
            names = {"_".join(c.split("_")[:n]) for c in columns for n in range(1, c.count("_") + 2)}  # as keys go
            close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"--fail-under / report.fail_under: {key!r} matches no score of the tasks this run "
                              f"evaluates or blends{hint}")  # fmt: skip
