"""Annotate whole corpora with a trained pipeline: `annotate(...)` and the CLI.

    python -m spacy_globalpointer annotate MODEL INPUT... --output DIR

One job per module: `inputs` (files, shards, reading records), `records` (a
Doc as the plain output record), `outputs` (atomic shards, manifest, resume),
`engines` (local processes or a Ray actor pool), `spacy_globalpointer.cli`
(the command line). This module plans a run and writes its summary.
"""
import importlib.metadata
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from ..checks import check_int
from ..errors import Errors
from .engines import ENGINES, Settings, annotate_shard, load_model, run_local, run_ray
from .inputs import INPUT_FORMATS, Shard, expand_inputs, plan_shards, read_shard
from .outputs import OUTPUT_FORMATS, finish_output, model_fingerprint, prepare_output, read_state
from .records import doc_to_record, parquet_schema

__all__ = [
    "annotate", "doc_to_record", "parquet_schema", "read_shard", "plan_shards", "expand_inputs",
    "annotate_shard", "load_model", "Settings", "Shard", "ENGINES", "INPUT_FORMATS", "OUTPUT_FORMATS",
]


def annotate(
    model: Union[str, Path],
    inputs: Sequence[Union[str, Path]],
    output: Union[str, Path],
    *,
    engine: str = "local",
    workers: int = 1,
    batch_size: int = 64,
    shard_size: int = 10_000,
    output_format: str = "jsonl",
    input_format: str = "auto",
    text_field: str = "text",
    id_field: Optional[str] = "id",
    max_chars: Optional[int] = 1_000_000,
    include_text: bool = True,
    threads: int = 1,
    gpus_per_worker: float = 0.0,
    address: Optional[str] = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> Dict[str, Any]:
    """Annotate every record of `inputs` with `model` into shards under `output`.

    A rerun with the same arguments skips the finished shards; other settings
    against the same `output` raise E100 unless `overwrite`. See README.md,
    "Annotate whole corpora", for the options and the record schema.

    RETURNS (Dict[str, Any]): the summary, also written to output/summary.json.
    """
    start = time.perf_counter()
    for name, value in (("workers", workers), ("batch_size", batch_size), ("shard_size", shard_size), ("threads", threads)):
        check_int(name, value)
    check_int("max_chars", max_chars, optional=True)
    for name, value, options in (
        ("engine", engine, ENGINES), ("output_format", output_format, OUTPUT_FORMATS),
        ("input_format", input_format, INPUT_FORMATS),
    ):
        if value not in options:
            raise ValueError(Errors.E106.format(name=name, options=list(options), value=value))
    output = Path(output)
    model_path, fingerprint = _resolve_model(str(model))
    files = expand_inputs([str(i) for i in inputs], input_format)
    shards = plan_shards(files, input_format, shard_size)
    options = {
        "format": output_format, "input_format": input_format, "text_field": text_field,
        "id_field": id_field, "max_chars": max_chars, "include_text": include_text, "shard_size": shard_size,
    }
    manifest = {"model": fingerprint, "options": options, "inputs": files, "shards": [s.to_dict() for s in shards]}
    prepare_output(output, manifest, overwrite)
    states: Dict[int, Dict[str, Any]] = {}
    for shard in shards:
        state = read_state(output, shard, output_format)
        if state is not None:
            states[shard.index] = state
    pending = [s for s in shards if s.index not in states]
    settings = Settings(
        model=model_path, output=str(output), format=output_format, text_field=text_field,
        id_field=id_field, max_chars=max_chars, include_text=include_text, batch_size=batch_size,
        threads=threads, gpus_per_worker=gpus_per_worker,
    )
    bar = _progress_bar(sum(s.stop - s.start for s in pending), show_progress)
    run_start = time.perf_counter()
    words = [0]

    def progress(n: int, n_words: int) -> None:
        words[0] += n_words
        bar.update(n)
        elapsed = time.perf_counter() - run_start
        bar.set_postfix_str(f"{words[0] / max(elapsed, 1e-9):,.0f} words/s", refresh=False)

    if engine == "ray":
        runs = run_ray(pending, settings, workers, address, progress)
    else:
        runs = run_local(pending, settings, workers, progress)
    run_words = 0
    busy: Dict[int, float] = {}  # worker pid -> seconds spent in its shards
    peak_rss = 0.0
    try:
        for state in runs:
            states[state["shard"]["index"]] = state
            run_words += state["words"]
            busy[state["pid"]] = busy.get(state["pid"], 0.0) + state["seconds"]
            peak_rss = max(peak_rss, state["peak_rss_mb"])
    finally:
        bar.close()
    wall = time.perf_counter() - start
    run_seconds = time.perf_counter() - run_start
    done = [states[s.index] for s in shards]
    summary = {
        "model": fingerprint.get("path") or fingerprint.get("package"),
        "engine": engine,
        "workers": workers,
        "output": str(output),
        "format": output_format,
        "shards": len(shards),
        "shards_skipped": len(shards) - len(pending),
        "records_in": sum(s["records_in"] for s in done),
        "written": sum(s["written"] for s in done),
        "failed": sum(s["failed"] for s in done),
        "words": sum(s["words"] for s in done),
        "words_this_run": run_words,
        "words_per_s": round(run_words / run_seconds, 1) if run_words else 0.0,
        "wall_s": round(wall, 3),
        # Per worker of this run: the most seconds one spent in its shards (no
        # start-up, no model load), and the largest peak memory.
        "worker_busy_s": round(max(busy.values()), 3) if busy else 0.0,
        "peak_rss_mb_per_worker": peak_rss,
    }
    finish_output(output, done, summary)
    return summary


def _resolve_model(model: str):
    """(what spacy.load gets, the model's fingerprint for the manifest)."""
    import spacy.util

    path = Path(model)
    if path.is_dir():
        return str(path.resolve()), model_fingerprint(path)
    if spacy.util.is_package(model):
        version = importlib.metadata.version(model.replace("_", "-")) if _has_dist(model) else None
        return model, {"package": model, "version": version}
    raise ValueError(Errors.E105.format(model=model))


def _has_dist(name: str) -> bool:
    try:
        importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _progress_bar(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, unit=" records", disable=not (show and sys.stderr.isatty()),
        dynamic_ncols=True, file=sys.stderr,
    )
