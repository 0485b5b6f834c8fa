"""Benchmark: batch-shrinking greedy decoding vs `model.generate`, on the same batch, in the same process.

    python selftests/perf/bench_decode.py [--model embedded:gemma-3-270m] [--dataset wiki_reading] [--n 8]

Prints the wall time of each and their ratio, and checks that both produce the same scored predictions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from nejumi_plugin.backends.hf_decode import greedy_decode
from nejumi_plugin.models.embedded import resolve_model_path
from nejumi_plugin.tasks.jaster.data import JasterLayout
from nejumi_plugin.tasks.jaster.postprocess import clean_prediction
from nejumi_plugin.tasks.jaster.prompts import build_template, render

DEMO = Path(__file__).resolve().parents[2] / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embedded:gemma-3-270m")
    parser.add_argument("--data", default=str(DEMO))
    parser.add_argument("--dataset", default="wiki_reading")
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()

    layout = JasterLayout(Path(args.data))
    test = layout.load(args.dataset, "test")
    samples = [*test.samples, *layout.load(args.dataset, "dev").samples]
    prompts = [
        render(build_template(test.instruction, layout.few_shots(args.dataset, shots), "ja"), s.input, "bench")
        for shots in (0, 4)
        for s in samples
    ][: args.n]
    path = resolve_model_path(args.model)
    tok = AutoTokenizer.from_pretrained(path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    budget = test.output_length

    started = time.perf_counter()
    with torch.inference_mode():
        ref = model.generate(
            **enc,
            max_new_tokens=budget,
            do_sample=False,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            stop_strings=["\n\n"],
            tokenizer=tok,
        )
    t_generate = time.perf_counter() - started
    ref_text = [tok.decode(row[enc["input_ids"].shape[1] :], skip_special_tokens=True) for row in ref]

    def stopped(ids: list[int]) -> bool:
        return "\n\n" in tok.decode(ids, skip_special_tokens=True)

    started = time.perf_counter()
    rows = {
        r: ids
        for r, ids, _ in greedy_decode(
            model, enc["input_ids"], enc["attention_mask"], budget, [tok.eos_token_id], stopped
        )
    }
    t_shrink = time.perf_counter() - started
    mine = [tok.decode(rows[i], skip_special_tokens=True) for i in range(len(prompts))]

    same = sum(clean_prediction(a, "strip") == clean_prediction(b, "strip") for a, b in zip(ref_text, mine))
    lengths = sorted(len(rows[i]) for i in rows)
    print(f"{args.dataset}: {len(prompts)} prompts, max_new_tokens={budget}, generated lengths {lengths}")
    print(f"generate():        {t_generate:7.1f} s")
    print(f"greedy_decode():   {t_shrink:7.1f} s   ratio {t_generate / t_shrink:.2f}x")
    print(f"same scored prediction: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
