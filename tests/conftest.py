"""Shared fixtures: a tiny nested-entity data set made here, and tiny pipelines."""
from typing import List, Tuple

import pytest
import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed

# (text, [(char_start, char_end_exclusive, label)]): nested ORG/LOC/PER spans.
NESTED_DATA: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("I met the Governor of Texas in Austin yesterday",
     [(10, 27, "PER"), (22, 27, "LOC"), (31, 37, "LOC")]),
    ("The Bank of England raised rates", [(4, 19, "ORG"), (12, 19, "LOC")]),
    ("She studies at the University of Edinburgh",
     [(19, 42, "ORG"), (33, 42, "LOC")]),
    ("Paris is lovely in spring", [(0, 5, "LOC")]),
    ("Nothing to see here", []),
    ("The Mayor of Paris met the Bank of England",
     [(4, 18, "PER"), (13, 18, "LOC"), (27, 42, "ORG"), (35, 42, "LOC")]),
]
LABELS = ["LOC", "ORG", "PER"]
TINY_CNN = {
    "@architectures": "spacy.HashEmbedCNN.v2",
    "width": 32,
    "depth": 2,
    "embed_size": 500,
    "window_size": 1,
    "maxout_pieces": 2,
    "subword_features": True,
    "pretrained_vectors": None,
}


def make_examples(nlp: Language, data=NESTED_DATA, key: str = "sc") -> List[Example]:
    examples = []
    for text, spans in data:
        eg = Example(nlp.make_doc(text), nlp.make_doc(text))
        eg.reference.spans[key] = [eg.reference.char_span(s, e, label=l) for s, e, l in spans]
        examples.append(eg)
    return examples


def build_nlp(
    architecture: str = "spacy-globalpointer.GlobalPointer.v1", pooling_size: int = 0, **component_cfg
) -> Language:
    nlp = spacy.blank("en")
    config = {
        "model": {
            "@architectures": architecture,
            "head_size": 16,
            "pooling_size": pooling_size,
            "tok2vec": dict(TINY_CNN),
        },
        **component_cfg,
    }
    nlp.add_pipe("globalpointer", config=config)
    return nlp


def train(nlp: Language, examples: List[Example], n_iter: int = 60, seed: int = 0):
    fix_random_seed(seed)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, losses={})
    return nlp


def span_tuples(doc, key: str = "sc"):
    return sorted((s.start, s.end, s.label_) for s in doc.spans.get(key, []))


@pytest.fixture(scope="module")
def trained_nlp() -> Language:
    nlp = build_nlp()
    return train(nlp, make_examples(nlp))
