"""The ragged cache: each row's new columns go to that row's own end; a sliding-window layer drops the columns no
query can see any more; buffers move without losing a column."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from nejumi_plugin.backends import hf_ragged
from nejumi_plugin.backends.hf_ragged import RaggedLayer, aim, ragged


def columns(rows: int, count: int, start: float) -> torch.Tensor:
    """rows x 1 head x count columns x 2 dims, column k of row r holding (start + k, r)."""
    values = torch.arange(count, dtype=torch.float32)[None, :] + start
    return torch.stack([values.expand(rows, count), torch.arange(rows)[:, None].float().expand(rows, count)], -1)[
        :, None
    ]


def prefilled(kinds: list[type], prompt: int) -> DynamicCache:
    cache = DynamicCache()
    cache.layers = [DynamicSlidingWindowLayer(4) if kind is DynamicSlidingWindowLayer else kind() for kind in kinds]
    for layer in cache.layers:
        layer.update(columns(2, prompt, 0.0), columns(2, prompt, 0.0))
    return cache


def test_each_row_writes_at_its_own_end_and_keeps_its_columns() -> None:
    cache = prefilled([DynamicLayer], 3)
    (layer,) = ragged(cache, 3)
    aim([layer], torch.tensor([3, 3]))
    keys, _ = layer.update(columns(2, 2, 10.0), columns(2, 2, 10.0))
    assert keys[:, 0, :, 0].tolist() == [[0, 1, 2, 10, 11]] * 2
    aim([layer], torch.tensor([4, 5]))  # row 0 kept 1 of the 2 columns, row 1 both
    keys, values = layer.update(columns(2, 2, 20.0), columns(2, 2, 20.0))
    assert keys[:, 0, :, 0].tolist() == [[0, 1, 2, 10, 20, 21, 0], [0, 1, 2, 10, 11, 20, 21]]  # 0: never written
    assert keys[:, 0, :, 1].tolist()[1][5:] == [1, 1] and torch.equal(keys, values)
    cache.batch_select_indices(torch.tensor([1]))
    assert layer.keys[:, 0, :, 0].tolist() == [[0, 1, 2, 10, 11, 20, 21]]


def test_a_sliding_layer_keeps_what_the_earliest_row_may_still_see(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_ragged, "ROOM", 2)  # buffers move at almost every step
    cache = prefilled([DynamicSlidingWindowLayer, DynamicLayer], 6)
    sliding, full = ragged(cache, 6)
    assert (sliding.first, sliding.top, sliding.sliding_window) == (3, 6, 4)  # the prefill kept window - 1 columns
    ends = torch.tensor([6, 6])
    for step in range(5):
        aim([sliding, full], ends)
        for layer in (sliding, full):
            layer.update(columns(2, 3, 100.0 * step), columns(2, 3, 100.0 * step))
        ends = ends + torch.tensor([1, 3])  # row 0 keeps 1 column a step, row 1 all 3
    # row 0's last step wrote from its end - 1 on; a query there sees the window - 1 columns before it
    assert sliding.first == (int(ends[0]) - 1) - (4 - 1)
    assert full.first == 0 and full.keys.shape[2] == full.top == int(ends[1])
    row = full.keys[0, 0, :, 0].tolist()
    assert row[:6] == list(range(6)) and row[6:11] == [0, 100, 200, 300, 400]  # row 0: the first column each step
    top = full.keys[1, 0, :, 0].tolist()
    assert top[6:] == [v + 100.0 * s for s in range(5) for v in range(3)]
    assert sliding.keys[1, 0, :, 0].tolist() == top[sliding.first :]


def test_layers_of_other_kinds_leave_the_cache_as_it_is() -> None:
    cache = prefilled([DynamicLayer], 3)
    cache.layers.append(object())  # e.g. a linear-attention layer
    before = list(cache.layers)
    assert ragged(cache, 3) is None and cache.layers == before
    assert ragged(DynamicCache(), 0) is None
    assert isinstance(ragged(prefilled([DynamicLayer], 3), 3)[0], RaggedLayer)  # type: ignore[index]
