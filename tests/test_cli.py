"""The command line, in-process: train a tiny run, evaluate it, and fail cleanly on bad input."""

import json

import pytest

from iai.cli import main


def test_train_then_eval_writes_the_report(
    demo_path, tiny_overrides, tmp_path, capsys, monkeypatch
):
    run = tmp_path / "run"
    sets = [arg for item in tiny_overrides for arg in ("--set", item)]
    assert main(["train", str(demo_path), "--out", str(run), "--quiet", *sets]) == 0
    assert {"config.json", "model.safetensors", "trainer.safetensors", "metrics.jsonl"} <= {
        p.name for p in run.iterdir()
    }
    assert "trained:" in capsys.readouterr().out

    argv = ["eval", str(run), "--tasks", "20", "--steps", "3", "--ood", "noisy"]
    monkeypatch.chdir(tmp_path)  # the report goes to runs/eval/<name>, not into the checkpoint
    before = sorted(p.name for p in run.iterdir())
    assert main(argv) == 0
    assert "written:" in capsys.readouterr().out
    assert sorted(p.name for p in run.iterdir()) == before
    out = tmp_path / "runs" / "eval" / "run"
    results = json.loads((out / "eval.json").read_text())
    assert [r["variant"] for r in results] == ["id", "noisy"]
    for r in results:
        assert r["tasks"] == 20 and r["steps"] == 3
        assert {"iai", "prior", "bayes"} <= set(r["methods"])
        for method in r["methods"].values():
            assert len(method["mse"]["mean"]) == len(method["mse"]["se"]) == 4
    assert results[1]["task"]["noise"] == 4 * results[0]["task"]["noise"]
    text = (out / "eval.md").read_text()
    assert "in distribution" in text and "out of distribution: noisy" in text
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_config_key_exits_2_and_names_it(demo_path, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", str(demo_path), "--out", str(run), "--set", "train.bogus=1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "iai: error:" in err and "'train.bogus'" in err
    assert not run.exists()


def test_eval_of_a_missing_checkpoint_exits_2_and_names_it(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_help_lists_every_command_and_eval_lists_the_variants(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(c in out for c in ("train", "eval", "grid"))
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "shift_x, wide_x, noisy, wide_prior" in " ".join(capsys.readouterr().out.split())
