"""The regression gate: bound specs, how keys select leaderboard columns, and failing at the right bounds."""

from __future__ import annotations

import pytest

from nejumi_plugin.gate import check_bounds, matching_columns, parse_bounds

COLUMNS = [
    "model_name",
    "AVG_jaster_ja_0shot",
    "NLI_jaster_ja_0shot",
    "jnli_exact_match_jaster_ja_0shot",
    "jsts_pearson_jaster_ja_0shot",
    "wiki_ner_set_f1_jaster_ja_0shot",
    "wiki_reading_char_f1_jaster_ja_0shot",
    "AVG_jaster_ja_4shot",
    "jnli_exact_match_jaster_ja_4shot",
    "coding_MTbench_ja",
    "AVG_MTbench_ja",
    "AVG_MTbench_en",
]
VALUES = ["m", 0.41, 0.6, 0.55, 0.8, 0.3, 0.5, 0.45, 0.62, 6.5, 7.25, None]


def test_parse_spec_and_mapping() -> None:
    assert parse_bounds("jnli=0.55,AVG=0.4") == {"jnli": 0.55, "AVG": 0.4}
    assert parse_bounds(" jnli = 0.55 , AVG_MTbench_ja=6 ") == {"jnli": 0.55, "AVG_MTbench_ja": 6.0}
    assert parse_bounds({"jnli": 0.55, "AVG": "0.4"}) == {"jnli": 0.55, "AVG": 0.4}


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("jnli=0.55,AVG", "'AVG'"),
        ("jnli=abc", "'abc'"),
        ("=0.5", "'=0.5'"),
        ("jnli=0.5,", "''"),
        ("jnli=nan", "not a finite"),
        ("jnli=0.5,jnli=0.6", "twice"),
        ("jnli=", "'jnli='"),
        ("a b=1", "'a b'"),
    ],
)
def test_bad_spec_names_the_bad_part(spec: str, names: str) -> None:
    with pytest.raises(ValueError, match=names.replace("(", r"\(")):
        parse_bounds(spec)


def test_key_matching_rule() -> None:
    cols = COLUMNS[1:]
    assert matching_columns("jnli", cols) == ["jnli_exact_match_jaster_ja_0shot", "jnli_exact_match_jaster_ja_4shot"]
    assert matching_columns("jnli_exact_match_jaster_ja_4shot", cols) == ["jnli_exact_match_jaster_ja_4shot"]
    assert matching_columns("AVG_jaster", cols) == ["AVG_jaster_ja_0shot", "AVG_jaster_ja_4shot"]
    assert matching_columns("AVG", cols) == [
        "AVG_jaster_ja_0shot",
        "AVG_jaster_ja_4shot",
        "AVG_MTbench_ja",
        "AVG_MTbench_en",
    ]
    assert matching_columns("wiki", cols) == ["wiki_ner_set_f1_jaster_ja_0shot", "wiki_reading_char_f1_jaster_ja_0shot"]
    assert matching_columns("*_jaster_ja_4shot", cols) == ["AVG_jaster_ja_4shot", "jnli_exact_match_jaster_ja_4shot"]
    assert matching_columns("jn", cols) == []  # whole tokens only
    assert matching_columns("AVG_MT", cols) == []


def test_gate_fails_and_passes_at_the_right_bounds() -> None:
    assert check_bounds(COLUMNS, VALUES, parse_bounds("jnli=0.55")) == []  # 0.55 and 0.62: equal passes
    assert check_bounds(COLUMNS, VALUES, parse_bounds("jnli=0.5501")) == [
        "jnli_exact_match_jaster_ja_0shot = 0.5500 is below 0.5501 (jnli)"
    ]
    assert check_bounds(COLUMNS, VALUES, parse_bounds("AVG_jaster=0.41")) == []
    assert len(check_bounds(COLUMNS, VALUES, parse_bounds("AVG_jaster=0.46"))) == 2
    assert check_bounds(COLUMNS, VALUES, parse_bounds("AVG_MTbench_ja=7.25,NLI=0.6")) == []
    assert check_bounds(COLUMNS, VALUES, parse_bounds("AVG_MTbench_ja=7.3")) == [
        "AVG_MTbench_ja = 7.2500 is below 7.3 (AVG_MTbench_ja)"
    ]


def test_unknown_key_and_missing_score_are_violations() -> None:
    assert check_bounds(COLUMNS, VALUES, {"jcommonsenseqa": 0.1}) == [
        "jcommonsenseqa >= 0.1: no such score in the leaderboard row"
    ]
    assert check_bounds(COLUMNS, VALUES, {"AVG_MTbench_en": 1.0}) == [
        "AVG_MTbench_en >= 1 (AVG_MTbench_en): no score (None)"
    ]
    assert check_bounds(COLUMNS, VALUES, {"model_name": 0.0}) == [
        "model_name >= 0: no such score in the leaderboard row"
    ]
    assert check_bounds(COLUMNS, VALUES, {}) == []
