"""A key/value cache that decodes without copying itself at every step.

transformers' DynamicCache appends a step's keys and values with `torch.cat`, which copies the whole cache each
time: measured on a 2-core CPU (Gemma-3 270M, fp32, 64 rows of a 2000-token 4-shot prompt), those copies were half
of a decode step (0.69 s of 1.36 s). Here, after the prefill, each plain layer's keys and values move into a buffer
with room for the next RESERVE steps; a step writes its column in place, and the layer's `keys` / `values` are
views of the buffer — the same columns in the same order as DynamicCache's, so the attention sees the same numbers
(its inputs are copied again before SDPA when heads are grouped; bench/bench_throughput.py compares every
prediction). A full buffer is moved once into a new one with fresh room. Layers of any other kind are left alone.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

RESERVE = 256  # decode steps a buffer has room for before it is moved (one copy per RESERVE steps, not per step)


class _Reserved:
    """The buffer behind a layer's `keys` / `values`: columns `lo:hi` are the cached ones, the rest is room."""

    keys: torch.Tensor
    values: torch.Tensor

    def _reserve(self, room: int) -> None:
        self._k = with_room(self.keys, room)
        self._v = with_room(self.values, room)
        self._lo, self._hi = 0, self.keys.shape[-2]

    def _append(self, key_states: torch.Tensor, value_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new columns after the cached ones and return the cached columns with them (views)."""
        added = key_states.shape[-2]
        if self._hi + added > self._k.shape[-2]:
            self._k = with_room(self._k[:, :, self._lo : self._hi], max(RESERVE, added))
            self._v = with_room(self._v[:, :, self._lo : self._hi], max(RESERVE, added))
            self._lo, self._hi = 0, self._hi - self._lo
        self._k[:, :, self._hi : self._hi + added] = key_states
        self._v[:, :, self._hi : self._hi + added] = value_states
        self._hi += added
        return self._k[:, :, self._lo : self._hi], self._v[:, :, self._lo : self._hi]

    def _view(self) -> None:
        self.keys = self._k[:, :, self._lo : self._hi]
        self.values = self._v[:, :, self._lo : self._hi]

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep the rows `indices` (a copy of the cached columns and the room after them, as DynamicLayer copies)."""
        self._k, self._v = self._k[indices, :, self._lo :], self._v[indices, :, self._lo :]
        self._lo, self._hi = 0, self._hi - self._lo
        self._view()


class ReservedLayer(_Reserved, DynamicLayer):
    """DynamicLayer's contents and answers, appended in place."""

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self._append(key_states, value_states)
        self._view()
        return keys, values


class ReservedSlidingLayer(_Reserved, DynamicSlidingWindowLayer):
    """DynamicSlidingWindowLayer's contents and answers (it keeps the last `sliding_window - 1` columns and returns
    them with the new ones), appended in place."""

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.cumulative_length += key_states.shape[-2]
        keys, values = self._append(key_states, value_states)
        self._lo = max(self._lo, self._hi - self.sliding_window + 1)
        self._view()
        return keys, values


def reserve(cache: Any, room: int) -> None:
    """Give each filled plain layer of a DynamicCache room for `room` more columns (at most RESERVE at a time).
    A layer of another kind, an empty one or one that keeps its past for `crop` stays as it is."""
    room = max(1, min(room, RESERVE))
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list):
        return
    for i, layer in enumerate(layers):
        kind = {DynamicLayer: ReservedLayer, DynamicSlidingWindowLayer: ReservedSlidingLayer}.get(type(layer))
        if kind is None or not layer.is_initialized or layer.keys.dim() != 4 or getattr(layer, "record_past", False):
            continue
        moved = kind.__new__(kind)
        moved.__dict__.update(layer.__dict__)
        moved._reserve(room)
        moved._view()
        layers[i] = moved


def with_room(states: torch.Tensor, room: int) -> torch.Tensor:
    """A new buffer holding `states` (batch x heads x columns x dim) followed by `room` zeroed columns (a ragged
    cache (hf_ragged) shows a short row the columns a longer row wrote: masked, but never uninitialized memory,
    whose NaN or huge values would survive the mask: NaN + -inf is NaN)."""
    batch, heads, columns, dim = states.shape
    buffer = states.new_zeros((batch, heads, columns + room, dim))
    buffer[:, :, :columns] = states
    return buffer
