"""A local reasoning model: the tiny model with a chat template that takes `enable_thinking` (as Qwen3's does), made
to emit a scripted think block. The prompt goes through the chat template with thinking on, generation is not
stopped inside the thinking (it has blank lines), the think block is stripped before the stop string cuts the
answer, and an answer cut inside the think block is empty and counted as budget spent thinking."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.backends.base import Completion, GenerationRequest, Thinking
from nejumi_plugin.backends.hf import HFBackend, HFSettings, chat_template_of
from nejumi_plugin.config.reasoning_schema import ReasoningConfig
from nejumi_plugin.reasoning import decide

THINKING_TEMPLATE = (  # Qwen3's shape (an empty think block when enable_thinking is false), plus a marker that
    # shows the flag reached the template when it is true
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% if enable_thinking is defined and enable_thinking is false %}"
    "<think>\n\n</think>\n\n{% elif enable_thinking is defined and enable_thinking %}<s>{% endif %}{% endif %}"
)
SCRIPT = "<think>\nThe premise says the cat sleeps.\n\nSo it is not running.\n</think>\n\ncontradiction\n\nmore"
THINK = Thinking(budget_tokens=120)


@pytest.fixture(scope="module")
def thinking_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("thinking") / "tiny-thinking"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").write_text(THINKING_TEMPLATE, encoding="utf-8")
    return folder


@pytest.fixture
def scripted(thinking_model: Path) -> Iterator[HFBackend]:
    """The backend, its model made to say SCRIPT (then EOS) whatever the prompt: each forward pass's last logits
    are replaced by the next scripted token (so it decodes a token a step: no prompt lookup)."""
    settings = HFSettings(str(thinking_model), dtype="fp32", device_map="cpu", batch_size=4, prompt_lookup_tokens=0)
    backend = HFBackend(settings)
    backend._load()
    model, tok = backend._model, backend._tokenizer
    script = tok(SCRIPT, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    original, step = model.forward, [0]

    @functools.wraps(original)
    def forward(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if kwargs["input_ids"].shape[1] > 1:  # a new batch's prefill
            step[0] = 0
        out.logits[:, -1, :] = -1e9
        out.logits[:, -1, script[min(step[0], len(script) - 1)]] = 1e9
        step[0] += 1
        return out

    model.forward = forward
    yield backend


def test_auto_decides_from_the_chat_template(thinking_model: Path, tiny_model_dir: Path) -> None:
    on = decide(ReasoningConfig(), None, str(thinking_model), chat_template_of(str(thinking_model)))
    assert on.on and on.why == "its chat template takes enable_thinking"
    off = decide(ReasoningConfig(), None, str(tiny_model_dir), chat_template_of(str(tiny_model_dir)))
    assert not off.on and "neither takes enable_thinking nor opens a think tag" in off.why


def test_the_prompt_goes_through_the_chat_template_with_thinking_on(scripted: HFBackend) -> None:
    request = GenerationRequest("", 3, ("\n\n",), messages=(("user", "前提：猫"),), thinking=THINK)
    assert scripted._prompt(request, 0) == "<s>user\n前提：猫</s>\n<s>assistant\n<s>"  # enable_thinking=True
    plain = GenerationRequest("", 3, messages=(("user", "前提：猫"),))  # a non-thinking chat request: as before
    assert scripted._prompt(plain, 0) == "<s>user\n前提：猫</s>\n<s>assistant\n"


def test_the_think_block_is_kept_apart_and_the_answer_cut_at_the_stop_string(scripted: HFBackend) -> None:
    request = GenerationRequest("", 8, ("\n\n",), messages=(("user", "前提：猫"),), thinking=THINK)
    ((_, completion),) = scripted.generate([request])
    assert isinstance(completion, Completion)
    assert (completion.text, completion.finish_reason) == ("contradiction", "stop")  # not stopped mid-thought
    assert completion.thinking == "The premise says the cat sleeps.\n\nSo it is not running."
    assert not completion.thinking_exhausted and completion.reasoning_tokens and completion.reasoning_tokens > 5


def test_an_answer_cut_inside_the_think_block_is_empty_and_counted(scripted: HFBackend) -> None:
    request = GenerationRequest("", 2, ("\n\n",), messages=(("user", "前提：猫"),), thinking=Thinking(budget_tokens=8))
    ((_, completion),) = scripted.generate([request])
    assert isinstance(completion, Completion) and completion.text == "" and completion.thinking_exhausted
    assert completion.finish_reason == "length" and completion.output_tokens == 10  # thinking budget + answer's
    assert completion.thinking and SCRIPT.removeprefix("<think>\n").startswith(completion.thinking)  # kept apart
