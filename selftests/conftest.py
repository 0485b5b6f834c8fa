"""Shared fixtures: a tiny random model and a shortened copy of the vendored jaster excerpt."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e import write_config
from tiny_model import build_tiny_model

REPO = Path(__file__).resolve().parent.parent
DEMO_DATA = REPO / "nejumi_plugin" / "demo_data" / "jaster"
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama saved with save_pretrained and loaded back the way users' models are."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_jaster_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vendored excerpt with inputs cut to their first and last 20 characters and outputs capped at 6 tokens.

    It keeps every dataset, split, metric and gold answer, so the whole harness runs (tables, AVG, radar), but a
    random model on a 2-core CPU gets through it in seconds. It tests flow and bookkeeping, never accuracy.
    """
    root = tmp_path_factory.mktemp("jaster") / "jaster"
    shutil.copytree(DEMO_DATA, root)
    for path in root.rglob("*.json"):
        path.chmod(0o644)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["output_length"] = min(data["output_length"], 6)
        for sample in data["samples"]:
            text = sample["input"]
            sample["input"] = text if len(text) <= 40 else text[:20] + text[-20:]
        path.write_text(json.dumps(data, ensure_ascii=False, indent=4), encoding="utf-8")
    return root / "1.2.6" / "evaluation" / "test"


@pytest.fixture
def make_config(tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Callable[..., Path]:
    """Write a run config for the tiny model; keyword arguments override top-level sections (merged one level)."""

    def make(name: str = "config.yaml", **overrides: Any) -> Path:
        return write_config(tmp_path / name, tiny_model_dir, tiny_jaster_dir, **overrides)

    return make


from openai_server import openai_server  # noqa: F401  (a real OpenAI-compatible server)
