"""Prompt lookup: the draft is what followed the latest earlier occurrence of the text's longest matching tail."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nejumi_plugin.backends.hf_lookup import MAX_NGRAM, PromptLookup


def test_the_latest_occurrence_of_the_longest_tail_is_continued() -> None:
    lookup = PromptLookup([1, 2, 3, 9, 1, 2, 3, 4, 5, 7, 2, 3])
    assert lookup.draft(2) == [4, 5]  # (2, 3) last followed by 4, and the 3-gram (7, 2, 3) never occurred
    lookup.extend([8])
    assert lookup.draft(3) == []  # 8 never occurred before
    lookup.extend([1, 2])
    assert lookup.draft(3) == [3, 4, 5]  # (8, 1, 2) unseen, (1, 2) latest at 4..5


def test_a_loop_is_continued_through_the_draft_itself() -> None:
    lookup = PromptLookup([5, 6, 7, 5, 6])
    assert lookup.draft(7) == [7, 5, 6, 7, 5, 6, 7]
    assert lookup.draft(0) == []


def test_nothing_to_draft_from_an_empty_or_novel_text() -> None:
    assert PromptLookup([]).draft(4) == []
    assert PromptLookup([1, 2, 3, 4]).draft(4) == []


@given(st.lists(st.integers(0, 4), max_size=40), st.integers(0, 8))
def test_a_draft_continues_an_earlier_occurrence_of_the_tail(text: list[int], size: int) -> None:
    """Against a brute-force search: the longest tail (up to MAX_NGRAM) with an earlier occurrence, its latest one."""
    lookup = PromptLookup(text)
    expected: list[int] = []
    for n in range(min(MAX_NGRAM, len(text)), 0, -1):
        starts = [e for e in range(n, len(text)) if text[e - n : e] == text[-n:]]
        if starts:
            grown = list(text)
            for k in range(size):
                grown.append(grown[starts[-1] + k])
            expected = grown[len(text) :]
            break
    assert lookup.draft(size) == expected
