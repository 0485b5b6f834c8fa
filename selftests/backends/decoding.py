"""Decoding helpers for the local backend's tests: every prompt through greedy_decode in the backend's batch order,
and a backend's completions."""

from __future__ import annotations

from pathlib import Path

from nejumi_plugin.backends.base import GenerationRequest
from nejumi_plugin.backends.hf import HFBackend, HFSettings


def decode_all(model, tok, prompts: list[str], budgets: list[int], batch: int, share: bool, **options):  # type: ignore[no-untyped-def]
    """Greedy tokens and end reasons of every prompt, in length-sorted batches of `batch` (as the backend's queue);
    `options` go to greedy_decode (stopped, draft_tokens)."""
    from nejumi_plugin.backends.hf_decode import greedy_decode
    from nejumi_plugin.backends.hf_timing import DecodeTiming

    order = sorted(range(len(prompts)), key=lambda i: -len(tok(prompts[i], add_special_tokens=False)["input_ids"]))
    timing, out = DecodeTiming(), {}
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        enc = tok([prompts[i] for i in rows], return_tensors="pt", padding=True, add_special_tokens=False)
        for row, ids, reason in greedy_decode(
            model,
            enc["input_ids"],
            enc["attention_mask"],
            [budgets[i] for i in rows],
            [tok.eos_token_id],
            share_prefixes=share,
            timing=timing,
            **options,
        ):
            out[rows[row]] = (ids, reason)
    return [out[i] for i in range(len(prompts))], timing


def completions(backend: HFBackend, requests: list[GenerationRequest]) -> list[tuple[str, str, int | None]]:
    done = dict(backend.generate(requests))
    return [(done[i].text, done[i].finish_reason, done[i].output_tokens) for i in range(len(requests))]


def hf(model_dir: Path, reuse: bool, batch_size: int | str = "auto", lookup: int = 4) -> HFBackend:
    return HFBackend(
        HFSettings(
            str(model_dir),
            dtype="fp32",
            device_map="cpu",
            batch_size=batch_size,
            prefix_reuse=reuse,
            prompt_lookup_tokens=lookup,
        )
    )
