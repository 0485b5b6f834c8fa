"""Register evaluation data on W&B as dataset artifacts (`python -m nejumi_plugin.upload --help`), as Neo's
maintainers did before a season. Files are checked with the project's loaders first: a broken one is refused (exit 2)
and nothing is logged. jaster lands at `jaster/<version>/evaluation/{train,dev,test}/`, so Neo's
`dataset_dir: "/jaster/1.2.6/evaluation/test"` resolves inside it; an MT-Bench file lands at the artifact's root.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from .data_source import WandbMode
from .tasks.jaster.data import DataError, load_file
from .tasks.mtbench.data import (
    JUDGE_PROMPTS,
    OUTPUT_FORMATS,
    MtbenchDataError,
    find_file,
    load_judge_prompts,
    load_questions,
    load_references,
)


class UploadError(Exception):
    """The data or the command line cannot be uploaded; the message says why."""


def _load_prompts(path: Path) -> object:
    """`load_judge_prompts`, plus the checks `load_mtbench` makes: all four single-mode prompts, judgeable."""
    prompts = load_judge_prompts(path)
    missing = [n for n in JUDGE_PROMPTS if n not in prompts]
    bad = [p.name for p in prompts.values() if p.output_format not in OUTPUT_FORMATS or p.type != "single"]
    problems = [f"missing judge prompt(s) {', '.join(missing)}"] if missing else []
    problems += (
        [f"judge prompt(s) {', '.join(bad)} not of type 'single' with output_format {' or '.join(OUTPUT_FORMATS)}"]
        if bad
        else []
    )
    if problems:
        raise MtbenchDataError(f"{path}: {'; '.join(problems)} (Neo's single-mode judging needs all four)")
    return prompts


# subcommand -> (file names looked for in DIR, name in the artifact, loader that validates it, what it is)
MTBENCH: dict[str, tuple[tuple[str, ...], str, Callable[[Path], object], str]] = {
    "mtbench-questions": (("question.jsonl",), "question.jsonl", load_questions, "question file"),
    "mtbench-references": (
        ("gpt-4.jsonl", "reference_answer/gpt-4.jsonl"),
        "gpt-4.jsonl",
        load_references,
        "reference answer file",
    ),
    "mtbench-prompts": (("judge_prompts.jsonl",), "judge_prompts.jsonl", _load_prompts, "judge prompt file"),
}
SPLITS = ("train", "dev", "test")


def jaster_layout(folder: Path) -> tuple[Path, str]:
    """(the local `evaluation/` folder, its path in the artifact: `jaster/<version>/evaluation`) for DIR, which is
    llm-jp-eval's version folder (holding `evaluation/`) or `evaluation/` itself."""
    folder = folder.expanduser().resolve()
    evaluation = folder / "evaluation" if (folder / "evaluation").is_dir() else folder
    if not (evaluation / "test").is_dir():
        raise UploadError(
            f"{folder}: no evaluation/test folder; give llm-jp-eval's version folder (e.g. …/1.2.6, holding "
            "evaluation/{train,dev,test}) or its evaluation/ folder"
        )
    return evaluation, f"jaster/{evaluation.parent.name}/evaluation"


def jaster_files(evaluation: Path, prefix: str) -> dict[str, Path]:
    """Artifact path -> local file for everything `add_dir` takes; every split's JSON file is validated."""
    for split in SPLITS:
        for path in sorted((evaluation / split).glob("*.json")):
            load_file.__wrapped__(path)  # uncached: a fresh read of the file as it is now
    tests = sorted(p.stem for p in (evaluation / "test").glob("*.json"))
    if not tests:
        raise UploadError(f"{evaluation / 'test'}: no *.json files; is this llm-jp-eval's evaluation layout?")
    no_train = [n for n in tests if not (evaluation / "train" / f"{n}.json").is_file()]
    if no_train:
        raise UploadError(f"{evaluation / 'train'}: missing {', '.join(no_train)}.json (few-shot examples)")
    files = sorted(p for p in evaluation.rglob("*") if p.is_file())
    return {f"{prefix}/{p.relative_to(evaluation).as_posix()}": p for p in files}


def _mode(requested: str | None) -> WandbMode:
    """--mode, else `WANDB_MODE`, else online with an API key and offline without one."""
    from .sinks.wandb_sink import has_api_key

    mode = requested or os.environ.get("WANDB_MODE") or ("online" if has_api_key() else "offline")
    mode = "offline" if mode == "dryrun" else mode
    if mode not in ("online", "offline"):
        raise UploadError(f"W&B mode {mode!r} (from WANDB_MODE) uploads nothing; use --mode online or offline")
    if mode == "online" and not has_api_key():
        raise UploadError("--mode online needs a W&B API key: run `wandb login` or set WANDB_API_KEY")
    return cast(WandbMode, mode)


def upload(args: argparse.Namespace, out: Callable[[str], None] = print) -> None:
    """Validate DIR's files, then log them as one dataset artifact with `args.alias` aliases."""
    for value in (args.name, *args.alias):
        if not value or any(c in value for c in "/:"):
            raise UploadError(f"{value!r}: artifact names and aliases cannot be empty or contain '/' or ':'")
    folder = Path(args.dir).expanduser().resolve()
    if args.kind == "jaster":
        local, target = jaster_layout(folder)
        files, extra = jaster_files(local, target), {"dataset_dir": f"/{target}/test"}
    else:
        names, target, loader, what = MTBENCH[args.kind]
        local = find_file(folder, names, what, "DIR")
        loader(local)
        files, extra = {target: local}, {}
    mode = _mode(args.mode)
    try:
        import wandb
    except ImportError:
        raise UploadError('uploading to W&B needs wandb: pip install "nejumi[wandb]"') from None
    sha256 = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()}
    metadata = {"source": str(folder), "file_count": len(files), **extra, "sha256": sha256}
    run = wandb.init(
        entity=args.entity,
        project=args.project,
        job_type="upload-dataset",
        mode=mode,
        name=f"upload-{args.name}",
        settings=wandb.Settings(console="off"),
    )
    try:
        artifact = wandb.Artifact(args.name, type="dataset", metadata=metadata)
        (artifact.add_dir if local.is_dir() else artifact.add_file)(str(local), name=target)
        run.log_artifact(artifact, aliases=list(args.alias) or None)
        sync_dir = Path(run.dir).parent
        version = artifact.wait().version if mode == "online" else ""  # offline: known after `wandb sync`
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    base = f"{args.entity}/{args.project}/{args.name}"
    out(f"{base}: dataset artifact with {len(files)} file(s) from {folder} ({mode})")
    out("  reference(s): " + ", ".join(f"{base}:{a}" for a in [version, *args.alias, "latest"] if a))
    if extra:
        out(
            f'  config: llm_jp_eval.dataset_artifact: "{base}:{(args.alias or ["latest"])[0]}", '
            f'llm_jp_eval.dataset_dir: "{extra["dataset_dir"]}"'
        )
    if mode == "offline":
        out(f"  saved offline; upload it with: wandb sync {sync_dir}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nejumi_plugin.upload", description="Upload evaluation data to W&B.")
    sub = p.add_subparsers(dest="kind", required=True)
    for kind in ("jaster", *MTBENCH):
        s = sub.add_parser(kind, help=f"upload {MTBENCH[kind][1] if kind in MTBENCH else 'evaluation/'}")
        s.add_argument("dir", metavar="DIR")
        s.add_argument("--entity", required=True)
        s.add_argument("--project", required=True)
        s.add_argument("--name", required=kind != "jaster", default="jaster" if kind == "jaster" else None)
        s.add_argument("--alias", action="append", default=[], help="an alias besides 'latest' (repeatable)")
        s.add_argument("--mode", choices=("online", "offline"), help="default: online with an API key, else offline")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; 0 uploaded, 2 refused (message on stderr), 1 W&B failed."""
    args = parser().parse_args(argv)
    try:
        upload(args)
    except (UploadError, DataError, MtbenchDataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # wandb raises many types (auth, network, quota)
        print(f"error: W&B upload failed ({type(err).__name__}: {err})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
