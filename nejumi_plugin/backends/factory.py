"""Which backend serves a run's model and its MT-Bench judge, from the config."""

from __future__ import annotations

import os
from typing import Any

from ..config import ConfigError, RunConfig
from .base import Backend
from .hf import HFBackend, HFSettings

OPENAI_PROVIDERS = ("openai", "azure", "openai_compatible")


def _threads() -> int | None:
    """Torch CPU threads per xdist worker, so that workers do not oversubscribe the cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None


def hf_settings(cfg: RunConfig, path: str, dtype: str) -> HFSettings:
    m = cfg.model
    return HFSettings(
        path=path,
        dtype=dtype,
        device_map=m.device_map,
        trust_remote_code=m.trust_remote_code,
        load_in_8bit=m.load_in_8bit,
        load_in_4bit=m.load_in_4bit,
        batch_size=m.batch_size,
        threads=_threads(),
    )


def model_backend(cfg: RunConfig, model_path: str) -> Backend:
    """The evaluated model: a local Hugging Face model (API providers arrive with the API backends)."""
    if cfg.model.api:
        raise ConfigError(
            f"{cfg.source_path}: model.api: {cfg.model.api!r} is not supported by this version yet; "
            "only local Hugging Face models (model.api: false) can be evaluated"
        )
    return HFBackend(hf_settings(cfg, model_path, cfg.llm_jp_eval.torch_dtype))


def mtbench_backend(cfg: RunConfig, model_path: str, jaster: Backend | None = None) -> Backend:
    """The evaluated model as MT-Bench loads it: in `mtbench.dtype` (Neo loads it anew for MT-Bench; null is
    FastChat's default, float16 on a GPU and float32 on a CPU). The jaster backend serves when the weights agree."""
    dtype = cfg.mtbench.dtype or _fastchat_default_dtype()
    settings = hf_settings(cfg, model_path, dtype)
    if isinstance(jaster, HFBackend) and _same_weights(jaster.settings, settings):
        return jaster
    return HFBackend(settings)


def _fastchat_default_dtype() -> str:
    try:
        import torch
    except ImportError:
        return "float32"
    return "float16" if torch.cuda.is_available() else "float32"


def judge_backend(cfg: RunConfig, judge_path: str, loaded: tuple[Backend, ...] = ()) -> Backend:
    """The MT-Bench judge (`mtbench.judge`); `mtbench.use_azure` turns OpenAI into Azure OpenAI. A local judge
    that is an already `loaded` model (same folder and dtype) shares its backend: one copy in memory."""
    judge = cfg.mtbench.judge
    if judge.api == "hf":
        settings = hf_settings(cfg, judge_path, judge.dtype)
        for backend in loaded:
            if isinstance(backend, HFBackend) and _same_weights(backend.settings, settings):
                return backend
        return HFBackend(settings)
    from .openai_api import OpenAIBackend, OpenAISettings

    provider: Any = "azure" if judge.api == "openai" and cfg.mtbench.use_azure else judge.api
    return OpenAIBackend(
        OpenAISettings(
            model=judge.model,
            provider=provider,
            base_url=judge.base_url,
            api_key_env=judge.api_key_env,
            concurrency=cfg.mtbench.parallel,
            max_retries=judge.max_retries,
        )
    )


def _same_weights(a: HFSettings, b: HFSettings) -> bool:
    names = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
    return a.path == b.path and names.get(a.dtype, a.dtype) == names.get(b.dtype, b.dtype)
