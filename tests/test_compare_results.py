"""tools/compare_results.py, the refactor check of issue 18: each class of file reached from crafted trees."""

import importlib.util
import json
from pathlib import Path

import torch
import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "compare_results.py"
spec = importlib.util.spec_from_file_location("compare_results", SCRIPT)
compare_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_results)


def write_tree(root: Path, *, seconds: float, lr: float, weight: float, extra_key: bool, rank1: float) -> Path:
    run = root / "runs" / "abc"
    run.mkdir(parents=True)
    (run / "same.csv").write_text("a,b\n1,2\n")
    (run / "metrics.json").write_text(json.dumps({"test": {"rank1": 0.5}, "train_seconds": seconds}))
    (run / "history.csv").write_text(f"epoch,train_loss,seconds\n1,2.5,{seconds}\n")
    (root / "runs" / "grid.csv").write_text(f"alpha,rank1,seconds\n4,{rank1},{seconds}\n")
    cfg = {"train": {"lr": lr}, **({"budget": {"train": False}} if extra_key else {})}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    torch.save({"model": {"w": torch.full((2,), weight)}, "config": cfg}, run / "last.pt")
    (root / "gain.json").write_text(json.dumps({"rank1": rank1}))
    return root


def test_each_class_is_reached_and_a_real_difference_fails(tmp_path, capsys):
    old = write_tree(tmp_path / "old", seconds=1.0, lr=0.1, weight=1.0, extra_key=False, rank1=0.5)
    new = write_tree(tmp_path / "new", seconds=2.0, lr=0.1, weight=1.0, extra_key=True, rank1=0.5)
    (new / "page.csv").write_text("new page\n")
    found = compare_results.compare(old, new)
    assert [p for p, _ in found[compare_results.IDENTICAL]] == ["gain.json", "runs/abc/same.csv"]
    assert [p for p, _ in found[compare_results.TIMING]] == [
        "runs/abc/history.csv",
        "runs/abc/metrics.json",
        "runs/grid.csv",
    ]
    assert found[compare_results.CONFIG_ADDED] == [("runs/abc/config.yaml", "budget.train")]
    assert [p for p, _ in found[compare_results.CHECKPOINT_EQUAL]] == ["runs/abc/last.pt"]
    assert compare_results.DIFFERENT not in found and found["only in new"] == [("page.csv", "")]
    assert compare_results.main([str(old), str(new)]) == 0

    changed = write_tree(tmp_path / "changed", seconds=1.0, lr=0.2, weight=1.5, extra_key=False, rank1=0.6)
    found = compare_results.compare(old, changed)
    assert found[compare_results.DIFFERENT] == [
        ("gain.json", ""),
        ("runs/abc/config.yaml", "changed or removed: train.lr"),
        ("runs/abc/last.pt", ""),
        ("runs/grid.csv", ""),
    ]
    assert compare_results.main([str(old), str(changed)]) == 1
    assert "different: 4" in capsys.readouterr().out
