"""BatchNorm as the original computed it: statistics over per-GPU chunks of a batch (``train.bn_chunks``).

The original trained with PySlowFast on ``NUM_GPUS: 8`` (book/original-code.md):
TRAIN.BATCH_SIZE is the total over the GPUs, each GPU forwards ``batch / 8`` clips,
and BatchNorm is not synchronised (plain ``nn.BatchNorm3d``; PySlowFast's
``BN.NORM_TYPE`` default ``batchnorm``), so each GPU normalised over its own 1 to 4
clips. DistributedDataParallel then averages the GPUs' gradients, each the
gradient of its own mean loss.

On one device, ``chunked_step`` gives exactly that: the batch is cut into
``chunks`` micro-batches (``torch.tensor_split``, as equal as the batch allows),
each forwarded in training mode on its own (its own BatchNorm statistics) and
back-propagated with its mean loss divided by the number of chunks, the
gradients accumulating before the one optimiser step. ``chunks = 1`` is one
forward pass over the whole batch. One difference remains: the running
averages (used at evaluation unless precise BatchNorm recomputes them) are
updated once per chunk here, and once per GPU, on that GPU's copy, there.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def chunked_step(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    chunks: int,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward ``x`` in ``chunks`` micro-batches and back-propagate their averaged losses (module docstring).

    Returns the logits of the whole batch (detached, in order) and the loss averaged over the chunks.
    The caller zeroes the gradients before and steps the optimiser after.
    """
    if chunks < 1:
        raise ValueError(f"train.bn_chunks must be at least 1, got {chunks}")
    pieces = [(xc, yc) for xc, yc in zip(torch.tensor_split(x, chunks), torch.tensor_split(y, chunks)) if len(xc)]
    logits, total = [], 0.0
    for xc, yc in pieces:
        out = model(xc)
        loss = loss_fn(out, yc) / len(pieces)
        loss.backward()
        logits.append(out.detach())
        total += float(loss.detach())
    return torch.cat(logits), torch.tensor(total)
