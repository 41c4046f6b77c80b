"""`python -m spacy_globalpointer annotate`: annotate whole corpora (see annotate/).

    python -m spacy_globalpointer annotate MODEL INPUT... --output DIR [options]
"""
import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg


def annotate_cli(
    model: str = typer.Argument(..., help="Pipeline package name or model directory"),
    inputs: List[str] = typer.Argument(..., help="JSONL, text (one doc per line) or Parquet files, directories or glob patterns"),
    output: Path = typer.Option(..., "--output", "-o", help="Output directory (shards, manifest, errors.jsonl, summary.json)"),
    output_format: str = typer.Option("jsonl", "--format", "-f", help="Output shards: jsonl, parquet (pyarrow) or docbin"),
    engine: str = typer.Option("local", "--engine", "-e", help="local (processes on this machine) or ray (extra [distributed])"),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes (local) or actors (ray), each with the model loaded once"),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="Documents per nlp.pipe batch"),
    shard_size: int = typer.Option(10_000, "--shard-size", help="Records per shard (the unit of work, output and resumption)"),
    threads: int = typer.Option(1, "--threads", help="torch threads per worker"),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", help="GPUs per worker (> 0: spacy.require_gpu() in each worker)"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)"),
    input_format: str = typer.Option("auto", "--input-format", help="auto (by suffix: .jsonl/.json/.ndjson, .txt, .parquet), jsonl, text or parquet"),
    text_field: str = typer.Option("text", "--text-field", help="Field (JSONL) or column (Parquet) holding the text"),
    id_field: str = typer.Option("id", "--id-field", help="Field or column holding the record id (missing: 'file:line')"),
    max_chars: int = typer.Option(1_000_000, "--max-chars", help="Longer texts go to the errors file"),
    include_text: bool = typer.Option(True, "--text/--no-text", help="Repeat the text in each output record"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete an earlier run's output in --output written with other settings"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Annotate whole corpora: every record once, in resumable output shards."""
    from ..annotate import annotate

    summary = annotate(
        model, inputs, output, engine=engine, workers=workers, batch_size=batch_size,
        shard_size=shard_size, output_format=output_format, input_format=input_format,
        text_field=text_field, id_field=id_field or None, max_chars=max_chars,
        include_text=include_text, threads=threads, gpus_per_worker=gpus_per_worker,
        address=address or os.environ.get("RAY_ADDRESS"), overwrite=overwrite, show_progress=not quiet,
    )
    msg.good(
        f"{summary['records_in']:,} records in, {summary['written']:,} written, "
        f"{summary['failed']:,} failed; {summary['words_per_s']:,.0f} words/s, "
        f"{summary['wall_s']:.1f} s ({summary['shards_skipped']} of {summary['shards']} shards already done)"
    )
    if summary["failed"]:
        msg.warn(f"Failed records (file, line, id, reason): {output / 'errors.jsonl'}")
    msg.info(f"Summary: {output / 'summary.json'}")
    print(json.dumps(summary))


if __name__ == "__main__":
    typer.run(annotate_cli)
