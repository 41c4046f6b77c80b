"""Benchmark runner smoke test and the baseline configs' fairness.

The smoke suite trains gp and spancat for 20 steps on the shipped sample (one
thread, well under two minutes) into tmp_path: it checks that every stage runs
and writes what it promises, not the scores.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from thinc.api import Config

BENCHMARKS = Path(__file__).parent.parent / "project" / "benchmarks"
GP_CONFIG = BENCHMARKS.parent / "configs" / "cnn.cfg"
BASELINES = ("spancat", "span_finder_spancat", "ner")
SMOKE_SYSTEMS = ("gp", "spancat")


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("benchmark")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_benchmark.py"), "smoke", "--out-dir", str(out), "--repeats", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_smoke_writes_report_with_every_system(smoke_dir):
    report = (smoke_dir / "results.md").read_text(encoding="utf8")
    for system in SMOKE_SYSTEMS:
        assert f"| {system} |" in report, system
    for section in ("F1 by gold span length", "F1 per type", "## Machine", "f1_vs_train_time.png"):
        assert section in report, section


def test_smoke_writes_plot(smoke_dir):
    data = (smoke_dir / "f1_vs_train_time.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_smoke_writes_one_json_per_system(smoke_dir):
    for system in SMOKE_SYSTEMS:
        result = json.loads((smoke_dir / "results" / "sample" / f"{system}.json").read_text(encoding="utf8"))
        assert result["system"] == system and result["max_steps"] == 20
        assert result["train"]["seconds"] > 0 and result["train"]["peak_rss_mb"] > 0
        assert result["train"]["last_step"] == 20
        scores = result["measure"]["scores"]["spans"]
        assert 0.0 <= scores["overall"]["f"] <= 1.0
        assert set(scores["by_length"]) == {"1-3", "4-8", "9+"}
        assert result["measure"]["words_per_second"] > 0
        assert 0.0 < result["measure"]["head_cost"] <= 1.5
        assert result["measure"]["suggesters"]


def _without_component(path: Path) -> Config:
    """The config minus what may differ between systems: the task component(s),
    the pipeline list, score weights and annotating components."""
    config = Config().from_disk(path, interpolate=False)
    config["components"] = {"tok2vec": config["components"]["tok2vec"]}
    del config["nlp"]["pipeline"]
    del config["training"]["score_weights"]
    config["training"].pop("annotating_components", None)
    return config


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_configs_differ_from_gp_config_only_in_the_component(name):
    assert _without_component(BENCHMARKS / "configs" / f"{name}.cfg") == _without_component(GP_CONFIG)
