"""GPLinker's pair logic (pipeline/linking.py): windows, the candidate cap, the pairs,
and what the relation and event components make of them on paragraphs."""
import warnings

import numpy
import pytest
import spacy
from spacy.tokens import Span

from spacy_globalpointer.pipeline.linking import (
    cap_candidates,
    link_windows,
    near_pairs,
    ordered_pairs,
    span_windows,
)


def brute_pairs(starts, ends, windows, distance):
    pairs = set()
    for a in range(len(starts)):
        for b in range(a + 1, len(starts)):
            if windows[a] != windows[b]:
                continue
            if distance is None or (abs(starts[a] - starts[b]) < distance and abs(ends[a] - ends[b]) < distance):
                pairs.add((a, b))
    return pairs


@pytest.mark.parametrize("distance", [None, 1, 3, 10])
def test_near_pairs_are_every_close_pair_of_one_window(distance):
    rng = numpy.random.default_rng(0)
    starts = rng.integers(0, 60, size=80)
    ends = starts + rng.integers(1, 6, size=80)
    windows = starts // 20  # three sentences
    a, b = near_pairs(starts, ends, windows, distance)
    got = set(zip(a.tolist(), b.tolist()))
    assert len(got) == len(a)  # no pair twice
    assert all(x < y for x, y in got)
    want = brute_pairs(starts, ends, windows, distance)
    assert want and got == want


def test_ordered_pairs_are_both_directions_and_self():
    starts, ends = numpy.asarray([0, 2, 9]), numpy.asarray([1, 4, 10])
    heads, tails = ordered_pairs(starts, ends, numpy.zeros(3, dtype="int64"), 5)
    assert set(zip(heads.tolist(), tails.tolist())) == {(0, 0), (1, 1), (2, 2), (0, 1), (1, 0)}
    assert near_pairs(starts[:1], ends[:1], numpy.zeros(1), 5)[0].shape == (0,)


def test_the_cap_holds_per_window_best_first_and_counts_what_it_cuts():
    starts = numpy.asarray([0, 1, 2, 3, 10, 11, 12])
    ends = starts + 1
    labels = ["X"] * 7
    scores = numpy.asarray([0.1, 0.9, 0.8, 0.2, 0.5, 0.6, 0.7])
    windows = numpy.asarray([0, 0, 0, 0, 1, 1, 1])
    kept, cut = cap_candidates(starts, ends, labels, scores, windows, limit=2, distance=None)
    assert kept.tolist() == [1, 2, 5, 6] and cut == 3  # two per sentence, the best ones
    # One window: two for the whole doc.
    kept, cut = cap_candidates(starts, ends, labels, scores, numpy.zeros(7, dtype="int64"), 2, None)
    assert kept.tolist() == [1, 2] and cut == 5
    # Duplicates are linked once and not counted as cut.
    kept, cut = cap_candidates(
        numpy.asarray([0, 0]), numpy.asarray([1, 1]), ["X", "X"], None, numpy.zeros(2, dtype="int64"), 5, None
    )
    assert kept.tolist() == [0] and cut == 0


def test_windows_are_the_sentences_where_the_doc_has_them():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp("Ana met Rui . Rui lives in Porto . Done")
    assert link_windows(doc, "sentence").tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2]
    assert link_windows(doc, "doc").tolist() == [0] * 10
    assert link_windows(nlp.make_doc("Ana met Rui . Rui"), "sentence").tolist() == [0] * 5
    # A span across a sentence boundary gets a window of its own.
    windows = span_windows(link_windows(doc, "sentence"), numpy.asarray([0, 2, 5]), numpy.asarray([2, 6, 6]))
    assert windows.tolist() == [0, 3, 1]


def test_relations_stay_in_their_sentence_on_a_paragraph(trained_rel_for_linking):
    """A model trained on sentences, given a paragraph with sentence boundaries,
    links only spans of one sentence; link_scope = "doc" links across them."""
    nlp, texts = trained_rel_for_linking
    component = nlp.get_pipe("globalpointer_relations")
    assert nlp.pipe_names[0] == "sentencizer"  # the shipped config sets sentence boundaries
    try:
        paragraph = nlp(" ".join(texts))
        assert len(list(paragraph.sents)) == len(texts)
        sentence_of = {t.i: k for k, sent in enumerate(paragraph.sents) for t in sent}
        threshold = component.cfg["threshold"]
        component.cfg["threshold"] = -1e3  # every candidate pair passes
        component.cfg["calibrate_threshold"], calibrate = False, component.cfg["calibrate_threshold"]
        component(paragraph)
        assert paragraph._.relations
        assert all(sentence_of[r.head.start] == sentence_of[r.tail.start] for r in paragraph._.relations)
        component.cfg["link_scope"] = "doc"
        component(paragraph)
        assert any(sentence_of[r.head.start] != sentence_of[r.tail.start] for r in paragraph._.relations)
    finally:
        component.cfg.update(threshold=threshold, calibrate_threshold=calibrate, link_scope="sentence")


def test_a_cap_that_cuts_warns_with_a_count():
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer_relations", config={"max_candidates": 3, "max_pair_distance": 8})
    from test_relations import make_rel_examples

    nlp.initialize(lambda: make_rel_examples(nlp))
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 10))
    doc.spans["sc"] = [Span(doc, i, i + 1, label="X") for i in range(0, 30, 2)]
    with pytest.warns(UserWarning, match=r"W009\] 'globalpointer_relations' links at most 3 spans.*: 3 of 15 spans in 1 docs"):
        component.predict([doc])
    doc.spans["sc"] = [Span(doc, i, i + 1, label="X") for i in range(0, 30, 10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        component.predict([doc])


@pytest.fixture(scope="module")
def trained_rel_for_linking():
    import torch
    from thinc.api import fix_random_seed

    from test_relations import REL_DATA, build_rel_nlp, make_rel_examples

    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_rel_nlp()
    examples = make_rel_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    return nlp, [text for text, _, _ in REL_DATA]


def test_label_triples_allow_what_training_saw_and_leave_unrecorded_predicates_free():
    from spacy_globalpointer.pipeline.linking import LabelTriples

    predicates = ["author", "capital", "spouse"]
    seen = [("Book", "author", "Person"), ("Country", "capital", "City"), ("Novel", "author", "Person")]
    triples = LabelTriples(seen, predicates, "seen")
    # spouse was never recorded: unconstrained for every label pair.
    assert triples.allowed("Book", "Person").tolist() == [True, False, True]
    assert triples.allowed("Novel", "Person").tolist() == [True, False, True]
    assert triples.allowed("Country", "City").tolist() == [False, True, True]
    assert triples.allowed("Person", "Book").tolist() == [False, False, True]  # direction matters
    assert triples.allowed("Unknown", "Label").tolist() == [False, False, True]
    assert triples.constrains and triples.allows("Book", "author", "Person")
    assert not triples.allows("Person", "author", "Book") and triples.allows("Person", "spouse", "Book")
    assert triples.allows("Person", "founded", "Book")  # a predicate the model does not know
    logits = numpy.zeros((3, 3), dtype="float32")
    masked = triples.mask(logits, [("Book", "Person"), ("Country", "City"), ("Person", "Book")], -numpy.inf)
    assert numpy.isneginf(masked).tolist() == [[False, True, False], [True, False, False], [True, True, False]]
    assert masked.dtype == logits.dtype
    # "any" (the seeds' form) and an empty record keep everything.
    for free in (LabelTriples(seen, predicates, "any"), LabelTriples([], predicates, "seen")):
        assert free.allowed("Person", "Book").all() and not free.constrains
        assert (free.mask(logits, [("Person", "Book")] * 3, -numpy.inf) == logits).all()


def test_typed_label_triples_mask_as_seen_and_name_the_labels_of_one_choice():
    """label_triples = "typed": the same mask as "seen"; a predicate gives two
    spans the label pair it was seen with that agrees best with the labels the
    spans carry, only where that is one pair agreeing with at least one label."""
    from spacy_globalpointer.pipeline.linking import LabelTriples

    predicates = ["author", "capital", "spouse"]
    seen = [("Book", "author", "Person"), ("Country", "capital", "City"), ("Novel", "author", "Person")]
    typed = LabelTriples(seen, predicates, "typed")
    assert typed.types_by_predicate and not LabelTriples(seen, predicates, "seen").types_by_predicate
    for head, tail in [("Book", "Person"), ("Person", "Book"), ("Country", "City")]:
        assert typed.allowed(head, tail).tolist() == LabelTriples(seen, predicates, "seen").allowed(head, tail).tolist()
    assert typed.typed("capital", ["Country"], ["Person"]) == ("Country", "City")
    assert typed.typed("capital", ["Org"], ["City", "Person"]) == ("Country", "City")
    assert typed.typed("capital", ["Org"], ["Person"]) is None  # agrees with neither label
    assert typed.typed("author", ["Film"], ["Person"]) is None  # Book or Novel: two choices
    assert typed.typed("author", ["Novel", "Film"], ["Org"]) == ("Novel", "Person")
    assert typed.typed("spouse", ["Person"], ["Person"]) is None  # never seen
    assert typed.typed("founded", ["Person"], ["Org"]) is None  # not a predicate of the model
