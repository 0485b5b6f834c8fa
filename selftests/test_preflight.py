"""What is checked before the first request without a model: here, thinking budgets a provider would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from nejumi_plugin.config import ConfigError, load_config
from nejumi_plugin.preflight import ANTHROPIC_MIN_THINKING, check_reasoning

TEMPLATE = Path(__file__).resolve().parent.parent / "configs" / "config_template.yaml"


def config(*overrides: str):  # type: ignore[no-untyped-def]
    return load_config(TEMPLATE, overrides)


@pytest.mark.parametrize("block", ["model", "mtbench.judge"])
def test_an_anthropic_thinking_budget_under_its_minimum_stops_before_any_request(block: str) -> None:
    api = f"{block}.api=anthropic"
    budget = f"{block}.reasoning.budget_tokens={ANTHROPIC_MIN_THINKING - 1}"
    with pytest.raises(ConfigError) as err:
        check_reasoning(config(api, f"{block}.reasoning.mode=on", budget))
    assert str(err.value).endswith(
        f"{block}.reasoning.budget_tokens: Anthropic's extended thinking takes at least {ANTHROPIC_MIN_THINKING} "
        f"tokens (got {ANTHROPIC_MIN_THINKING - 1})"
    )
    assert str(TEMPLATE) in str(err.value)


def test_the_minimum_itself_and_thinking_off_pass() -> None:
    check_reasoning(
        config(
            "model.api=anthropic", "model.reasoning.mode=on", f"model.reasoning.budget_tokens={ANTHROPIC_MIN_THINKING}"
        )
    )
    check_reasoning(config("model.api=anthropic", "model.reasoning.mode=off", "model.reasoning.budget_tokens=16"))
