"""Shared fixtures: a tiny nested-entity data set made here, tiny pipelines, and
the round-trip checks every component's output must pass."""
import pickle
from pathlib import Path
from typing import Any, Callable, List, Sequence, Tuple

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
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


def check_round_trips(
    nlp: Language,
    texts: Sequence[str],
    as_tuples: Callable[[Doc], Any],
    scores_of: Callable[[Doc], List[float]],
    fresh_nlp: Language,
    path: Path,
) -> None:
    """What a component writes survives every way spaCy users move docs and
    pipelines: pipe == call, to_disk + spacy.load, from_bytes into a fresh
    pipeline, pickled docs, Doc.to_bytes and DocBin with user data (and is lost
    without it: why store_user_data matters). `as_tuples` gives a doc's output
    as comparable plain data, `scores_of` its scores."""
    docs = list(nlp.pipe(texts))
    expected = [as_tuples(d) for d in docs]
    # Something to compare: a check of empty outputs passes whatever is lost.
    assert any(expected), "the pipeline predicted nothing on these texts"
    assert [as_tuples(nlp(t)) for t in texts] == expected  # pipe == call
    name = nlp.pipe_names[-1]
    nlp.to_disk(path)
    loaded = spacy.load(path)
    loaded_docs = list(loaded.pipe(texts))
    assert [as_tuples(d) for d in loaded_docs] == expected
    scores = [s for d in docs for s in scores_of(d)]
    assert [s for d in loaded_docs for s in scores_of(d)] == pytest.approx(scores)
    assert loaded.get_pipe(name).cfg == nlp.get_pipe(name).cfg
    fresh_nlp.from_bytes(nlp.to_bytes())
    assert [as_tuples(d) for d in fresh_nlp.pipe(texts)] == expected
    assert [as_tuples(pickle.loads(pickle.dumps(d))) for d in docs] == expected
    assert [as_tuples(Doc(nlp.vocab).from_bytes(d.to_bytes())) for d in docs] == expected
    kept = DocBin(store_user_data=True, docs=docs).to_bytes()
    again = list(DocBin(store_user_data=True).from_bytes(kept).get_docs(nlp.vocab))
    assert [as_tuples(d) for d in again] == expected
    assert [scores_of(d) for d in again] == [scores_of(d) for d in docs]
    dropped = DocBin(docs=docs).to_bytes()
    assert [as_tuples(d) for d in DocBin().from_bytes(dropped).get_docs(nlp.vocab)] != expected


def check_multiprocess(nlp: Language, texts: Sequence[str], as_tuples: Callable[[Doc], Any]) -> None:
    """nlp.pipe(n_process=2) gives what one process gives."""
    texts = list(texts) * 2
    expected = [as_tuples(d) for d in nlp.pipe(texts)]
    assert any(expected), "the pipeline predicted nothing on these texts"
    assert [as_tuples(d) for d in nlp.pipe(texts, n_process=2, batch_size=2)] == expected
