"""The local backend on the tiny random model: batching, padding, stop strings, BOS, quantization, errors."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from nejumi_plugin.backends.base import BackendError, GenerationRequest
from nejumi_plugin.backends.hf import HFBackend, HFSettings, tail_stop_check

PROMPTS = ["前提：猫", "質問：日本の首都は？\n回答：", "Qusetion: What is 2+2?\nChoices: A.3, B.4", "x", "### 応答:\n"]


def generate(backend: HFBackend, requests: list[GenerationRequest]) -> list[str]:
    out = dict(backend.generate(requests))
    return [out[i].text for i in range(len(requests))]


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> HFBackend:
    return HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", batch_size=4))


def test_batched_left_padded_generation_equals_one_at_a_time(backend: HFBackend, tiny_model_dir: Path) -> None:
    requests = [GenerationRequest(p, 12) for p in PROMPTS]
    single = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", batch_size=1))
    batched = generate(backend, requests)
    assert batched == generate(single, requests)
    assert any(batched)  # the random model says something (untied embeddings)


def test_mixed_lengths_and_settings_in_one_call(backend: HFBackend) -> None:
    requests = [
        GenerationRequest("a", 3),
        GenerationRequest("a", 8),
        GenerationRequest("a", 3, add_special_tokens=True),
    ]
    done = dict(backend.generate(requests))
    assert sorted(done) == [0, 1, 2]
    assert done[1].text.startswith(done[0].text) and done[0].output_tokens <= 3 and done[1].output_tokens <= 8


def test_stop_string_ends_generation_without_changing_the_text_before_it(backend: HFBackend) -> None:
    free = generate(backend, [GenerationRequest(p, 24) for p in PROMPTS])
    prompt, text = next((p, t) for p, t in zip(PROMPTS, free) if len(t) >= 6)
    stop = text[3:5]
    stopped = dict(backend.generate([GenerationRequest(prompt, 24, (stop,))]))[0]
    assert stopped.finish_reason == "stop" and stop in stopped.text
    assert stopped.text.split(stop)[0] == text.split(stop)[0]
    assert len(stopped.text) < len(text) or stopped.text == text


def test_bos_only_when_asked(backend: HFBackend) -> None:
    list(backend.generate([GenerationRequest("x", 1)]))  # loads the model
    bos = backend._tokenizer.bos_token_id
    assert backend._encode("猫", False)[0] != bos and backend._encode("猫", True)[0] == bos


def test_identity_names_model_dtype_quantization_and_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    ident = HFBackend(HFSettings(str(tiny_model_dir), dtype="bf16", load_in_8bit=True)).identity()
    assert ident["dtype"] == "bfloat16" and ident["quantization"] == "8bit" and ident["fingerprint"]
    assert HFBackend(HFSettings("org/model")).identity()["fingerprint"] is None


@pytest.mark.parametrize("bits", ["load_in_8bit", "load_in_4bit"])
def test_bitsandbytes_quantized_loading(tiny_model_dir: Path, bits: str) -> None:
    backend = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", **{bits: True}))
    out = dict(backend.generate([GenerationRequest("前提：猫", 4)]))
    assert out[0].output_tokens is not None
    assert "Linear8bitLt" in repr(backend._model) or "Linear4bit" in repr(backend._model)


def test_a_model_that_cannot_load_is_a_backend_error_naming_it(tmp_path: Path) -> None:
    backend = HFBackend(HFSettings(str(tmp_path / "no-such-model"), device_map="cpu"))
    for _ in range(2):  # the failure is remembered, not retried for every dataset
        with pytest.raises(BackendError, match="could not load model .*no-such-model"):
            list(backend.generate([GenerationRequest("x", 1)]))


def test_greedy_decode_matches_generate(tiny_model_dir: Path) -> None:
    """The batch-shrinking loop yields exactly greedy `generate`'s tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from nejumi_plugin.backends.hf_decode import greedy_decode

    tok = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    enc = tok(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    ref = model.generate(
        **enc, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id
    )[:, enc["input_ids"].shape[1] :]

    def decode(stopped=None):  # type: ignore[no-untyped-def]
        rows = greedy_decode(model, enc["input_ids"], enc["attention_mask"], 16, [tok.eos_token_id], stopped)
        done = {row: (ids, reason) for row, ids, reason in rows}
        return [done[i] for i in range(len(PROMPTS))]

    mine = decode()
    assert [ids for ids, _ in mine] == [[t for t in row if t != tok.pad_token_id] for row in ref.tolist()]
    # rows leave the batch as they finish: stopping one row after 2 tokens changes nothing for the others
    prefixes = [tuple(ids[:2]) for ids, _ in mine]
    row = next(i for i, p in enumerate(prefixes) if prefixes.count(p) == 1)
    shrunk = decode(lambda ids: tuple(ids) == prefixes[row])
    assert shrunk[row] == (list(prefixes[row]), "stop")
    assert [r for i, r in enumerate(shrunk) if i != row] == [r for i, r in enumerate(mine) if i != row]


def test_stop_strings_are_not_matched_across_the_prompt_boundary(backend: HFBackend) -> None:
    """Neo cuts the *output* at its first blank line; a prompt ending in "\\n" plus an output starting with "\\n"
    is not a blank line of the output (generate(stop_strings=...) would stop there)."""
    free = generate(backend, [GenerationRequest(p, 16) for p in PROMPTS])
    prompt, text = next((p, t) for p, t in zip(PROMPTS, free) if t and (p[-1] + t[0]) not in t)
    stop = prompt[-1] + text[0]
    out = dict(backend.generate([GenerationRequest(prompt, 16, (stop,))]))[0]
    assert out.text == text and out.finish_reason != "stop"


def test_chat_messages_are_rendered_with_the_tokenizers_chat_template(backend: HFBackend) -> None:
    chat = GenerationRequest("", 8, messages=(("system", "S"), ("user", "質問")))
    text = "<s>system\nS</s>\n<s>user\n質問</s>\n<s>assistant\n"  # selftests/tiny_model.py's template
    assert generate(backend, [chat]) == generate(backend, [GenerationRequest(text, 8)])


def test_sampling_is_seeded_and_follows_the_temperature(backend: HFBackend) -> None:
    hot = [GenerationRequest(p, 12, temperature=5.0) for p in PROMPTS]
    first, again = generate(backend, hot), generate(backend, hot)
    assert first == again  # seeded per batch, as FastChat seeds each question
    assert first != generate(backend, [GenerationRequest(p, 12) for p in PROMPTS])  # not greedy
    assert generate(backend, [GenerationRequest(p, 12, temperature=5e-5) for p in PROMPTS]) == generate(
        backend, [GenerationRequest(p, 12) for p in PROMPTS]
    )  # below 1e-4 FastChat does not sample


def test_stop_token_ids_end_generation_like_eos(backend: HFBackend) -> None:
    free = dict(backend.generate([GenerationRequest(p, 12) for p in PROMPTS]))

    def round_trips(text: str) -> bool:  # its first tokens encoded again are the generated ones (no byte pieces)
        return "\ufffd" not in backend._tokenizer.decode(backend._encode(text, False)[:3])

    index, done = next((i, c) for i, c in sorted(free.items()) if (c.output_tokens or 0) >= 4 and round_trips(c.text))
    ids = backend._encode(done.text, False)
    stopped = dict(backend.generate([GenerationRequest(PROMPTS[index], 12, stop_token_ids=(ids[2],))]))[0]
    assert stopped.finish_reason == "eos" and stopped.output_tokens <= 2
    assert done.text.startswith(stopped.text)


def test_rows_with_different_budgets_share_a_batch_and_each_stops_at_its_own(
    backend: HFBackend, tiny_model_dir: Path
) -> None:
    requests = [GenerationRequest(p, budget) for p, budget in zip(PROMPTS, (3, 12, 1, 7, 5))]
    single = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", batch_size=1))
    auto = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu"))
    assert auto.settings.batch_size == "auto"
    shared = dict(auto.generate(requests))
    assert [shared[i].text for i in range(5)] == generate(single, requests)
    assert all(shared[i].output_tokens <= r.max_new_tokens for i, r in enumerate(requests))
    assert len({c.latency_s for c in shared.values()}) == 5  # one batch, rows leaving as they finish


def test_a_batch_out_of_memory_is_halved_and_nothing_is_lost(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nejumi_plugin.backends import hf_decode

    real = hf_decode.greedy_decode
    sizes: list[int] = []

    def small_memory(model, input_ids, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(input_ids.shape[0])
        if input_ids.shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        yield from real(model, input_ids, *args, **kwargs)

    requests = [GenerationRequest(p, 6) for p in PROMPTS]
    expected = generate(
        HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", batch_size=1)), requests
    )
    monkeypatch.setattr(hf_decode, "greedy_decode", small_memory)
    auto = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu"))
    assert generate(auto, requests) == expected
    assert sizes == [5, 2, 2, 1] and "out of memory with a batch of 5 rows; going on with 2" in caplog.text
    tiny = HFBackend(HFSettings(str(tiny_model_dir), dtype="fp32", device_map="cpu", batch_size=1))

    def no_memory(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        yield

    monkeypatch.setattr(hf_decode, "greedy_decode", no_memory)
    with pytest.raises(BackendError, match="out of memory with a batch of 1"):
        generate(tiny, requests)


def test_a_zero_token_budget_is_answered_empty(backend: HFBackend) -> None:
    done = dict(backend.generate([GenerationRequest("x", 0), GenerationRequest("x", 2)]))
    assert done[0].text == "" and done[0].output_tokens == 0 and sorted(done) == [0, 1]


def test_the_stop_check_on_the_last_tokens_fires_where_decoding_the_whole_row_would(tiny_model_dir: Path) -> None:
    """Random rows (byte tokens of Japanese characters included), stop strings cut from their own text: the check
    that decodes only the last tokens fires at the same token as one that decodes the whole row."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ordinary = [i for i in range(len(tok)) if i not in tok.all_special_ids]
    rng = random.Random(0)

    def first_stop(ids: list[int], check: Callable[[list[int]], bool]) -> int | None:
        return next((n for n in range(1, len(ids) + 1) if check(ids[:n])), None)

    def whole_row_check(stop: tuple[str, ...]) -> Callable[[list[int]], bool]:
        return lambda row: any(s in tok.decode(row, skip_special_tokens=True) for s in stop)

    fired = 0
    for _ in range(300):
        ending = rng.choice(["猫です。\n\n", " は\n", "日本"])
        ids = rng.choices(ordinary, k=40) + tok.encode(ending, add_special_tokens=False)
        text = tok.decode(ids, skip_special_tokens=True)
        start = rng.randrange(len(text) - 3)
        stop = (text[start : start + rng.randint(1, 3)], "\n\n")
        tail = tail_stop_check(tok, stop)
        assert tail is not None
        expected = first_stop(ids, whole_row_check(stop))
        assert first_stop(ids, tail) == expected, (ids, stop)
        fired += expected is not None
    assert fired == 300 and tail_stop_check(tok, ()) is None
