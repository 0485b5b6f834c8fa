"""Shared-prefix prefill: the plan (which rows share what, how wide the batched part is) and, on the tiny model,
the same tokens as a plain prefill on every prompt of the tests' jaster mixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nejumi_plugin.backends.hf_prefix import PrefillPlan, common_prefix, plan_prefill

from prefix_mix import jaster_prompts

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
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.integers(0, 4), min_size=1, max_size=30)), min_size=1,
                max_size=12))  # fmt: skip
def test_every_plan_is_one_shared_prefill_can_run_and_cheaper_than_a_plain_one(
    spec: list[tuple[int, list[int]]],
) -> None:
    heads = [[7] * 40, [7] * 20 + [8] * 30, [9] * 10, []]
    rows = [heads[h] + tail for h, tail in spec]
    plan = plan_prefill(rows, run_cost=4)
    if plan is not None:
        check(plan, rows)
        assert plan.cost(4) < len(rows) * max(map(len, rows))


# --- the same tokens, on the tiny random model


def decode_all(model, tok, prompts: list[str], budgets: list[int], batch: int, share: bool):  # type: ignore[no-untyped-def]
    from nejumi_plugin.backends.hf_decode import greedy_decode
    from nejumi_plugin.backends.hf_timing import DecodeTiming

    order = sorted(range(len(prompts)), key=lambda i: -len(tok(prompts[i], add_special_tokens=False)["input_ids"]))
    timing, out = DecodeTiming(), {}
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        enc = tok([prompts[i] for i in rows], return_tensors="pt", padding=True, add_special_tokens=False)
        for row, ids, reason in greedy_decode(model, enc["input_ids"], enc["attention_mask"],
                                              [budgets[i] for i in rows], [tok.eos_token_id],
                                              share_prefixes=share, timing=timing):  # fmt: skip
            out[rows[row]] = (ids, reason)
    return [out[i] for i in range(len(prompts))], timing


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval(), tok


@pytest.mark.parametrize("batch", [64, 7])
def test_greedy_tokens_with_shared_prefixes_are_those_of_a_plain_prefill(tiny, tiny_jaster_dir: Path, batch: int) -> None:  # type: ignore[no-untyped-def]
    """Every prompt of the e2e tests' jaster mix (each dataset's test and dev items, 0- and 4-shot, English too),
    in batches that mix datasets (and, at 7 rows, cut families apart)."""
    model, tok = tiny
    prompts, budgets = jaster_prompts(tiny_jaster_dir)
    plain, plain_timing = decode_all(model, tok, prompts, budgets, batch, share=False)
    shared, shared_timing = decode_all(model, tok, prompts, budgets, batch, share=True)
    assert len(prompts) == 356 and shared == plain
    assert shared_timing.shared_batches > 0 and shared_timing.prefilled_tokens < plain_timing.prefilled_tokens / 2
    assert shared_timing.prompt_tokens == plain_timing.prompt_tokens
