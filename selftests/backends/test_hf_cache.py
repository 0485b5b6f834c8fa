"""The in-place cache: the same contents and answers as transformers' layers, step by step, and the same greedy
tokens on every prompt of the tests' jaster mix."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from decoding import decode_all
from hypothesis import given, settings
from hypothesis import strategies as st
from prefix_mix import jaster_prompts
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from nejumi_plugin.backends import hf_cache, hf_decode
from nejumi_plugin.backends.hf_cache import ReservedLayer, ReservedSlidingLayer, reserve

WINDOW = 5

# a step: new columns (1-3) or a selection of rows (a bitmask over the batch's rows)
steps = st.lists(st.one_of(st.integers(1, 3), st.tuples(st.just("select"), st.integers(1, 255))), max_size=12)


def states(rows: int, columns: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 2, columns, 3, generator=g), torch.randn(rows, 2, columns, 3, generator=g)


def pair(sliding: bool, prompt: int) -> tuple[DynamicLayer, DynamicLayer]:
    """A transformers layer and its reserved copy, both holding the same prefilled prompt of 4 rows."""
    plain = DynamicSlidingWindowLayer(WINDOW) if sliding else DynamicLayer()
    plain.update(*states(4, prompt, seed=0))
    cache = DynamicCache()
    cache.layers = [plain]
    twin = DynamicSlidingWindowLayer(WINDOW) if sliding else DynamicLayer()
    twin.update(*states(4, prompt, seed=0))
    cache.layers = [twin]
    reserve(cache, room=2)
    return plain, cache.layers[0]


@settings(max_examples=60, deadline=None)
@given(sliding=st.booleans(), prompt=st.integers(1, 9), script=steps)
def test_a_reserved_layer_holds_and_returns_what_the_transformers_layer_does(
    sliding: bool, prompt: int, script: list[int | tuple[str, int]]
) -> None:
    plain, reserved = pair(sliding, prompt)
    assert type(reserved) is (ReservedSlidingLayer if sliding else ReservedLayer)
    rows = 4
    for seed, step in enumerate(script, start=1):
        if isinstance(step, int):
            new = states(rows, step, seed)
            theirs, mine = plain.update(*new), reserved.update(*new)
            assert all(torch.equal(a, b) for a, b in zip(theirs, mine))  # what the attention sees
        else:
            keep = [r for r in range(rows) if step[1] >> r & 1] or [0]
            index = torch.tensor(keep)
            plain.batch_select_indices(index)
            reserved.batch_select_indices(index)
            rows = len(keep)
        assert torch.equal(plain.keys, reserved.keys) and torch.equal(plain.values, reserved.values)
        assert plain.get_seq_length() == reserved.get_seq_length()
        assert plain.get_mask_sizes(1) == reserved.get_mask_sizes(1)


def test_layers_of_other_kinds_and_empty_ones_stay_as_they_are() -> None:
    class Other(DynamicLayer):
        pass

    other, empty = Other(), DynamicLayer()
    other.update(*states(1, 2, seed=0))
    cache = DynamicCache()
    cache.layers = [other, empty]
    reserve(cache, room=8)
    assert cache.layers[0] is other and cache.layers[1] is empty
    reserve(object(), room=8)  # no layers at all: nothing to do


@pytest.mark.parametrize("batch", [64, 7])
def test_greedy_tokens_with_a_reserved_cache_are_those_of_transformers_cache(
    varied,
    tiny_jaster_dir: Path,
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    """Every prompt of the e2e tests' jaster mix (0- and 4-shot, both languages; the tiny Gemma's sliding window
    is shorter than the 4-shot prompts), rows leaving the batch as they finish; buffers with room for 3 steps, so
    they are moved again and again."""
    model, tok = varied
    prompts, budgets = jaster_prompts(tiny_jaster_dir)
    monkeypatch.setattr(hf_cache, "RESERVE", 3)
    reserved, _ = decode_all(model, tok, prompts, budgets, batch, share=True)
    monkeypatch.setattr(hf_decode, "reserve", lambda cache, room: None)
    plain, _ = decode_all(model, tok, prompts, budgets, batch, share=True)
    assert reserved == plain
    assert len({tuple(ids) for ids, _ in plain}) > len(prompts) / 4  # the answers depend on the prompts
    assert max(len(ids) for ids, _ in plain) > 3  # longer than a buffer's room
