"""A tiny random-weight Llama with a byte-level BPE tokenizer, saved like a real checkpoint."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。",
    "### 指示:\n前提と仮説の関係をentailment、contradiction、neutralの中から回答してください。",
    "### 入力:\n前提：猫がソファの上で眠っている。\n仮説：猫が走り回っている。\n\n### 応答:\ncontradiction",
    "質問：日本の首都は？\n回答：東京\n\nQusetion: What is 2+2?\nChoices: A.3, B.4, C.5, D.6\nB",
    "Here is a combination of instructions explaining the task and inputs with context.",
    "### Instruction:\n### Input:\n### Response:\nentailment neutral yes no unknown 0 1 2 3 4 5 A B C D",
]


CHAT_TEMPLATE = (  # so chat requests (an MT-Bench judge, `conv_template: tokenizer`) render as with real models
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def build_tokenizer(eos: bool = True):  # type: ignore[no-untyped-def]
    """A 600-token byte-level BPE trained on CORPUS, with BOS (added when special tokens are asked for), pad and
    the chat template; without `eos`, no end-of-sequence token (generation always runs to its budget)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token=None))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(CORPUS, trainer)
    tk.post_processor = processors.TemplateProcessing(  # BOS like real tokenizers, when special tokens are asked for
        single="<s> $A", special_tokens=[("<s>", tk.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<s>",
        eos_token="</s>" if eos else None,
        pad_token="<pad>",
        unk_token="<unk>",
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model(out: Path, seed: int = 0, init_std: float = 0.02) -> Path:
    """Build and `save_pretrained` the model into `out`; returns `out`. A larger `init_std` makes a model whose
    continuations depend on more of the prompt than its last tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tokenizer()
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        initializer_range=init_std,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
