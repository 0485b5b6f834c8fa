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
