"""Which backend serves a run's model and its MT-Bench judge, from the config."""

from __future__ import annotations

import importlib
import os

from ..config import ConfigError, RunConfig
from .api_common import ApiSettings
from .base import Backend
from .hf import HFBackend, HFSettings

# provider -> (module, class); each module imports its SDK lazily
API_BACKENDS = {
    "openai": ("openai_api", "OpenAIBackend"),
    "azure": ("openai_api", "OpenAIBackend"),
    "openai_compatible": ("openai_api", "OpenAIBackend"),
    "anthropic": ("anthropic_api", "AnthropicBackend"),
    "google": ("gemini_api", "GeminiBackend"),
    "cohere": ("cohere_api", "CohereBackend"),
}
# model.api (Neo's names and ours) -> provider
MODEL_PROVIDERS = {
    "openai": "openai", "azure": "azure", "openai-compatible": "openai_compatible", "vllm": "openai_compatible",
    "anthropic": "anthropic", "google": "google", "cohere": "cohere",
}  # fmt: skip


def api_backend(settings: ApiSettings) -> Backend:
    """The backend of `settings.provider`."""
    module, name = API_BACKENDS[settings.provider]
    cls = getattr(importlib.import_module(f".{module}", __package__), name)
    return cls(settings)


def _threads() -> int | None:
    """Torch CPU threads per xdist worker, so that workers do not oversubscribe the cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None


def _gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def worker_device_map(device_map: str | None) -> str | None:
    """Under `pytest -n N` on a machine with several GPUs, each worker puts its model on its own GPU (gw0 on
    cuda:0, gw1 on cuda:1, … wrapping around) instead of every worker spreading its copy over all of them.
    Only `device_map: auto` is changed; outside xdist, or with one GPU, it is kept."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if device_map != "auto" or not worker.startswith("gw") or not worker[2:].isdigit():
        return device_map
    gpus = _gpu_count()
    return f"cuda:{int(worker[2:]) % gpus}" if gpus > 1 else device_map


def hf_settings(cfg: RunConfig, path: str, dtype: str) -> HFSettings:
    m = cfg.model
    return HFSettings(
        path=path,
        dtype=dtype,
        device_map=worker_device_map(m.device_map),
        trust_remote_code=m.trust_remote_code,
        load_in_8bit=m.load_in_8bit,
        load_in_4bit=m.load_in_4bit,
        batch_size=m.batch_size,
        threads=_threads(),
        prefix_reuse=m.prefix_reuse,
    )


def model_backend(cfg: RunConfig, model_path: str) -> Backend:
    """The evaluated model: a local Hugging Face model, or a hosted API / OpenAI-compatible server (`model.api`)."""
    m = cfg.model
    if not m.api:
        return HFBackend(hf_settings(cfg, model_path, cfg.llm_jp_eval.torch_dtype))
    if m.api not in MODEL_PROVIDERS:
        raise ConfigError(
            f"{cfg.source_path}: model.api: {m.api!r} is not supported (Neo's LangChain paths for Mistral and Bedrock "
            f"were not carried over); use one of {', '.join(MODEL_PROVIDERS)}"
        )
    if not m.pretrained_model_name_or_path:
        raise ConfigError(f"{cfg.source_path}: model.pretrained_model_name_or_path: the API model's name is required")
    return api_backend(ApiSettings(
        model=m.pretrained_model_name_or_path, provider=MODEL_PROVIDERS[m.api], base_url=m.base_url,
        api_key_env=m.api_key_env, concurrency=m.concurrency, max_retries=m.max_retries, timeout_s=m.timeout_s,
    ))  # fmt: skip


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
    provider = "azure" if judge.api == "openai" and cfg.mtbench.use_azure else judge.api
    return api_backend(ApiSettings(
        model=judge.model, provider=provider, base_url=judge.base_url, api_key_env=judge.api_key_env,
        concurrency=cfg.mtbench.parallel, max_retries=judge.max_retries,
    ))  # fmt: skip


def _same_weights(a: HFSettings, b: HFSettings) -> bool:
    names = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
    return a.path == b.path and names.get(a.dtype, a.dtype) == names.get(b.dtype, b.dtype)
