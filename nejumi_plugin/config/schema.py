"""Pydantic models of a run config: Neo's ``configs/config_template.yaml`` key for key, plus our additions.

Field names are the YAML keys ("Config keys" in docs/scoring-jaster.md and docs/scoring-mtbench.md); every model
forbids unknown keys, is strict and frozen (see ``_base.Section``). The ``mtbench`` section lives in ``mtbench_schema``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from ..backends.registry import model_apis
from ._base import Section
from .dtypes import torch_dtype_name
from .mtbench_schema import (
    MtbenchConfig,
    MtbenchDatasetConfig,
    MtbenchDatasetLangConfig,
    MtbenchLangConfig,
    parse_roles,
    parse_token_ids,
)
from .providers import check_api, check_base_url, check_options
from .reasoning_schema import ReasoningConfig

__all__ = [
    "LlmJpEvalConfig",
    "LlmJpEvalLangConfig",
    "ModelConfig",
    "MtbenchConfig",
    "MtbenchDatasetConfig",
    "MtbenchDatasetLangConfig",
    "MtbenchLangConfig",
    "NewRunConfig",
    "OldRunConfig",
    "RunConfig",
    "Section",
    "WandbConfig",
    "parse_roles",
    "parse_token_ids",
]

TorchDtype = Literal["bf16", "fp16", "fp32", "bfloat16", "float16", "float32", "auto"]


class WandbConfig(Section):
    """``wandb``: where results are logged."""

    entity: str = "your/WANDB/entity"
    project: str = "your/WANDB/project"
    run_name: str = "your/WANDB/run_name"
    mode: Literal["online", "offline", "disabled"] = "online"  # new


class ModelConfig(Section):
    """``model``: a local Hugging Face model (``api: false``) or a hosted API."""

    api: Literal[False] | str = False  # a provider of `backends.registry` (Neo's names, Azure, any OpenAI server)
    use_wandb_artifacts: bool = True
    artifacts_path: str = ""
    pretrained_model_name_or_path: str | None = None
    device_map: str = "auto"
    load_in_8bit: bool = False
    load_in_4bit: bool = False
    trust_remote_code: bool = False  # new (Neo injected True)
    batch_size: int | Literal["auto"] = "auto"  # new: "auto" = the largest batch that fits (halved on OOM)
    prefix_reuse: bool = True  # new: prefill a prompt prefix that rows of a batch share once (same greedy tokens)
    # new: greedy decoding checks up to this many tokens per row and step, drafted by prompt lookup (0: one token
    # per step); the same greedy tokens
    prompt_lookup_tokens: int = Field(default=4, ge=0, le=64)
    # new, for model.api: the server (openai-compatible, a proxy, Azure's endpoint), the key's environment variable
    # (default: the provider's usual one), requests in flight, attempts per request, seconds per request
    base_url: str | None = None
    api_key_env: str | None = None
    api_version: str | None = None  # azure only; default: see backends.api_common.azure_api_version
    concurrency: int = Field(32, ge=1)
    max_retries: int = Field(16, ge=1)
    timeout_s: float = Field(600.0, gt=0)
    reasoning: ReasoningConfig = Field(default_factory=ReasoningConfig)  # new: reasoning models
    options: dict[str, Any] = Field(default_factory=dict)  # new: what the provider itself takes (`api: mock`'s rules)

    @field_validator("api", mode="before")
    @classmethod
    def _check_api(cls, value: Any) -> Any:
        if value == "anthoropic":  # Neo's template comment spells it so; Neo then ran the local path by mistake
            return "anthropic"
        if value is False:
            return value
        return check_api(value, model_apis(), "false (a local model) or one of ")

    @model_validator(mode="after")
    def _check_base_url(self) -> ModelConfig:
        check_base_url(self.api or None, self.base_url, "model.")
        return self

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return check_options(info.data.get("api") or None, value)

    @field_validator("batch_size", mode="before")
    @classmethod
    def _check_batch_size(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError("expected an integer >= 1 or 'auto'")

    @field_validator("load_in_4bit")
    @classmethod
    def _one_quantization(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("load_in_8bit"):
            raise ValueError(
                "expected false when model.load_in_8bit is true (8-bit and 4-bit loading exclude each other)"
            )
        return value


class LlmJpEvalLangConfig(Section):
    """``llm_jp_eval.{ja,en}``: optional prompt templates (docs/scoring-jaster.md, "Custom templates")."""

    custom_prompt_template: str | None = None
    custom_fewshots_template: str | None = None


class LlmJpEvalConfig(Section):
    """``llm_jp_eval``: the jaster tasks."""

    max_seq_length: int = Field(2048, gt=0)
    target_dataset: str | list[str] = "all"
    ja_num_shots: int = Field(4, ge=0)
    en_num_shots: int = Field(4, ge=0)
    torch_dtype: TorchDtype = "bf16"
    add_special_tokens: bool = False  # new
    stop_at_blank_line: bool = True  # new
    api_max_tokens: int | None = Field(None, ge=1)  # new: API models' max_tokens (null: the dataset's output_length)
    dataset_artifact: str | None = "wandb-japan/llm-leaderboard/jaster:v11"  # null: dataset_dir is local data
    dataset_dir: str = "/jaster/1.2.6/evaluation/test"
    ja: LlmJpEvalLangConfig = Field(default_factory=LlmJpEvalLangConfig)
    en: LlmJpEvalLangConfig = Field(default_factory=LlmJpEvalLangConfig)

    @field_validator("target_dataset", mode="before")
    @classmethod
    def _check_target(cls, value: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            return value
        raise ValueError('expected a dataset name ("all", a jaster dataset or "mmlu_en") or a non-empty list of them')

    @property
    def torch_dtype_name(self) -> str:
        """``torch_dtype`` spelled as a torch attribute name (``bf16`` -> ``bfloat16``), or ``auto``."""
        return torch_dtype_name(self.torch_dtype)


class NewRunConfig(Section):
    """``new_run``: the W&B run that only blends old runs (Neo's blend_run_configs)."""

    entity: str = "your/WANDB/entity"
    project: str = "your/WANDB/project"
    run_name: str = "your/WANDB/run_name"


class OldRunConfig(Section):
    """One ``old_runs`` entry: the tasks to take over from a past run (a W&B run path, or a run directory)."""

    run_path: str
    tasks: list[str]  # blend task names (`jaster_ja_0_shot`, `mtbench_ja`): checked against the families' tasks

    @field_validator("tasks", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value  # every task commented out in the YAML list

    @field_validator("run_path")
    @classmethod
    def _check_run_path(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('expected "entity/project/run_id" (W&B) or a run directory (outputs/<run>)')
        return value


class ReportConfig(Section):
    """``report`` (new): confidence intervals, `report.html` and the regression gate."""

    bootstrap_samples: int = Field(1000, ge=1)  # B of the 95 % bootstrap intervals in meta.intervals
    bootstrap_seed: int = 0
    html: bool = True  # write report.html and the radar PNGs into the run directory (and log them to W&B)
    fail_under: dict[str, float] = Field(default_factory=dict)  # e.g. {jnli: 0.55, AVG_jaster: 0.4}

    @field_validator("fail_under", mode="before")
    @classmethod
    def _check_bounds(cls, value: Any) -> Any:
        from ..gate import parse_bounds

        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of score names to lower bounds, e.g. {jnli: 0.55, AVG_jaster: 0.4}")
        return parse_bounds(value)


class RunConfig(Section):
    """A whole run config (the top level of ``configs/config.yaml``)."""

    testmode: bool = False
    model_name: str = "your modelname"
    wandb: WandbConfig = Field(default_factory=WandbConfig)
    run_llm_jp_eval_ja_0_shot: bool = True
    run_llm_jp_eval_ja_few_shots: bool = True
    run_llm_jp_eval_en_0_shot: bool = True
    run_llm_jp_eval_en_few_shots: bool = True
    run_mt_bench_ja: bool = True
    run_mt_bench_en: bool = True
    model: ModelConfig = Field(default_factory=ModelConfig)
    llm_jp_eval: LlmJpEvalConfig = Field(default_factory=LlmJpEvalConfig)
    mtbench: MtbenchConfig = Field(default_factory=MtbenchConfig)
    github_version: str = "g-eval-v1.0"
    run_chain: bool = False
    new_run: NewRunConfig | None = None
    old_runs: list[OldRunConfig] = Field(default_factory=list)
    report: ReportConfig = Field(default_factory=ReportConfig)  # new

    _source_path: Path | None = PrivateAttr(default=None)

    @field_validator("old_runs", mode="before")
    @classmethod
    def _no_old_runs(cls, value: Any) -> Any:
        return [] if value is None else value  # every entry commented out, as Neo's blend template invites

    @property
    def source_path(self) -> Path | None:
        """Resolved path of the file this config was loaded from (None if built in memory)."""
        return self._source_path

    @property
    def base_dir(self) -> Path:
        """Folder that relative data paths are resolved against: the config file's folder, else the cwd."""
        return self._source_path.parent if self._source_path else Path.cwd()

    def _set_source(self, path: Path) -> None:
        self._source_path = path

    def to_public_dict(self) -> dict[str, Any]:
        """The validated config as plain JSON data, for run metadata and W&B: the one place every copy of the config
        is scrubbed (`redact.redact_data`: credentials and query strings in URLs, values of credential keys)."""
        from ..redact import redact_data

        return redact_data(self.model_dump(mode="json"))

    @property
    def config_hash(self) -> str:
        """sha256 hex of the canonical JSON of ``to_public_dict()`` (sorted keys); independent of key order."""
        return _digest(self.to_public_dict())

    @property
    def scoring_hash(self) -> str:
        """The digest of what decides a sample's score: the config less the keys that only say how fast, where to,
        which tasks or how to report (`SCORE_NEUTRAL`). The run directory's scores are kept under it, so a later,
        narrower invocation (`-k jnli --set model.concurrency=4`) keeps every earlier score in the row, and one that
        changes the model, the prompts or the data starts the row afresh."""
        public = self.to_public_dict()
        for path in SCORE_NEUTRAL:
            *parents, leaf = path.split(".")
            section = public
            for parent in parents:
                section = section.get(parent) or {}
            section.pop(leaf, None)
        return _digest({key: value for key, value in public.items() if not key.startswith(TASK_SWITCH)})


TASK_SWITCH = ("run_llm_jp_eval_", "run_mt_bench_")  # which tasks run: a task switched off is not in the row anyway
SCORE_NEUTRAL = (
    # where the results go and how they are reported, gated and blended
    "wandb",
    "report",
    "run_chain",
    "new_run",
    "old_runs",
    "github_version",
    # how fast and how persistently the same requests are sent (the answers are keyed by request in calls.sqlite)
    "model.batch_size",
    "model.prefix_reuse",
    "model.prompt_lookup_tokens",
    "model.concurrency",
    "model.max_retries",
    "model.timeout_s",
    "model.api_key_env",
    "mtbench.parallel",
    "mtbench.num_gpus_total",
    "mtbench.judge.max_retries",
    "mtbench.judge.timeout_s",
    "mtbench.judge.api_key_env",
)


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
