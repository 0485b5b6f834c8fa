"""Shared-prefix prefill: the plan (which rows share what, how wide the batched part is) and, on the tiny model,
the same tokens as a plain prefill on every prompt of the tests' jaster mixes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from decoding import completions, decode_all, hf
from hypothesis import given, settings
from hypothesis import strategies as st
from prefix_mix import jaster_prompts, jaster_requests
from test_hf import PROMPTS

from nejumi_plugin.backends.base import GenerationRequest
from nejumi_plugin.backends.hf import AUTO_MAX_BATCH
from nejumi_plugin.backends.hf_prefix import PrefillPlan, common_prefix, plan_prefill

DEMO_TEST = (
    Path(__file__).resolve().parents[2] / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"
)
SHOT = list(range(100, 180))  # an 80-token "instruction and examples" every row of a dataset starts with


def check(plan: PrefillPlan, rows: list[list[int]]) -> None:
    """What shared_prefill relies on: every row in one group; a row's columns before the batched part are the
    first len - width tokens of its group's prefix run, which all rows of the group share."""
    assert sorted(r for g in plan.groups for r in g.rows) == list(range(len(rows)))
    assert 1 <= plan.width < max(map(len, rows))
    for g in plan.groups:
        first = rows[g.rows[0]]
        assert g.length <= len(first) - 1 or len(g.rows) > 1
        for r in g.rows:
            assert len(rows[r]) - plan.width <= g.length <= common_prefix(rows[r], first)
    assert plan.tokens == sum(g.length for g in plan.groups) + len(rows) * plan.width


def test_rows_of_one_dataset_share_their_prefix_and_only_the_inputs_are_batched() -> None:
    rows = [SHOT + [1] * 7, SHOT + [2] * 3, SHOT + [3, 4] * 5]
    plan = plan_prefill(rows)
    assert plan is not None and plan.width == 10  # the longest input
    assert [(sorted(g.rows), g.length) for g in plan.groups] == [([0, 1, 2], 80)]
    assert plan.tokens == 80 + 3 * 10
    check(plan, rows)


def test_rows_that_share_prefixes_of_different_lengths_and_rows_that_share_nothing() -> None:
    other = list(range(300, 340))  # a second dataset's 40-token prefix
    rows = [SHOT + [1] * 5, other + [2] * 4, SHOT + [3] * 6, other + [4] * 6, list(range(500, 560))]
    plan = plan_prefill(rows)
    assert plan is not None and plan.width == 6
    groups = {tuple(sorted(g.rows)): g.length for g in plan.groups}
    assert groups == {(0, 2): 80, (1, 3): 40, (4,): 54}  # the lone row: its own first tokens, no padding
    check(plan, rows)


def test_a_plain_prefill_where_sharing_saves_nothing() -> None:
    assert plan_prefill([SHOT]) is None  # one row
    assert plan_prefill([list(range(i, i + 50)) for i in range(4)]) is None  # same length, nothing shared
    assert plan_prefill([[1, 2], [1, 3]]) is None  # a prefix run costs a forward pass more than it saves


def test_identical_prompts_keep_their_last_token_batched() -> None:
    plan = plan_prefill([SHOT, SHOT, SHOT + [5]])
    assert plan is not None and plan.width == 1
    check(plan, [SHOT, SHOT, SHOT + [5]])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.lists(st.integers(0, 4), min_size=1, max_size=30)), min_size=1, max_size=12
    )
)
def test_every_plan_is_one_shared_prefill_can_run_and_cheaper_than_a_plain_one(
    spec: list[tuple[int, list[int]]],
) -> None:
    heads = [[7] * 40, [7] * 20 + [8] * 30, [9] * 10, []]
    rows = [heads[h] + tail for h, tail in spec]
    plan = plan_prefill(rows, run_cost=4)
    if plan is not None:
        check(plan, rows)
        assert plan.cost(4) < len(rows) * max(map(len, rows))


# --- the same tokens as a plain prefill, on the tiny random models of conftest.py


def test_a_shared_prefill_computes_the_logits_and_cache_of_a_plain_one(varied, tiny_jaster_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Up to float rounding: a wrong position, mask or copied column would be off by far more."""
    import torch

    from nejumi_plugin.backends.hf_prefix import shared_prefill

    model, tok = varied
    prompts, _ = jaster_prompts(tiny_jaster_dir)
    batch = prompts[::15]  # 24 prompts: datasets, shot settings and languages mixed, lengths too
    enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=False)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
    pads = (mask == 0).sum(-1).tolist()
    plan = plan_prefill([row[p:] for row, p in zip(ids.tolist(), pads)])
    assert plan is not None and plan.runs < len(batch) and ids.shape[1] - plan.width > 32  # cached: > the window
    with torch.inference_mode():
        plain = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        shared = shared_prefill(model, ids, mask, positions, plan, "cache", {})
    assert torch.allclose(shared.logits[:, -1], plain.logits[:, -1], atol=1e-4, rtol=0)
    assert torch.equal(shared.logits[:, -1].argmax(-1), plain.logits[:, -1].argmax(-1))
    for mine, theirs in zip(shared.cache.layers, plain.cache.layers):
        assert mine.keys.shape == theirs.keys.shape and mine.get_seq_length() == theirs.get_seq_length()
        columns = mine.keys.shape[2]
        real = mask[:, -columns:].bool()  # the columns a layer keeps (a sliding one: its last window - 1)
        assert torch.allclose(mine.keys.transpose(1, 2)[real], theirs.keys.transpose(1, 2)[real], atol=1e-4, rtol=0)
        assert torch.allclose(mine.values.transpose(1, 2)[real], theirs.values.transpose(1, 2)[real], atol=1e-4, rtol=0)


@pytest.mark.parametrize("batch", [64, 7])
def test_greedy_tokens_with_shared_prefixes_are_those_of_a_plain_prefill(
    varied, tiny_jaster_dir: Path, batch: int
) -> None:  # type: ignore[no-untyped-def]
    """Every prompt of the e2e tests' jaster mix (each dataset's test and dev items, 0- and 4-shot, English too),
    in batches that mix datasets, each row with its dataset's budget; in batches of 7 (families cut apart), the
    Japanese 4-shot prompts. (The Gemma, slower, gets the 4-shot prompts: those longer than its window.)"""
    model, tok = varied
    which = {"shots": (4,)} if model.config.model_type == "gemma3_text" else {}
    which = which if batch == 64 else {"shots": (4,), "languages": ("ja",)}
    prompts, budgets = jaster_prompts(tiny_jaster_dir, **which)
    plain, plain_timing = decode_all(model, tok, prompts, budgets, batch, share=False)
    shared, shared_timing = decode_all(model, tok, prompts, budgets, batch, share=True)
    assert len(prompts) == {(): 356, ("shots",): 178, ("languages", "shots"): 64}[tuple(sorted(which))]
    assert shared == plain
    assert len({tuple(ids) for ids, _ in plain}) > len(prompts) / 4  # the answers depend on the prompts
    sizes = [min(batch, len(prompts) - k) for k in range(0, len(prompts), batch)]
    assert plain_timing.shared_batches == 0 and shared_timing.shared_batches == sum(n > 1 for n in sizes)
    assert shared_timing.prefilled_tokens < plain_timing.prefilled_tokens / 2
    assert shared_timing.prompt_tokens == plain_timing.prompt_tokens


# --- the backend: the same completions with model.prefix_reuse on and off


def test_the_backend_answers_the_same_with_and_without_reuse_and_reuse_is_not_in_the_cache_key(
    llama_dir: Path, tiny_jaster_dir: Path
) -> None:
    """The whole mix (mixed budgets, blank-line stops), one queue, batch size auto; then the 4-shot half with a
    stop string and with stop tokens that the model often says, so that rows end at different steps (by the stop
    string, by EOS) and batches shrink."""
    requests = jaster_requests(tiny_jaster_dir)
    on, off = hf(llama_dir, True), hf(llama_dir, False)
    plain = completions(off, requests)
    assert completions(on, requests) == plain
    assert on.timing.shared_batches > 0 and off.timing.shared_batches == 0
    assert on.timing.prefilled_tokens < off.timing.prefilled_tokens / 2 and on.prefill_s > 0 and on.decode_s > 0
    assert on.identity() == off.identity()
    four = jaster_requests(tiny_jaster_dir, shots=(4,))
    answered = dict(zip(requests, plain))
    texts = [answered[r][0] for r in four]
    pair = Counter(text[k : k + 2] for text in texts for k in range(1, len(text) - 1)).most_common(1)[0][0]
    cut = [replace(r, stop=(*r.stop, pair)) for r in four]
    stopped = completions(on, cut)
    assert stopped == completions(off, cut) and sum(reason == "stop" for _, reason, _ in stopped) > 20
    tokens, _ = decode_all(
        off._model, off._tokenizer, [r.prompt for r in four], [r.max_new_tokens for r in four], 64, share=False
    )
    said = Counter(t for ids, _ in tokens for t in ids[1:])
    ended = [replace(r, stop_token_ids=tuple(t for t, _ in said.most_common(3))) for r in four]
    again = completions(on, ended)
    assert again == completions(off, ended) and sum(reason == "eos" for _, reason, _ in again) > 20


def test_rows_that_share_no_prefix_and_sampled_rows(llama_dir: Path, tiny_jaster_dir: Path) -> None:
    """Sampling keeps its seeds: the same batches, the same draws."""
    on, off = hf(llama_dir, True, 4), hf(llama_dir, False, 4)
    lone = [GenerationRequest(p, 12) for p in PROMPTS]
    assert completions(on, lone) == completions(off, lone)
    hot = [replace(r, temperature=1.0, stop=()) for r in jaster_requests(tiny_jaster_dir, (4,), ("ja",))]
    sampled = completions(on, hot)
    assert sampled == completions(off, hot) and sampled != completions(off, [replace(r, temperature=0.0) for r in hot])
    assert on.timing.shared_batches > 0


def test_out_of_memory_in_a_shared_prefill_halves_the_batch_and_changes_nothing(
    llama_dir: Path, tiny_jaster_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nejumi_plugin.backends import hf_decode

    real, sizes = hf_decode.shared_prefill, []

    def small_memory(model, input_ids, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(input_ids.shape[0])
        if input_ids.shape[0] > 8:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, input_ids, *args, **kwargs)

    requests = jaster_requests(tiny_jaster_dir, shots=(4,))
    expected = completions(hf(llama_dir, False), requests)
    monkeypatch.setattr(hf_decode, "shared_prefill", small_memory)
    on = hf(llama_dir, True)
    assert completions(on, requests) == expected
    assert sizes[:4] == [AUTO_MAX_BATCH, 32, 16, 8] and max(sizes[4:]) <= 8 and on._fits == 8


@pytest.mark.slow
def test_gemma_answers_every_demo_prompt_the_same_with_and_without_reuse() -> None:
    """The real model on the demo's whole jaster mix (the vendored excerpt: ja and en, 0- and 4-shot, test and dev
    items; 356 prompts, each dataset's own budget, the blank-line stop), batches of 24 as the demo runs them."""
    from nejumi_plugin.models.embedded import resolve_model_path

    path = Path(resolve_model_path("embedded:gemma-3-270m"))
    requests = jaster_requests(DEMO_TEST)
    on, off = hf(path, True, 24), hf(path, False, 24)
    assert len(requests) == 356 and completions(on, requests) == completions(off, requests)
    assert on.timing.prefilled_tokens < off.timing.prefilled_tokens / 2
