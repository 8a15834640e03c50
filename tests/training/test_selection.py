"""Strategy-independent model selection (issue 8.2), select best|last, precision and frozen embeddings."""

from __future__ import annotations

import json

import pytest
import torch

from polyret.config import load_config

from .test_trainer import rows, write_config


def _val(cfg):
    from polyret.training.setup import prepare_data, validation_batches

    _, val = prepare_data(cfg)
    return val, validation_batches(cfg, val)


def _as_plain(batches):
    return [(b.kind, [(p.item, p.q_lang, p.p_lang) for p in b.pairs]) for b in batches]


def test_validation_batches_are_identical_for_every_strategy_and_seed(tmp_path):
    a = load_config(write_config(tmp_path, tmp_path / "a", sampling={"strategy": "cross", "seed": 1}, seed=1))
    b = load_config(write_config(tmp_path, tmp_path / "b", sampling={"strategy": "mono", "seed": 2}, seed=2))
    c = load_config(write_config(tmp_path, tmp_path / "c", sampling={"alpha": 0.9}, seed=3))
    (va, ba), (vb, bb), (vc, bc) = _val(a), _val(b), _val(c)
    assert [it.item_id for it in va] == [it.item_id for it in vb] == [it.item_id for it in vc]
    assert _as_plain(ba) == _as_plain(bb) == _as_plain(bc) and len(ba) == 3
    assert [b.kind for b in ba] == ["mono", "cross", "mono"]  # a fixed mixture, alternating
    other = load_config(write_config(tmp_path, tmp_path / "d", data={"val_seed": 99}))
    assert _as_plain(_val(other)[1]) != _as_plain(ba)  # val_seed does choose them


def test_validation_set_is_shared_across_arms_on_the_real_data(tmp_path, shared_data):
    base = [f"data.data_dir={shared_data}", "data.max_items=300", "data.val_fraction=0.1",
            "data.val_batches=4", "sampling.batch_size=8"]
    cross = load_config(None, [*base, "sampling.strategy=cross", "train.seed=1", "sampling.seed=5"])
    hybrid = load_config(None, [*base, "sampling.strategy=hybrid", "train.seed=2", "sampling.seed=6"])
    (vc, bc), (vh, bh) = _val(cross), _val(hybrid)
    assert vc and [it.item_id for it in vc] == [it.item_id for it in vh]
    assert _as_plain(bc) == _as_plain(bh)
    assert [b.kind for b in bc] == ["mono", "cross"] * 2
    assert all(len({p.q_lang for p in b.pairs} | {p.p_lang for p in b.pairs}) == 1 for b in bc[::2])  # mono
    assert all(p.q_lang != p.p_lang for b in bc[1::2] for p in b.pairs)  # cross


def test_select_last_keeps_the_final_model(tmp_path):
    from polyret.modeling.registry import load_model
    from polyret.training.data import BatchCollator
    from polyret.training.selection import validation_loss
    from polyret.training.setup import prepare_data, validation_batches
    from polyret.training.trainer import train

    out = tmp_path / "last"
    cfg = load_config(write_config(tmp_path, out, max_steps=6, eval_every=2, save_every=0, select="last"))
    result = train(cfg)
    assert result.summary["select"] == "last" and result.summary["selected_step"] == 6
    assert result.summary["saved"] == "last (step 6)"
    last_eval = [r for r in rows(out) if "val_loss" in r][-1]
    train_sets, val = prepare_data(cfg)
    items = [it for v in train_sets.values() for it in v] + val
    ev = validation_loss(load_model(out, device="cpu"), validation_batches(cfg, val), BatchCollator(items),
                         cfg.train)
    assert last_eval["step"] == 6 and ev["val_loss"] == pytest.approx(last_eval["val_loss"], abs=1e-5)


def test_bf16_with_frozen_token_embeddings_is_recorded_and_freezes(tmp_path):
    from safetensors.torch import load_file

    from polyret.training.setup import build_model, prepare_data
    from polyret.training.trainer import train

    out = tmp_path / "bf16"
    cfg = load_config(write_config(tmp_path, out, model={"freeze_token_embeddings": True}, precision="bf16",
                                   max_steps=3, eval_every=0, save_every=0, select="last"))
    result = train(cfg)
    s = json.loads((out / "train_summary.json").read_text())
    assert s["precision"]["requested"] == "bf16" and s["precision"]["used"] == "bf16"
    assert s["freeze_token_embeddings"] is True and s["frozen_parameters"] == s["parameters"]["frozen"] > 0
    assert s["parameters"]["trainable"] == s["parameters"]["total"] - s["frozen_parameters"]
    assert result.summary["optimizer"].startswith("AdamW")
    train_sets, val = prepare_data(cfg)
    init = build_model(cfg.model, [it for v in train_sets.values() for it in v] + val).state_dict()
    saved = load_file(out / "model.safetensors")
    emb = [k for k in saved if k.endswith("word_embeddings.weight")]
    assert len(emb) == 1 and saved[emb[0]].numel() == s["frozen_parameters"]
    init_emb = next(v for k, v in init.items() if k.endswith("word_embeddings.weight"))
    assert torch.equal(saved[emb[0]], init_emb)  # not updated
    moved = [k for k in saved if k != emb[0] and saved[k].dtype.is_floating_point
             and not torch.equal(saved[k], next(v for n, v in init.items() if n.endswith(k)))]
    assert moved  # the rest trained
    assert all(t.dtype == torch.float32 for t in saved.values() if t.dtype.is_floating_point)  # fp32 master
