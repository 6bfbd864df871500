"""The SlowFast builder: shapes for the paper's alpha/beta grid, refusals, checkpoint initialisation."""

from __future__ import annotations

import pytest
import torch

from mlib.core.config import resolve
from mlib.training.models import SlowFastIdentifier, build_slowfast, load_kinetics_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_cfg(**changes) -> dict:
    cfg = resolve()["model"]
    cfg.update(depth=18, frames=16, size=32, dropout=0.0)
    cfg.update(changes)
    return cfg


@pytest.mark.parametrize("alpha", [4, 8, 16])
@pytest.mark.parametrize("beta_inv", [8, 16, 32])
def test_output_shape_for_paper_grid(alpha, beta_inv):
    torch.manual_seed(0)
    model = build_slowfast(tiny_cfg(alpha=alpha, beta_inv=beta_inv), num_classes=5).eval()
    assert isinstance(model, SlowFastIdentifier)
    # beta is a channel ratio: the Fast stem has 64 / beta_inv channels.
    fast_stem = model.net.blocks[0].multipathway_blocks[1].conv
    assert fast_stem.out_channels == 64 // beta_inv
    # alpha is the lateral fusion's temporal stride.
    assert model.net.blocks[0].multipathway_fusion.conv_fast_to_slow.stride[0] == alpha
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 16, 32, 32))
    assert logits.shape == (1, 5)
    assert torch.isfinite(logits).all()


def test_pathway_layers_see_slow_and_fast_time_lengths():
    model = build_slowfast(tiny_cfg(alpha=4, beta_inv=8), num_classes=3).eval()
    shapes = {}
    hooks = [
        layer.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
        for name, layer in model.pathway_layers().items()
    ]
    with torch.no_grad():
        model(torch.randn(2, 3, 16, 32, 32))
    for hook in hooks:
        hook.remove()
    assert shapes["slow"][2] == 16 // 4 and shapes["fast"][2] == 16
    assert shapes["slow"][1] == 8 * shapes["fast"][1]  # beta = 1/8 channel ratio


def test_width_narrows_every_stage():
    wide = build_slowfast(tiny_cfg(), num_classes=4)
    narrow = build_slowfast(tiny_cfg(width=16), num_classes=4)
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(narrow) < count(wide) / 8
    with torch.no_grad():
        assert narrow(torch.randn(1, 3, 16, 32, 32)).shape == (1, 4)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"frames": 18, "alpha": 4}, "multiple of model.alpha"),
        ({"beta_inv": 12}, "must divide model.width=64"),
        ({"width": 16, "beta_inv": 32}, "must divide model.width=16"),
        ({"size": 16}, "spatial stride"),
        ({"depth": 34}, "model.depth"),
        ({"alpha": 0}, "model.alpha"),
        ({"fusion_kernel": 4}, "odd"),
    ],
)
def test_invalid_combinations_are_refused_before_building(changes, message, monkeypatch):
    import pytorchvideo.models.slowfast as slowfast

    monkeypatch.setattr(slowfast, "create_slowfast", lambda **_: pytest.fail("built despite invalid config"))
    with pytest.raises(ValueError, match=message):
        build_slowfast(tiny_cfg(**changes), num_classes=4)


def test_checkpoint_initialises_everything_but_the_head(tmp_path, caplog):
    torch.manual_seed(1)
    source = build_slowfast(tiny_cfg(), num_classes=400)
    path = tmp_path / "kinetics.pyth"
    torch.save({"model_state": source.net.state_dict()}, path)

    torch.manual_seed(2)
    target = build_slowfast(tiny_cfg(checkpoint=str(path)), num_classes=7)
    assert target.init_report["skipped_head"] and not target.init_report["missing"]
    src, dst = source.net.state_dict(), target.net.state_dict()
    head = f"blocks.{len(target.net.blocks) - 1}.proj."
    for key, value in dst.items():
        if key.startswith(head):
            assert value.shape[0] == 7
        else:
            assert torch.equal(value, src[key]), key
    assert target.classifier().out_features == 7


def test_checkpoint_shape_mismatch_is_reported(tmp_path):
    source = build_slowfast(tiny_cfg(beta_inv=16), num_classes=4)
    path = tmp_path / "other.pt"
    torch.save({"model_state": source.net.state_dict()}, path)
    target = build_slowfast(tiny_cfg(beta_inv=8), num_classes=4)
    report = load_kinetics_checkpoint(target, path)
    assert report["skipped_shape"] and "checkpoint" in report["skipped_shape"][0]
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_kinetics_checkpoint(target, tmp_path / "absent.pt")
