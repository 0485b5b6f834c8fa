"""Loading the plugin in a session that evaluates nothing (`pytest --co`, `pytest selftests`) costs nothing heavy:
measured in a fresh interpreter against the same session without the plugin, so what other plugins import does
not count against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "numpy",
    "scipy",
    "rapidfuzz",
    "torch",
    "transformers",
    "openai",
    "anthropic",
    "cohere",
    "google.genai",
    "pydantic",
    "yaml",
    "wandb",
    "matplotlib",
)
CHILD = """
import json, sys
import pytest
code = pytest.main(sys.argv[1:])
print(json.dumps({"code": int(code), "plugin": "nejumi_plugin.plugin" in sys.modules,
                  "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def collect_only(where: Path, *args: str) -> dict[str, object]:
    code = f"HEAVY = {HEAVY!r}\n{CHILD}"
    out = subprocess.run(
        [sys.executable, "-c", code, "--co", "-q", "-p", "no:cacheprovider", *args, str(where)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=where,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_collect_only_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    loaded, without = collect_only(tmp_path), collect_only(tmp_path, "-p", "no:nejumi_plugin.plugin")
    assert loaded["code"] == without["code"] == 0
    assert loaded["plugin"] is True and without["plugin"] is False
    assert set(loaded["heavy"]) <= set(without["heavy"]), loaded["heavy"]  # type: ignore[arg-type]


def test_collecting_the_benchmarks_loads_the_config_and_no_model_library_numpy_or_metric(tmp_path: Path) -> None:
    """`pytest benchmarks --co --model-config demo.yaml` plans every item: it reads the config (pydantic, yaml) and the
    data, and needs no torch, SDK, numpy, scipy or rapidfuzz (those come with answering and scoring)."""
    repo = Path(__file__).resolve().parent.parent
    config = repo / "configs" / "demo.yaml"
    collected = collect_only(repo / "benchmarks", "--model-config", str(config), "--output-dir", str(tmp_path))
    assert collected["code"] == 0 and collected["plugin"] is True
    assert set(collected["heavy"]) <= {"pydantic", "yaml"}, collected["heavy"]  # type: ignore[arg-type]
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # collecting writes nothing
