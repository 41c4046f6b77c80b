"""Throughput of `annotate` against `nlp.pipe`, one process and two, side by side.

    python benchmarks/annotate_benchmark.py training-relations/model-best --words 50000

Writes a corpus of about `--words` words by repeating the shipped samples' texts
(each record with its own id), then runs each row in its own subprocess, one
after the other, on the same corpus and model, 1 torch thread per process:

- `nlp.pipe`: one process, the texts read from the JSONL, Docs discarded;
- `nlp.pipe(n_process=2)`: spaCy's multiprocessing (the parent feeds the
  workers and receives every Doc back);
- `annotate --engine local --workers 2` and `annotate --engine ray --workers 2`:
  each worker reads its own shards and writes its own JSONL output shards.

Two throughputs per row: `words/s` over the row's whole wall time (imports,
model loading, worker start-up and, for annotate, writing the output
included) and `steady words/s` over the time spent annotating only (the pipe
loop; for annotate, the busiest worker's time in its shards). Peak RSS per
worker is the largest worker's peak resident memory (the process itself for
one process). The rows run in `--repeats` interleaved rounds and each keeps its
fastest (shared machines); the load average before each row is recorded.
Prints the table and writes it as JSON (--output).
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import typer

HERE = Path(__file__).parent
SAMPLES = ["sample_relations_train.jsonl", "sample_relations_dev.jsonl", "sample_train.jsonl", "sample_dev.jsonl"]
ROWS = ["pipe", "pipe-n2", "local-2", "ray-2"]
LABELS = {
    "pipe": "nlp.pipe (1 process)",
    "pipe-n2": "nlp.pipe(n_process=2)",
    "local-2": "annotate --engine local --workers 2",
    "ray-2": "annotate --engine ray --workers 2",
}


def make_corpus(path: Path, words: int) -> int:
    texts = [json.loads(line)["text"] for name in SAMPLES for line in open(HERE.parent / "assets" / name, encoding="utf8")]
    n_words, n = 0, 0
    with open(path, "w", encoding="utf8") as f:
        while n_words < words:
            text = texts[n % len(texts)]
            f.write(json.dumps({"id": f"doc{n}", "text": text}) + "\n")
            n_words += len(text.split())
            n += 1
    return n


def _mib(kb: int) -> float:
    return round(kb / 1024, 1)


def run_row(row: str, model: str, corpus: str, workers: int, batch_size: int, shard_size: int) -> Dict:
    """One row, in this (fresh) process."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    if row.startswith("pipe"):
        import spacy

        nlp = spacy.load(model)
        texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf8")]
        loop_start = time.perf_counter()
        n_process = workers if row == "pipe-n2" else 1
        words = sum(
            sum(not t.is_space for t in doc) for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process)
        )
        steady = time.perf_counter() - loop_start
        result = {"words": words, "steady_s": steady}
    else:
        from spacy_globalpointer.annotate import annotate

        output = tempfile.mkdtemp(prefix="annotate-bench-")
        summary = annotate(
            model, [corpus], output, engine=row.split("-")[0], workers=workers, batch_size=batch_size,
            shard_size=shard_size, overwrite=True, show_progress=False,
        )
        assert summary["written"] == summary["records_in"], summary
        result = {"words": summary["words_this_run"], "steady_s": summary["worker_busy_s"], "worker_peak_rss_mb": summary["peak_rss_mb_per_worker"]}
    result["wall_s"] = time.perf_counter() - start
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["main_cpu_s"] = self_usage.ru_utime + self_usage.ru_stime
    result["main_peak_rss_mb"] = _mib(self_usage.ru_maxrss)
    if row == "pipe":
        result["worker_peak_rss_mb"] = result["main_peak_rss_mb"]
    elif row in ("pipe-n2", "local-2"):
        result["worker_peak_rss_mb"] = _mib(children.ru_maxrss)  # the largest child
    return result


# On paper: a 100-million-document run. Assumptions, not measurements.
DOCS = 100_000_000
WORDS_PER_DOC = 300
WORKERS_PER_MACHINE = 16  # a 16-vCPU machine, one 1-thread worker per vCPU
MACHINE_PER_HOUR = 0.68  # USD, an assumed on-demand price for such a machine
IDLE_CORE_WORDS_PER_S = 25_400  # one process on an idle core (the independent figure)


def cost_lines(per_worker: Dict[str, float]) -> List[str]:
    """100M documents on 10 and 100 machines, from per-worker words/s figures."""
    words = DOCS * WORDS_PER_DOC
    lines = [
        f"| per-worker figure | words/s | worker-hours | 10 machines ({10 * WORKERS_PER_MACHINE} workers) "
        f"| 100 machines ({100 * WORKERS_PER_MACHINE} workers) | cost |",
        "|---|---|---|---|---|---|",
    ]
    for name, rate in per_worker.items():
        worker_hours = words / rate / 3600
        lines.append(
            f"| {name} | {rate:,.0f} | {worker_hours:,.0f} | {worker_hours / (10 * WORKERS_PER_MACHINE):,.1f} h "
            f"| {worker_hours / (100 * WORKERS_PER_MACHINE) * 60:,.0f} min "
            f"| ${worker_hours / WORKERS_PER_MACHINE * MACHINE_PER_HOUR:,.0f} |"
        )
    return lines


def report(runs: List[Dict]) -> List[str]:
    """The "Annotate whole corpora" section of results.md, from this script's JSONs."""
    lines = [
        "## Annotate whole corpora",
        "",
        "`annotate_benchmark.py`: the relations sample pipeline (`spacy project run relations`, "
        "training-relations/model-best: tok2vec + globalpointer + globalpointer_relations) over the shipped "
        "samples' texts repeated, 1 torch thread per process, batch size 64, shards of 1/8 of the corpus. "
        "`words/s` is over each row's whole wall time (imports, model loading, worker start-up and writing "
        "the output included); `steady` over the time spent annotating (the pipe loop; for annotate the busiest "
        "worker's time in its shards). Peak RSS is per worker. `main CPU s` is the CPU time of the process "
        "that was started (for `n_process=2` the parent that feeds the workers and receives every Doc). "
        "**The machine was not idle**: 2 cores shared with three other engineers' trainings and test runs; "
        "the load average before each row is in the table. Each row keeps its fastest of the interleaved rounds.",
        "",
    ]
    for r in runs:
        lines += [
            f"### {r['docs']:,} docs, {r['rows'][0]['words']:,} words, {r['workers']} workers, "
            f"{r.get('repeats', 1)} round(s)",
            "",
            "| run | wall s | words/s | ×1 proc | steady words/s | ×1 proc | peak RSS/worker MiB | main CPU s | load before |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in r["rows"]:
            lines.append(
                f"| {row['label']} | {row['wall_s']:.1f} | {row['words_per_s']:,.0f} | {row.get('speedup', 0):.2f} "
                f"| {row['steady_words_per_s']:,.0f} | {row.get('steady_speedup', 0):.2f} "
                f"| {row.get('worker_peak_rss_mb', 0):,.0f} | {row['main_cpu_s']:.1f} | {row['load_before']:.2f} |"
            )
        lines.append("")
    per_worker: Dict[str, float] = {"one process on an idle core (the issue's figure)": IDLE_CORE_WORDS_PER_S}
    last = runs[-1]
    for row in last["rows"]:
        workers = 1 if row["row"] == "pipe" else last["workers"]
        per_worker[f"{row['label']}, steady, per worker, loaded machine"] = row["steady_words_per_s"] / workers
    lines += [
        f"**A 100-million-document run, on paper.** Assumed: {WORDS_PER_DOC} words a document "
        f"({DOCS * WORDS_PER_DOC:.0e} words), machines of 16 vCPUs running {WORKERS_PER_MACHINE} one-thread "
        f"workers (about 0.4-0.6 GB each, so 16 GB is enough), ${MACHINE_PER_HOUR}/hour a machine, shards of "
        "10,000 documents (10,000 shards: start-up of a minute or two per machine and the last shard's tail "
        "are left out). Workers share nothing, so the time divides by the machines and the cost does not "
        "change with them.",
        "",
    ]
    lines += cost_lines(per_worker)
    lines += [
        "",
        "GPU: not measured (no GPU here), so no GPU row. With G words/s per GPU worker, the run takes "
        f"{DOCS * WORDS_PER_DOC:.0e} / G / 3600 GPU-hours; on 10 and 100 one-GPU machines divide by 10 and 100, "
        "and the cost is that number times the price of a GPU-hour. We expect a GPU to matter most for the "
        "transformer configs (`relations_trf.cfg`, `events_trf.cfg`), whose encoder dominates the CPU time; "
        "measure G with `--engine ray --gpus-per-worker 1` (or 0.5: two actors share a GPU) on a few shards "
        "before buying hours.",
        "",
        "What these runs show, with the load they ran under: `nlp.pipe(n_process=2)` is the slowest row (its "
        "parent spends more CPU than a one-process run while feeding the workers and receiving every Doc), as "
        "in the issue's idle-machine figure (0.69x). Workers that read and write their own shards keep the "
        "parent idle (2.9-7.6 CPU s, mostly imports). Ray's two actors reached 1.88-1.95x one process in steady "
        "words/s, the 1.7x target; the local engine's two spawned workers only 0.85-1.39x, although they run "
        "the same `annotate_shard` with the same settings: on this machine, in all three paired runs, each "
        "local worker annotated about half as fast as a Ray actor beside the same background load, yet a later "
        "unpaired local run on the 55,807-word corpus (same settings, a test suite running beside it) reached "
        "5,760 steady words/s, 1.83x, and a third benchmark run (load 7-10, a test run of ours beside it, not "
        "in the tables) reversed the order: local 1.25x, Ray 0.89x. So the gap between the engines is the "
        "noise of this shared machine, not a property of either; rerun on an idle machine before drawing "
        "conclusions. End to end (`words/s`), start-up "
        "(importing spaCy and torch and loading the model took 10-20 s per process under this load) outweighs "
        "the gain on corpora this small: measure throughput on long runs with `steady` figures.",
        "",
    ]
    return lines


def main(
    model: str = typer.Argument(..., help="Model directory, e.g. training-relations/model-best"),
    words: int = typer.Option(50_000, "--words", help="Corpus size in words (repeated sample texts)"),
    workers: int = typer.Option(2, "--workers"),
    batch_size: int = typer.Option(64, "--batch-size"),
    output: Path = typer.Option(HERE / "results" / "annotate.json", "--output"),
    rows: str = typer.Option(",".join(ROWS), "--rows", help="Comma-separated rows to run"),
    repeats: int = typer.Option(2, "--repeats", help="Rounds over the rows (interleaved); each row keeps its fastest round"),
    row: str = typer.Option("", "--row", hidden=True),
    corpus: str = typer.Option("", "--corpus", hidden=True),
    shard_size: int = typer.Option(0, "--shard-size", hidden=True),
) -> None:
    if row:  # a child: run one row and print its result
        print(json.dumps(run_row(row, model, corpus, workers, batch_size, shard_size)))
        return
    folder = Path(tempfile.mkdtemp(prefix="annotate-bench-corpus-"))
    corpus_path = folder / "corpus.jsonl"
    n_docs = make_corpus(corpus_path, words)
    # Shards of ~1/8 of the corpus: 4 per worker, so the last ones balance.
    shard_size = max(1, -(-n_docs // (4 * workers)))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results: List[Dict] = []
    # Rounds interleave the rows, so a burst of load from other processes hits
    # one round of each rather than every round of one; a row keeps its fastest.
    for round_ in range(repeats):
        for name in rows.split(","):
            load_before = os.getloadavg()[0]
            out = subprocess.run(
                [sys.executable, __file__, model, "--row", name, "--corpus", str(corpus_path), "--workers", str(workers),
                 "--batch-size", str(batch_size), "--shard-size", str(shard_size)],
                capture_output=True, text=True, env=env,
            )
            if out.returncode != 0:
                sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result.update(row=name, label=LABELS[name], round=round_, load_before=load_before)
            print(f"round {round_} {name}: {result['words'] / result['wall_s']:,.0f} words/s, "
                  f"steady {result['words'] / result['steady_s']:,.0f}, load before {load_before:.2f}", flush=True)
            results.append(result)
    all_rounds = results
    results = [
        min((r for r in all_rounds if r["row"] == name), key=lambda r: r["wall_s"]) for name in rows.split(",")
    ]
    base = next((r for r in results if r["row"] == "pipe"), None)
    lines = [
        "| run | words | wall s | words/s | ×1 proc | steady words/s | ×1 proc | peak RSS/worker MiB | main CPU s | load before |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        r["words_per_s"] = r["words"] / r["wall_s"]
        r["steady_words_per_s"] = r["words"] / r["steady_s"]
        if base is not None:
            r["speedup"] = r["words_per_s"] / (base["words"] / base["wall_s"])
            r["steady_speedup"] = r["steady_words_per_s"] / (base["words"] / base["steady_s"])
        lines.append(
            f"| {r['label']} | {r['words']:,} | {r['wall_s']:.1f} | {r['words_per_s']:,.0f} | {r.get('speedup', 0):.2f} "
            f"| {r['steady_words_per_s']:,.0f} | {r.get('steady_speedup', 0):.2f} | {r.get('worker_peak_rss_mb', 0):,.0f} "
            f"| {r['main_cpu_s']:.1f} | {r['load_before']:.2f} |"
        )
    load = os.getloadavg()
    report = {
        "model": model, "docs": n_docs, "words": words, "workers": workers, "batch_size": batch_size,
        "shard_size": shard_size, "cpus": os.cpu_count(), "loadavg_after": load, "repeats": repeats,
        "rows": results, "all_rounds": all_rounds,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1), encoding="utf8")
    print("\n".join(lines))
    print(f"{n_docs:,} docs; load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    typer.run(main)
