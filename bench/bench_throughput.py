"""Throughput on the same jaster prompts: Neo's way vs raw batched `generate` vs this harness end to end.

    python bench/bench_throughput.py [--model embedded:gemma-3-270m | tiny | <folder>] [--data <…/evaluation/test>]
        [--datasets jnli,jemhopqa,niilc,jsquad,jcommonsenseqa,wiki_ner] [--per-dataset 4] [--batch-size auto]
        [--skip a] [--skip bstop]
    python bench/bench_throughput.py --mix fewshot [--per-dataset 8] [--mmlu 1]   # Neo's 4-shot prompts

Methods (all greedy, fp32, CPU, max_new_tokens = the dataset's output_length, prompts without special tokens):
  a      Neo's way: `transformers.pipeline("text-generation")` called once per prompt (docs/scoring-jaster.md).
  b      batched left-padded `model.generate`, one dataset at a time, length-sorted, `--batch-size` rows a batch.
  bstop  b with `stop_strings=["\\n\\n"]` (Neo scores only the text before the first blank line).
  h      the harness's own backend (HFBackend.generate) in this process, its model loaded outside the timing: c
         without pytest, startup and model load, so c - h is the harness's overhead and h / bstop its decoding.
  c      `python -m pytest benchmarks …` in a subprocess on a copy of the data (testmode false, the first N test
         items of each dataset selected with -k), wall time taken from outside (startup, imports, model load and
         writing the run included).
h and c run with the harness's defaults (prefix reuse, `model.prefix_reuse`: a prompt prefix the rows of a batch
share is prefilled once; prompt lookup, `model.prompt_lookup_tokens`: greedy decoding checks tokens drafted from the
row's own text several at a time), then without prefix reuse (-noreuse) and without prompt lookup (-nolookup).
Prefill and decode seconds are measured apart: b's forward passes over more than one token vs the rest of
`generate`; h's and c's by the backend (c's from its runs.jsonl throughput record).
`--mix fewshot`: Neo's 4-shot prompts (the first 4 train samples of each dataset) of the 15 averaged Japanese
datasets (`--per-dataset`, default 8) and of the 57 MMLU subjects (`--mmlu` per subject, default 1); b there is
bstop, a is skipped (`--shots`, `--datasets`, `--mmlu` set the same by hand).
`--model tiny` builds selftests/tiny_model.py's random model in a temp folder. `--batch-size auto` goes to the
harness (c and h) as `model.batch_size: auto`; b uses `--ceiling-batch` (default: the batch size; for auto the
harness's AUTO_MAX_BATCH, i.e. each dataset in one batch).
Predictions are compared after Neo's post-processing (text before the first blank line, the dataset's clean-up).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteriaList,
    StopStringCriteria,
    pipeline,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the checkout's package, not an installed one

from nejumi_plugin.backends.hf import AUTO_MAX_BATCH
from nejumi_plugin.models.embedded import resolve_model_path
from nejumi_plugin.tasks.jaster.data import JasterLayout
from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA, get_spec
from nejumi_plugin.tasks.jaster.postprocess import clean_prediction
from nejumi_plugin.tasks.jaster.prompts import build_template, render

DEMO_DATA = REPO / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"
DATASETS = "jnli,jemhopqa,niilc,jsquad,jcommonsenseqa,wiki_ner"  # NLI, QA (short and long), RC, MC, FA
RUN = "bench"


@dataclass(frozen=True)
class Item:
    dataset: str
    index: int
    prompt: str
    budget: int


@dataclass(frozen=True)
class Setup:
    """How h and c run: on the CPU in fp32 with the blank-line stop unless told otherwise (bench/gpu_check.py)."""

    device_map: str = "cpu"
    dtype: str = "fp32"  # an llm_jp_eval.torch_dtype name
    stop: bool = True  # the blank-line stop; off, every row runs to its budget
    output_length: int | None = None  # every dataset's budget in c's copy of the data (h takes the items' budgets)


DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass
class Result:
    method: str
    wall_s: float
    texts: dict[tuple[str, int], str] = field(default_factory=dict)  # raw continuations (c: already cleaned)
    tokens: int = 0
    note: str = ""
    prefill_s: float | None = None  # of wall_s: the prompts' forward passes
    decode_s: float | None = None  # of wall_s: token by token


def load_items(data: Path, counts: dict[str, int], shots: int = 0) -> list[Item]:
    """The harness's jaster test prompts: the first N items of each dataset (N capped as Neo caps it), 0-shot or
    with the first `shots` train samples as examples."""
    layout = JasterLayout(data)
    items: list[Item] = []
    for name, per_dataset in counts.items():
        test = layout.load(name, "test")
        template = build_template(test.instruction, layout.few_shots(name, shots), get_spec(name).language)
        count = min(per_dataset, get_spec(name).max_samples("test", False), len(test.samples))
        items += [
            Item(name, i, render(template, test.samples[i].input, f"{name} test[{i}]"), test.output_length)
            for i in range(count)
        ]
    return items


def tiny_model(folder: Path) -> str:
    sys.path.insert(0, str(REPO / "selftests"))
    from tiny_model import build_tiny_model  # type: ignore[import-not-found]

    return str(build_tiny_model(folder / "tiny-model"))


def run_pipeline(model: Any, tok: Any, items: list[Item]) -> Result:
    """(a) Neo: one text-generation pipeline call per prompt, the continuation only, no BOS, greedy."""
    pipe = pipeline("text-generation", model=model, tokenizer=tok)
    result = Result("a  pipeline x1", 0.0)
    started = time.perf_counter()
    ends = {tok.eos_token_id, tok.pad_token_id}
    for it in items:  # token ids rather than text, to count them; decoded as the pipeline decodes its text
        out = pipe(
            it.prompt,
            max_new_tokens=it.budget,
            do_sample=False,
            return_tensors=True,
            add_special_tokens=False,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        ids = out[0]["generated_token_ids"][len(tok(it.prompt, add_special_tokens=False)["input_ids"]) :]
        n = next((k for k, t in enumerate(ids) if t in ends), len(ids))
        result.tokens += n
        result.texts[(it.dataset, it.index)] = tok.decode(ids, skip_special_tokens=True)
    result.wall_s = time.perf_counter() - started
    return result


class ForwardClock:
    """Seconds in `model.forward` over more than one new token (prefill), while installed on the model."""

    def __init__(self, model: Any) -> None:
        self.model, self.prefill_s, self._forward = model, 0.0, model.forward
        self._own = vars(model).get("forward")  # an instance's own forward (accelerate's device hooks set one)

    def __enter__(self) -> ForwardClock:
        def timed(*args: Any, **kwargs: Any) -> Any:
            ids = kwargs.get("input_ids", args[0] if args else None)
            started = time.perf_counter()
            out = self._forward(*args, **kwargs)
            if ids is not None and ids.shape[-1] > 1:
                self.prefill_s += time.perf_counter() - started
            return out

        self.model.forward = timed
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own is None:
            del self.model.forward  # the class's forward again
        else:
            self.model.forward = self._own


def run_generate(model: Any, tok: Any, items: list[Item], batch: int, stop: bool) -> Result:
    """(b) batched `model.generate` per dataset, longest prompts first; tokens up to EOS / padding counted."""
    result = Result(f"b{'stop' if stop else ''} generate B={batch}", 0.0, note='stop "\\n\\n"' if stop else "")
    extra: dict[str, Any] = {}  # one StopStringCriteria for the whole run: `stop_strings=` rebuilds it per call
    if stop:  # (~1 s each for Gemma's 262k vocabulary)
        extra["stopping_criteria"] = StoppingCriteriaList([StopStringCriteria(tok, ["\n\n"])])
    ends = {tok.eos_token_id, tok.pad_token_id}
    started = time.perf_counter()
    with ForwardClock(model) as clock:
        for name in dict.fromkeys(it.dataset for it in items):
            group = [it for it in items if it.dataset == name]
            group.sort(key=lambda it: -len(tok(it.prompt, add_special_tokens=False)["input_ids"]))
            for start in range(0, len(group), batch):
                rows = group[start : start + batch]
                enc = tok([it.prompt for it in rows], return_tensors="pt", padding=True, add_special_tokens=False)
                with torch.inference_mode():
                    out = model.generate(
                        **enc,
                        max_new_tokens=rows[0].budget,
                        do_sample=False,
                        eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id,
                        **extra,
                    )
                for it, ids in zip(rows, out[:, enc["input_ids"].shape[1] :].tolist()):
                    n = next((k for k, t in enumerate(ids) if t in ends), len(ids))
                    result.tokens += n
                    result.texts[(it.dataset, it.index)] = tok.decode(ids[:n], skip_special_tokens=True)
    result.wall_s = time.perf_counter() - started
    result.prefill_s, result.decode_s = clock.prefill_s, result.wall_s - clock.prefill_s
    return result


def variant(reuse: bool, lookup: bool) -> str:
    return ("" if reuse else " no reuse") + ("" if lookup else " no lookup")


def run_backend(
    path: str, items: list[Item], batch: int | str, reuse: bool = True, lookup: bool = True, setup: Setup = Setup()
) -> Result:
    """(h) nejumi's HFBackend on the harness's requests (blank-line stop, no special tokens), in this process."""
    from nejumi_plugin.backends.base import GenerationRequest
    from nejumi_plugin.backends.hf import HFBackend, HFSettings

    settings = HFSettings(
        path, dtype=DTYPES[setup.dtype], device_map=setup.device_map, batch_size=batch, prefix_reuse=reuse
    )
    settings = settings if lookup else replace(settings, prompt_lookup_tokens=0)
    backend = HFBackend(settings)
    list(backend.generate([GenerationRequest("warm up", 2)]))  # loads the model, outside the timing
    before = replace(backend.timing)
    result = Result(f"h  harness backend B={batch}{variant(reuse, lookup)}", 0.0)
    stop = ("\n\n",) if setup.stop else ()
    started = time.perf_counter()
    for i, done in backend.generate([GenerationRequest(it.prompt, it.budget, stop) for it in items]):
        if not isinstance(done, Exception):
            result.texts[(items[i].dataset, items[i].index)] = done.text
            result.tokens += done.output_tokens or 0
    result.wall_s = time.perf_counter() - started
    t = backend.timing
    result.prefill_s, result.decode_s = t.prefill_s - before.prefill_s, t.decode_s - before.decode_s
    prompt, prefilled = t.prompt_tokens - before.prompt_tokens, t.prefilled_tokens - before.prefilled_tokens
    drafted, accepted = t.drafted_tokens - before.drafted_tokens, t.accepted_tokens - before.accepted_tokens
    result.note = (
        f"in-process; prefilled {prefilled} tokens for {prompt} prompt tokens; "
        f"{t.decode_steps - before.decode_steps} decode steps, {accepted} of {drafted} drafted tokens kept"
    )
    backend.close()
    return result


def data_copy(data: Path, counts: dict[str, int], shots: int, root: Path, output_length: int | None = None) -> Path:
    """`root/evaluation/{test,dev,train}` for c: each dataset's files as they are, except that `output_length`
    replaces each budget, and that a file shorter than Neo's cap (the demo data) is padded by repeating its samples
    up to the cap, since the harness refuses a file with fewer samples than it scores. The padding is never asked:
    c selects the first `counts[name]` test items with -k (`first_items`)."""
    for split in ("test", "dev", "train"):
        if split == "train" and not shots:
            continue
        folder = root / "evaluation" / split
        folder.mkdir(parents=True, exist_ok=True)
        for name in counts:
            src = (data if split == "test" else data.parent / split) / f"{name}.json"
            raw = json.loads(src.read_text(encoding="utf-8"))
            if split != "train" and raw["samples"]:
                cap = get_spec(name).max_samples(split, False)  # type: ignore[arg-type]
                raw["samples"] = [raw["samples"][i % len(raw["samples"])] for i in range(max(cap, len(raw["samples"])))]
            if output_length is not None:
                raw["output_length"] = output_length
            (folder / f"{name}.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return root / "evaluation" / "test"


def first_items(counts: dict[str, int]) -> str:
    """A -k expression selecting the first `counts[name]` test items of each dataset (an item's id ends with
    `-test-<index>]`, so `-test-1]` never matches index 10)."""
    per_count: dict[int, list[str]] = {}
    for name, count in counts.items():
        per_count.setdefault(count, []).append(name)
    terms = [
        f"(({' or '.join(names)}) and ({' or '.join(f'-test-{i}]' for i in range(n))}))"
        for n, names in per_count.items()
    ]
    return " or ".join(terms)


def run_harness(
    model_arg: str,
    data: Path,
    items: list[Item],
    batch: int | str,
    tmp: Path,
    tok: Any,
    shots: int = 0,
    reuse: bool = True,
    lookup: bool = True,
    setup: Setup = Setup(),
) -> Result:
    """(c) the harness end to end; predictions from its output tables, token counts from its results store."""
    counts = {d: sum(it.dataset == d for it in items) for d in dict.fromkeys(it.dataset for it in items)}
    datasets = list(counts)
    languages = sorted({get_spec(d).language for d in datasets}, reverse=True)  # ja, en
    run = {f"run_llm_jp_eval_{lang}_{'few_shots' if shots else '0_shot'}": lang in languages for lang in ("ja", "en")}
    cfg = {
        "testmode": False,
        "model_name": RUN,
        "wandb": {"run_name": RUN, "mode": "disabled"},
        "run_llm_jp_eval_ja_0_shot": False,
        "run_llm_jp_eval_ja_few_shots": False,
        "run_llm_jp_eval_en_0_shot": False,
        "run_llm_jp_eval_en_few_shots": False,
        **run,
        "run_mt_bench_ja": False,
        "run_mt_bench_en": False,
        "model": {
            "api": False,
            "pretrained_model_name_or_path": model_arg,
            "device_map": setup.device_map,
            "batch_size": batch,
            "prefix_reuse": reuse,
            **({} if lookup else {"prompt_lookup_tokens": 0}),
        },
        "llm_jp_eval": {
            "target_dataset": datasets,
            "torch_dtype": setup.dtype,
            "dataset_artifact": None,
            "stop_at_blank_line": setup.stop,
            **({"ja_num_shots": shots, "en_num_shots": shots} if shots else {}),
            "dataset_dir": str(data_copy(data, counts, shots, tmp / "data", setup.output_length)),
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    out = tmp / ("out" + variant(reuse, lookup).replace(" ", "-"))
    shutil.rmtree(out, ignore_errors=True)  # a kept --workdir must not resume (every call would be cached)
    select = first_items(counts)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "benchmarks"),
        "--model-config",
        str(tmp / "config.yaml"),
        "-k",
        select,
        "--output-dir",
        str(out),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    print("c: " + " ".join(cmd), flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    result = Result(f"c  harness{variant(reuse, lookup)}", wall)
    for lang in languages:
        name = f"jaster_output_table_{lang}_{shots}shot.json"
        table = json.loads((out / RUN / "tables" / name).read_text(encoding="utf-8"))
        col = {c: i for i, c in enumerate(table["columns"])}
        rows = [r for r in table["data"] if r[col["data_type"]] == "test"]
        result.texts.update({(r[col["target_dataset"]], r[col["id"]]): r[col["pred"]] for r in rows})
    with sqlite3.connect(out / RUN / "results.sqlite") as conn:
        keys = [key for (key,) in conn.execute("SELECT key FROM results")]
        result.note = f"rc={done.returncode}, {sum('/dev/' in k for k in keys)} dev items, pytest: {tail[0]}"
        for key, blob in conn.execute("SELECT key, record FROM results"):
            if "/test/" in key:
                record = json.loads(blob)  # a Scored record (nejumi_plugin.family)
                counted = record.get("usage", {}).get("model", {}).get("output_tokens", 0)
                output = record["rows"][0]["pred"]  # cleaned: a lower bound where the backend gave no count
                result.tokens += counted or len(tok(output, add_special_tokens=False)["input_ids"])
    board = json.loads((out / RUN / "leaderboard.json").read_text(encoding="utf-8"))
    found = {k: v for k, v in board.get("meta", {}).items() if any(w in k for w in ("throughput", "batch", "usage"))}
    if found:
        print("c: leaderboard.json meta:", json.dumps(found, ensure_ascii=False)[:600])
    runs = out / RUN / "runs.jsonl"  # this invocation's own facts, e.g. its throughput and phase times
    own = json.loads(runs.read_text(encoding="utf-8").splitlines()[-1]).get("throughput") if runs.exists() else None
    if own:
        print("c: runs.jsonl throughput:", json.dumps(own, ensure_ascii=False)[:600])
        phases = own.get("phases_s", {})
        result.note += (
            f"; inside: wall {own.get('wall_s')} s, load {phases.get('load')} s, generate {phases.get('generate')} s"
        )
        parts = own.get("generate_parts_s", {})
        result.prefill_s, result.decode_s = parts.get("prefill"), parts.get("decode")
    return result


def compare(ref: Result, other: Result, items: list[Item]) -> str:
    """How many predictions agree after Neo's post-processing (c's are already post-processed)."""

    def pred(r: Result, it: Item) -> str | None:
        text = r.texts.get((it.dataset, it.index))
        return (
            text if text is None or r.method.startswith("c") else clean_prediction(text, get_spec(it.dataset).cleaning)
        )

    diff = [it for it in items if pred(ref, it) != pred(other, it)]
    shown = "; ".join(f"{it.dataset}[{it.index}] {pred(ref, it)!r} vs {pred(other, it)!r}" for it in diff[:3])
    return f"{len(items) - len(diff)}/{len(items)} same" + (f" (e.g. {shown})" if diff else "")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(results: dict[str, Result], items: list[Item]) -> None:
    print(
        f"\n{'method':<30}{'samples':>8}{'wall s':>9}{'prefill s':>10}{'decode s':>9}{'samples/s':>11}"
        f"{'tokens':>8}{'tokens/s':>10}  note"
    )
    for r in results.values():
        n = len(r.texts)
        print(
            f"{r.method:<30}{n:>8}{r.wall_s:>9.1f}{seconds(r.prefill_s):>10}{seconds(r.decode_s):>9}"
            f"{n / r.wall_s:>11.3f}{r.tokens:>8}{r.tokens / r.wall_s:>10.1f}  {r.note}"
        )
    for c_name in ("c", "c-noreuse", "c-nolookup"):
        if c_name not in results:
            continue
        c = results[c_name]
        for name in ("a", "b", "bstop", "h", "h-noreuse", "h-nolookup", "c-noreuse", "c-nolookup"):
            if name in results and name != c_name:
                print(
                    f"{c_name}/{name}: {results[name].wall_s / c.wall_s:.2f} (samples/s)   "
                    f"{name} vs {c_name} predictions: {compare(results[name], c, items)}"
                )
    for a, b in (("h", "h-noreuse"), ("h", "h-nolookup"), ("a", "b")):
        if a in results and b in results:
            same = sum(results[a].texts.get(k) == results[b].texts.get(k) for k in results[a].texts)
            print(
                f"{a} vs {b}: raw texts {same}/{len(results[a].texts)} identical; "
                f"predictions {compare(results[a], results[b], items)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:gemma-3-270m", help="embedded:<name>, a local folder, or tiny")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEMO_DATA,
        help="a jaster 1.2.6 evaluation/test folder (default: the demo data, 2 items a dataset)",
    )
    parser.add_argument("--mix", choices=("zero", "fewshot"), default="zero", help="fewshot: see above")
    parser.add_argument("--datasets", default=None, help=f"comma-separated (default {DATASETS}; fewshot: all-ja)")
    parser.add_argument("--per-dataset", type=int, default=None, help="default 4 (fewshot: 8)")
    parser.add_argument("--mmlu", type=int, default=None, help="items per MMLU subject (default 0; fewshot: 1)")
    parser.add_argument("--subjects", type=int, default=len(ALL_EN), help="the first N MMLU subjects (default all)")
    parser.add_argument("--shots", type=int, default=None, help="few-shot examples (default 0; fewshot: 4)")
    parser.add_argument("--batch-size", default="auto", help="an int, or auto")
    parser.add_argument("--ceiling-batch", type=int, default=None, help="b's batch size (default: see above)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep c's config, data and run here")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="a, b, bstop, h, h-noreuse, h-nolookup, c, c-noreuse or c-nolookup (repeatable, or a,b)",
    )
    args = parser.parse_args()
    few = args.mix == "fewshot"
    skip = {s for arg in args.skip for s in arg.split(",")} | ({"a", "b"} if few else set())
    auto = args.batch_size == "auto"
    harness_batch: int | str = "auto" if auto else int(args.batch_size)
    ceiling = args.ceiling_batch or (AUTO_MAX_BATCH if auto else int(args.batch_size))
    shots = args.shots if args.shots is not None else 4 if few else 0
    per = args.per_dataset or (8 if few else 4)
    mmlu = args.mmlu if args.mmlu is not None else 1 if few else 0
    datasets = args.datasets.split(",") if args.datasets else list(ALL_JA) if few else DATASETS.split(",")
    counts = {**dict.fromkeys(datasets, per), **dict.fromkeys(ALL_EN[: args.subjects] if mmlu else (), mmlu)}

    items = load_items(args.data, counts, shots)
    counts = {d: sum(it.dataset == d for it in items) for d in dict.fromkeys(it.dataset for it in items)}
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; data {args.data}")
    shown = {d: n for d, n in counts.items() if not d.startswith("mmlu_en_")}
    subjects = sum(d.startswith("mmlu_en_") for d in counts)
    print(
        f"{len(items)} prompts, {shots}-shot: {shown}"
        + (f" + {subjects} MMLU subjects x {mmlu}" if subjects else "")
        + f"; harness (c, h) batch_size={harness_batch}, b: B={ceiling}"
    )
    with tempfile.TemporaryDirectory(prefix="nejumi-bench-") as tmp_name:
        tmp = args.workdir.resolve() if args.workdir else Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        model_arg = tiny_model(tmp) if args.model == "tiny" else args.model
        path = resolve_model_path(model_arg)
        started = time.perf_counter()
        tok = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, device_map="cpu").eval()
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        print(f"model {path}: loaded in {time.perf_counter() - started:.1f} s, {torch.get_num_threads()} threads")
        lengths = [len(tok(it.prompt, add_special_tokens=False)["input_ids"]) for it in items]
        print(f"prompt tokens: {sum(lengths)} (longest {max(lengths)})")
        with torch.inference_mode():  # warm-up on real prompts, so no method pays the first call's one-time costs
            warm = [it.prompt for it in items[: min(ceiling, 16)]]
            enc = tok(warm, return_tensors="pt", padding=True, add_special_tokens=False)
            model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
        results: dict[str, Result] = {}
        harness = partial(run_harness, model_arg, args.data, items, harness_batch, tmp, tok, shots)
        steps: list[tuple[str, Callable[[], Result]]] = [
            ("b", lambda: run_generate(model, tok, items, ceiling, stop=False)),
            ("bstop", lambda: run_generate(model, tok, items, ceiling, stop=True)),
            ("a", lambda: run_pipeline(model, tok, items)),
            ("h", lambda: run_backend(path, items, harness_batch)),
            ("h-noreuse", lambda: run_backend(path, items, harness_batch, reuse=False)),
            ("h-nolookup", lambda: run_backend(path, items, harness_batch, lookup=False)),
            ("c", harness),
            ("c-noreuse", partial(harness, reuse=False)),
            ("c-nolookup", partial(harness, lookup=False)),
        ]
        for name, step in steps:
            if name not in skip:
                results[name] = step()
                print(f"{name}: {results[name].wall_s:.1f} s (load average {os.getloadavg()[0]:.2f})", flush=True)

    report(results, items)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
