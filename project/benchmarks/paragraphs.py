"""A pipeline trained on sentences, scored on its dev sentences and on the same
sentences joined into paragraphs.

    python benchmarks/paragraphs.py DEV.spacy MODEL [MODEL ...] [--sentences 4] [--out FILE]

Each run of `--sentences` consecutive dev docs becomes one doc (annotations
shifted along, `spacy_globalpointer.training.join_examples`); every pipeline
gets a `sentencizer` first if it has none, as the shipped configs do. A model
that handles paragraphs as it handles sentences scores the same on both.
"""
import argparse
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_globalpointer.training import join_examples

KEYS = ("spans_sc_f", "relations_micro_f", "relations_boundary_f", "events_argument_cls_f", "events_f")


def score(nlp: Any, examples: List[Example]) -> Dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = nlp.evaluate(examples)
    return {key: round(100 * scores[key], 1) for key in KEYS if scores.get(key) is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dev", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--sentences", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for model in args.models:
        nlp = spacy.load(model)
        if not any(name in nlp.pipe_names for name in ("sentencizer", "senter", "parser")):
            nlp.add_pipe("sentencizer", first=True)
        docs = list(DocBin().from_disk(args.dev).get_docs(nlp.vocab))
        sentences = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
        paragraphs = [
            join_examples(sentences[i : i + args.sentences]) for i in range(0, len(sentences), args.sentences)
        ]
        rows.append({"model": model, "sentences": score(nlp, sentences), "paragraphs": score(nlp, paragraphs)})
    for row in rows:
        print(row["model"])
        for key in row["sentences"]:
            print(f"  {key:<24} sentences {row['sentences'][key]:>6}   paragraphs of {args.sentences} {row['paragraphs'][key]:>6}")
    if args.out:
        args.out.write_text(json.dumps({"dev": str(args.dev), "sentences_per_paragraph": args.sentences, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
