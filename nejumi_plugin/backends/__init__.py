"""Backends: local Hugging Face models (more providers arrive behind the same Protocol)."""
