"""Greedy decoding that checks a drafted continuation of each row in one forward pass (speculative decoding).

After the prefill, each step feeds every row its last chosen token followed by a draft of the tokens that may come
next (hf_lookup: what followed the same tokens earlier in the row's text). One forward pass gives the model's
greedy choice after each fed token; the row keeps the draft's tokens as long as they equal those choices, plus the
model's own choice after the last kept one. So a step adds 1 to 1 + draft tokens per row, and every added token is
the model's argmax given the tokens before it — the tokens of plain greedy decoding, up to the float rounding of
computing several positions in one pass (as prefix reuse, hf_prefix; the selftests and the bench compare them).
A small model that loops ("X。\\nX。\\nX。…" until its budget ends, common on the wiki_* tasks) is then decoded
~8 tokens per step instead of 1.

Rows accept different numbers of tokens, so their texts end at different columns: the cache is ragged
(hf_ragged) and the attention masks are built here from each row's end and left padding, for full and
sliding-window layers alike, exactly as transformers builds them for a plain left-padded batch.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from .hf_lookup import PromptLookup
from .hf_ragged import RaggedLayer, aim
from .hf_rows import Answers, Finished, shrink
from .hf_timing import DecodeTiming

MASK_KINDS = ("sdpa", "eager")  # attention implementations that take a ready 4D mask as is


def unsupported(model: Any) -> str | None:
    """Why this model cannot be decoded speculatively here (None: it can): the attention must take a ready mask,
    and a model that mixes full and sliding-window layers must take one mask per layer type."""
    config = model.config.get_text_config(decoder=True) if hasattr(model.config, "get_text_config") else model.config
    kind = getattr(model.config, "_attn_implementation", None)
    if kind not in MASK_KINDS:
        return f"attention implementation {kind!r} (speculation builds its own masks for {', '.join(MASK_KINDS)})"
    if getattr(config, "use_bidirectional_attention", False) or getattr(config, "attention_chunk_size", None):
        return "bidirectional or chunked attention"
    types = set(getattr(config, "layer_types", None) or ["full_attention"])
    if not types <= {"full_attention", "sliding_attention"}:
        return f"layer types {sorted(types)}"
    if len(types) > 1 and not _takes_mask_per_layer_type(model):
        return "full and sliding-window layers, but the model takes one mask for all"
    return None


def _takes_mask_per_layer_type(model: Any) -> bool:
    """The decoder's forward takes a {layer type: mask} dict (transformers' hybrid models do, by this idiom)."""
    body = model.get_decoder() if hasattr(model, "get_decoder") else model
    return _forward_takes_mask_dict(body.__class__)


@functools.cache
def _forward_takes_mask_dict(decoder: Any) -> bool:
    """Read once per class: `unsupported` is asked at every batch, and reading source means reading its file."""
    try:
        source = inspect.getsource(decoder.forward)
    except (AttributeError, OSError, TypeError):
        return False
    return "attention_mask, dict)" in source


def speculative_decode(
    model: Any,
    logits: torch.Tensor,
    cache: Any,
    layers: list[RaggedLayer],
    prompts: Sequence[Sequence[int]],
    pads: torch.Tensor,
    answers: Answers,
    draft_tokens: int,
    timing: DecodeTiming,
    cache_arg: str,
    keep_logits: bool,
) -> Iterator[Finished]:
    """Decode from the prefill's last `logits` (rows x vocab) and its cache, whose layers are now `layers`
    (hf_ragged.ragged); `prompts` are the rows' unpadded token ids, `pads` their left padding (columns).
    `cache_arg` and `keep_logits`: the forward's name for the cache, and whether it takes `logits_to_keep`
    (as hf_decode read them). Yield each row as it finishes, as hf_decode.greedy_decode does."""
    device = logits.device
    n, columns = len(prompts), layers[0].top
    rows = list(range(n))  # the original row of each slot still in the batch
    ends = torch.full((n,), columns, dtype=torch.long, device=device)  # where each slot's next token goes
    last = logits.argmax(dim=-1)  # each slot's newest token, not yet fed to the model
    lookups = [PromptLookup(ids) for ids in prompts]
    masks = _Masks(model, layers)
    clock = time.perf_counter()
    done = [f for row, token in enumerate(last.tolist()) if (f := _take(answers, lookups, row, [token])) is not None]
    while True:
        timing.decode_s += time.perf_counter() - clock
        yield from done  # the caller's time with a finished row is not decoding time
        clock = time.perf_counter()
        step = shrink(rows, answers.finished, cache, ends, pads, last)
        if step is None:
            return
        rows, (ends, pads, last) = step
        drafts = [
            [] if row in answers.finished else lookups[row].draft(min(draft_tokens, answers.left(row) - 1))
            for row in rows
        ]
        width = 1 + max(len(d) for d in drafts)
        fed = torch.tensor([d + [0] * (width - 1 - len(d)) for d in drafts], dtype=torch.long, device=device)
        fed = torch.cat([last[:, None], fed], dim=1) if width > 1 else last[:, None]
        aim(layers, ends)
        out = model(
            input_ids=fed,
            attention_mask=masks.step(ends, pads, width),
            position_ids=(ends - pads)[:, None] + torch.arange(width, device=device),
            use_cache=True,
            **{cache_arg: cache},
            **({"logits_to_keep": width} if keep_logits else {}),
        )
        chosen = out.logits[:, -width:, :].argmax(dim=-1).tolist()  # the model's token after each fed one
        timing.decode_steps += 1
        done, moved = [], []
        for row, draft, choice in zip(rows, drafts, chosen):
            if row in answers.finished:
                moved.append(0)
                continue
            kept = next((k for k, token in enumerate(draft) if token != choice[k]), len(draft))
            timing.drafted_tokens += len(draft)
            timing.accepted_tokens += kept
            finished = _take(answers, lookups, row, choice[: kept + 1])
            if finished is not None:
                done.append(finished)
            moved.append(kept + 1)
        ends = ends + torch.tensor(moved, dtype=torch.long, device=device)
        last = torch.tensor([choice[m - 1] if m else choice[0] for choice, m in zip(chosen, moved)], device=device)


def _take(answers: Answers, lookups: list[PromptLookup], row: int, tokens: list[int]) -> Finished | None:
    """Add a row's new tokens in order until one ends the row; index the added ones for drafting."""
    for k, token in enumerate(tokens):
        finished = answers.take(row, token)
        if finished is not None:
            return finished
        lookups[row].extend(tokens[k : k + 1])
    return None


class _Masks:
    """Each step's attention masks over the ragged cache: a query at column q of a row sees the row's columns from
    its first token (after its left padding) to q, and on a sliding-window layer only the last `window` of them —
    what transformers' masks give a plain left-padded batch, whose columns and positions these are."""

    def __init__(self, model: Any, layers: list[RaggedLayer]) -> None:
        self._eager = getattr(model.config, "_attn_implementation", None) == "eager"
        self._dtype = next(model.parameters()).dtype
        self._full = next((layer for layer in layers if layer.sliding_window is None), None)
        self._sliding = next((layer for layer in layers if layer.sliding_window is not None), None)

    def step(self, ends: torch.Tensor, pads: torch.Tensor, width: int) -> torch.Tensor | dict[str, torch.Tensor]:
        """The mask (rows x 1 x width x columns) of each layer type for a step of `width` tokens per row."""
        masks = {
            kind: self._mask(layer, ends, pads, width)
            for kind, layer in (("full_attention", self._full), ("sliding_attention", self._sliding))
            if layer is not None
        }
        return next(iter(masks.values())) if len(masks) == 1 else masks

    def _mask(self, layer: RaggedLayer, ends: torch.Tensor, pads: torch.Tensor, width: int) -> torch.Tensor:
        first, top = layer.span(width)
        keys = torch.arange(first, top, device=ends.device)[None, None, :]
        queries = (ends[:, None] + torch.arange(width, device=ends.device))[:, :, None]
        seen = (keys >= pads[:, None, None]) & (keys <= queries)
        if layer.sliding_window is not None:
            seen &= queries - keys < layer.sliding_window
        seen = seen[:, None]
        if not self._eager:
            return seen
        return torch.zeros(seen.shape, dtype=self._dtype, device=seen.device).masked_fill(
            ~seen, torch.finfo(self._dtype).min
        )
