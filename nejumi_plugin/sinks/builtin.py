"""The built-in sinks, called through the `pytest_nejumi_sink` hook like a team's own: the report page (first, so
the sinks after it can take its files) and W&B (last)."""

from __future__ import annotations

import pytest

from ..outcome import FinishedRun


class ReportPage:
    """`report.html` and the radar PNGs in the run directory (`report.html: false` turns it off)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_nejumi_sink(self, run: FinishedRun) -> None:
        if not run.cfg.report.html or not run.tables:
            return
        from .html_report import write_report

        paths = write_report(
            run.run_dir, run.families, b=run.cfg.report.bootstrap_samples, seed=run.cfg.report.bootstrap_seed
        )
        run.media[:] = paths
        run.say(f"report: {paths[0]}")


class Wandb:
    """The run in W&B (online, or offline to `wandb sync` later); disabled by `wandb.mode: disabled`."""

    @pytest.hookimpl(trylast=True)
    def pytest_nejumi_sink(self, run: FinishedRun) -> None:
        from .wandb_sink import log_run

        log_run(run.cfg, run.run_dir, run.tables, run.row, run.target, run.say, run.media)
