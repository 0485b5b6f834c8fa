"""A batch's prefill that computes each prompt prefix its rows share once, instead of once per row.

Every few-shot prompt of a dataset starts with the same instruction and examples (~85 % of a 4-shot jaster
prompt), and a plain batched prefill computes that prefix again for every row. Here the rows of a left-padded
batch are grouped by their longest common prefix *of token ids* (of the whole prompts as the tokenizer encoded
them, never of separately tokenized pieces, so the model sees exactly the same tokens), each group's prefix is
prefilled once (batch 1, no padding), its keys and values are copied into the KV cache of every row of the group,
and only the last `width` columns of the batch are prefilled batched. The cache then holds what a plain prefill
of the same left-padded batch holds — each row's tokens at the same columns and positions, under the same mask —
so decoding goes on unchanged. A row that shares nothing is prefilled alone up to the batch's width, so the
padding in front of it is not computed either.

Exactness: the tokens, positions and masks are those of a plain prefill, so the logits are too, up to float
rounding — attention kernels sum in an order that depends on how many (masked) keys a query sees and where, which
moves Gemma-3's logits by ~1e-5, as much as putting a prompt in a batch of another size does. Greedy tokens are
the same unless two logits tie that closely; the selftests and the bench compare them on every prompt.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

# A prefix prefilled on its own costs a forward pass more than its tokens (the weights are read once more, each op
# is launched once more): counted as this many prompt tokens when plans are weighed against each other and against
# a plain prefill. On a CPU a 1-token forward of Gemma-3 270M costs about what 16 prompt tokens of a batched
# prefill cost (2 cores); on a GPU the launches are worth far more tokens (an estimate: no GPU was measured).
RUN_COST_TOKENS = {"cpu": 16}
RUN_COST_TOKENS_ELSEWHERE = 256


@dataclass(frozen=True)
class Group:
    """Rows whose first `length` tokens are the same (a lone row: its own first tokens), prefilled once."""

    rows: tuple[int, ...]
    length: int  # 0: the group's rows lie wholly in the batched columns


@dataclass(frozen=True)
class PrefillPlan:
    width: int  # the batch's last `width` columns are prefilled batched; the cache before them comes from groups
    groups: tuple[Group, ...]
    tokens: int  # tokens prefilled: each group's length once, plus rows x width

    @property
    def runs(self) -> int:
        """Forward passes besides the batched one."""
        return sum(g.length > 0 for g in self.groups)

    def cost(self, run_cost: int) -> int:
        return self.tokens + run_cost * self.runs


def run_cost_for(device: torch.device) -> int:
    return RUN_COST_TOKENS.get(device.type, RUN_COST_TOKENS_ELSEWHERE)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two token-id sequences."""
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def plan_prefill(rows: Sequence[Sequence[int]], run_cost: int = RUN_COST_TOKENS["cpu"]) -> PrefillPlan | None:
    """The cheapest plan for prefilling `rows` (each row's prompt token ids, unpadded), or None when a plain
    batched prefill (rows x longest row, one forward pass) costs no more.

    Sorted by their ids, rows that share a prefix are neighbours. For a batched width W, a run of sorted rows can
    share one prefix run when its longest row minus its common prefix fits in W; W is chosen among the widths at
    which that grouping changes, by cost: the prefix runs (a group's longest row minus W, plus `run_cost` each)
    plus rows x W."""
    n = len(rows)
    longest = max((len(r) for r in rows), default=0)
    if n < 2:
        return None
    order = sorted(range(n), key=lambda r: list(rows[r]))
    shared = [common_prefix(rows[a], rows[b]) for a, b in itertools.pairwise(order)]
    widths = {1} | {max(len(rows[a]), len(rows[b])) - s for a, b, s in zip(order, order[1:], shared)}
    plans = [_grouped(rows, order, shared, w) for w in sorted(widths) if 1 <= w < longest]
    best = min(plans, key=lambda p: p.cost(run_cost), default=None)
    return best if best is not None and best.cost(run_cost) < n * longest else None


def _grouped(rows: Sequence[Sequence[int]], order: list[int], shared: list[int], width: int) -> PrefillPlan:
    """Extend each group along the sorted rows while its longest row minus its common prefix fits in `width`
    (merging two groups never costs more: one prefix run instead of two)."""
    groups: list[Group] = []
    members, common, top = [order[0]], len(rows[order[0]]), len(rows[order[0]])
    for row, before in zip(order[1:], shared):
        c, t = min(common, before), max(top, len(rows[row]))
        if t - c <= width:
            members.append(row)
            common, top = c, t
        else:
            groups.append(Group(tuple(members), max(0, top - width)))
            members, common, top = [row], len(rows[row]), len(rows[row])
    groups.append(Group(tuple(members), max(0, top - width)))
    return PrefillPlan(width, tuple(groups), sum(g.length for g in groups) + len(rows) * width)


class Unshareable(Exception):
    """The model's cache is not plain per-layer keys and values (e.g. linear attention or shared KV layers)."""


def shared_prefill(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    plan: PrefillPlan,
    cache_arg: str,
    extra: Mapping[str, Any],
) -> Any:
    """The model's output for the last `plan.width` columns of the left-padded batch, its cache holding the whole
    prompts (the columns before come from the groups' prefix runs). Raises Unshareable (before the batched
    forward pass) when the model's cache is not made of plain key/value layers: the caller prefills plainly."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    n, total = input_ids.shape
    cut = total - plan.width
    pads = (total - attention_mask.sum(dim=-1)).tolist()
    cache = DynamicCache(config=model.config)
    if not cache.layers or any(type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer) for layer in cache.layers):
        raise Unshareable(f"cache layers {sorted({type(layer).__name__ for layer in cache.layers})}")
    # a sliding-window layer keeps only its last window - 1 columns: only those are filled
    starts = [max(0, cut - layer.sliding_window + 1) if layer.is_sliding else 0 for layer in cache.layers]
    keys: list[torch.Tensor] = []
    values: list[torch.Tensor] = []
    body = _decoder(model, cache_arg)  # a prefix run needs no logits: the LM head (Gemma-3: 262k rows) is skipped
    for group in plan.groups:
        if group.length == 0:
            continue
        first, span = group.rows[0], slice(pads[group.rows[0]], pads[group.rows[0]] + group.length)
        run = DynamicCache()  # plain layers: every token of the prefix is kept, sliding-window layers' too
        body(
            input_ids=input_ids[first : first + 1, span],
            position_ids=position_ids[first : first + 1, span],
            use_cache=True,
            **{cache_arg: run},
            **(extra if body is model else {}),
        )
        if len(run.layers) != len(cache.layers):
            raise Unshareable(f"{len(run.layers)} layers cached of {len(cache.layers)}")
        if not keys:
            for layer, start in zip(run.layers, starts):
                heads, dim = layer.keys.shape[1], layer.keys.shape[3]
                keys.append(layer.keys.new_zeros((n, heads, cut - start, dim)))  # zeros under the padding (masked)
                values.append(layer.values.new_zeros((n, heads, cut - start, layer.values.shape[3])))
        for k, (layer, start) in enumerate(zip(run.layers, starts)):
            for row in group.rows:
                low = max(pads[row], start)  # the row's first filled column
                if low < cut:
                    keys[k][row, :, low - start :] = layer.keys[0, :, low - pads[row] : cut - pads[row]]
                    values[k][row, :, low - start :] = layer.values[0, :, low - pads[row] : cut - pads[row]]
        del run
    for k, layer in enumerate(cache.layers):
        layer.update(keys[k], values[k])
        if layer.is_sliding:
            layer.cumulative_length = cut  # columns seen, of which the layer keeps the last window - 1
    del keys, values
    return model(
        input_ids=input_ids[:, cut:],
        attention_mask=attention_mask,
        position_ids=position_ids[:, cut:],
        use_cache=True,
        **{cache_arg: cache},
        **extra,
    )


def _decoder(model: Any, cache_arg: str) -> Any:
    """The model without its LM head when it has one that takes the cache the same way, else the model."""
    body = model.get_decoder() if hasattr(model, "get_decoder") else None
    return body if body is not None and cache_arg in inspect.signature(body.forward).parameters else model
