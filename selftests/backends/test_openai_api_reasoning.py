"""OpenAI's reasoning models and open reasoning models behind OpenAI-compatible servers, against a local server that
answers as their providers document (`reasoning_server.py`): what the harness sends, and what it keeps of the
answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import results
from reasoning_server import THINKING, THINKING_TOKENS, ReasoningServer, serve_reasoning

from nejumi_plugin.backends.api_common import ApiSettings, azure_api_version
from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest, Thinking
from nejumi_plugin.backends.openai_api import OpenAIBackend

THINK = Thinking(budget_tokens=256, effort="low")
JASTER = GenerationRequest("", 3, stop=("\n\n",), messages=(("user", "前提と仮説の関係は？"),), thinking=THINK)


@pytest.fixture
def server() -> Iterator[tuple[ReasoningServer, str]]:
    reasoning = ReasoningServer()
    with serve_reasoning(reasoning) as url:
        yield reasoning, url


def backend(url: str, model: str, provider: str = "openai") -> OpenAIBackend:
    return OpenAIBackend(
        ApiSettings(model=model, provider=provider, base_url=url, api_key_env="NEJUMI_TEST_KEY", max_retries=1)
    )


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEJUMI_TEST_KEY", "sk-test")


def test_an_openai_reasoning_model_refuses_what_a_plain_request_sends(server: tuple[ReasoningServer, str]) -> None:
    reasoning, url = server
    plain = GenerationRequest("", 3, stop=("\n\n",), messages=(("user", "質問"),))
    (failure,) = results(backend(url, "o3-mini"), [plain]).values()
    assert isinstance(failure, BackendError) and "Unsupported parameter: 'max_tokens'" in str(failure)
    assert reasoning.refused == ["max_tokens"]  # what the service said to today's request, a 400


def test_an_openai_reasoning_model_gets_its_budgets_and_no_temperature_or_stop(
    server: tuple[ReasoningServer, str],
) -> None:
    reasoning, url = server
    (answer,) = results(backend(url, "o3-mini"), [JASTER]).values()
    assert isinstance(answer, Completion) and answer.text == "Rating: [[8]]" and not answer.thinking_exhausted
    assert reasoning.bodies == [
        {
            "model": "o3-mini",
            "n": 1,
            "max_completion_tokens": 256 + 3,
            "reasoning_effort": "low",
            "messages": [{"role": "user", "content": "前提と仮説の関係は？"}],
        }
    ]
    assert answer.reasoning_tokens == THINKING_TOKENS and answer.thinking == ""  # OpenAI keeps the thinking hidden


def test_a_budget_spent_thinking_is_an_empty_answer_counted_as_such(server: tuple[ReasoningServer, str]) -> None:
    _, url = server
    small = GenerationRequest("", 3, messages=(("user", "質問"),), thinking=Thinking(THINKING_TOKENS - 3))
    for model, provider in (
        ("gpt-5-mini", "openai"),
        ("qwen3-inline", "openai_compatible"),
        ("r1-field", "openai_compatible"),
    ):
        (answer,) = results(backend(url, model, provider), [small]).values()
        assert isinstance(answer, Completion) and answer.text == "" and answer.thinking_exhausted, model
        assert answer.finish_reason == "length"
        assert THINKING[:20] not in answer.text  # never the thinking as the answer


def test_pro_models_go_through_the_responses_api_with_the_same_budgets(server: tuple[ReasoningServer, str]) -> None:
    reasoning, url = server
    (answer,) = results(backend(url, "o3-pro"), [JASTER]).values()
    assert isinstance(answer, Completion) and answer.text == "Rating: [[8]]"
    assert reasoning.paths == ["/v1/responses"]
    assert reasoning.bodies[0] == {
        "model": "o3-pro",
        "max_output_tokens": 259,
        "reasoning": {"effort": "low"},
        "input": [{"role": "user", "content": "前提と仮説の関係は？"}],
    }
    assert answer.reasoning_tokens == THINKING_TOKENS and (answer.prompt_tokens, answer.output_tokens) == (10, 66)


@pytest.mark.parametrize("model", ["qwen3-inline", "deepseek-r1-field"])
def test_a_compatible_server_keeps_the_thinking_apart_from_the_answer(
    server: tuple[ReasoningServer, str], model: str
) -> None:
    reasoning, url = server
    (answer,) = results(backend(url, model, "openai_compatible"), [JASTER]).values()
    assert isinstance(answer, Completion) and answer.text == "Rating: [[8]]" and answer.thinking == THINKING
    sent = reasoning.bodies[0]
    assert "stop" not in sent and sent["max_tokens"] == 259 and sent["temperature"] == 0.0  # the server may sample


def test_a_stop_string_sent_to_a_server_would_have_ended_the_thinking(server: tuple[ReasoningServer, str]) -> None:
    """Why thinking requests never carry a stop string: the server applies it to the thinking too."""
    _, url = server
    plain = GenerationRequest("", 259, stop=("\n\n",), messages=(("user", "質問"),))
    (answer,) = results(backend(url, "qwen3-inline", "openai_compatible"), [plain]).values()
    assert isinstance(answer, Completion) and answer.text == "<think>\nLet me think."  # no answer at all


def test_an_azure_reasoning_deployment_gets_the_same_budgets_at_its_deployment_url(
    server: tuple[ReasoningServer, str],
) -> None:
    """Azure serves OpenAI's reasoning models under a deployment name: the request is OpenAI's, sent to the
    deployment's path."""
    reasoning, url = server
    azure = OpenAIBackend(
        ApiSettings(
            model="azure-o3-mini",
            provider="azure",
            base_url=url,
            api_key_env="NEJUMI_TEST_KEY",
            api_version=azure_api_version(None, thinking=True),
            max_retries=1,
        )
    )
    (answer,) = results(azure, [JASTER]).values()
    assert isinstance(answer, Completion) and answer.text == "Rating: [[8]]"
    assert reasoning.paths == ["/v1/openai/deployments/o3-mini/chat/completions?api-version=2024-12-01-preview"]
    (body,) = reasoning.bodies
    assert body["max_completion_tokens"] == 256 + 3 and body["reasoning_effort"] == "low"
    assert not {"max_tokens", "temperature", "stop"} & set(body) and not reasoning.refused
    assert answer.reasoning_tokens == THINKING_TOKENS
