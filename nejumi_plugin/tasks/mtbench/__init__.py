"""MT-Bench (Neo): questions, answers, the LLM judge and its rating parsing."""
