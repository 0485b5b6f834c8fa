"""One evaluation run inside one pytest process: config, run directory, stores, engine, jaster runner."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from .backends.base import Backend, BackendError
from .benchmark import module_group
from .config import ConfigError, RunConfig
from .data_source import resolve_dataset_dir, resolve_model_path
from .engine import Engine
from .store import CallStore, ResultStore
from .tasks.jaster.cases import JasterCase
from .tasks.jaster.data import DataError, JasterLayout
from .tasks.jaster.prompts import PromptTemplates, TemplateError
from .tasks.jaster.runner import JasterOptions, JasterRunner, SampleError


def safe_run_name(name: str) -> str:
    """A folder name from `wandb.run_name` (Neo's placeholder "your/WANDB/run_name" -> "your_WANDB_run_name")."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return cleaned or "run"


@dataclass
class NejumiSession:
    """Shared by every item of a process; the xdist controller uses only the config and the run directory."""

    cfg: RunConfig
    output_dir: Path
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    batch_per_module: bool = False  # xdist workers batch per module (modules are their unit of work)
    progress: Callable[[int, int], None] | None = None
    selected: dict[str, list[JasterCase]] = field(default_factory=lambda: defaultdict(list))

    def batch_key(self, item: pytest.Item) -> str:
        """Which items are generated together: the whole session's, or (under xdist) the module's."""
        return module_group(item) if self.batch_per_module else "session"

    @property
    def run_name(self) -> str:
        return self.cfg.wandb.run_name or self.cfg.model_name

    @property
    def run_dir(self) -> Path:
        return self.output_dir / safe_run_name(self.run_name)

    @cached_property
    def layout(self) -> JasterLayout:
        return JasterLayout(resolve_dataset_dir(self.cfg))

    @cached_property
    def model_path(self) -> str:
        return resolve_model_path(self.cfg)

    def make_backend(self) -> Backend:
        from .backends.hf import HFBackend, HFSettings

        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        m = self.cfg.model
        return HFBackend(
            HFSettings(
                path=self.model_path,
                dtype=self.cfg.llm_jp_eval.torch_dtype,
                device_map=m.device_map,
                trust_remote_code=m.trust_remote_code,
                load_in_8bit=m.load_in_8bit,
                load_in_4bit=m.load_in_4bit,
                batch_size=m.batch_size,
                threads=max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None,
            )
        )

    @cached_property
    def engine(self) -> Engine:
        if self.cfg.model.api:
            raise BackendError(
                f"model.api: {self.cfg.model.api!r} is not supported by this version yet; "
                "only local Hugging Face models (model.api: false) can be evaluated"
            )
        return Engine(self.make_backend(), CallStore(self.run_dir / "calls.sqlite"), progress=self.progress)

    @cached_property
    def results(self) -> ResultStore:
        return ResultStore(self.run_dir / "results.sqlite")

    @cached_property
    def jaster(self) -> JasterRunner:
        ev = self.cfg.llm_jp_eval
        options = JasterOptions(
            run_name=self.run_name,
            model_name=self.cfg.model_name,
            templates={
                "ja": PromptTemplates(ev.ja.custom_prompt_template, ev.ja.custom_fewshots_template),
                "en": PromptTemplates(ev.en.custom_prompt_template, ev.en.custom_fewshots_template),
            },
            add_special_tokens=ev.add_special_tokens,
            stop_at_blank_line=ev.stop_at_blank_line,
        )
        return JasterRunner(self.layout, self.engine, options)

    def run_jaster_case(self, case: JasterCase, item: pytest.Item) -> None:
        """Score one item; the first item of a batch (see `batch_key`) generates for all of the batch's items."""
        item.user_properties.append(("nejumi_task", case.setting.task))
        try:
            runner = self.jaster
            runner.prepare(self.selected.get(self.batch_key(item)) or [case])
            record = runner.score(case)
        except (SampleError, BackendError, ConfigError, DataError, TemplateError) as err:
            pytest.fail(f"{case.key}: {err}", pytrace=False)
        self.results.put(case.key, case.setting.task, record)
        item.user_properties.append(("nejumi", record))

    def meta(self, **extra: Any) -> dict[str, Any]:
        """What the leaderboard row was measured with."""
        from importlib.metadata import PackageNotFoundError, version

        versions = {}
        for pkg in ("nejumi", "torch", "transformers", "pytest"):
            try:
                versions[pkg] = version(pkg)
            except PackageNotFoundError:
                versions[pkg] = None
        return {
            "model_name": self.cfg.model_name,
            "model": self.cfg.model.pretrained_model_name_or_path,
            "run_name": self.run_name,
            "config_path": str(self.cfg.source_path),
            "config_hash": self.cfg.config_hash,
            "testmode": self.cfg.testmode,
            "jaster_add_special_tokens": self.cfg.llm_jp_eval.add_special_tokens,
            "versions": versions,
            "started_at": self.started_at,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **extra,
        }

    def close(self) -> None:
        for name in ("engine", "results"):
            if name in self.__dict__:
                self.__dict__[name].close()
