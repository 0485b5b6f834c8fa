"""Greedy (or sampled) decoding over a left-padded batch whose finished rows leave the batch at once.

`model.generate` keeps computing every row until the last one stops, so one answer that rambles to
`max_new_tokens` makes the whole batch pay for it. Here a row that hits EOS, a stop string or its token budget is
yielded at once and dropped from the batch and the KV cache (see MIN_SHRUNK_BATCH), and the rest go on. Each step
is the same forward pass as `generate`'s (same positions, same cache, argmax), so the tokens are those of greedy
`generate`. Stop strings are looked for in the generated text only — never across the prompt boundary, which
`generate(stop_strings=...)` does. With `share_prefixes`, the prefill computes each prompt prefix that rows share
once (see hf_prefix); the decoding after it is the same. Each step appends its keys and values in place (hf_cache).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from .hf_cache import reserve
from .hf_prefix import Unshareable, plan_prefill, run_cost_for, shared_prefill
from .hf_timing import DecodeTiming

StopCheck = Callable[[list[int]], bool]
Chooser = Callable[[torch.Tensor], torch.Tensor]  # last-position logits (rows x vocab) -> the next token of each row

# Measured on a 2-core AVX2 CPU (Gemma-3 270M, fp32): a decode step costs 0.11 s at batch 1, 0.21 s at 2, 0.30 s
# at 3, 0.20 s at 4 and 0.19 s at 8 — the matmul kernels are slower for 2-3 rows than for 4. So the batch never
# shrinks to 2 or 3 rows: finished rows ride along (their tokens are ignored) until one row is left.
MIN_SHRUNK_BATCH = 4
# Dropping finished rows copies the KV cache (~0.06 s for 64 rows of ~250 tokens, about an eighth of a decode
# step), so the batch is compacted only once fewer than this share of its rows are unfinished.
COMPACT_BELOW = 0.75


def greedy_decode(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int | Sequence[int],
    eos_token_ids: Sequence[int],
    stopped: StopCheck | None = None,
    choose: Chooser | None = None,
    share_prefixes: bool = False,
    timing: DecodeTiming | None = None,
) -> Iterator[tuple[int, list[int], str]]:
    """Yield each row as it finishes: its index, its generated token ids (EOS excluded) and why it ended
    ("eos", "stop" or "length"). `max_new_tokens` is one budget for all rows or one per row (rows of different
    datasets share a batch and each stops at its own). `choose` picks the next tokens (default: argmax, greedy).
    `share_prefixes`: prefill each prompt prefix rows share once (hf_prefix). `timing` adds up where time went."""
    eos = set(eos_token_ids)
    n = input_ids.shape[0]
    budgets = [max_new_tokens] * n if isinstance(max_new_tokens, int) else list(max_new_tokens)
    tokens: list[list[int]] = [[] for _ in range(n)]
    rows = list(range(n))  # the original row of each slot still in the batch
    finished: set[int] = set()
    mask = attention_mask
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)  # as generate() derives them
    params = inspect.signature(model.forward).parameters
    extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    cache_arg = "cache" if "cache" in params else "past_key_values"  # transformers >= 5.2x renamed it
    timing = timing if timing is not None else DecodeTiming()
    started = time.perf_counter()
    with torch.inference_mode():
        out = _prefill(model, input_ids, mask, positions, cache_arg, extra, share_prefixes, timing)
        cache, next_pos = getattr(out, cache_arg), positions[:, -1] + 1
        reserve(cache, max(budgets, default=1))  # decode steps append in place, not by copying the cache (hf_cache)
        clock = time.perf_counter()
        timing.prefill_s += clock - started
        for _ in range(max(budgets, default=0)):
            logits = out.logits[:, -1, :]
            chosen = choose(logits) if choose is not None else logits.argmax(dim=-1)
            done: list[tuple[int, list[int], str]] = []
            for row, token in zip(rows, chosen.tolist()):
                if row in finished:
                    continue  # a passenger: see MIN_SHRUNK_BATCH
                if token in eos:
                    done.append((row, tokens[row], "eos"))
                    continue
                tokens[row].append(token)
                if stopped is not None and stopped(tokens[row]):
                    done.append((row, tokens[row], "stop"))
                elif len(tokens[row]) >= budgets[row]:
                    done.append((row, tokens[row], "length"))
            finished.update(row for row, _, _ in done)
            timing.decode_s += time.perf_counter() - clock
            yield from done  # the caller's time with a finished row is not decoding time
            clock = time.perf_counter()
            keep = _slots_to_keep(rows, finished)
            if not keep:
                return
            if len(keep) < len(rows):
                index = torch.tensor(keep, device=chosen.device)
                cache.batch_select_indices(index)
                mask, next_pos, chosen = mask[index], next_pos[index], chosen[index]
                rows = [rows[k] for k in keep]
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = model(
                input_ids=chosen[:, None],
                attention_mask=mask,
                position_ids=next_pos[:, None],
                use_cache=True,
                **{cache_arg: cache},
            )
            next_pos = next_pos + 1


def _prefill(
    model: Any,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    positions: torch.Tensor,
    cache_arg: str,
    extra: dict[str, Any],
    share_prefixes: bool,
    timing: DecodeTiming,
) -> Any:
    """The prompts' forward pass: plain, or with shared prefixes computed once where a plan says it is cheaper."""
    n, total = input_ids.shape
    timing.prompt_tokens += int(mask.sum())
    plan = None
    if share_prefixes and n > 1 and _left_padded(mask):
        pads = (total - mask.sum(dim=-1)).tolist()
        plan = plan_prefill([ids[pad:] for ids, pad in zip(input_ids.tolist(), pads)], run_cost_for(input_ids.device))
    if plan is not None:
        try:
            out = shared_prefill(model, input_ids, mask, positions, plan, cache_arg, extra)
        except Unshareable:
            pass
        else:
            timing.prefilled_tokens += plan.tokens
            timing.shared_batches += 1
            return out
    timing.prefilled_tokens += n * total
    return model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, **extra)


def _left_padded(mask: torch.Tensor) -> bool:
    """Each row's padding (if any) is all in front of its tokens."""
    return bool((mask[:, 1:] >= mask[:, :-1]).all())


def _slots_to_keep(rows: list[int], finished: set[int]) -> list[int]:
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
