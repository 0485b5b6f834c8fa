"""Which providers a run can call, in one place: the config's `model.api` and `mtbench.judge.api` values are checked
against this list, and the factory builds a provider's backend from it.

A provider is a backend class (`ApiBackend`'s subclasses, or anything with the `Backend` protocol taking an
`ApiSettings`) named by module path, so its SDK is imported only when a run calls it. The built-in ones are below;
an installed package adds its own under the entry point group `nejumi.providers` (each entry a `Provider`, or a
callable returning one). See docs/extending.md, "A provider".
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api_common import ApiSettings
    from .base import Backend

ENTRY_POINTS = "nejumi.providers"
LOCAL_JUDGE = "hf"  # `mtbench.judge.api: hf`: a local Hugging Face model (no provider)
# Neo's names for providers it reached through LangChain; its configs still validate, but a run using them stops
NEO_ONLY = ("mistral", "amazon_bedrock")


@dataclass(frozen=True)
class Provider:
    """One provider: `name` goes into `ApiSettings.provider` (and picks the reasoning defaults); `spellings` are the
    config values that mean it."""

    name: str
    backend: str  # "module:Class"; a module starting with "." is under nejumi_plugin.backends
    spellings: tuple[str, ...] = ()  # besides `name`
    needs_base_url: bool = False  # a server of the user's (`base_url` is required)
    options: str | None = None  # "module:Model", the pydantic model of what it reads from `options` (others refuse
    # any): checked when the config is loaded

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.spellings)

    def build(self, settings: ApiSettings) -> Backend:
        backend: Backend = _load(self.backend)(settings)
        return backend

    def check_options(self, options: Mapping[str, Any]) -> None:
        """A `ValueError` naming the first option at fault (`answers.0.match: ...`)."""
        if self.options is None:
            if options:
                raise ValueError(f"api: {self.name} takes no options")
            return
        from pydantic import ValidationError

        try:
            _load(self.options).model_validate(dict(options))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module, __package__ if module.startswith(".") else None), name)


BUILTIN = (
    Provider("openai", ".openai_api:OpenAIBackend"),
    Provider("azure", ".openai_api:OpenAIBackend"),
    Provider("openai_compatible", ".openai_api:OpenAIBackend", ("openai-compatible", "vllm"), needs_base_url=True),
    Provider("anthropic", ".anthropic_api:AnthropicBackend"),
    Provider("google", ".gemini_api:GeminiBackend"),
    Provider("cohere", ".cohere_api:CohereBackend"),
    Provider("mock", ".mock:MockBackend", options=".mock:MockOptions"),
)


def _installed(point: Any) -> Provider:
    loaded = point.load()
    provider = loaded if isinstance(loaded, Provider) else loaded()
    if not isinstance(provider, Provider):
        raise TypeError(f"entry point {point.name} ({ENTRY_POINTS}) gives {provider!r}, not a Provider")
    return provider


@cache
def providers() -> dict[str, Provider]:
    """Every spelling -> its provider: the built-in ones, then installed ones (read once per process)."""
    found = [*BUILTIN, *(_installed(point) for point in entry_points(group=ENTRY_POINTS))]
    return {spelling: provider for provider in found for spelling in provider.names}


def provider(api: str) -> Provider:
    """The provider a config value names (KeyError when none does)."""
    return providers()[api]


def model_apis() -> tuple[str, ...]:
    """What `model.api` may say (besides false, a local model)."""
    return (*providers(), *NEO_ONLY)


def judge_apis() -> tuple[str, ...]:
    """What `mtbench.judge.api` may say."""
    return (*providers(), LOCAL_JUDGE)
