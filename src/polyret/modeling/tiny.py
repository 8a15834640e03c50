"""A tiny, randomly initialised BERT bi-encoder built offline (``model.name: tiny``): tests, smoke runs.

Word-level tokenizer over a given vocabulary, 2 layers, hidden size 32: it trains and encodes in
milliseconds and needs no download.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from polyret.modeling.encoder import BiEncoder, EncoderConfig

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def tiny_tokenizer(words: Iterable[str]):
    """A fast word-level tokenizer (lower-cased, whitespace/punctuation split) over ``words``."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for w in sorted({w.lower() for w in words}):
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def tiny_bi_encoder(
    words: Iterable[str],
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    config: EncoderConfig | None = None,
    dropout: float = 0.1,
) -> BiEncoder:
    """A 2-layer BERT bi-encoder with a word-level vocabulary over ``words`` (dropout 0: deterministic)."""
    from transformers import BertConfig, BertModel

    tokenizer = tiny_tokenizer(words)
    bert_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    backbone = BertModel(bert_config, add_pooling_layer=False)
    cfg = config or EncoderConfig(query_prefix="query: ", passage_prefix="passage: ",
                                  max_query_length=32, max_passage_length=64)
    return BiEncoder(backbone, tokenizer, cfg)
