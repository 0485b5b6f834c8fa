"""Which backend serves a run's model and its MT-Bench judge, from the config."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..config import ConfigError, RunConfig
from ..config.dtypes import torch_dtype_name
from ..reasoning import decide
from .api_common import ApiSettings, azure_api_version
from .base import Backend
from .hf import HFBackend, HFSettings
from .placement import Placement, worker_count, worker_device_map
from .registry import LOCAL_JUDGE, NEO_ONLY, provider, providers


def api_backend(settings: ApiSettings) -> Backend:
    """The backend of `settings.provider` (its SDK imported now)."""
    return provider(settings.provider).build(settings)


def _threads() -> int | None:
    """Torch CPU threads per xdist worker, so that workers do not oversubscribe the cores."""
    workers = worker_count()
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None


def hf_settings(cfg: RunConfig, path: str, dtype: str, placement: Placement | None = None) -> HFSettings:
    m = cfg.model
    where = placement or Placement(worker_device_map(m.device_map))
    return HFSettings(
        path=path,
        dtype=dtype,
        device_map=where.device_map,
        max_memory=where.max_memory,
        trust_remote_code=m.trust_remote_code,
        load_in_8bit=m.load_in_8bit,
        load_in_4bit=m.load_in_4bit,
        batch_size=m.batch_size,
        threads=_threads(),
        prefix_reuse=m.prefix_reuse,
        prompt_lookup_tokens=m.prompt_lookup_tokens,
    )


def model_backend(
    cfg: RunConfig,
    model_path: str,
    *,
    dtype: str | None = None,
    placement: Placement | None = None,
    loaded: Sequence[Backend] = (),
) -> Backend:
    """The evaluated model: a local Hugging Face model — in `dtype` (default `llm_jp_eval.torch_dtype`) at
    `placement` (default: `model.device_map`, one GPU per xdist worker), the `loaded` backend where one already holds
    the same weights in the same place — or a hosted API / OpenAI-compatible server (`model.api`)."""
    m = cfg.model
    if not m.api:
        settings = hf_settings(cfg, model_path, dtype or cfg.llm_jp_eval.torch_dtype, placement)
        return next(
            (b for b in loaded if isinstance(b, HFBackend) and _same_weights(b.settings, settings)), None
        ) or HFBackend(settings)
    if m.api in NEO_ONLY:
        raise ConfigError(
            f"{cfg.source_path}: model.api: {m.api!r} is not supported (Neo's LangChain paths for Mistral and Bedrock "
            f"were not carried over); use one of {', '.join(providers())}"
        )
    if not m.pretrained_model_name_or_path:
        raise ConfigError(f"{cfg.source_path}: model.pretrained_model_name_or_path: the API model's name is required")
    name = provider(m.api).name
    thinking = decide(m.reasoning, name, m.pretrained_model_name_or_path).on
    return api_backend(
        ApiSettings(
            model=m.pretrained_model_name_or_path,
            provider=name,
            base_url=m.base_url,
            api_key_env=m.api_key_env,
            api_version=azure_api_version(m.api_version, thinking),
            concurrency=m.concurrency,
            max_retries=m.max_retries,
            timeout_s=m.timeout_s,
            options=m.options,
        )
    )


def judge_backend(cfg: RunConfig, judge_path: str, loaded: Sequence[Backend] = ()) -> Backend:
    """The MT-Bench judge (`mtbench.judge`); `mtbench.use_azure` turns OpenAI into Azure OpenAI. A local judge
    that is an already `loaded` model (same folder and dtype) shares its backend: one copy in memory."""
    judge = cfg.mtbench.judge
    if judge.api == LOCAL_JUDGE:
        settings = hf_settings(cfg, judge_path, judge.dtype)
        for backend in loaded:
            if isinstance(backend, HFBackend) and _same_weights(backend.settings, settings):
                return backend
        return HFBackend(settings)
    name = "azure" if judge.api == "openai" and cfg.mtbench.use_azure else judge.api
    return api_backend(
        ApiSettings(
            model=judge.model,
            provider=name,
            base_url=judge.base_url,
            api_key_env=judge.api_key_env,
            api_version=azure_api_version(judge.api_version, decide(judge.reasoning, name, judge.model).on),
            concurrency=cfg.mtbench.parallel,
            max_retries=judge.max_retries,
            timeout_s=judge.timeout_s,
            options=judge.options,
        )
    )


def _same_weights(a: HFSettings, b: HFSettings) -> bool:
    """Whether one loaded copy serves both: the same folder, dtype and place."""
    same_place = (a.device_map, a.max_memory) == (b.device_map, b.max_memory)
    return a.path == b.path and torch_dtype_name(a.dtype) == torch_dtype_name(b.dtype) and same_place
