"""Where MT-Bench's files are: each language's questions, reference answers and judge prompts, each a local folder
or a W&B artifact (Neo's `mtbench.dataset.<lang>.*_artifacts_path` keys)."""

from __future__ import annotations

from pathlib import Path

from ...config import RunConfig
from ...data_source import local_or_artifact

MTBENCH_FILES = ("questions", "references", "judge_prompts")


def mtbench_sources(cfg: RunConfig, language: str) -> dict[str, tuple[str, str]]:
    """`{"questions"|"references"|"judge_prompts": (config key, value)}` for one language: the small sets in test
    mode, as Neo does (the judge prompts are the same in both)."""
    ds = cfg.mtbench.dataset.ja if language == "ja" else cfg.mtbench.dataset.en
    prefix = f"mtbench.dataset.{language}."
    q = "test_question_artifacts_path" if cfg.testmode else "question_artifacts_path"
    r = "test_referenceanswer_artifacts_path" if cfg.testmode else "referenceanswer_artifacts_path"
    names = dict(zip(MTBENCH_FILES, (q, r, "judge_prompt_artifacts_path")))
    return {what: (prefix + name, getattr(ds, name)) for what, name in names.items()}


def resolve_mtbench_dirs(cfg: RunConfig, language: str) -> tuple[dict[str, Path], dict[str, str]]:
    """The folders holding one language's questions, references and judge prompts, and the keys that named them."""
    sources = mtbench_sources(cfg, language)
    folders = {what: local_or_artifact(cfg, value, key) for what, (key, value) in sources.items()}
    return folders, {what: f"{cfg.source_path}: {key}" for what, (key, _) in sources.items()}
