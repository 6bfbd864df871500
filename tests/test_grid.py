"""Grid search: the grid file format, planning, and resumable runs with failures recorded."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny_caches import write_split, write_tiny_cache

from mlib.commands.cli import main as cli_main
from mlib.experiments import grid
from mlib.training import train as training

ROOT = Path(__file__).resolve().parents[1]
CI_GRID = ROOT / "configs" / "grids" / "ci.yaml"
QUICK = ["train.epochs=1", "model.frames=8"]  # the ci grid, smaller still for the test


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    cache = write_tiny_cache(tmp_path_factory.mktemp("grid-data"), clips_per_subject=5)
    return cache, write_split(cache)


def write_grid(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"axis": {"model.alpha": [4]}}, r"unknown keys \['axis'\]"),
        ({"axes": {"model.alpha": []}}, "non-empty lists"),
        ({"configurations": [{"set": {"model.alpha": 4}, "seed": 1}]}, "configuration 0 must be a mapping"),
        ({"axes": {"model.alpha": [4]}, "exclude": [{"match": {"model.alpha": 4}}]}, "needs 'match'.*and 'reason'"),
    ],
)
def test_bad_grid_files_are_refused_naming_the_file(tmp_path, spec, message):
    path = write_grid(tmp_path / "bad.yaml", spec)
    with pytest.raises(grid.GridError, match=rf"bad.yaml: .*{message}"):
        grid.load_grid(path)


def test_unknown_setting_in_a_grid_names_the_file(tmp_path, data):
    path = write_grid(tmp_path / "typo.yaml", {"axes": {"model.alpah": [4, 8]}})
    with pytest.raises(grid.GridError, match="typo.yaml: .*unknown configuration key 'model.alpah'"):
        grid.plan(path, cache=data[0], split=data[1], out=tmp_path / "out")


def test_shipped_grids_plan(tmp_path, data):
    cache, split = data
    sizes = {}
    for name in ("ci", "default", "kay2023", "paper-table1"):
        sizes[name] = len(
            grid.plan(ROOT / "configs" / "grids" / f"{name}.yaml", cache=cache, split=split, out=tmp_path / name)
        )
    assert sizes["kay2023"] == 162
    assert sizes["ci"] == 3
    assert 6 <= sizes["default"] <= 8
    # the tiny cache is a casme2 one: only the CASME II row of Table 1 applies
    assert sizes["paper-table1"] == 1


def test_plan_crosses_configurations_with_axes_seeds_and_exclusions(tmp_path, data):
    cache, split = data
    path = write_grid(
        tmp_path / "g.yaml",
        {
            "fixed": {"train.epochs": 2},
            "configurations": [
                {"label": "adam", "set": {"train.optimizer": "adam"}},
                {"label": "sgd", "set": {"train.optimizer": "sgd"}},
                {"label": "smic only", "datasets": ["smic"], "set": {"model.alpha": 16}},
            ],
            "axes": {"model.alpha": [4, 8], "train.seed": [0]},
            "exclude": [{"match": {"train.optimizer": "sgd", "model.alpha": 8}, "reason": "diverges"}],
        },
    )
    runs = grid.plan(path, cache=cache, split=split, out=tmp_path / "out", seeds=[1, 2])
    assert len(runs) == 2 * 2 * 2
    assert {r.cfg["train"]["seed"] for r in runs} == {1, 2}
    assert all(r.cfg["train"]["epochs"] == 2 for r in runs)
    assert len({r.run_dir for r in runs}) == len(runs)
    excluded = [r for r in runs if r.excluded]
    assert len(excluded) == 2 and all(
        r.cfg["train"]["optimizer"] == "sgd" and r.cfg["model"]["alpha"] == 8 for r in excluded
    )
    # --set collapses the alpha axis: identical configurations run once
    collapsed = grid.plan(path, cache=cache, split=split, out=tmp_path / "out", overrides=["model.alpha=4"])
    assert len(collapsed) == 2
    # the run key is the training unit's own folder name for that configuration
    cfg = runs[0].cfg
    assert runs[0].run_dir.name == training.run_folder({**cfg, "run": {**cfg["run"], "name": None}}).name


@pytest.mark.slow
def test_ci_grid_resumes_after_a_kill_records_failures_and_reruns_nothing(tmp_path, data, monkeypatch, capsys):
    cache, split = data
    out = tmp_path / "grid"
    real_train, calls = training.train, []

    def kill(epoch, row):
        raise KeyboardInterrupt  # like Ctrl-C or a killed job: not an error of the configuration

    def killed_during_second_run(cfg, run_dir, **options):
        calls.append(Path(run_dir).name)
        # the second run is killed after its checkpoint is saved, before metrics.json
        return real_train(cfg, run_dir, **options, on_epoch_end=kill if len(calls) == 2 else None)

    monkeypatch.setattr(training, "train", killed_during_second_run)
    with pytest.raises(KeyboardInterrupt):
        grid.run_grid(CI_GRID, overrides=QUICK, cache=cache, split=split, out=out, progress=False)
    table = pd.read_csv(out / "grid.csv")
    assert table["status"].tolist() == ["done", "pending", "pending"]
    assert table.loc[0, "test_rank1"] >= 0
    assert (out / calls[1] / "checkpoints" / "last.pt").is_file() and not (out / calls[1] / "metrics.json").exists()

    monkeypatch.setattr(training, "train", real_train)
    table = grid.run_grid(CI_GRID, overrides=QUICK, cache=cache, split=split, out=out, progress=False)
    saved = pd.read_csv(out / "grid.csv")
    assert len(saved) == 3 and saved["config_id"].is_unique and saved["run_dir"].is_unique
    assert saved["status"].tolist() == ["done"] * 3
    assert saved["origin"].tolist() == ["cached", "resumed", "trained"]
    assert set(saved["train.optimizer"]) == {"adam", "adamw"}
    for run_dir in saved["run_dir"]:
        assert (out / run_dir / "metrics.json").is_file() and (out / run_dir / "predictions.csv").is_file()
    mtimes = {d: (out / d / "metrics.json").stat().st_mtime_ns for d in saved["run_dir"]}

    # a grid with the first ci configuration and an invalid one, into the same folder
    mixed = write_grid(
        tmp_path / "mixed.yaml",
        {
            "fixed": yaml.safe_load(CI_GRID.read_text())["fixed"],
            "configurations": [
                {"set": {"model.alpha": 4, "train.optimizer": "adam"}},
                {"label": "bad", "set": {"model.alpha": 3}},
            ],
        },
    )
    table = grid.run_grid(mixed, overrides=QUICK, cache=cache, split=split, out=out, progress=False)
    assert table["status"].tolist() == ["done", "failed"]
    assert table.loc[0, "origin"] == "cached" and table.loc[0, "run_dir"] == saved.loc[0, "run_dir"]
    assert "model.frames=8 must be a positive multiple of model.alpha=3" in table.loc[1, "message"]
    assert "Traceback" in (out / table.loc[1, "run_dir"] / "error.txt").read_text()

    # the command line on the finished ci grid trains nothing
    code = cli_main(
        [
            "grid",
            "--grid",
            str(CI_GRID),
            *[a for o in QUICK for a in ("--set", o)],
            "--cache",
            str(cache),
            "--split",
            str(split),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "[grid 3/3]" in capsys.readouterr().out
    again = pd.read_csv(out / "grid.csv")
    assert again["origin"].tolist() == ["cached"] * 3
    assert {d: (out / d / "metrics.json").stat().st_mtime_ns for d in again["run_dir"]} == mtimes


def test_cli_lists_configurations_and_reports_bad_input(tmp_path, data, capsys):
    cache, split = data
    assert (
        cli_main(
            [
                "grid",
                "--grid",
                str(CI_GRID),
                "--cache",
                str(cache),
                "--split",
                str(split),
                "--out",
                str(tmp_path / "g"),
                "--list",
                "--seeds",
                "0",
                "1",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 6
    assert (
        cli_main(
            [
                "grid",
                "--grid",
                str(CI_GRID),
                "--cache",
                str(tmp_path),
                "--split",
                str(split),
                "--out",
                str(tmp_path / "g"),
            ]
        )
        == 2
    )
    assert "index.csv: missing" in capsys.readouterr().err


def _table(rows):
    base = {
        "label": "",
        "train.optimizer": "adam",
        "train.lr": 0.001,
        "train.batch_size": 8,
        "origin": "trained",
        "val_rank5": 1.0,
        "test_rank5": 1.0,
        "checkpoint_epoch": 1,
        "seconds": 1.0,
        "message": "",
    }
    return pd.DataFrame([base | {"config_id": i, "run_dir": f"r{i}", **r} for i, r in enumerate(rows)])


def test_selection_on_validation_versus_test_and_the_paper_table():
    table = _table(
        [
            dict(
                **{"model.alpha": 4, "model.beta_inv": 8, "train.seed": 0}, status="done", val_rank1=0.9, test_rank1=0.5
            ),
            dict(
                **{"model.alpha": 4, "model.beta_inv": 8, "train.seed": 1}, status="done", val_rank1=0.7, test_rank1=0.6
            ),
            dict(
                **{"model.alpha": 8, "model.beta_inv": 8, "train.seed": 0}, status="done", val_rank1=0.7, test_rank1=0.9
            ),
            dict(
                **{"model.alpha": 8, "model.beta_inv": 8, "train.seed": 1}, status="done", val_rank1=0.7, test_rank1=0.7
            ),
            dict(
                **{"model.alpha": 16, "model.beta_inv": 8, "train.seed": 0},
                status="failed",
                val_rank1=None,
                test_rank1=None,
            ),
        ]
    )
    val_pick, test_pick = grid.select_configuration(table, "val"), grid.select_configuration(table, "test")
    assert (val_pick["model.alpha"], val_pick["seeds"]) == (4, 2)
    assert val_pick["val_rank1"] == pytest.approx(0.8) and val_pick["test_rank1"] == pytest.approx(0.55)
    assert test_pick["model.alpha"] == 8 and test_pick["test_rank1"] == pytest.approx(0.8)
    compared = grid.paper_comparison(table, "smic-hs")
    assert compared["source"].tolist()[0] == "paper, Tables 1-2 (SMIC, real data)"
    assert compared["alpha"].tolist() == [16, 4, 8]
    assert compared["test_rank1"].tolist() == pytest.approx([0.9367, 0.55, 0.8])


def test_heatmap_marks_failed_cells():
    from mlib.plots import experiments

    table = _table(
        [
            dict(
                **{"model.alpha": 4, "model.beta_inv": 8, "train.seed": 0}, status="done", val_rank1=0.5, test_rank1=0.5
            ),
            dict(
                **{"model.alpha": 16, "model.beta_inv": 8, "train.seed": 0},
                status="failed",
                val_rank1=None,
                test_rank1=None,
            ),
        ]
    )
    fig = experiments.accuracy_heatmaps(table, "val_rank1")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["0.50\n(1)", "failed"]


@pytest.mark.slow
def test_submitit_local_jobs_collect_the_in_process_table(tmp_path, data, monkeypatch):
    """Two runs and one failing configuration as submitit LocalExecutor jobs: grid.csv equals the
    in-process one (but for timings), the failure is reported, and a rerun trains nothing finished."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the jobs' thread count, so their CPU results equal ours
    cache, split = data
    spec = write_grid(
        tmp_path / "two.yaml",
        {
            "fixed": yaml.safe_load(CI_GRID.read_text())["fixed"],
            "configurations": [
                {"set": {"model.alpha": 4}},
                {"set": {"model.alpha": 8}},
                {"label": "bad", "set": {"model.alpha": 3}},
            ],
        },
    )
    here = grid.run_grid(spec, overrides=QUICK, cache=cache, split=split, out=tmp_path / "inprocess", progress=False)
    executor = grid.make_executor("local", tmp_path / "jobs" / ".submitit")
    jobs = grid.run_grid(
        spec,
        overrides=QUICK,
        cache=cache,
        split=split,
        out=tmp_path / "jobs",
        progress=False,
        executor=executor,
        max_parallel=2,
    )
    saved = pd.read_csv(tmp_path / "jobs" / "grid.csv")
    timing = ["seconds"]
    pd.testing.assert_frame_equal(
        saved.drop(columns=timing), pd.read_csv(tmp_path / "inprocess" / "grid.csv").drop(columns=timing)
    )
    assert jobs["status"].tolist() == here["status"].tolist() == ["done", "done", "failed"]
    assert "must be a positive multiple of model.alpha=3" in saved.loc[2, "message"]
    assert "Traceback" in (tmp_path / "jobs" / saved.loc[2, "run_dir"] / "error.txt").read_text()

    again = grid.run_grid(
        spec,
        overrides=QUICK,
        cache=cache,
        split=split,
        out=tmp_path / "jobs",
        progress=False,
        executor=executor,
        max_parallel=2,
    )
    assert again["origin"].tolist() == ["cached", "cached", "trained"]  # the failed one is retried
    assert again["status"].tolist() == ["done", "done", "failed"]


def test_unknown_executor_is_refused():
    with pytest.raises(grid.GridError, match="--executor 'pbs'"):
        grid.make_executor("pbs", "x")
    assert grid.make_executor("inprocess", "x") is None
