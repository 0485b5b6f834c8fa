"""A key/value cache whose rows end at different columns, for decoding that checks several tokens per step.

With speculation (hf_speculate) each row of a batch accepts its own number of tokens per step, so after a step
the rows' texts end at different columns. Here every row has its own end: a step writes each row's new columns at
that row's end (overwriting what an earlier step wrote there and did not keep), and the attention masks built by
the decoder (hf_speculate) hide every column past a row's end, and its left padding. A row's tokens
stay contiguous, at the same columns as in a plain left-padded batch, so its positions and its sliding window are
those of plain decoding. Columns are counted from the start of the prompts (absolute): a sliding-window layer
keeps only the columns from `first` on, which the decoder sets from the rows' ends and the window.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from .hf_cache import with_room

ROOM = 256  # columns a buffer grows by when a step does not fit (one copy per ROOM columns, not per step)


class RaggedLayer(DynamicLayer):
    """One layer's keys and values in a buffer: buffer column 0 is absolute column `base`; the columns up to
    `top` (absolute) are in use. Before each forward pass the decoder sets `ends` (each row's absolute end, where
    the step's columns go) and, for a sliding-window layer, `first` (the first absolute column any query of the
    step may see)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, base: int, sliding_window: int | None) -> None:
        super().__init__()
        self.sliding_window = sliding_window
        self.base = base
        self.first = base
        self.top = base + keys.shape[-2]
        self.ends: torch.Tensor | None = None
        self._furthest = self.top  # the furthest row end (a Python int: no device sync per layer on a GPU)
        self._k, self._v = with_room(keys, ROOM), with_room(values, ROOM)
        self.keys, self.values = keys, values
        self.is_initialized = True
        self.dtype, self.device = keys.dtype, keys.device

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write row r's new columns at its end, and return the columns from `first` to the furthest end."""
        if self.ends is None:
            raise RuntimeError("RaggedLayer.update before the decoder set the rows' ends")
        added = key_states.shape[-2]
        first, top = self.span(added)
        if top - self.base > self._k.shape[-2] or self.first > self.base + ROOM:
            self._move(top)
        at = (self.ends - self.base)[:, None] + torch.arange(added, device=self.ends.device)  # rows x added
        index = at[:, None, :, None]
        self._k.scatter_(2, index.expand(-1, self._k.shape[1], -1, self._k.shape[3]), key_states)
        self._v.scatter_(2, index.expand(-1, self._v.shape[1], -1, self._v.shape[3]), value_states)
        self.top = top
        lo, hi = first - self.base, top - self.base
        self.keys, self.values = self._k[:, :, lo:hi], self._v[:, :, lo:hi]
        return self.keys, self.values

    def _move(self, top: int) -> None:
        """Into a new buffer from `first` on, with room for `top` and ROOM columns more."""
        lo, hi = self.first - self.base, self.top - self.base
        room = top - self.top + ROOM
        self._k, self._v = with_room(self._k[:, :, lo:hi], room), with_room(self._v[:, :, lo:hi], room)
        self.base = self.first

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._k, self._v = self._k[indices], self._v[indices]
        lo, hi = self.first - self.base, self.top - self.base
        self.keys, self.values = self._k[:, :, lo:hi], self._v[:, :, lo:hi]

    def get_seq_length(self) -> int:
        return self.top

    def span(self, added: int) -> tuple[int, int]:
        """The absolute columns `update` returns after writing `added` columns at each row's end."""
        return self.first, max(self.top, self._furthest + added)

    def aim(self, ends: torch.Tensor, nearest: int, furthest: int) -> None:
        """Before a step: where each row's columns go (the nearest and furthest of them as ints), and for a
        sliding-window layer the first column a query of the step may see."""
        self.ends, self._furthest = ends, furthest
        if self.sliding_window is not None:
            self.first = max(self.first, nearest - self.sliding_window + 1)


def aim(layers: list[RaggedLayer], ends: torch.Tensor) -> None:
    """Before a step: each row's new columns go to `ends` (absolute columns), in every layer."""
    nearest, furthest = int(ends.min()), int(ends.max())  # once a step, not once a layer (a device sync each)
    for layer in layers:
        layer.aim(ends, nearest, furthest)


def ragged(cache: Any, columns: int) -> list[RaggedLayer] | None:
    """Replace the layers of a prefilled DynamicCache (`columns` prompt columns, every row ending at the last)
    with ragged ones holding the same keys and values; None (and the cache unchanged) when a layer is of another
    kind. A sliding-window layer holds the last window - 1 columns, as the prefill left them."""
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list) or not layers:
        return None
    plain = (DynamicLayer, DynamicSlidingWindowLayer)
    if any(type(layer) not in plain or not layer.is_initialized for layer in layers):
        return None
    moved: list[RaggedLayer] = []
    for layer in layers:
        window = layer.sliding_window if isinstance(layer, DynamicSlidingWindowLayer) else None
        moved.append(RaggedLayer(layer.keys, layer.values, columns - layer.keys.shape[-2], window))
    layers[:] = moved
    return moved
