"""project/scripts/gpu_check.py (the `gpu-check` command): its plumbing on the
CPU (--cpu-dry-run: two training steps per task on a 32-wide local BERT it
builds itself, offline), and its message on a machine without CUDA."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("spacy_transformers")

from test_project import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "gpu_check.py"
SCORES = {"spans": "spans_sc_f", "relations": "relations_micro_f", "events": "events_argument_cls_f"}


def run_check(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, encoding="utf8", env=env
    )


def test_cpu_dry_run_trains_reloads_and_predicts_every_task(tmp_path):
    result = run_check(str(tmp_path), "--cpu-dry-run", "--steps", "2", "--width", "32", "--repeats", "1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "GPU check passed (CPU dry run)" in result.stdout
    report = json.loads((tmp_path / "gpu_check.json").read_text(encoding="utf8"))
    assert report["mixed_precision"] is False and report["gpu_id"] == -1
    assert report["model"] == str(tmp_path / "local-bert")
    assert set(report["tasks"]) == set(SCORES)
    for task, row in report["tasks"].items():
        assert isinstance(row[SCORES[task]], float), (task, row)
        assert row["cpu_words_per_s"] > 0 and isinstance(row["cpu_predictions"], int), (task, row)
        assert "gpu_words_per_s" not in row
        assert (tmp_path / task / "model-last" / "config.cfg").exists()


def test_without_cuda_it_stops_with_a_message(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run_check(str(tmp_path))
    assert result.returncode == 1
    assert "No CUDA device" in result.stdout and "--cpu-dry-run" in result.stdout
    assert not (tmp_path / "local-bert").exists()
