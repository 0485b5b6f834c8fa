"""Prompt lookup: guess a row's next tokens from what followed the same few tokens earlier in its text.

A model's answer often repeats its prompt (a wiki_* answer copies spans of the input) or itself (a small model
that rambles repeats one sentence until its token budget ends). The tokens that followed the latest earlier
occurrence of the row's last n tokens (n = MAX_NGRAM down to 1, the longest match first) are a cheap draft of what
comes next; the model then checks the whole draft in one forward pass (hf_speculate), so a wrong guess costs
compute but never changes a token. The same idea as vLLM's n-gram speculation and transformers'
`prompt_lookup_num_tokens`, with the latest match instead of the first (a loop's latest turn predicts its next).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_NGRAM = 3


class PromptLookup:
    """One row's text (prompt and generated tokens) indexed by its n-grams for drafting."""

    def __init__(self, prompt: Iterable[int]) -> None:
        self.text: list[int] = []
        self._after: dict[tuple[int, ...], int] = {}  # an n-gram -> where the tokens after its latest occurrence start
        self.extend(prompt)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append tokens, indexing every n-gram that now has a token after it."""
        text, after = self.text, self._after
        for token in tokens:
            end = len(text)  # the n-grams ending here are followed by `token`
            for n in range(1, min(MAX_NGRAM, end) + 1):
                after[tuple(text[end - n : end])] = end
            text.append(token)

    def draft(self, size: int) -> list[int]:
        """Up to `size` tokens that followed the latest earlier occurrence of the text's longest matching tail
        (a match close to the end is continued through the draft itself, as a loop repeats); [] when none."""
        text = self.text
        for n in range(min(MAX_NGRAM, len(text)), 0, -1):
            start = self._after.get(tuple(text[-n:]))
            if start is not None:
                guess: list[int] = []
                for k in range(size):
                    at = start + k
                    guess.append(text[at] if at < len(text) else guess[at - len(text)])
                return guess
        return []
