"""Local Hugging Face models: transformers + accelerate (+ bitsandbytes), greedy, batched, left-padded."""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.dtypes import torch_dtype_name
from .base import BackendError, Completion, GenerationRequest
from .fingerprint import fingerprint
from .hf_timing import DecodeTiming
from .thinking import completion, take_apart

log = logging.getLogger(__name__)

AUTO_MAX_BATCH = 64  # `batch_size: auto` starts here (or with fewer waiting rows); halved on out-of-memory
STOP_TOKENS_PER_CHAR = 4  # a character is at most 4 byte-fallback tokens (UTF-8)


@dataclass(frozen=True)
class HFSettings:
    """Everything that decides how the model is loaded (from `model.*` and `llm_jp_eval.torch_dtype`)."""

    path: str
    dtype: str = "bfloat16"
    device_map: str | None = "auto"
    max_memory: tuple[tuple[int, str], ...] | None = None  # GPU index -> memory it may hold (see `placement`)
    trust_remote_code: bool = False
    load_in_8bit: bool = False
    load_in_4bit: bool = False
    batch_size: int | str = "auto"  # or "auto": the largest batch that fits, halved on out-of-memory
    threads: int | None = None  # torch CPU threads (set per xdist worker so workers do not oversubscribe)
    prefix_reuse: bool = True  # prefill each prompt prefix that rows of a batch share once (see hf_prefix)
    prompt_lookup_tokens: int = 4  # greedy: tokens drafted by prompt lookup, checked per row and step (hf_speculate)


def chat_template_of(path: str) -> str | None:
    """A local model folder's chat template, read from its files without loading anything (transformers 5 writes
    `chat_template.jinja`, earlier versions a `chat_template` key in `tokenizer_config.json`, maybe a list of named
    templates); None for a hub id or a folder without one."""
    folder = Path(path)
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    config = folder / "tokenizer_config.json"
    if not config.is_file():
        return None
    try:
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
    except (ValueError, AttributeError):
        return None
    if isinstance(template, list):  # [{"name": "default", "template": ...}, ...]
        template = "\n".join(str(t.get("template", "")) for t in template if isinstance(t, dict))
    return template if isinstance(template, str) else None


class HFBackend:
    """Greedy generation with `model.generate` over length-sorted, left-padded batches."""

    def __init__(self, settings: HFSettings) -> None:
        self.settings = settings
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_error: BackendError | None = None
        self.load_s = 0.0  # seconds spent loading the model (the engine reports it as its own phase)
        self._fits: int | None = None  # the batch size that fitted after an out-of-memory halving
        self._fingerprint_value: tuple[str | None] | None = None
        self.timing = DecodeTiming()  # prefill and decode seconds over every batch (the engine reports them)

    def _fingerprint(self) -> str | None:
        """The model folder's content hash, computed once per backend (see `fingerprint`)."""
        if self._fingerprint_value is None:
            from ..models.embedded import model_cache_dir

            self._fingerprint_value = (fingerprint(Path(self.settings.path), model_cache_dir()),)
        return self._fingerprint_value[0]

    @property
    def prefill_s(self) -> float:
        return self.timing.prefill_s

    @property
    def decode_s(self) -> float:
        return self.timing.decode_s

    def identity(self) -> dict[str, Any]:
        """The cache-key part. `prefix_reuse` and `prompt_lookup_tokens` are not in it: they change how the forward
        passes are batched, not the tokens, positions or masks each token is computed from, and the greedy tokens
        are the same with and without them (selftests and bench/bench_throughput.py compare every prompt; see
        hf_prefix and hf_speculate for why only float rounding differs)."""
        s = self.settings
        return {
            "backend": "hf",
            "model": s.path,
            "fingerprint": self._fingerprint(),
            "dtype": torch_dtype_name(s.dtype),
            "quantization": "8bit" if s.load_in_8bit else "4bit" if s.load_in_4bit else None,
            "decoder": "hf_decode",  # greedy or sampled by hf_decode (see `_sampler`); the request says which
        }

    def _load(self) -> None:
        started = time.perf_counter()  # importing torch and transformers is part of loading (~1.5 s on a CPU)
        try:
            import torch
            import transformers
        except ImportError as err:
            raise BackendError(f"local models need the hf extra: pip install 'nejumi[hf]' ({err})") from None
        s = self.settings
        if s.threads:
            torch.set_num_threads(s.threads)
        try:
            self._model, self._tokenizer = self._from_pretrained(s, torch, transformers)
        except (OSError, ValueError, ImportError, RuntimeError) as err:
            self._load_error = BackendError(f"could not load model {s.path!r}: {err}")
            raise self._load_error from err
        # torch, transformers and the model are ~400k objects that live as long as the run: out of the collector's
        # sight, each full collection (pytest runs five at exit) takes microseconds instead of 0.2 s
        gc.collect()
        gc.freeze()
        self.load_s = time.perf_counter() - started
        log.info("loaded %s in %.1f s", s.path, self.load_s)
        if s.prompt_lookup_tokens:
            from .hf_speculate import unsupported

            if (reason := unsupported(self._model)) is not None:
                log.warning("model.prompt_lookup_tokens: %s is decoded a token at a time (%s)", s.path, reason)

    @staticmethod
    def _from_pretrained(s: HFSettings, torch: Any, transformers: Any) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(s.path, trust_remote_code=s.trust_remote_code)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        kwargs: dict[str, Any] = {"trust_remote_code": s.trust_remote_code}
        dtype_name = torch_dtype_name(s.dtype)
        dtype = dtype_name if dtype_name == "auto" else getattr(torch, dtype_name)
        major = int(transformers.__version__.split(".")[0])
        kwargs["dtype" if major >= 5 else "torch_dtype"] = dtype
        if s.device_map:
            kwargs["device_map"] = s.device_map
        if s.max_memory:
            kwargs["max_memory"] = dict(s.max_memory)
        if s.load_in_8bit or s.load_in_4bit:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=s.load_in_8bit, load_in_4bit=s.load_in_4bit)
        model = AutoModelForCausalLM.from_pretrained(s.path, **kwargs)
        model.eval()
        return model, tokenizer

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        """One queue per decoding setting (see `_decoding`): rows of every dataset share batches, ordered by prompt
        length, each stopping at its own token budget; a batch that runs out of memory is halved and its unfinished
        rows go again (batch size `auto`, or a number)."""
        if not requests:
            return
        if self._load_error is not None:
            raise self._load_error
        if self._model is None:
            self._load()
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for i, req in enumerate(requests):
            if req.max_new_tokens <= 0:
                yield i, Completion("", 0.0, "length", output_tokens=0)
            else:
                groups[_decoding(req)].append(i)
        for indices in groups.values():
            prompts = {i: self._prompt(requests[i], i) for i in indices}
            first = requests[indices[0]]
            lengths = {i: len(self._encode(prompts[i], first.add_special_tokens)) for i in indices}
            queue = sorted(indices, key=lambda i: _queue_key(requests[i].total_tokens, lengths[i]))
            while queue:
                batch = queue[: self._batch_size(len(queue))]
                done: set[int] = set()
                try:
                    for row, completion in self._generate_batch([prompts[i] for i in batch], batch, requests):
                        done.add(batch[row])
                        yield batch[row], completion
                except _OutOfMemory as err:
                    self._halve(len(batch), err.__cause__ or err)
                queue = [i for i in queue if i not in done]

    def _batch_size(self, waiting: int) -> int:
        """Rows in the next batch: `batch_size` (`auto`: every waiting row up to AUTO_MAX_BATCH), never more than
        what last fitted in memory."""
        size = self.settings.batch_size
        limit = size if isinstance(size, int) else AUTO_MAX_BATCH
        return min(waiting, limit, self._fits or limit)

    def _halve(self, tried: int, err: BaseException) -> None:
        """After a batch of `tried` rows ran out of memory: later batches take half as many."""
        if tried <= 1:
            raise BackendError(f"out of memory with a batch of 1 on {self.settings.path}: {err}") from err
        self._fits = tried // 2
        log.warning("out of memory with a batch of %d rows; going on with %d", tried, self._fits)
        _free_memory()

    def _prompt(self, request: GenerationRequest, index: int) -> str:
        """The text to tokenize: the prompt, or the messages rendered with the tokenizer's chat template."""
        if not request.messages:
            return request.prompt
        if not getattr(self._tokenizer, "chat_template", None):
            raise BackendError(
                f"request {index}: {self.settings.path} has no chat template, so chat messages cannot be rendered; "
                "add one to its tokenizer_config.json (or, for MT-Bench answers, set mtbench.custom_conv_template: "
                "true or mtbench.conv_template: <a FastChat template name>)"
            )
        messages = [{"role": role, "content": content} for role, content in request.messages]
        thinking = {"enable_thinking": True} if request.thinking else {}  # templates that do not take it ignore it
        return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **thinking)

    def _encode(self, prompt: str, special: bool) -> list[int]:
        return self._tokenizer(prompt, add_special_tokens=special)["input_ids"]

    def _end_ids(self, request: GenerationRequest) -> list[int]:
        """The tokenizer's EOS (Neo's jaster pipeline), the generation config's EOS when asked (`model.generate`'s
        default, FastChat's MT-Bench answers), and the request's stop token ids."""
        tok = self._tokenizer
        ids = {tok.eos_token_id} if tok.eos_token_id is not None else set()
        config_eos = getattr(getattr(self._model, "generation_config", None), "eos_token_id", None)
        if request.model_eos and config_eos is not None:
            ids |= set(config_eos) if isinstance(config_eos, list) else {config_eos}
        return sorted(ids | set(request.stop_token_ids))

    def _generate_batch(
        self, prompts: list[str], indices: list[int], requests: Sequence[GenerationRequest]
    ) -> Iterator[tuple[int, Completion]]:
        """Yield `(row, completion)` as each row finishes; its latency is the time since the batch started.
        The rows share their decoding settings (see `_decoding`) and each keeps its own token budget."""
        from .hf_decode import greedy_decode

        request = requests[indices[0]]
        tok, model, stop = self._tokenizer, self._model, request.stop
        stopped = tail_stop_check(tok, stop) if request.thinking is None else None  # thinking has blank lines
        started = time.perf_counter()
        try:
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=request.add_special_tokens)
            enc = enc.to(model.device)
            lengths = enc["attention_mask"].sum(dim=1).tolist()
            choose = None if request.greedy else _sampler(model, request.temperature)
            budgets = [requests[i].total_tokens for i in indices]
            rows = greedy_decode(
                model,
                enc["input_ids"],
                enc["attention_mask"],
                budgets,
                self._end_ids(request),
                stopped,
                choose,
                share_prefixes=self.settings.prefix_reuse,
                timing=self.timing,
                draft_tokens=self.settings.prompt_lookup_tokens,
            )
            for row, ids, reason in rows:
                text = tok.decode(ids, skip_special_tokens=True)
                latency, tokens = time.perf_counter() - started, (int(lengths[row]), len(ids))
                if request.thinking is None:
                    yield row, Completion(text, latency, reason, *tokens)
                    continue
                opening = request.thinking.tags[0]
                if prompts[row].rstrip().endswith(opening):  # the chat template opened the think block itself
                    text = opening + text
                answer = take_apart(text, request.thinking, stop, reason)
                spent = len(self._encode(answer.thinking, False)) if answer.thinking else 0  # the thinking re-tokenized
                yield row, completion(answer, latency, reason, *tokens, spent)
        except (RuntimeError, ValueError) as err:  # the unfinished rows fail (or, out of memory, go again smaller)
            if _is_out_of_memory(err):
                raise _OutOfMemory from err
            raise BackendError(f"generation failed for a batch of {len(prompts)}: {err}") from err

    def close(self) -> None:
        self._model = self._tokenizer = None


SHORT_BUDGET = 32  # answers of at most this many tokens end within a few decode steps: they make no long tail


def _queue_key(budget: int, length: int) -> tuple[int, int]:
    """The order rows are batched in. Rows with long budgets first, grouped by budget: a decode step costs nearly as
    much for 2 rows as for 20 on a CPU (the weights are read once per step either way), so rows that may decode for
    hundreds of steps share those steps instead of each trailing alone behind a batch of short answers. Then, and
    among the short answers, longest prompt first (memory trouble shows early), so a batch holds prompts of like
    length and prefills little padding."""
    return (-budget if budget > SHORT_BUDGET else 0, -length)


def tail_stop_check(tokenizer: Any, stop: Sequence[str]) -> Callable[[list[int]], bool] | None:
    """Whether a row's text holds a stop string, decoding only its last tokens: the check runs after every token,
    so only an occurrence that ends in the newest one is new, and it spans at most STOP_TOKENS_PER_CHAR tokens per
    character (byte-fallback pieces of one character) plus one token that may decode differently cut off from
    its left context. Decoding the whole row instead costs 36 µs at 128 tokens against 5 µs (Gemma-3's
    tokenizer), per row and step. A miss (special tokens decoding to nothing inside the window) only means
    generating on: post-processing cuts at the stop string either way."""
    if not stop:
        return None
    window = STOP_TOKENS_PER_CHAR * max(len(s) for s in stop) + 1

    def stopped(ids: list[int]) -> bool:
        text = tokenizer.decode(ids[-window:], skip_special_tokens=True)
        return any(s in text for s in stop)

    return stopped


class _OutOfMemory(Exception):
    """A batch did not fit: the backend halves the batch size and goes on."""


def _is_out_of_memory(err: BaseException) -> bool:
    text = str(err).lower()
    return type(err).__name__ == "OutOfMemoryError" or "out of memory" in text or "can't allocate memory" in text


def _free_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _decoding(request: GenerationRequest) -> tuple[Any, ...]:
    """What requests batched together must share (not the token budget: each row stops at its own)."""
    r = request
    return (r.stop, r.add_special_tokens, r.temperature, r.stop_token_ids, r.model_eos, r.thinking)


def _sampler(model: Any, temperature: float) -> Any:
    """FastChat's sampling (`do_sample=True, temperature=t`, the rest from the model's generation config, with
    transformers 4.36's defaults top_k=50, top_p=1.0 where it says nothing); seeded with 0 as FastChat seeds each
    question (`torch.manual_seed(0)`), so a batch is reproducible."""
    import torch
    from transformers.generation import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    config = getattr(model, "generation_config", None)
    top_k = getattr(config, "top_k", None)
    top_p = getattr(config, "top_p", None)
    warpers = [TemperatureLogitsWarper(temperature)]
    if top_k is None or top_k > 0:
        warpers.append(TopKLogitsWarper(50 if top_k is None else top_k))
    if top_p is not None and top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))
    generator = torch.Generator(device=model.device).manual_seed(0)

    def choose(logits: Any) -> Any:
        scores = logits.float()
        for warp in warpers:
            scores = warp(None, scores)
        return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator).squeeze(-1)

    return choose
