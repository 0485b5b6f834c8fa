"""The ``mtbench`` section of a run config (docs/scoring-mtbench.md, "Config keys" and "Conversation templates")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..backends.registry import LOCAL_JUDGE, judge_apis, provider
from ._base import Section, parse_literal
from .providers import check_api, check_base_url, check_options
from .reasoning_schema import ReasoningConfig


def parse_roles(text: str) -> tuple[str, str]:
    """Parse ``conv_roles`` such as ``"('指示', '応答')"`` into a 2-tuple of str (never ``eval``)."""
    expected = "a string holding a Python tuple of two strings, e.g. \"('指示', '応答')\""
    value = parse_literal(text, expected)
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(r, str) for r in value)):
        raise ValueError(f"expected {expected}")
    return (value[0], value[1])


def parse_token_ids(text: str) -> list[int]:
    """Parse ``conv_stop_token_ids`` such as ``"[2]"`` into a list of int (never ``eval``)."""
    expected = 'a string holding a Python list of integer token ids, e.g. "[2]"'
    value = parse_literal(text, expected)
    if not (isinstance(value, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)):
        raise ValueError(f"expected {expected}")
    return list(value)


class MtbenchLangConfig(Section):
    """``mtbench.{ja,en}``: the custom conversation template's system message and roles."""

    conv_system_message: str
    conv_roles: str

    @field_validator("conv_roles")
    @classmethod
    def _check_roles(cls, value: str) -> str:
        parse_roles(value)
        return value

    @property
    def roles(self) -> tuple[str, str]:
        """``conv_roles`` parsed, e.g. ``('指示', '応答')``."""
        return parse_roles(self.conv_roles)


class MtbenchDatasetLangConfig(Section):
    """``mtbench.dataset.{ja,en}``: W&B artifact paths of the questions, references and judge prompts."""

    question_artifacts_path: str
    test_question_artifacts_path: str
    referenceanswer_artifacts_path: str
    test_referenceanswer_artifacts_path: str
    judge_prompt_artifacts_path: str
    bench_name: str


# Neo's per-language defaults; a partial ja/en mapping in the file is completed from these.
LANG_DEFAULTS: dict[str, dict[str, str]] = {
    "ja": {
        "conv_system_message": "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。",  # noqa: E501
        "conv_roles": "('指示', '応答')",
    },
    "en": {
        "conv_system_message": "Here is a set of instructions explaining a task, combined with contextually "
        "relevant input. Please write an appropriate response fulfilling the request.",
        "conv_roles": "('Instruction', 'Response')",
    },
}
_ART = "wandb-japan/llm-leaderboard/"
DATASET_DEFAULTS: dict[str, dict[str, str]] = {
    "ja": {
        "question_artifacts_path": _ART + "mtbench_ja_question:v3",
        "test_question_artifacts_path": _ART + "mtbench_ja_question_small_for_test:v5",
        "referenceanswer_artifacts_path": _ART + "mtbench_ja_referenceanswer:v1",
        "test_referenceanswer_artifacts_path": _ART + "mtbench_ja_referenceanswer_small_for_test:v1",
        "judge_prompt_artifacts_path": _ART + "mtbench_ja_prompt:v1",
        "bench_name": "mt_bench_ja",
    },
    "en": {
        "question_artifacts_path": _ART + "mtbench_en_question:v0",
        "test_question_artifacts_path": _ART + "mtbench_en_question_small_for_test:v0",
        "referenceanswer_artifacts_path": _ART + "mtbench_en_referenceanswer:v0",
        "test_referenceanswer_artifacts_path": _ART + "mtbench_en_referenceanswer_small_for_test:v0",
        "judge_prompt_artifacts_path": _ART + "mtbench_en_prompt:v0",
        "bench_name": "mt_bench_en",
    },
}


def _fill(defaults: dict[str, dict[str, str]], value: Any, info: ValidationInfo) -> Any:
    """Complete a partial ``ja``/``en`` mapping with that language's defaults."""
    return {**defaults[str(info.field_name)], **value} if isinstance(value, dict) else value


class MtbenchDatasetConfig(Section):
    """``mtbench.dataset``."""

    ja: MtbenchDatasetLangConfig = Field(default_factory=lambda: MtbenchDatasetLangConfig(**DATASET_DEFAULTS["ja"]))
    en: MtbenchDatasetLangConfig = Field(default_factory=lambda: MtbenchDatasetLangConfig(**DATASET_DEFAULTS["en"]))

    @field_validator("ja", "en", mode="before")
    @classmethod
    def _defaults(cls, value: Any, info: ValidationInfo) -> Any:
        return _fill(DATASET_DEFAULTS, value, info)


class JudgeConfig(Section):
    """``mtbench.judge`` (new): the backend that rates answers. Defaults are Neo's: OpenAI ``gpt-4``, temperature 0,
    2048 tokens. ``mtbench.use_azure: true`` turns ``api: openai`` into Azure OpenAI (``model`` is the deployment).
    ``openai_compatible`` is any server speaking OpenAI's API at ``base_url`` (vLLM, llama.cpp, SGLang, ...);
    ``anthropic``, ``google`` (Gemini) and ``cohere`` are those providers' APIs;
    ``hf`` is a local Hugging Face model (``model`` is its folder or hub id), e.g. for a keyless demo; ``mock``
    rates by the rules in ``options`` (``backends.mock``). The names come from ``backends.registry``.
    """

    api: str = "openai"
    model: str = "gpt-4"
    base_url: str | None = None
    api_key_env: str | None = None  # the environment variable holding the key (default: the provider's usual one)
    api_version: str | None = None  # azure only; default: see backends.api_common.azure_api_version
    temperature: float = Field(0.0, ge=0.0)
    max_tokens: int = Field(2048, ge=1)
    dtype: Literal["float32", "float16", "bfloat16"] = "bfloat16"  # api: hf only
    max_retries: int = Field(16, ge=1)  # API calls per judgment before it fails (Neo: 16 tries, 10 s apart)
    timeout_s: float = Field(600.0, gt=0)  # seconds per judge request (the openai SDK's default, as on Neo)
    reasoning: ReasoningConfig = Field(default_factory=ReasoningConfig)  # a reasoning judge (o3, Claude thinking)
    options: dict[str, Any] = Field(default_factory=dict)  # what the provider itself takes (`api: mock`'s rules)
    # calibration items judged in every run beside its own, per language, against GPT-4's ratings (0: none)
    canary: int = Field(8, ge=0)

    @field_validator("api", mode="before")
    @classmethod
    def _check_api(cls, value: Any) -> Any:
        api = check_api(value, judge_apis())
        return api if api == LOCAL_JUDGE else provider(api).name  # `vllm` is `openai_compatible`

    @model_validator(mode="after")
    def _check_base_url(self) -> JudgeConfig:
        check_base_url(self.api, self.base_url, "")
        return self

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        api = info.data.get("api")
        return check_options(None if api == LOCAL_JUDGE else api, value)


class MtbenchConfig(Section):
    """``mtbench``: answer generation and GPT-4 judging."""

    model_id: str | None = None
    max_new_token: int = Field(1024, ge=1)
    num_gpus_per_model: int = Field(1, ge=1)
    num_gpus_total: int = Field(1, ge=1)
    max_gpu_memory: str | None = None
    dtype: Literal["float32", "float16", "bfloat16"] | None = "bfloat16"
    use_azure: bool = False
    parallel: int = Field(1, ge=1)
    custom_conv_template: bool = False
    conv_name: str = "custom"
    conv_sep: str = "\n\n### "
    conv_stop_token_ids: str = "[2]"
    conv_stop_str: str = "###"
    conv_role_message_separator: str = ": \n"
    conv_role_only_separator: str = ": \n"
    # new keys (see configs/config_template.yaml)
    # local answer models when custom_conv_template is false: null = FastChat's template resolved from model_name
    # (as Neo does), "tokenizer" = the tokenizer's chat template, any other value = that FastChat template's name
    conv_template: str | None = None
    api_temperature: float = Field(0.1, ge=0.0)  # API answer models: one temperature for every category (Neo: 0.1)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    ja: MtbenchLangConfig = Field(default_factory=lambda: MtbenchLangConfig(**LANG_DEFAULTS["ja"]))
    en: MtbenchLangConfig = Field(default_factory=lambda: MtbenchLangConfig(**LANG_DEFAULTS["en"]))
    dataset: MtbenchDatasetConfig = Field(default_factory=MtbenchDatasetConfig)

    @field_validator("ja", "en", mode="before")
    @classmethod
    def _lang_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        return _fill(LANG_DEFAULTS, value, info)

    @field_validator("dtype", mode="before")
    @classmethod
    def _check_dtype(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() == "none":
            raise ValueError(
                "expected null, 'float32', 'float16' or 'bfloat16'; write null, not the string None "
                "(FastChat rejects the string)"
            )
        return value

    @field_validator("conv_stop_token_ids")
    @classmethod
    def _check_stop_ids(cls, value: str) -> str:
        parse_token_ids(value)
        return value

    @property
    def stop_token_ids(self) -> list[int]:
        """``conv_stop_token_ids`` parsed, e.g. ``[2]``."""
        return parse_token_ids(self.conv_stop_token_ids)
