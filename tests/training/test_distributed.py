"""A 2-process (gloo) step equals one process with the whole batch; gradient caching is exact;
DDP gradient accumulation with ``no_sync`` and ``gather=False`` all-reduces once and equals the
per-process-negatives reference.

DDP averages parameter gradients over processes, and the all_gather backward sums the embedding
gradients of every process: together they give the single-process gradient of the global-batch
mean loss, with no extra scaling (see polyret.losses.contrastive.InfoNCELoss).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from polyret.losses import InfoNCELoss
from polyret.modeling.tiny import tiny_bi_encoder
from polyret.training.data import BatchTexts
from polyret.training.step import contrastive_step

W = ("query passage what who where when is the a of in and capital city river france paris germany "
     "berlin spain madrid water blue sky green tree house cat dog run fast slow").split()
TINY_WORDS = W
B = 3  # per process
QUERIES = [f"what is the {W[i + 8]} of {W[i + 12]}" for i in range(2 * B)]
PASSAGES = [f"the {W[i + 8]} {W[i + 12]} is {W[i + 16]} and {W[i + 20]}" for i in range(2 * B)]
NEGATIVES = [f"a {W[i + 10]} {W[i + 18]} in the {W[i + 14]}" for i in range(2 * B)]  # one per pair


def _model():
    m = tiny_bi_encoder(TINY_WORDS, seed=0)
    m.eval()  # no dropout: the same network on every path
    return m


def _grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def _texts(lo: int, hi: int) -> BatchTexts:
    return BatchTexts(QUERIES[lo:hi], PASSAGES[lo:hi], NEGATIVES[lo:hi])


def _worker(rank: int, world: int, init: str, out: str) -> None:
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = _model()
    ddp = DDP(model)
    loss_fn = InfoNCELoss(tau=0.05, symmetric=True, gather=True)
    results = {}
    for name, chunk in [("plain", 0), ("grad_cache", 1)]:
        model.zero_grad(set_to_none=True)
        loss, _ = contrastive_step(ddp, loss_fn, _texts(rank * B, (rank + 1) * B), model.tokenize,
                                   grad_cache_chunk=chunk, no_sync=ddp.no_sync)
        t = torch.tensor([loss])
        dist.all_reduce(t)  # mean of the per-process losses = the global-batch loss
        results[name] = {"loss": t.item() / world, "grads": _grads(model)}
    if rank == 0:
        torch.save(results, out)
    dist.barrier()  # no rank tears the group down while another still uses it
    del ddp
    dist.destroy_process_group()


def test_two_process_step_equals_single_process_batch(tmp_path):
    out = tmp_path / "dist.pt"
    mp.spawn(_worker, args=(2, f"file://{tmp_path / 'store'}", str(out)), nprocs=2, join=True)
    dist_res = torch.load(out)

    model = _model()
    loss, _ = contrastive_step(model, InfoNCELoss(tau=0.05, symmetric=True), _texts(0, 2 * B), model.tokenize)
    ref = _grads(model)
    assert len(ref) > 10
    for name in ("plain", "grad_cache"):
        got = dist_res[name]
        assert abs(got["loss"] - loss) < 1e-6, name
        assert set(got["grads"]) == set(ref)
        for k, g in ref.items():
            torch.testing.assert_close(got["grads"][k], g, atol=1e-6, rtol=1e-4, msg=f"{name}: {k}")


def test_grad_cache_equals_full_batch():
    texts = _texts(0, 2 * B)
    loss_fn = InfoNCELoss(tau=0.05, symmetric=False)
    full = _model()
    full_loss, _ = contrastive_step(full, loss_fn, texts, full.tokenize)
    for chunk in (1, 2, 4):
        cached = _model()
        loss, _ = contrastive_step(cached, loss_fn, texts, cached.tokenize, grad_cache_chunk=chunk)
        assert abs(loss - full_loss) < 1e-6
        for (n, g), (_, h) in zip(_grads(full).items(), _grads(cached).items(), strict=True):
            torch.testing.assert_close(h, g, atol=1e-5, rtol=1e-4, msg=f"chunk {chunk}: {n}")


def test_grad_cache_replays_dropout():
    """In train mode (dropout on) the re-forward replays the first pass's dropout masks."""
    texts = _texts(0, 2 * B)
    m = tiny_bi_encoder(TINY_WORDS, seed=0)
    m.train()
    torch.manual_seed(5)
    loss, _ = contrastive_step(m, InfoNCELoss(tau=0.05), texts, m.tokenize, grad_cache_chunk=2)
    g1 = _grads(m)
    # recompute the loss the cached embeddings saw: same seed, same sub-batches, no graph
    m2 = tiny_bi_encoder(TINY_WORDS, seed=0)
    m2.train()
    torch.manual_seed(5)
    embs = []
    for side, t in [("query", texts.queries), ("passage", texts.passages), ("passage", texts.negatives)]:
        embs.append(torch.cat([m2(m2.tokenize(t[i:i + 2], side)) for i in range(0, len(t), 2)]))
    ref_loss, _ = InfoNCELoss(tau=0.05)(*embs)
    ref_loss.backward()  # sub-batch forwards with graph, same masks: the gradient GradCache must give
    assert abs(loss - ref_loss.item()) < 1e-6
    for n, g in _grads(m2).items():
        torch.testing.assert_close(g1[n], g, atol=1e-5, rtol=1e-4, msg=n)


ACC = 2  # micro-batches per optimizer step in the no_sync test
Q2 = [f"what is the {W[i + 8]} of {W[i + 12]}" for i in range(4 * B)]
P2 = [f"the {W[i + 8]} {W[i + 12]} is {W[i + 16]} and {W[i + 20]}" for i in range(4 * B)]


def _micro(rank: int, micro: int) -> BatchTexts:
    lo = (micro * 2 + rank) * B  # global batch of micro m: [2mB, 2mB + 2B), rank r takes its half
    return BatchTexts(Q2[lo:lo + B], P2[lo:lo + B], [])


def _accum_worker(rank: int, world: int, init: str, out: str) -> None:
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = _model()
    ddp = DDP(model)
    calls = {"n": 0}

    def counting_hook(state, bucket):
        state["n"] += 1
        return allreduce_hook(None, bucket)

    ddp.register_comm_hook(calls, counting_hook)
    loss_fn = InfoNCELoss(tau=0.05, gather=False)  # each process: its own in-batch negatives only
    per_micro = []
    for micro in range(ACC):
        contrastive_step(ddp, loss_fn, _micro(rank, micro), model.tokenize, scale=1.0 / ACC,
                         no_sync=ddp.no_sync, sync=micro == ACC - 1)
        per_micro.append(calls["n"])
    if rank == 0:
        torch.save({"calls": per_micro, "grads": _grads(model)}, out)
    dist.barrier()  # no rank tears the group down while another still uses it
    del ddp
    dist.destroy_process_group()


def test_ddp_no_sync_accumulation_without_gather(tmp_path):
    out = tmp_path / "accum.pt"
    mp.spawn(_accum_worker, args=(2, f"file://{tmp_path / 'store'}", str(out)), nprocs=2, join=True)
    got = torch.load(out)
    assert got["calls"][0] == 0 and got["calls"][1] > 0  # no all-reduce until the last micro-batch
    # reference: DDP averages over processes the sum over micro-batches of (1/ACC) * local-loss gradients
    model = _model()
    loss_fn = InfoNCELoss(tau=0.05, gather=False)
    for rank in range(2):
        for micro in range(ACC):
            contrastive_step(model, loss_fn, _micro(rank, micro), model.tokenize, scale=1.0 / (ACC * 2))
    ref = _grads(model)
    assert set(got["grads"]) == set(ref) and len(ref) > 10
    for k, g in ref.items():
        torch.testing.assert_close(got["grads"][k], g, atol=1e-6, rtol=1e-4, msg=k)
    # and it is not the gathered loss: without gather, negatives of the other process are absent
    gathered = _model()
    for micro in range(ACC):
        both = BatchTexts(*(a + b for a, b in zip(
            [_micro(0, micro).queries, _micro(0, micro).passages],
            [_micro(1, micro).queries, _micro(1, micro).passages], strict=True)), [])
        contrastive_step(gathered, loss_fn, both, gathered.tokenize, scale=1.0 / ACC)
    assert any(not torch.allclose(_grads(gathered)[k], ref[k], atol=1e-6) for k in ref)
