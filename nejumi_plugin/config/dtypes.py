"""Neo's short dtype names and torch's: one map for the config, the backends and the cache key."""

from __future__ import annotations

TORCH_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def torch_dtype_name(name: str) -> str:
    """`bf16` -> `bfloat16` (torch's attribute name); names already torch's, and `auto`, as they are."""
    return TORCH_NAMES.get(name, name)
