"""jaster (llm-jp-eval 1.2): datasets, prompts, post-processing, cases and their runner."""
