"""Time and memory of a whole trained pipeline on one long document, per 1k tokens.

    python benchmarks/long_docs.py MODEL [--sizes 1000 5000 20000] [--sentencizer] [--out FILE]

A model trained on sentences meets paragraphs and whole articles in use. This
builds one doc of each size from the dev texts of the shipped samples (joined
with spaces, so it is one long paragraph of real sentences), runs the whole
pipeline on it in a fresh process per size (torch at 1 thread), and prints
seconds per 1k tokens, the peak RSS of that process and what the pipeline
found. Cost is linear when seconds per 1k tokens stay flat as the doc grows.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "assets"
DEV_FILES = ["sample_relations_dev.jsonl", "sample_events_dev.jsonl", "sample_dev.jsonl"]


def long_text(nlp: Any, n_tokens: int) -> str:
    """Dev sentences of the samples, repeated in order, up to n_tokens tokens."""
    texts = [json.loads(line)["text"] for name in DEV_FILES for line in (ASSETS / name).open(encoding="utf8")]
    pieces: List[str] = []
    count = 0
    while count < n_tokens:
        for text in texts:
            pieces.append(text)
            count += len(nlp.make_doc(text))
            if count >= n_tokens:
                break
    return " ".join(pieces)


def measure_one(model: str, n_tokens: int, sentencizer: bool) -> Dict[str, Any]:
    """Run in a fresh process: one doc of n_tokens through the whole pipeline."""
    import warnings

    import spacy
    import torch

    torch.set_num_threads(1)
    nlp = spacy.load(model)
    if sentencizer and "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
    text = long_text(nlp, n_tokens)
    nlp(text[:2000])  # warm up
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = nlp(text)
    seconds = time.perf_counter() - start
    found: Dict[str, Any] = {f"spans[{key}]": len(group) for key, group in doc.spans.items()}
    if doc.has_extension("relations"):
        found["relations"] = len(doc._.relations)
    if doc.has_extension("events"):
        found["events"] = len(doc._.events)
    return {
        "tokens": len(doc),
        "seconds": round(seconds, 3),
        "seconds_per_1k_tokens": round(1000 * seconds / len(doc), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "found": found,
        "warnings": sorted({str(w.message).split("]")[0] + "]" for w in caught}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--sentencizer", action="store_true", help="add a sentencizer first if the pipeline has none")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.model, args.one, args.sentencizer)))
        return
    rows = []
    for size in args.sizes:
        command = [sys.executable, __file__, args.model, "--one", str(size)] + (["--sentencizer"] if args.sentencizer else [])
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(f"{'tokens':>8} {'s':>8} {'s/1k tok':>9} {'peak RSS MB':>12}  found")
    for row in rows:
        print(f"{row['tokens']:>8} {row['seconds']:>8.2f} {row['seconds_per_1k_tokens']:>9.4f} {row['peak_rss_mb']:>12.1f}  {row['found']} {' '.join(row['warnings'])}")
    if args.out:
        args.out.write_text(json.dumps({"model": args.model, "sentencizer": args.sentencizer, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
