"""Split a recorded judge user prompt back into the values its template was filled with.

A recorded GPT-4 judgment keeps the exact user prompt GPT-4 saw: a FastChat judge template `str.format`-ed with the
question, the answer and (math, reasoning, coding) the reference. With the template known, the values are what lies
between its literal pieces; this is how the calibration set recovers text (the Japanese question wording of the
judged run) that no shared data file holds.
"""

from __future__ import annotations

import re
import string
from functools import cache


class AmbiguousSplit(ValueError):
    """The literal pieces of the template occur inside a value, so the prompt splits in more than one way."""


@cache
def _patterns(template: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A lazy and a greedy regex with one named group per placeholder (a repeat is a backreference); literal
    pieces match as written."""
    lazy, greedy, seen = [], [], set()
    for literal, field, spec, conversion in string.Formatter().parse(template):
        lazy.append(re.escape(literal))
        greedy.append(re.escape(literal))
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            raise ValueError(f"placeholder {{{field}}} is not a plain name; only plain names can be split back")
        if field in seen:  # a placeholder used twice (FastChat's multi-turn math prompt) holds the same text twice
            lazy.append(f"(?P={field})")
            greedy.append(f"(?P={field})")
            continue
        seen.add(field)
        lazy.append(f"(?P<{field}>.*?)")
        greedy.append(f"(?P<{field}>.*)")
    return re.compile("".join(lazy), re.S), re.compile("".join(greedy), re.S)


def split_prompt(template: str, prompt: str) -> dict[str, str] | None:
    """The placeholder values that make `template.format(**values) == prompt`; None when the prompt is not an
    instance of the template. Raises AmbiguousSplit when more than one split exists (shortest-first and longest-
    first matching disagree), since then the prompt alone does not say which text was which."""
    lazy, greedy = _patterns(template)
    first = lazy.fullmatch(prompt)
    if first is None:
        return None
    last = greedy.fullmatch(prompt)
    assert last is not None  # the same pieces in the same order match whenever the lazy form does
    if first.groupdict() != last.groupdict():
        raise AmbiguousSplit(f"placeholders {sorted(first.groupdict())} can be split in more than one way")
    return first.groupdict()
