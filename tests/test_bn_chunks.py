"""BatchNorm over per-GPU chunks (mlib.training.bn_chunks): what the original's 8 unsynchronised GPUs computed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mlib.training.bn_chunks import chunked_step


def small_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv3d(3, 4, 1),
        torch.nn.BatchNorm3d(4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool3d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    )


def batch(n: int = 8):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 2, 3, 3, generator=generator) * torch.arange(1, n + 1).view(n, 1, 1, 1, 1), torch.arange(
        n
    ) % 3


def test_per_chunk_statistics_equal_separate_forward_passes():
    x, y = batch()
    chunked, separate, whole = small_net(), small_net(), small_net()
    logits, loss = chunked_step(chunked, x, y, 4, F.cross_entropy)
    # four "GPUs": each forwards its two clips alone and back-propagates its mean loss; DDP averages gradients
    outs = [separate(xc) for xc in x.split(2)]
    losses = [F.cross_entropy(o, yc) for o, yc in zip(outs, y.split(2))]
    torch.stack(losses).mean().backward()
    assert torch.allclose(logits, torch.cat(outs).detach(), atol=1e-6)
    assert loss.item() == pytest.approx(torch.stack(losses).mean().item(), abs=1e-6)
    for a, b in zip(chunked.parameters(), separate.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-6)
    # the per-chunk normalisation is not the whole batch's
    assert not torch.allclose(logits, whole(x).detach(), atol=1e-3)


def test_one_chunk_is_one_forward_pass_over_the_batch():
    x, y = batch()
    chunked, whole = small_net(), small_net()
    logits, loss = chunked_step(chunked, x, y, 1, F.cross_entropy)
    expected = whole(x)
    F.cross_entropy(expected, y).backward()
    assert torch.equal(logits, expected.detach()) and loss.item() == F.cross_entropy(expected, y).item()
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(chunked.parameters(), whole.parameters()))


def test_more_chunks_than_clips_leaves_no_empty_chunk():
    x, y = batch(3)
    logits, _ = chunked_step(small_net(), x, y, 8, F.cross_entropy)
    assert logits.shape == (3, 3)
    with pytest.raises(ValueError, match="bn_chunks"):
        chunked_step(small_net(), x, y, 0, F.cross_entropy)
