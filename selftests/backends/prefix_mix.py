"""The harness's own jaster requests for every dataset of a data folder: test and dev items as in test mode, 0- and
4-shot — the prompts the e2e tests send, to compare decoding with and without shared prefixes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from nejumi_plugin.backends.base import GenerationRequest
from nejumi_plugin.tasks.jaster.cases import JasterCase, JasterSetting
from nejumi_plugin.tasks.jaster.data import JasterLayout
from nejumi_plugin.tasks.jaster.datasets import get_spec
from nejumi_plugin.tasks.jaster.runner import JasterOptions, JasterRunner


def jaster_requests(
    test_dir: Path, shots: tuple[int, ...] = (0, 4), languages: tuple[str, ...] = ("ja", "en")
) -> list[GenerationRequest]:
    layout = JasterLayout(test_dir)
    runner = JasterRunner(layout, cast(Any, None), JasterOptions("run", "model", {}))  # request() needs no engine
    requests = []
    for path in sorted(test_dir.glob("*.json")):
        try:
            spec = get_spec(path.stem)
        except KeyError:  # e.g. mmluen.json, the subjects in one file (Neo reads the per-subject ones)
            continue
        if spec.language not in languages:
            continue
        for n in shots:
            for split in ("test", "dev"):
                count = min(spec.max_samples(split, True), len(layout.load(spec.name, split).samples))
                for i in range(count):
                    requests.append(runner.request(JasterCase(spec.name, JasterSetting(spec.language, n), split, i)))
    return requests


def jaster_prompts(test_dir: Path, **which: Any) -> tuple[list[str], list[int]]:
    requests = jaster_requests(test_dir, **which)
    return [r.prompt for r in requests], [r.max_new_tokens for r in requests]
