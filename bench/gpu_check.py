"""Throughput on a GPU: raw batched `generate` (b) vs the harness's backend (h) vs `pytest benchmarks` (c), with
and without prefix reuse, at batch sizes 1, 16, 64 and auto; then the largest batch that fits.

    python bench/gpu_check.py [--smoke] [--budget-s 420] [--json out.json]

Runs as is on a bare GPU machine without network, the repository alone: the model is a randomly initialised
Llama of ~1.1B parameters (TinyLlama's shape, bf16) built from a config, with selftests' byte-level tokenizer
without an end-of-sequence token; every row generates exactly `--new-tokens` tokens (no stop string), so all
methods do the same work and tokens/s compare. The prompts are Neo's 4-shot jaster prompts of the vendored demo
excerpt (each dataset's test items: 89, Japanese and English). Batch size 1 runs the first `--single` only.
A random model's greedy tokens tie often (bf16), so the predictions of the methods are counted, not required to
agree. `--smoke` runs the same on the CPU with a 2-layer model in a minute (what was tested without a GPU).
Steps that would start after `--budget-s` seconds are skipped and said so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "selftests"))

from bench_throughput import DEMO_DATA, ForwardClock, Item, Result, Setup, load_items, run_backend, run_harness
from tiny_model import build_tokenizer  # type: ignore[import-not-found]

from nejumi_plugin.backends.hf import AUTO_MAX_BATCH

# TinyLlama-1.1B's shape (22 layers, 2048 wide, grouped-query attention with 4 KV heads); the vocabulary is the
# tokenizer's, so the ~1.0B parameters are all in the layers
BIG = {
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
}
SMOKE_DATASETS = ("jnli", "jemhopqa", "jsquad", "mmlu_en_anatomy", "mmlu_en_virology")
SMOKE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def build_model(folder: Path, shape: dict[str, int], dtype: torch.dtype) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tokenizer(eos=False)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        max_position_embeddings=8192,
        bos_token_id=tok.bos_token_id,
        eos_token_id=None,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        **shape,
    )
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # a GPU initialises 1B weights in a second
        model = LlamaForCausalLM(cfg).to(dtype)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    print(f"model: random Llama, {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters, {dtype}")
    return folder


def run_raw(model: Any, tok: Any, items: list[Item], batch: int) -> Result:
    """(b) `model.generate` on length-sorted, left-padded batches of `batch` rows (all budgets are equal)."""
    result = Result(f"b  generate B={batch}", 0.0)
    order = sorted(items, key=lambda it: -len(tok(it.prompt, add_special_tokens=False)["input_ids"]))
    sync()
    started = time.perf_counter()
    with ForwardClock(model) as clock:
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            enc = tok([it.prompt for it in rows], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(
                    **enc.to(model.device),
                    max_new_tokens=rows[0].budget,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )  # no EOS: every row runs to its budget
            for it, ids in zip(rows, out[:, enc["input_ids"].shape[1] :].tolist()):
                result.texts[(it.dataset, it.index)] = tok.decode(ids, skip_special_tokens=True)
                result.tokens += len(ids)
        sync()
    result.wall_s = time.perf_counter() - started
    result.prefill_s, result.decode_s = clock.prefill_s, result.wall_s - clock.prefill_s
    return result


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def largest_batch(path: str, items: list[Item], setup: Setup, deadline: float, limit: int) -> tuple[int, str]:
    """The largest batch (64, 128, … `limit` rows of the mix's prompts, repeated) that prefills and decodes 4
    tokens without running out of memory, with prefix reuse (the default)."""
    from nejumi_plugin.backends.base import GenerationRequest
    from nejumi_plugin.backends.hf import HFBackend, HFSettings

    fitted, size, note = 0, AUTO_MAX_BATCH, ""
    backend = HFBackend(
        HFSettings(
            path,
            dtype={"bf16": "bfloat16", "fp32": "float32"}[setup.dtype],
            device_map=setup.device_map,
            batch_size=AUTO_MAX_BATCH,
        )
    )
    while size <= limit:
        if time.monotonic() > deadline:
            note = f" (stopped at the time budget before {size})"
            break
        backend.settings, backend._fits = dataclasses.replace(backend.settings, batch_size=size), None
        requests = [GenerationRequest(items[k % len(items)].prompt, 4) for k in range(size)]
        started = time.perf_counter()
        list(backend.generate(requests))
        if backend._fits is not None:  # halved: this size did not fit
            note = f" ({size} ran out of memory)"
            break
        print(f"  batch {size}: fits ({time.perf_counter() - started:.1f} s)", flush=True)
        fitted, size = size, size * 2
    else:
        note = f" (the probe's limit, {limit})"
    backend.close()
    return fitted, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a 2-layer model on the CPU (no GPU needed)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="start no step after this many seconds")
    parser.add_argument("--new-tokens", type=int, default=None, help="tokens per row (default 32; smoke: 4)")
    parser.add_argument("--single", type=int, default=16, help="prompts at batch size 1")
    parser.add_argument("--probe-limit", type=int, default=4096, help="largest batch the memory probe tries")
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    started = time.monotonic()
    deadline = started + args.budget_s
    gpu = torch.cuda.is_available()
    if not gpu and not args.smoke:
        sys.exit("no CUDA device: run with --smoke to check the script on a CPU")
    setup = Setup(
        device_map="auto" if gpu else "cpu",
        dtype="bf16" if gpu and not args.smoke else "fp32",
        stop=False,
        output_length=args.new_tokens or (4 if args.smoke else 32),
    )
    print(f"device: {torch.cuda.get_device_name(0) if gpu else 'cpu'}, torch {torch.__version__}, {setup}")
    counts = {p.stem: 2 for p in sorted(DEMO_DATA.glob("*.json")) if p.stem != "mmluen"}
    items = [
        Item(it.dataset, it.index, it.prompt, setup.output_length or 32) for it in load_items(DEMO_DATA, counts, 4)
    ]
    if args.smoke:  # a few families, Japanese and English: every path, in a minute or two on a CPU
        items = [it for it in items if it.dataset in SMOKE_DATASETS]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nejumi-gpu-") as tmp_name:
        tmp = Path(tmp_name)
        path = str(
            build_model(
                tmp / "model", SMOKE if args.smoke else BIG, torch.bfloat16 if setup.dtype == "bf16" else torch.float32
            )
        )
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path, dtype="auto", device_map=setup.device_map).eval()
        lengths = [len(tok(it.prompt, add_special_tokens=False)["input_ids"]) for it in items]
        print(
            f"{len(items)} prompts (4-shot, {len({it.dataset for it in items})} datasets), {sum(lengths)} prompt "
            f"tokens (longest {max(lengths)}), {setup.output_length} new tokens each; built and loaded in "
            f"{time.monotonic() - started:.0f} s"
        )
        run_raw(model, tok, items[:8], 8)  # warm-up: kernels, allocator
        for batch in (1, 16, 64, "auto"):
            mix = items[: args.single] if batch == 1 else items
            ceiling = AUTO_MAX_BATCH if batch == "auto" else int(batch)
            steps = [
                ("b", partial(run_raw, model, tok, mix, ceiling)),
                ("h", partial(run_backend, path, mix, batch, reuse=True, setup=setup)),
                ("h-noreuse", partial(run_backend, path, mix, batch, reuse=False, setup=setup)),
                ("c", partial(run_harness, path, DEMO_DATA, mix, batch, tmp, tok, 4, reuse=True, setup=setup)),
                ("c-noreuse", partial(run_harness, path, DEMO_DATA, mix, batch, tmp, tok, 4, reuse=False, setup=setup)),
            ]
            done: dict[str, Result] = {}
            for name, step in steps:
                if time.monotonic() > deadline:
                    print(f"B={batch} {name}: skipped (time budget)")
                    continue
                done[name] = result = step()
                tokens = len(mix) * (setup.output_length or 0)
                row = {
                    "batch": batch,
                    "method": name,
                    "prompts": len(mix),
                    "wall_s": round(result.wall_s, 2),
                    "prefill_s": result.prefill_s and round(result.prefill_s, 2),
                    "decode_s": result.decode_s and round(result.decode_s, 2),
                    "tokens_per_s": round(tokens / result.wall_s, 1),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
            if "h" in done and "h-noreuse" in done:
                same = sum(done["h"].texts[k] == done["h-noreuse"].texts.get(k) for k in done["h"].texts)
                print(
                    f"B={batch}: h with and without reuse, {same}/{len(mix)} rows the same (random model, "
                    f"{setup.dtype})"
                )
        del model
        if gpu:
            torch.cuda.empty_cache()
        limit = min(args.probe_limit, 128) if args.smoke else args.probe_limit
        fitted, note = largest_batch(path, items, setup, deadline, limit)
    print(f"\n{'B':>5} {'method':<10}{'prompts':>8}{'wall s':>9}{'prefill s':>10}{'decode s':>9}{'tokens/s':>10}")
    for r in rows:
        print(
            f"{r['batch']!s:>5} {r['method']:<10}{r['prompts']:>8}{r['wall_s']:>9}{r['prefill_s']!s:>10}"
            f"{r['decode_s']!s:>9}{r['tokens_per_s']:>10}"
        )
    print(f"largest batch that fits (h, prefix reuse, 4 new tokens): {fitted}{note}")
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "largest_batch": fitted}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
