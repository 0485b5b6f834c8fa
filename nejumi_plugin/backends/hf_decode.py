"""Greedy (or sampled) decoding over a left-padded batch whose finished rows leave the batch at once.

`model.generate` keeps computing every row until the last one stops, so one answer that rambles to
`max_new_tokens` makes the whole batch pay for it. Here a row that hits EOS, a stop string or its token budget is
yielded at once and dropped from the batch and the KV cache (see hf_rows), and the rest go on. Each step
is the same forward pass as `generate`'s (same positions, same cache, argmax), so the tokens are those of greedy
`generate`. Stop strings are looked for in the generated text only — never across the prompt boundary, which
`generate(stop_strings=...)` does. With `share_prefixes`, the prefill computes each prompt prefix that rows share
once (see hf_prefix); the decoding after it is the same. Each step appends its keys and values in place (hf_cache).
With `draft_tokens`, greedy decoding checks drafted tokens several at a time (hf_speculate) after the same prefill.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from .hf_cache import reserve
from .hf_prefix import Unshareable, plan_prefill, run_cost_for, shared_prefill
from .hf_ragged import ragged
from .hf_rows import Answers, Finished, StopCheck, shrink
from .hf_speculate import speculative_decode, unsupported
from .hf_timing import DecodeTiming

Chooser = Callable[[torch.Tensor], torch.Tensor]  # last-position logits (rows x vocab) -> the next token of each row


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
    draft_tokens: int = 0,
) -> Iterator[Finished]:
    """Yield each row as it finishes: its index, its generated token ids (EOS excluded) and why it ended
    ("eos", "stop" or "length"). `max_new_tokens` is one budget for all rows or one per row (rows of different
    datasets share a batch and each stops at its own). `choose` picks the next tokens (default: argmax, greedy).
    `share_prefixes`: prefill each prompt prefix rows share once (hf_prefix). `draft_tokens` > 0 (greedy only):
    check up to that many drafted tokens per row and step (hf_speculate). `timing` adds up where time went."""
    n = input_ids.shape[0]
    budgets = [max_new_tokens] * n if isinstance(max_new_tokens, int) else list(max_new_tokens)
    answers = Answers(budgets, eos_token_ids, stopped)
    rows = list(range(n))  # the original row of each slot still in the batch
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
        speculate = draft_tokens > 0 and choose is None and _left_padded(mask) and unsupported(model) is None
        layers = ragged(cache, input_ids.shape[1]) if speculate else None
        if layers is None:
            reserve(cache, max(budgets, default=1))  # decode steps append in place, not by copying (hf_cache)
        timing.prefill_s += time.perf_counter() - started
        if layers is not None:
            pads = input_ids.shape[1] - mask.sum(dim=-1)
            prompts = [ids[pad:] for ids, pad in zip(input_ids.tolist(), pads.tolist())]
            logits = out.logits[:, -1, :]
            del out
            keep_logits = "logits_to_keep" in params
            yield from speculative_decode(
                model, logits, cache, layers, prompts, pads, answers, draft_tokens, timing, cache_arg, keep_logits
            )
            return
        clock = time.perf_counter()
        for _ in range(max(budgets, default=0)):
            logits = out.logits[:, -1, :]
            chosen = choose(logits) if choose is not None else logits.argmax(dim=-1)
            done = [
                finished
                for row, token in zip(rows, chosen.tolist())
                if row not in answers.finished and (finished := answers.take(row, token)) is not None
            ]  # a finished row still in the batch is a passenger (see hf_rows.MIN_SHRUNK_BATCH)
            timing.decode_s += time.perf_counter() - clock
            yield from done  # the caller's time with a finished row is not decoding time
            clock = time.perf_counter()
            step = shrink(rows, answers.finished, cache, mask, next_pos, chosen)
            if step is None:
                return
            rows, (mask, next_pos, chosen) = step
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = model(
                input_ids=chosen[:, None],
                attention_mask=mask,
                position_ids=next_pos[:, None],
                use_cache=True,
                **{cache_arg: cache},
            )
            timing.decode_steps += 1
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
