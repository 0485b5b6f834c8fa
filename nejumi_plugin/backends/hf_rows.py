"""The rows of a decoding batch: each row's generated tokens, why it ended, and which rows stay in the batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

StopCheck = Callable[[list[int]], bool]
Finished = tuple[int, list[int], str]  # a row, its generated token ids (EOS excluded), why it ended

# Measured on a 2-core AVX2 CPU (Gemma-3 270M, fp32): a decode step costs 0.11 s at batch 1, 0.21 s at 2, 0.30 s
# at 3, 0.20 s at 4 and 0.19 s at 8 — the matmul kernels are slower for 2-3 rows than for 4. So the batch never
# shrinks to 2 or 3 rows: finished rows ride along (their tokens are ignored) until one row is left.
MIN_SHRUNK_BATCH = 4
# Dropping finished rows copies the KV cache (~0.06 s for 64 rows of ~250 tokens, about an eighth of a decode
# step), so the batch is compacted only once fewer than this share of its rows are unfinished.
COMPACT_BELOW = 0.75


class Answers:
    """Each row's tokens so far, checked against EOS, the stop strings and the row's own token budget."""

    def __init__(self, budgets: Sequence[int], eos_token_ids: Sequence[int], stopped: StopCheck | None) -> None:
        self.budgets = list(budgets)
        self.tokens: list[list[int]] = [[] for _ in self.budgets]
        self.finished: set[int] = set()
        self._eos = set(eos_token_ids)
        self._stopped = stopped

    def take(self, row: int, token: int) -> Finished | None:
        """Add a row's next token; the row's result when that token ends it ("eos", "stop" or "length")."""
        reason = None
        if token in self._eos:
            reason = "eos"
        else:
            self.tokens[row].append(token)
            if self._stopped is not None and self._stopped(self.tokens[row]):
                reason = "stop"
            elif len(self.tokens[row]) >= self.budgets[row]:
                reason = "length"
        if reason is None:
            return None
        self.finished.add(row)
        return row, self.tokens[row], reason

    def left(self, row: int) -> int:
        """Tokens the row may still generate."""
        return self.budgets[row] - len(self.tokens[row])


def slots_to_keep(rows: list[int], finished: set[int]) -> list[int]:
    """The slots of the next step: all of them while at least COMPACT_BELOW of them are unfinished (dropping rows
    copies the whole KV cache), else every unfinished row plus finished ones to reach MIN_SHRUNK_BATCH (unless only
    one row is left); empty when all are done."""
    alive = [slot for slot, row in enumerate(rows) if row not in finished]
    if len(alive) > 1 and len(alive) >= COMPACT_BELOW * len(rows):
        return list(range(len(rows)))
    if len(alive) in (0, 1) or len(alive) >= MIN_SHRUNK_BATCH:
        return alive
    riders = [slot for slot, row in enumerate(rows) if row in finished]
    return sorted(alive + riders[: MIN_SHRUNK_BATCH - len(alive)])


def shrink(
    rows: list[int], finished: set[int], cache: Any, *per_slot: torch.Tensor
) -> tuple[list[int], tuple[torch.Tensor, ...]] | None:
    """The batch's next step: its rows and the per-slot tensors, with finished rows dropped from them and from the
    cache where slots_to_keep says so; None when every row is done."""
    keep = slots_to_keep(rows, finished)
    if not keep:
        return None
    if len(keep) == len(rows):
        return rows, per_slot
    index = torch.tensor(keep, device=per_slot[0].device)
    cache.batch_select_indices(index)
    return [rows[k] for k in keep], tuple(t[index] for t in per_slot)
