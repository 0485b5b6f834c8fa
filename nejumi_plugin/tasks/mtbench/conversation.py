"""How a two-turn MT-Bench dialogue becomes a request (docs/scoring-mtbench.md, "Answer generation").

Three kinds of template, in the order Neo's config chooses them:
- Neo's custom template (`mtbench.custom_conv_template: true` and the `conv_*` keys), rendered as FastChat's
  `SeparatorStyle.CUSTOM` of wandb/FastChat@g-leaderboard;
- a FastChat template (`fschat`'s `get_conv_template(name)`, or, by default, `get_conversation_template(model)`
  resolved from the model's name as Neo does);
- the tokenizer's own chat template (`mtbench.conv_template: tokenizer`): the request carries chat messages.
Text templates give local models a rendered prompt; API models always get chat messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...backends.base import Message
from ...config import ConfigError, RunConfig

TOKENIZER = "tokenizer"


@dataclass(frozen=True)
class Dialogue:
    """What a template makes of a dialogue: a prompt (text templates) or messages (chat), and its stop rules."""

    prompt: str
    messages: tuple[Message, ...]
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class CustomTemplate:
    """Neo's custom template: `system + sep`, then `role + role_message_sep + message + sep` per message and
    `role + role_only_sep` for the open assistant slot (FastChat `SeparatorStyle.CUSTOM`)."""

    system_message: str
    roles: tuple[str, str]
    sep: str
    stop_str: str | None
    stop_token_ids: tuple[int, ...]
    role_message_sep: str
    role_only_sep: str

    def render(self, questions: Sequence[str], answers: Sequence[str]) -> Dialogue:
        text = self.system_message + self.sep
        for role, message in _turns(self.roles, questions, answers):
            text += role + (self.role_message_sep + message + self.sep if message else self.role_only_sep)
        return Dialogue(
            text, _messages(self.system_message, questions, answers), _stops(self.stop_str), self.stop_token_ids
        )


@dataclass(frozen=True)
class FastChatTemplate:
    """A template from `fschat` (PyPI `fschat==0.2.36`), copied before each use."""

    conversation: Any  # fastchat.conversation.Conversation

    def render(self, questions: Sequence[str], answers: Sequence[str]) -> Dialogue:
        conv = self.conversation.copy()
        for role, message in _turns(conv.roles, questions, answers):
            conv.append_message(role, message or None)
        try:
            prompt = conv.get_prompt()
        except ValueError:  # API-only templates (e.g. "chatgpt") have no text form
            prompt = ""
        stop_ids = tuple(conv.stop_token_ids or ())
        return Dialogue(prompt, _messages(conv.system_message, questions, answers), _stops(conv.stop_str), stop_ids)


@dataclass(frozen=True)
class TokenizerTemplate:
    """The model's own chat template: the local backend renders the messages with its tokenizer."""

    def render(self, questions: Sequence[str], answers: Sequence[str]) -> Dialogue:
        return Dialogue("", _messages("", questions, answers))


Template = CustomTemplate | FastChatTemplate | TokenizerTemplate


def _turns(roles: Sequence[str], questions: Sequence[str], answers: Sequence[str]) -> list[tuple[str, str]]:
    """(role, message) pairs: each question, then its answer, the last answer slot open ("")."""
    if len(answers) != len(questions) - 1:
        raise ValueError(f"{len(questions)} questions need {len(questions) - 1} earlier answers, got {len(answers)}")
    pairs: list[tuple[str, str]] = []
    for i, question in enumerate(questions):
        pairs += [(roles[0], question), (roles[1], answers[i] if i < len(answers) else "")]
    return pairs


def _messages(system: str, questions: Sequence[str], answers: Sequence[str]) -> tuple[Message, ...]:
    """FastChat's `to_openai_api_messages`: the system message if any, then user/assistant turns."""
    out: list[Message] = [("system", system)] if system else []
    for i, question in enumerate(questions):
        out.append(("user", question))
        if i < len(answers):
            out.append(("assistant", answers[i]))
    return tuple(out)


def _stops(stop: str | Sequence[str] | None) -> tuple[str, ...]:
    if not stop:
        return ()
    return (stop,) if isinstance(stop, str) else tuple(stop)


def custom_template(cfg: RunConfig, language: str) -> CustomTemplate:
    m = cfg.mtbench
    lang = m.ja if language == "ja" else m.en
    return CustomTemplate(
        system_message=lang.conv_system_message,
        roles=lang.roles,
        sep=m.conv_sep,
        stop_str=m.conv_stop_str,
        stop_token_ids=tuple(m.stop_token_ids),
        role_message_sep=m.conv_role_message_separator,
        role_only_sep=m.conv_role_only_separator,
    )


def fastchat_template(name: str, *, by_model: bool, key: str) -> FastChatTemplate:
    """`get_conversation_template(name)` (resolve a model name, as Neo) or `get_conv_template(name)` (by name)."""
    try:
        from fastchat.conversation import get_conv_template
        from fastchat.model import get_conversation_template
    except ImportError:
        raise ConfigError(
            f"{key}: FastChat's conversation templates need fschat: pip install 'nejumi[mtbench]'; or set "
            "mtbench.conv_template: tokenizer (the model's chat template) or mtbench.custom_conv_template: true"
        ) from None
    try:
        return FastChatTemplate(get_conversation_template(name) if by_model else get_conv_template(name))
    except KeyError:
        raise ConfigError(f"{key}: {name!r} is not a FastChat conversation template name") from None


def resolve_template(cfg: RunConfig, language: str, model_name: str) -> Template:
    """The template Neo's config asks for: custom, else `mtbench.conv_template`, else FastChat's for the model."""
    m = cfg.mtbench
    if m.custom_conv_template:
        return custom_template(cfg, language)
    if m.conv_template == TOKENIZER:
        return TokenizerTemplate()
    if m.conv_template:
        return fastchat_template(m.conv_template, by_model=False, key=f"{cfg.source_path}: mtbench.conv_template")
    # Neo resolves local models by `model_id` (model_name with "/" -> "--", plus a random hash suffix)
    return fastchat_template(model_name.replace("/", "--"), by_model=True, key=f"{cfg.source_path}: model_name")


def neo_cut(text: str, stop: Sequence[str]) -> str:
    """FastChat's post-processing of a local answer: cut at the earliest stop string found at an index > 0 (one
    found only at index 0 cuts nothing), then strip. Special tokens were already dropped by the backend."""
    found = sorted(i for i in (text.find(s) for s in stop) if i > 0)
    return (text[: found[0]] if found else text).strip()


def stopped_too_early(text: str, finish_reason: str, stop: Sequence[str]) -> bool:
    """A backend that stopped at a stop string Neo would not cut at (index 0) must generate that answer again,
    without stop strings, to give Neo's text."""
    return finish_reason == "stop" and bool(stop) and not any(text.find(s) > 0 for s in stop)
