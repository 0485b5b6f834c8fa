"""Prediction clean-up, quirks included (docs/scoring-jaster.md, "Post-processing" and "Quirks kept on purpose")."""

from __future__ import annotations

import pytest

from nejumi_plugin.tasks.jaster.postprocess import clean_gold, clean_prediction


@pytest.mark.parametrize(
    ("output", "cleaning", "expected"),
    [
        (" Entailment\nmore\n\n### 入力:", "label", "entailment\nmore"),
        ("\n\nentailment", "label", ""),  # a leading blank line loses the answer (A.1)
        ("Answer: B", "en_letter", " B"),  # strip before prefix removal: scored wrong on Neo (A.2)
        ("answer:B", "en_letter", "B"),
        (" b \n\nC", "en_letter", "B"),
        ("回答: 東京", "ja_answer", " 東京"),  # "回答:" goes first, the space stays (A.2; harmless for char_f1)
        ("回答:東京", "ja_answer", "東京"),
        (" YES", "ja_answer", "yes"),  # lowercased prediction (A.3)
        (" ２ ", "number", "2"),  # NFKC full-width digit
        ("  a\nb  ", "strip", "a\nb"),
        (" 3.5 ", "none", " 3.5 "),
    ],
)
def test_clean_prediction(output: str, cleaning: str, expected: str) -> None:
    assert clean_prediction(output, cleaning) == expected  # type: ignore[arg-type]


def test_gold_is_only_nfkc() -> None:
    assert clean_gold(" ＡＢＣ ") == " ABC "


def test_stopping_at_the_first_blank_line_changes_no_score() -> None:
    """Generation may stop at the first "\\n\\n": everything after it is cut anyway."""
    full = "neutral\nbecause ...\n\nentailment\n\n### 入力:\n..."
    stopped = full[: full.index("\n\n") + 2]
    for cleaning in ("label", "number", "ja_answer", "en_letter", "strip", "none"):
        assert clean_prediction(full, cleaning) == clean_prediction(stopped, cleaning)  # type: ignore[arg-type]
