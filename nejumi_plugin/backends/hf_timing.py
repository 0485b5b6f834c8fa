"""Where a local model's generation time went: its own module so the backend can count it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DecodeTiming:
    """Summed over batches: the prompts' forward passes (prefill) and the token-by-token loop (decode, its Python
    work such as stop checks included; the time a caller spends between two yielded rows excluded)."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    prompt_tokens: int = 0  # the prompts' tokens
    prefilled_tokens: int = 0  # tokens the prefill computed: padding included, each shared prefix once
    shared_batches: int = 0  # batches prefilled with shared prefixes (see hf_prefix)
    decode_steps: int = 0  # forward passes after the prefill
    drafted_tokens: int = 0  # tokens drafted by prompt lookup and checked (see hf_speculate)
    accepted_tokens: int = 0  # of those, the ones the model chose too (each saved a decode step of its row)
