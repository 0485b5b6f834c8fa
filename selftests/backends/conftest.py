"""Tiny random models for the local backend's decoding tests: a Llama, and a Gemma-3 with sliding-window layers
shorter than the 4-shot prompts. Both have a larger init than selftests' default tiny model, whose answers hardly
depend on the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_model import build_tiny_model, build_tokenizer


def build_tiny_gemma(out: Path) -> Path:
    """A 4-layer Gemma-3 (3 sliding-window layers of 32 tokens, 1 full) with the tiny model's tokenizer."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tok = build_tokenizer()
    cfg = Gemma3TextConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=32,
        max_position_embeddings=4096,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        initializer_range=0.3,
        tie_word_embeddings=False,  # tied, a random Gemma says one token over and over
    )
    torch.manual_seed(0)
    Gemma3ForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("llama"), init_std=0.3)


@pytest.fixture(scope="module", params=["llama", "gemma3-sliding"])
def varied_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "llama":
        return request.getfixturevalue("llama_dir")
    return build_tiny_gemma(tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def varied(varied_dir: Path):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(varied_dir, padding_side="left")
    return AutoModelForCausalLM.from_pretrained(varied_dir, dtype=torch.float32).eval(), tok
