"""Judge rating parsing, quirks included (docs/scoring-mtbench.md, "Rating parsing and retries")."""

from __future__ import annotations

import pytest

from nejumi_plugin.tasks.mtbench.rating import is_final, parse_rating


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("Good answer. Rating: [[8]]", 8),
        ("[[7.5]] overall", 7.5),
        ("see [1] and then [[6]]", 6),  # the double-bracket pattern wins wherever it is
        ("as noted in [3], fine. Rating: 9", 3),  # the backup pattern takes a citation
        ("評価：[[10]]", 10),
        ("no rating here", -1),
        ("$ERROR$", -1),
        ("[[ 8 ]]", -1),
        ("[[8.]]", 8.0),
        ("Rating: [7]", 7),  # single brackets: the backup pattern
        ("Rating: [[0]]", 0),  # read as is; Neo asks again (is_final)
        ("Rating: [[11]]", 11),
    ],
)
def test_parse_rating(text: str, rating: float) -> None:
    got = parse_rating(text)
    assert got == rating and type(got) is type(rating)


@pytest.mark.parametrize(
    ("rating", "final"), [(1, True), (10, True), (7.0, True), (7.5, False), (0, False), (11, False), (-1, False)]
)
def test_retry_rule(rating: float, final: bool) -> None:
    assert is_final(rating) is final
