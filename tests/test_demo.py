"""examples/demo.py (`make demo`) at a tiny size, run from another working directory."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "demo.py"
SPEC = importlib.util.spec_from_file_location("demo", SCRIPT)
demo = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(demo)


def test_demo_evaluates_trains_and_summarizes(tiny_overrides, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the checkpoint and config are found next to the script
    sets = [arg for item in tiny_overrides for arg in ("--set", item)]
    small = ["--tasks", "12", "--steps", "3", "--tune-tasks", "4", "--optimizer-iters", "2"]
    assert demo.main(["--quiet", *small, *sets]) == 0
    out = tmp_path / "runs" / "demo"
    results = json.loads((out / "eval" / "eval.json").read_text())
    assert [r["variant"] for r in results] == ["id", "shift_x"]
    assert {"iai", "bayes", "sgd", "adam", "sgd_online", "adam_online"} <= set(
        results[0]["methods"]
    )
    assert (out / "eval" / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"model.safetensors", "config.json", "metrics.jsonl"} <= {
        p.name for p in (out / "train").iterdir()
    }
    printed = capsys.readouterr().out
    text = (out / "summary.txt").read_text()
    assert text in printed
    assert "iteration    1/8" in printed and "iteration    8/8" in printed  # the loss, live
    assert "IAI: one learned update per mini-batch" in text and "k=2" in text
    assert "runs/demo/eval/eval.md" in text and "runs/demo/summary.txt" in text

    # a second run replaces the first instead of refusing to overwrite the trained learner
    assert demo.main(["--quiet", "--ood", "none", *small, *sets]) == 0
    results = json.loads((out / "eval" / "eval.json").read_text())
    assert [r["variant"] for r in results] == ["id"]


def test_demo_reports_a_bad_override_and_exits_2(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "d"), "--quiet", "--tasks", "4", "--steps", "1"]
    argv += ["--tune-tasks", "2", "--optimizer-iters", "1", "--ood", "none"]
    assert demo.main([*argv, "--set", "train.bogus=1"]) == 2
    assert "'train.bogus'" in capsys.readouterr().err
