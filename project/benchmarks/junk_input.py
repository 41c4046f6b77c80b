"""What junk input gets from a trained relations pipeline (issue 18.9).

For 100 random docs of each kind (emoji, mixed symbols and letters, punctuation,
lowercase nonsense words, CJK characters; seed 0) it prints how many get a span
and a relation at the calibrated thresholds and at logit 0, the median of each
doc's best span probability and the best relation probability. With
--train-data it then sets the SHAPE of the emoji and mixed tokens to a shape the
training data holds ('x' / 'xxxx') and counts the docs with a span again: the
check that unseen SHAPE hash embeddings are what the spans come from.

    python benchmarks/junk_input.py training-relations/model-best --train-data corpus/relations_train.spacy
"""
import random
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy
import spacy
import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_globalpointer.decoding import span_probability


def generators(seed: int) -> Dict[str, Callable[[], str]]:
    rng = random.Random(seed)

    def words(chars: str, low: int, high: int) -> str:
        return " ".join("".join(rng.choice(chars) for _ in range(rng.randint(low, high))) for _ in range(rng.randint(1, 6)))

    return {
        "emoji, 1-6": lambda: " ".join(chr(rng.randint(0x1F300, 0x1F6FF)) for _ in range(rng.randint(1, 6))),
        "mixed symbols and letters": lambda: words("abcXYZ0123#@$%&*+=~^", 4, 12),
        "punctuation runs": lambda: words("!?.,;:-()[]\"'", 1, 4),
        "lowercase nonsense words": lambda: words("bcdfghjklmnpqrstvwxz", 3, 8),
        "CJK characters": lambda: "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(1, 6))),
    }


def run(nlp: Language, texts: List[str]) -> Dict[str, float]:
    """Counts over the docs, after the span head and after the relation head."""
    spans, relations = nlp.get_pipe("globalpointer"), nlp.get_pipe("globalpointer_relations")
    docs: List[Doc] = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name == "globalpointer":
            scores = proc.predict(docs)
            best = [float(numpy.max(s[numpy.isfinite(s)])) for s in map(numpy.asarray, scores)]
            proc.set_annotations(docs, scores)
        elif name == "globalpointer_relations":
            predictions = proc.predict(docs)
            best_rel = [float(p["logits"].max()) for p in predictions if p["logits"] is not None and p["logits"].size]
            proc.set_annotations(docs, predictions)
        else:
            docs = list(proc.pipe(docs))
    return {
        "span": sum(len(d.spans[spans.key]) > 0 for d in docs),
        "span0": sum(b > 0 for b in best),
        "median_p": float(span_probability(numpy.asarray([numpy.median(best)]))[0]),
        "relation": sum(len(d._.relations) > 0 for d in docs),
        "relation0": sum(b > 0 for b in best_rel),
        "best_rel_p": max((r.score for d in docs for r in d._.relations), default=0.0),
        "threshold": spans.cfg["threshold"],
        "rel_threshold": relations.cfg["threshold"],
    }


def main(
    model: Path = typer.Argument(..., help="Trained relations pipeline", exists=True, file_okay=False),
    train_data: Optional[Path] = typer.Option(None, "--train-data", help="Its training .spacy file (for the SHAPE check)"),
    n_docs: int = typer.Option(100, "--n-docs", help="Docs per kind"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    nlp = spacy.load(model)
    texts = {kind: [make() for _ in range(n_docs)] for kind, make in generators(seed).items()}
    print("| input | docs with a span (calibrated / logit 0) | median best span p | docs with a relation (calibrated / logit 0) | best relation p |")
    print("|---|---:|---:|---:|---:|")
    for kind, kind_texts in texts.items():
        r = run(nlp, kind_texts)
        print(f"| {kind} | {r['span']} / {r['span0']} | {r['median_p']:.3f} | {r['relation']} / {r['relation0']} | {r['best_rel_p']:.3f} |")
    print(f"thresholds: spans {r['threshold']}, relations {r['rel_threshold']}")
    if train_data is None:
        return
    seen = {t.shape_ for d in DocBin().from_disk(train_data).get_docs(nlp.vocab) for t in d}
    print(f"{len(seen)} shapes in the training data: {sorted(seen)}")
    for kind in ("emoji, 1-6", "mixed symbols and letters"):
        before = run(nlp, texts[kind])["span"]
        for text in texts[kind]:
            for token in nlp.make_doc(text):
                if token.shape_ not in seen:
                    nlp.vocab[token.orth_].shape_ = "x" if len(token) == 1 else "xxxx"
        print(f"{kind}: docs with a span {before} -> {run(nlp, texts[kind])['span']} with seen shapes")


if __name__ == "__main__":
    typer.run(main)
