"""The GPU path in one run: train the span, relations and events pipelines on
their shipped samples with the transformer configs and mixed precision on a
CUDA device, then reload each one on the GPU and on the CPU, check that it
predicts, and print words/s on both.

Offline: without --model it builds a small BERT (random weights, a word-piece
vocabulary from the samples' words and characters) in OUTPUT_DIR/local-bert, so
nothing comes from the Hugging Face hub; --model takes a local folder (or a hub
name, if the machine is online). The scores of a random-weight BERT after a few
hundred steps only show that training moves; the check is that every step runs.

Without CUDA it stops with a message, unless --cpu-dry-run: then the same steps
run on the CPU with a handful of training steps and mixed precision off (torch
autocast and gradient scaling are CUDA-only), to test the script itself.
"""
import json
import time
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import typer
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import Config
from wasabi import msg

from spacy_globalpointer.convert import convert

PROJECT = Path(__file__).parent.parent
# task: (config, train sample, dev sample, converter option, the score model-best is picked on)
TASKS = {
    "spans": ("configs/transformer.cfg", "sample_train.jsonl", "sample_dev.jsonl", {}, "spans_sc_f"),
    "relations": ("configs/relations_trf.cfg", "sample_relations_train.jsonl", "sample_relations_dev.jsonl",
                  {"relations": True}, "relations_micro_f"),
    "events": ("configs/events_trf.cfg", "sample_events_train.jsonl", "sample_events_dev.jsonl",
               {"events": True}, "events_argument_cls_f"),
}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_local_bert(folder: Path, texts: List[str], width: int) -> str:
    """Save a 2-layer BERT of the given width, with random weights and a
    vocabulary of the texts' lower-cased words and characters, in `folder`.

    RETURNS (str): The folder, a model name spacy-transformers loads offline.
    """
    import transformers

    words = sorted({w.lower() for text in texts for w in text.split()})
    vocab = SPECIAL + words + sorted({c for w in words for c in w} - set(words))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=width, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=2 * width, max_position_embeddings=512,
    )
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return str(folder)


def overrides_for(config_path: Path, corpus: Dict[str, Path], model: str, steps: int, mixed_precision: bool) -> Dict:
    """Paths, steps, model name and mixed precision (the transformer's and every head's)."""
    config = Config().from_disk(config_path, interpolate=False)
    overrides = {
        "paths.train": str(corpus["train"]),
        "paths.dev": str(corpus["dev"]),
        "training.max_steps": steps,
        "training.eval_frequency": min(steps, 100),
        "training.optimizer.learn_rate.total_steps": steps,
        "training.optimizer.learn_rate.warmup_steps": max(1, steps // 10),
        "components.transformer.model.name": model,
    }
    for name, component in config["components"].items():
        if "mixed_precision" in component.get("model", {}):
            overrides[f"components.{name}.model.mixed_precision"] = mixed_precision
    return overrides


def words_per_second(nlp, texts: List[str], repeats: int) -> float:
    texts = texts * repeats
    n_words = sum(len(nlp.make_doc(t)) for t in texts)
    list(nlp.pipe(texts[:8]))  # warm-up: CUDA kernels, allocator
    start = time.perf_counter()
    list(nlp.pipe(texts))
    return n_words / (time.perf_counter() - start)


def predictions(doc) -> int:
    """What the pipeline wrote to the doc: spans, relations and events."""
    n = sum(len(group) for group in doc.spans.values())
    return n + len(getattr(doc._, "relations", None) or []) + len(getattr(doc._, "events", None) or [])


def main(
    # fmt: off
    output_dir: Path = typer.Argument(Path("training-gpu-check"), help="Corpora, models, the local BERT and gpu_check.json go here"),
    steps: int = typer.Option(300, "--steps", help="Training steps per task"),
    model: Optional[str] = typer.Option(None, "--model", help="Transformer: a local folder (default: a small random-weight BERT built here, offline)"),
    width: int = typer.Option(256, "--width", help="Hidden width of the BERT built here"),
    gpu_id: int = typer.Option(0, "--gpu-id", help="CUDA device"),
    tasks: str = typer.Option(",".join(TASKS), "--tasks", help="Comma-separated subset of spans,relations,events"),
    repeats: int = typer.Option(20, "--repeats", help="The dev texts are repeated this often for words/s"),
    cpu_dry_run: bool = typer.Option(False, "--cpu-dry-run", help="No GPU: the same steps on the CPU, mixed precision off (a plumbing test)"),
    # fmt: on
) -> None:
    import torch

    if cpu_dry_run:
        msg.warn("CPU dry run: mixed precision off, words/s on the CPU only")
        gpu_id, mixed_precision = -1, False
    elif not torch.cuda.is_available():
        msg.fail(
            "No CUDA device: torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}).",
            "Run this on a machine with a GPU and a CUDA build of torch, or add --cpu-dry-run "
            "to test the steps on the CPU.",
            exits=1,
        )
    else:
        mixed_precision = True
        msg.info(f"GPU {gpu_id}: {torch.cuda.get_device_name(gpu_id)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    names = [t for t in tasks.split(",") if t]
    unknown = set(names) - set(TASKS)
    if unknown:
        msg.fail(f"Unknown task(s) {sorted(unknown)}: choose from {list(TASKS)}", exits=1)
    output_dir.mkdir(parents=True, exist_ok=True)
    assets = PROJECT / "assets"
    if model is None:
        texts = [json.loads(line)["text"] for task in TASKS.values() for name in task[1:3]
                 for line in (assets / name).read_text(encoding="utf8").splitlines()]
        model = build_local_bert(output_dir / "local-bert", texts, width)
        msg.info(f"Built a {width}-wide 2-layer BERT (random weights) in {model}")
    results = {"mixed_precision": mixed_precision, "gpu_id": gpu_id, "model": model, "steps": steps, "tasks": {}}
    failed = []
    for name in names:
        config_path, train_name, dev_name, options, score_key = TASKS[name]
        msg.divider(f"{name}: {config_path}")
        corpus = {}
        for split, sample in (("train", train_name), ("dev", dev_name)):
            corpus[split] = output_dir / "corpus" / f"{name}_{split}.spacy"
            convert(assets / sample, corpus[split], format="jsonl", lang="en", **options)
        out = output_dir / name
        overrides = overrides_for(PROJECT / config_path, corpus, model, steps, mixed_precision)
        start = time.perf_counter()
        spacy_train(PROJECT / config_path, out, use_gpu=gpu_id, overrides=overrides)
        train_s = time.perf_counter() - start
        row = {"train_s": round(train_s, 1)}
        texts = [json.loads(line)["text"] for line in (assets / dev_name).read_text(encoding="utf8").splitlines()]
        if gpu_id >= 0:
            spacy.require_gpu(gpu_id)
            row["gpu_words_per_s"] = round(words_per_second(spacy.load(out / "model-last"), texts, repeats))
            spacy.require_cpu()
        # A pipeline trained on the GPU must load and predict on a CPU-only machine.
        nlp = spacy.load(out / "model-last")
        dev_docs = list(DocBin().from_disk(corpus["dev"]).get_docs(nlp.vocab))
        scores = nlp.evaluate([Example(nlp.make_doc(d.text), d) for d in dev_docs])
        row[score_key] = scores.get(score_key)
        row["cpu_predictions"] = sum(predictions(doc) for doc in nlp.pipe(texts))
        row["cpu_words_per_s"] = round(words_per_second(nlp, texts, max(1, repeats // 10)))
        if row[score_key] is None:
            failed.append(f"{name}: no {score_key} in the CPU evaluation")
        results["tasks"][name] = row
        msg.good(f"{name}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    header = ["task", "train s", "GPU words/s", "CPU words/s", "CPU predictions", "dev score (key)"]
    table = [
        (n, r["train_s"], r.get("gpu_words_per_s", "-"), r["cpu_words_per_s"], r["cpu_predictions"],
         f"{r[TASKS[n][4]]:.3f} ({TASKS[n][4]})" if r[TASKS[n][4]] is not None else "-")
        for n, r in results["tasks"].items()
    ]
    msg.table(table, header=header, divider=True)
    (output_dir / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    if failed:
        msg.fail("GPU check failed", "\n".join(failed), exits=1)
    msg.good(f"GPU check passed ({'CPU dry run' if cpu_dry_run else 'GPU, mixed precision'}): {output_dir / 'gpu_check.json'}")


if __name__ == "__main__":
    typer.run(main)
