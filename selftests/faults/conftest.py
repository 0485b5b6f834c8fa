"""The fault catalogue's fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_runs import Runs


@pytest.fixture
def runs(tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Runs:
    return Runs(tmp_path, tiny_model_dir, tiny_jaster_dir)


@pytest.fixture(scope="module")
def module_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Runs:
    """As `runs`, shared by a module's tests (for a baseline run they all compare with)."""
    return Runs(tmp_path_factory.mktemp("runs"), tiny_model_dir, tiny_jaster_dir)
