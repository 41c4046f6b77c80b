"""Render predicted and gold spans of a few dev docs as one displaCy HTML page.

displaCy's "span" style draws overlapping spans on separate lines, so nested
entities stay visible. Docs with nested gold spans are shown first, and each
prediction is followed by its gold doc so they can be compared by eye.
"""
from pathlib import Path
from typing import Dict, List

import spacy
import typer
from spacy import displacy
from spacy.tokens import Doc, DocBin
from wasabi import msg

PALETTE = ["#7aecec", "#feca74", "#ff9561", "#aa9cfc", "#bfe1d9", "#e4e7d2", "#ff8197",
           "#c887fb", "#9cc9cc", "#ffeb80", "#f0d0ff", "#bfeeb7", "#e6c3a5", "#c3d9ff"]


def has_nesting(doc: Doc, spans_key: str) -> bool:
    spans = list(doc.spans.get(spans_key, []))
    return any(
        a is not b and a.start <= b.start and b.end <= a.end for a in spans for b in spans
    )


def pick_docs(docs: List[Doc], spans_key: str, n_docs: int) -> List[Doc]:
    """Nested docs first (in file order), then the others."""
    nested = [doc for doc in docs if has_nesting(doc, spans_key)]
    others = [doc for doc in docs if not has_nesting(doc, spans_key)]
    return (nested + others)[:n_docs]


def label_colors(docs: List[Doc], spans_key: str) -> Dict[str, str]:
    labels = sorted({sp.label_ for doc in docs for sp in doc.spans.get(spans_key, [])})
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline directory", exists=True, file_okay=False),
    data: Path = typer.Argument(..., help="Gold .spacy file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output HTML file"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans to draw"),
    n_docs: int = typer.Option(6, "--n-docs", "-n", help="Number of docs to show"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
    # fmt: on
) -> None:
    """Write OUTPUT_PATH with MODEL's predictions and the gold spans for docs from DATA."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    gold_docs = pick_docs(list(DocBin().from_disk(data).get_docs(nlp.vocab)), spans_key, n_docs)
    if not gold_docs:
        msg.fail(f"{data} holds no docs", exits=1)
    predicted = list(nlp.pipe(doc.text for doc in gold_docs))
    shown = []
    for i, (pred, gold) in enumerate(zip(predicted, gold_docs)):
        n_pred = len(pred.spans.get(spans_key, []))
        n_gold = len(gold.spans.get(spans_key, []))
        pred.user_data["title"] = f"Doc {i + 1}: predicted ({n_pred} spans)"
        gold.user_data["title"] = f"Doc {i + 1}: gold ({n_gold} spans)"
        for doc in (pred, gold):
            if spans_key not in doc.spans:  # displaCy warns on a missing key
                doc.spans[spans_key] = []
        shown.extend([pred, gold])
    options = {"spans_key": spans_key, "colors": label_colors(shown, spans_key)}
    html = displacy.render(shown, style="span", options=options, page=True)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(html, encoding="utf8")
    n_nested = sum(has_nesting(doc, spans_key) for doc in gold_docs)
    msg.good(f"Wrote {output_path}: {len(gold_docs)} docs ({n_nested} with nested gold spans)")


if __name__ == "__main__":
    typer.run(main)
