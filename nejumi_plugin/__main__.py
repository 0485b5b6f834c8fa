"""`python -m nejumi_plugin compare RUN_A RUN_B`, `python -m nejumi_plugin report RUN_DIR` and
`python -m nejumi_plugin judge-check --model-config CFG` (docs/judge-check.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .aggregate.intervals import DEFAULT_B, DEFAULT_LEVEL, DEFAULT_SEED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nejumi_plugin", description="nejumi run directories")
    commands = parser.add_subparsers(dest="command", required=True)
    cmp = commands.add_parser("compare", help="score differences between two runs, and the samples that changed")
    cmp.add_argument("run_a", type=Path, help="run directory A (holds leaderboard.json and tables/)")
    cmp.add_argument("run_b", type=Path, help="run directory B")
    report = commands.add_parser("report", help="write report.html and the radar PNGs into a run directory")
    report.add_argument("run_dir", type=Path)
    for sub in (cmp, report):
        sub.add_argument("--b", type=int, default=DEFAULT_B, help=f"bootstrap resamples (default {DEFAULT_B})")
        sub.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"bootstrap seed (default {DEFAULT_SEED})")
        sub.add_argument("--level", type=float, default=DEFAULT_LEVEL, help="interval level (default 0.95)")
    cmp.add_argument("--full", action="store_true", help="print predictions in full (default: 200 characters)")
    cmp.add_argument("--max-samples", type=int, default=None, help="list at most this many changed samples")
    check = commands.add_parser("judge-check", help="rate the calibration set with the config's judge, vs GPT-4")
    check.add_argument("--model-config", type=Path, required=True, help="the run's config (mtbench.judge)")
    check.add_argument("--lang", default=None, help="ja or en (default: both)")
    check.add_argument("--limit", type=int, default=None, help="the first N items per language (balanced)")
    check.add_argument("--output-dir", type=Path, default=Path("outputs"), help="default outputs/")
    check.add_argument("--prompts", default="run", help="run: the run's judge prompts (default); recorded: GPT-4's")
    check.add_argument("--b", type=int, default=2000, help="bootstrap resamples of the bias (default 2000)")
    check.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"bootstrap seed (default {DEFAULT_SEED})")
    check.add_argument("--level", type=float, default=DEFAULT_LEVEL, help="interval level (default 0.95)")
    return parser


def judge_check(args: argparse.Namespace) -> int:
    """Exit 0, or 1 when some judgments failed (the rest are stored: a rerun asks only for those)."""
    from .config import ConfigError, load_config
    from .store import StoreError
    from .tasks.mtbench.data import MtbenchDataError
    from .tasks.mtbench.judge_check import JudgeCheckError, parse_languages, run, table

    try:
        languages = parse_languages(args.lang)
        result, folder = run(
            load_config(args.model_config),
            args.output_dir,
            languages=languages,
            limit=args.limit,
            prompts=args.prompts,
            seed=args.seed,
            resamples=args.b,
            level=args.level,
        )
    except (JudgeCheckError, ConfigError, MtbenchDataError, StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    judge = result.identity.get("model", "?")
    print(f"judge check: {judge} ({result.prompts} prompts), {len(result.checked)} calibration items")
    print(f"judge calls: {result.made} made, {result.stored} from {folder / 'calls.sqlite'}")
    print(table(result))
    print(f"\nwrote {folder / 'judge-check.json'}\nwrote {folder / 'judge-check.html'}")
    if result.failed:
        print(f"error: {len(result.failed)} item(s) could not be judged; rerun to retry them", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "judge-check" and args.b >= 1 and 0 < args.level < 1:
        return judge_check(args)
    if args.b < 1 or not 0 < args.level < 1:
        print("error: --b must be at least 1 and --level between 0 and 1", file=sys.stderr)
        return 2
    try:
        if args.command == "compare":
            from .compare import compare_runs, format_comparison

            result = compare_runs(args.run_a, args.run_b, b=args.b, seed=args.seed, level=args.level)
            print(format_comparison(result, max_chars=None if args.full else 200, max_samples=args.max_samples))
        else:
            from .registry import installed_families
            from .sinks.html_report import write_report

            for path in write_report(args.run_dir, installed_families(), b=args.b, seed=args.seed, level=args.level):
                print(path)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
