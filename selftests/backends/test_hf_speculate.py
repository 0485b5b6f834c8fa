"""Greedy decoding with prompt lookup (drafted tokens checked several at a time): the tokens of plain greedy
decoding on every prompt of the tests' jaster mix, with stop strings and stop tokens, full and sliding-window
layers, SDPA and eager attention; models it cannot serve are decoded plainly."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from decoding import completions, decode_all, hf
from prefix_mix import jaster_prompts, jaster_requests
from test_hf_prefix import DEMO_TEST

from nejumi_plugin.backends.hf_speculate import unsupported


@pytest.mark.parametrize(("batch", "draft"), [(64, 4), (7, 1), (7, 16)])
def test_greedy_tokens_with_prompt_lookup_are_those_of_plain_decoding(
    varied, tiny_jaster_dir: Path, batch: int, draft: int
) -> None:  # type: ignore[no-untyped-def]
    """Every prompt of the mix (each dataset's test and dev items, 0- and 4-shot, both languages; the tiny Gemma's
    sliding window is shorter than the 4-shot prompts), rows of different budgets in one batch, rows accepting
    different numbers of tokens per step and leaving the batch as they finish. The budgets are 24 tokens longer
    than the datasets' (capped at 6 in this mix), long enough for a random model to fall into loops."""
    model, tok = varied
    prompts, budgets = jaster_prompts(tiny_jaster_dir)
    budgets = [budget + 24 for budget in budgets]
    plain, plain_timing = decode_all(model, tok, prompts, budgets, batch, share=True)
    drafted, timing = decode_all(model, tok, prompts, budgets, batch, share=True, draft_tokens=draft)
    assert drafted == plain
    assert len({tuple(ids) for ids, _ in plain}) > len(prompts) / 4  # the answers depend on the prompts
    assert plain_timing.drafted_tokens == 0 and 0 < timing.accepted_tokens < timing.drafted_tokens  # some kept
    assert timing.decode_steps <= plain_timing.decode_steps  # a batch takes as many steps as its slowest row


def test_the_backend_answers_the_same_with_and_without_lookup_when_rows_stop_inside_a_draft(
    tiny_model_dir: Path, tiny_jaster_dir: Path
) -> None:
    """The default tiny model falls into loops ("NNNN…", a word over and over) as small models do, so most of its
    drafts are kept. Stop strings and stop tokens it often says end rows in the middle of an accepted draft: the
    row ends where plain decoding ends it. The cache key does not change."""
    four = [replace(r, max_new_tokens=32, stop=()) for r in jaster_requests(tiny_jaster_dir, shots=(4,))]
    on, off = hf(tiny_model_dir, True, lookup=8), hf(tiny_model_dir, True, lookup=0)
    plain = completions(off, four)
    assert completions(on, four) == plain and on.identity() == off.identity()
    assert on.timing.accepted_tokens > on.timing.drafted_tokens / 2 and off.timing.drafted_tokens == 0
    assert on.timing.decode_steps < off.timing.decode_steps  # a batch takes as many steps as its slowest row
    pair = Counter(text[k : k + 2] for text, _, _ in plain for k in range(1, len(text) - 1)).most_common(1)[0][0]
    cut = [replace(r, stop=(*r.stop, pair)) for r in four]
    stopped = completions(on, cut)
    assert stopped == completions(off, cut) and sum(reason == "stop" for _, reason, _ in stopped) > 20
    ids = off._tokenizer([text for text, _, _ in plain], add_special_tokens=False)["input_ids"]
    often = Counter(t for row in ids for t in row[1:]).most_common(3)
    ended = [replace(r, stop_token_ids=tuple(t for t, _ in often)) for r in four]
    again = completions(on, ended)
    assert again == completions(off, ended) and sum(reason == "eos" for _, reason, _ in again) > 10


def test_eager_attention_gets_additive_masks_and_the_same_tokens(llama_dir: Path, tiny_jaster_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(llama_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(llama_dir, dtype=torch.float32, attn_implementation="eager").eval()
    assert unsupported(model) is None
    prompts, budgets = jaster_prompts(tiny_jaster_dir, shots=(4,), languages=("ja",))
    budgets = [budget + 24 for budget in budgets]  # long enough to fall into loops (see above)
    plain, _ = decode_all(model, tok, prompts, budgets, 16, share=True)
    drafted, timing = decode_all(model, tok, prompts, budgets, 16, share=True, draft_tokens=4)
    assert drafted == plain and timing.accepted_tokens > 0


def test_sampled_rows_are_decoded_plainly_with_their_seeds(llama_dir: Path, tiny_jaster_dir: Path) -> None:
    hot = [replace(r, temperature=1.0) for r in jaster_requests(tiny_jaster_dir, (4,), ("ja",))]
    on, off = hf(llama_dir, True, 4, lookup=4), hf(llama_dir, True, 4, lookup=0)
    assert completions(on, hot) == completions(off, hot)
    assert on.timing.drafted_tokens == 0


def model_like(implementation: str = "sdpa", **config: object) -> SimpleNamespace:
    settings = SimpleNamespace(_attn_implementation=implementation, **config)
    return SimpleNamespace(config=settings, get_decoder=lambda: SimpleNamespace())


def test_models_whose_masks_this_cannot_build_are_named() -> None:
    assert unsupported(model_like()) is None  # no layer types: all full attention
    assert "flash_attention_2" in str(unsupported(model_like("flash_attention_2")))
    assert "chunked" in str(unsupported(model_like(attention_chunk_size=8192)))
    assert "linear_attention" in str(unsupported(model_like(layer_types=["full_attention", "linear_attention"])))
    mixed = model_like(layer_types=["sliding_attention", "full_attention"])
    assert "one mask for all" in str(unsupported(mixed))  # its decoder's forward does not take a dict of masks


def test_a_model_that_cannot_be_decoded_speculatively_is_decoded_plainly(
    varied, tiny_jaster_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from nejumi_plugin.backends import hf_decode

    model, tok = varied
    prompts, budgets = jaster_prompts(tiny_jaster_dir, shots=(4,), languages=("ja",))
    plain, _ = decode_all(model, tok, prompts, budgets, 16, share=True)
    monkeypatch.setattr(hf_decode, "unsupported", lambda model: "flex attention")
    drafted, timing = decode_all(model, tok, prompts, budgets, 16, share=True, draft_tokens=4)
    assert drafted == plain and timing.drafted_tokens == 0


@pytest.mark.slow
def test_gemma_answers_every_demo_prompt_the_same_with_and_without_lookup() -> None:
    """The real model on the demo's whole jaster mix (356 prompts: ja and en, 0- and 4-shot, test and dev items,
    each dataset's budget, the blank-line stop), batches of 24 as the demo runs them."""
    from nejumi_plugin.models.embedded import resolve_model_path

    path = Path(resolve_model_path("embedded:gemma-3-270m"))
    requests = jaster_requests(DEMO_TEST)
    on, off = hf(path, True, 24, lookup=4), hf(path, True, 24, lookup=0)
    assert len(requests) == 356 and completions(on, requests) == completions(off, requests)
    assert on.timing.decode_steps < off.timing.decode_steps  # a batch takes as many steps as its slowest row
