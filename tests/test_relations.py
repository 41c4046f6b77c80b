"""The globalpointer_relations component: joint training, round trips, bad input."""
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.util import load_config, load_model_from_config
from thinc.api import fix_random_seed

from spacy_globalpointer import Relation
from conftest import TINY_CNN, check_multiprocess, check_round_trips
from spacy_globalpointer.extensions import install_extensions, set_relation_records
from spacy_globalpointer.layouts import PairLayout
from spacy_globalpointer.losses import multilabel_crossentropy
from spacy_globalpointer.ml.pair_loss import pair_loss

CONFIG = Path(__file__).parent.parent / "project" / "configs" / "relations.cfg"
SMALL = {"components.tok2vec.model.encode.width": 48, "components.tok2vec.model.encode.depth": 2}
# The seeds' GPLinker form (relations.cfg ships span-pair scores): the head-pair
# and tail-pair cells decide, trained with the full gradient, every label pair kept.
SEEDS_FORM = {
    "components.globalpointer_relations.model.span_pair_width": 0,
    "components.globalpointer_relations.model.encoder_grad_scale": 1.0,
    "components.globalpointer_relations.cell_loss_weight": 1.0,
    "components.globalpointer_relations.loss_mean": "docs",
    "components.globalpointer_relations.label_triples": "any",
}
# (text, entities (start, end, label) in tokens, relations (head index, predicate, tail index)):
# nested entities sharing a start (University of Porto / University of Porto Medical School),
# relations in both directions, one entity in two relations, a self-relation.
REL_DATA = [
    (
        "Ana Ferreira teaches at the University of Porto Medical School in Porto .",
        [(0, 2, "PER"), (5, 8, "ORG"), (5, 10, "ORG"), (7, 8, "LOC"), (11, 12, "LOC")],
        [(0, "works_for", 2), (2, "part_of", 1), (1, "located_in", 4), (4, "hosts", 1)],
    ),
    (
        "Corvane hired Rui Costa in Lisbon .",
        [(0, 1, "ORG"), (2, 4, "PER"), (5, 6, "LOC")],
        [(1, "works_for", 0), (1, "lives_in", 2), (0, "hires", 1)],
    ),
    ("Vexa acquired itself , said Vexa .", [(0, 1, "ORG"), (5, 6, "ORG")], [(0, "same_as", 0)]),
    ("Lisbon and Porto are cities .", [(0, 1, "LOC"), (2, 3, "LOC")], []),
]


def make_rel_examples(nlp, data=REL_DATA):
    examples = []
    for text, entities, relations in data:
        doc = nlp.make_doc(text)
        ref = doc.copy()
        spans = [Span(ref, s, e, label=l) for s, e, l in entities]
        ref.spans["sc"] = spans
        ref._.relations = [Relation(spans[h], p, spans[t]) for h, p, t in relations]
        examples.append(Example(doc, ref))
    return examples


def build_rel_nlp(**overrides):
    config = load_config(CONFIG, overrides={**SMALL, **overrides})
    return load_model_from_config(config, auto_fill=True, validate=True)


def rel_tuples(doc):
    return sorted(
        ((r.head.start, r.head.end, r.head.label_), r.label, (r.tail.start, r.tail.end, r.tail.label_))
        for r in doc._.relations
    )


def train_rel_nlp(steps: int = 160, **overrides):
    """The relations config (with overrides) trained on REL_DATA from seed 0."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_rel_nlp(**overrides)
    examples = make_rel_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


@pytest.fixture(scope="module")
def trained_rel():
    return train_rel_nlp()


@pytest.fixture(scope="module")
def trained_seeds_rel():
    return train_rel_nlp(**SEEDS_FORM)


@pytest.fixture(scope="module")
def untrained_rel():
    """Initialized but not trained: for input checks that must not touch trained_rel."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_rel_nlp()
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    return nlp


def test_overfits_through_the_shared_tok2vec_config(trained_rel):
    nlp, examples = trained_rel
    assert nlp.pipe_names == ["sentencizer", "tok2vec", "globalpointer", "globalpointer_relations"]
    scores = nlp.evaluate(examples)
    assert scores["relations_micro_f"] == 1.0, scores
    assert scores["relations_boundary_f"] == 1.0
    assert scores["spans_sc_f"] == 1.0
    assert set(scores["relations_per_type"]) == {"works_for", "part_of", "located_in", "hosts", "lives_in", "hires", "same_as"}
    doc = nlp(REL_DATA[0][0])
    got = rel_tuples(doc)
    # Two entities sharing a start token, each in its own relation.
    assert ((5, 10, "ORG"), "part_of", (5, 8, "ORG")) in got
    assert ((5, 8, "ORG"), "located_in", (11, 12, "LOC")) in got
    assert ((11, 12, "LOC"), "hosts", (5, 8, "ORG")) in got  # both directions
    assert all(0.5 < r.score <= 1.0 for r in doc._.relations)
    # A self-relation (head == tail) is learned and predicted like any other pair.
    assert ((0, 1, "ORG"), "same_as", (0, 1, "ORG")) in rel_tuples(nlp(REL_DATA[2][0]))


def test_the_seeds_form_overfits_too(trained_seeds_rel):
    nlp, examples = trained_seeds_rel
    component = nlp.get_pipe("globalpointer_relations")
    assert not component.has_span_pairs and component.cfg["label_triples"] == "any"
    scores = nlp.evaluate(examples)
    assert scores["relations_micro_f"] == 1.0 and scores["spans_sc_f"] == 1.0, scores


def test_round_trips(trained_rel, tmp_path):
    nlp, _ = trained_rel
    texts = [t for t, _, _ in REL_DATA]
    check_round_trips(
        nlp, texts, rel_tuples, lambda d: [r.score for r in d._.relations], build_rel_nlp(), tmp_path / "model"
    )


def test_relations_keep_only_label_triples_seen_in_training(trained_rel, tmp_path):
    """label_triples = "seen": initialize records the training gold's (head label,
    predicate, tail label) triples, a predicted relation outside them is dropped,
    a predicate with none recorded stays unconstrained, and "any" keeps all;
    the record travels with the model."""
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    seen = {tuple(t) for t in component.cfg["seen_label_triples"]}
    assert seen == {
        (ents[h][2], p, ents[t][2]) for _, ents, relations in REL_DATA for h, p, t in relations
    }
    assert component.cfg["label_triples"] == "typed"  # the default: "seen" and more
    part_of = ((5, 10, "ORG"), "part_of", (5, 8, "ORG"))
    assert part_of in rel_tuples(nlp(REL_DATA[0][0]))
    saved = component.cfg["seen_label_triples"]
    try:
        # part_of seen only between PER and LOC: the ORG-ORG prediction goes.
        component.cfg["seen_label_triples"] = [t for t in saved if t[1] != "part_of"] + [["PER", "part_of", "LOC"]]
        got = rel_tuples(nlp(REL_DATA[0][0]))
        assert part_of not in got and ((0, 2, "PER"), "works_for", (5, 10, "ORG")) in got
        assert not component.label_triples().allowed("ORG", "ORG")[component.labels.index("part_of")]
        assert component.label_triples().allowed("PER", "LOC")[component.labels.index("part_of")]
        # Nothing recorded for part_of: unconstrained.
        component.cfg["seen_label_triples"] = [t for t in saved if t[1] != "part_of"]
        assert part_of in rel_tuples(nlp(REL_DATA[0][0]))
        component.cfg["seen_label_triples"] = [["PER", "part_of", "LOC"]]
        component.cfg["label_triples"] = "any"
        assert part_of in rel_tuples(nlp(REL_DATA[0][0]))
    finally:
        component.cfg["seen_label_triples"], component.cfg["label_triples"] = saved, "typed"
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model").get_pipe("globalpointer_relations")
    assert {tuple(t) for t in loaded.cfg["seen_label_triples"]} == seen
    from_bytes = build_rel_nlp().from_bytes(nlp.to_bytes()).get_pipe("globalpointer_relations")
    assert {tuple(t) for t in from_bytes.cfg["seen_label_triples"]} == seen


def test_typed_label_triples_give_a_pair_the_labels_its_predicate_was_seen_with(trained_rel):
    """label_triples = "typed": a passing pair whose labels were never seen with
    the predicate is kept with the labels it was seen with where that is one
    choice agreeing with a label of the spans, and dropped as under "seen"
    otherwise; what "seen" keeps stays as it was."""
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    saved = component.cfg["seen_label_triples"]
    part_of = ((5, 10, "ORG"), "part_of", (5, 8, "ORG"))
    try:
        component.cfg["label_triples"] = "seen"
        seen_output = set(rel_tuples(nlp(REL_DATA[0][0])))
        component.cfg["label_triples"] = "typed"
        assert set(rel_tuples(nlp(REL_DATA[0][0]))) == seen_output  # every triple already seen
        others = [t for t in saved if t[1] != "part_of"]
        component.cfg["seen_label_triples"] = others + [["ORG", "part_of", "LOC"]]
        got = set(rel_tuples(nlp(REL_DATA[0][0])))
        assert part_of not in got and ((5, 10, "ORG"), "part_of", (5, 8, "LOC")) in got
        assert got - {((5, 10, "ORG"), "part_of", (5, 8, "LOC"))} == seen_output - {part_of}
        doc = nlp(REL_DATA[0][0])
        typed = [r for r in doc._.relations if r.label == "part_of"]
        assert len(typed) == 1 and 0.5 < typed[0].score <= 1.0
        # Two label pairs agree with one label each: no one choice, dropped.
        component.cfg["seen_label_triples"] = others + [["ORG", "part_of", "LOC"], ["LOC", "part_of", "ORG"]]
        assert {r for r in rel_tuples(nlp(REL_DATA[0][0])) if r[1] == "part_of"} == set()
        # Agrees with neither label: dropped.
        component.cfg["seen_label_triples"] = others + [["PER", "part_of", "LOC"]]
        assert part_of not in rel_tuples(nlp(REL_DATA[0][0]))
    finally:
        component.cfg["seen_label_triples"], component.cfg["label_triples"] = saved, "typed"


def test_evaluating_gold_with_label_triples_never_trained_on_warns_with_counts(trained_rel):
    nlp, examples = trained_rel
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        nlp.evaluate(examples)  # every gold triple was seen in training: no warning
    doc = nlp.make_doc("Porto hired Ana Ferreira .")
    ref = doc.copy()
    porto, ana = Span(ref, 0, 1, "LOC"), Span(ref, 2, 4, "PER")
    ref.spans["sc"] = [porto, ana]
    ref._.relations = [Relation(porto, "hires", ana)]  # hires was seen as ORG -> PER only
    with pytest.warns(UserWarning, match=r"W011\] .*1 of 1 gold relations whose \(head label, predicate, tail label\) never occurs in the training data: LOC hires PER \(1\)"):
        nlp.evaluate([Example(doc, ref)])
    component = nlp.get_pipe("globalpointer_relations")
    try:
        component.cfg["label_triples"] = "any"
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            nlp.evaluate([Example(doc, ref)])
    finally:
        component.cfg["label_triples"] = "typed"


def test_multiprocess_pipe_equals_single_process(trained_rel):
    nlp, _ = trained_rel
    check_multiprocess(nlp, [t for t, _, _ in REL_DATA], rel_tuples)


def test_setting_and_reading_relations_and_their_errors():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("University of Porto is in Porto")
    outer, inner, city = doc[0:3], doc[0:1], doc[5:6]
    outer.label_, inner.label_, city.label_ = "ORG", "ORG", "LOC"
    doc._.relations = [Relation(outer, "located_in", city), Relation(inner, "part_of", outer)]
    assert doc._.relations == [Relation(outer, "located_in", city), Relation(inner, "part_of", outer)]
    other = nlp.make_doc("Porto")
    with pytest.raises(ValueError, match="E017"):
        doc._.relations = [Relation(other[0:1], "x", city)]
    with pytest.raises(ValueError, match="E018"):
        set_relation_records(doc, [((0, 99, "ORG"), "x", (5, 6, "LOC"), None)])
    with pytest.raises(ValueError, match="E017"):
        doc._.relations = [Relation(city, "x", other[0:1])]
    with pytest.raises(ValueError, match="E018"):
        set_relation_records(doc, [((5, 6, "LOC"), "x", (-1, 2, "ORG"), None)])
    with pytest.raises(ValueError, match="E018"):
        set_relation_records(doc, [((3, 3, "LOC"), "x", (5, 6, "LOC"), None)])
    with pytest.raises(TypeError, match="E014"):
        doc._.relations = [("not", "a", "relation")]
    # A failed assignment leaves the stored relations alone.
    assert len(doc._.relations) == 2


def test_nested_entities_sharing_a_start_never_collide():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("University of Porto is in Porto")
    outer, inner, city = Span(doc, 0, 3, "ORG"), Span(doc, 0, 1, "ORG"), Span(doc, 5, 6, "LOC")
    inner_loc = Span(doc, 0, 1, "LOC")  # same tokens as `inner`, another label
    relations = [
        Relation(outer, "located_in", city, 0.9),
        Relation(inner, "located_in", city, 0.25),
        Relation(inner_loc, "located_in", city),
        Relation(city, "hosts", outer),
        Relation(city, "hosts", inner),
    ]
    doc._.relations = relations
    got = doc._.relations
    assert got == relations  # order, spans, labels and scores all kept
    assert [(r.head.start, r.head.end, r.head.label_) for r in got[:3]] == [(0, 3, "ORG"), (0, 1, "ORG"), (0, 1, "LOC")]
    assert [r.score for r in got] == [0.9, 0.25, None, None, None]
    # What the doc stores is plain data (ints, strings, floats, None): msgpack keeps it.
    stored = [v for k, v in doc.user_data.items() if "relations" in str(k)]
    assert len(stored) == 1
    flat = json.loads(json.dumps(stored[0]))
    assert flat == stored[0]
    again = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert again._.relations == [
        Relation(Span(again, r.head.start, r.head.end, r.head.label_), r.label,
                 Span(again, r.tail.start, r.tail.end, r.tail.label_), r.score)
        for r in relations
    ]
    doc._.relations = []
    assert doc._.relations == [] and not [k for k in doc.user_data if "relations" in str(k)]


def test_a_foreign_relations_extension_is_not_clobbered():
    Doc.remove_extension("relations")
    try:
        Doc.set_extension("relations", default=None)
        with pytest.raises(ValueError, match="E013"):
            install_extensions()
    finally:
        Doc.remove_extension("relations")
        install_extensions()
    assert Doc.has_extension("relations")


def test_unknown_predicate_at_update_names_it_and_the_fix(untrained_rel):
    nlp = untrained_rel
    bad = make_rel_examples(nlp, [("Ana met Rui .", [(0, 1, "PER"), (2, 3, "PER")], [(0, "married_to", 1)])])
    with pytest.raises(ValueError, match=r"E026\].*'married_to'"):
        nlp.update(bad)


@pytest.mark.parametrize(
    "text,entities",
    [("", []), ("x", []), ("x", [(0, 1, "LOC")]), (" ", []), ("Lisbon and Porto are cities .", [(0, 1, "LOC"), (2, 3, "LOC")])],
)
def test_degenerate_docs(untrained_rel, text, entities):
    """Empty docs, one-token docs, and docs with entities but no relations."""
    nlp = untrained_rel
    doc = nlp(text)
    assert all(isinstance(r, Relation) and r.head.doc is doc for r in doc._.relations)
    if not text.strip():
        assert doc._.relations == []  # no spans, so nothing to link
    eg = make_rel_examples(nlp, [(text, entities, [])])[0]
    losses = nlp.update([eg], sgd=False)
    assert numpy.isfinite(losses["globalpointer_relations"])
    bare = nlp.make_doc(text)
    bare.spans["sc"] = [Span(bare, s, e, l) for s, e, l in entities]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an upstream group, even empty, is no W006
        predicted = nlp.get_pipe("globalpointer_relations").predict([bare])
    assert len(predicted) == 1
    scores = nlp.evaluate([eg])
    assert "relations_micro_f" in scores
    # Several degenerate docs in one batch, mixed with a real one.
    batch = make_rel_examples(nlp, [("", [], []), ("x", [(0, 1, "LOC")], []), REL_DATA[1]])
    assert numpy.isfinite(nlp.update(batch, sgd=False)["globalpointer_relations"])


def test_without_a_span_component_one_warning_and_no_crash():
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer_relations")
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    with pytest.warns(UserWarning, match="W006") as record:
        docs = list(nlp.pipe(["Ana works for Corvane .", "Rui lives in Lisbon .", "", "x"]))
        docs += [nlp("Ana works for Corvane ."), nlp("Vexa acquired itself .")]
    assert len([w for w in record if "W006" in str(w.message)]) == 1
    assert len(docs) == 6 and all(d._.relations == [] for d in docs)


def test_an_empty_upstream_group_gives_no_relations(trained_rel):
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    threshold, calibrate = component.cfg["threshold"], component.cfg["calibrate_threshold"]
    try:
        component.cfg["threshold"] = -1e3  # any candidate pair would pass
        component.cfg["calibrate_threshold"] = False  # (a calibrated value would win)
        component.cfg["label_triples"] = "any"  # (PER -> LOC is seen with one predicate only)
        doc = nlp.make_doc("Ana Ferreira teaches in Porto .")
        doc.spans["sc"] = []
        component.set_annotations([doc], component.predict([doc]))
        assert doc._.relations == []
        # ... while the same doc with two spans does get pairs.
        doc.spans["sc"] = [Span(doc, 0, 2, "PER"), Span(doc, 4, 5, "LOC")]
        component.set_annotations([doc], component.predict([doc]))
        assert len(doc._.relations) == 4 * len(component.labels)
    finally:
        component.cfg["threshold"], component.cfg["calibrate_threshold"] = threshold, calibrate
        component.cfg["label_triples"] = "typed"


def test_the_candidate_cap_holds_per_window_of_max_pair_distance():
    """A long doc keeps its entities: at most max_candidates spans near one
    another are linked, the best-scoring first, not max_candidates per doc."""
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer_relations", config={"max_candidates": 5, "max_pair_distance": 64})
    nlp.initialize(lambda: make_rel_examples(nlp))
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 200))
    spans = [Span(doc, i, i + 1, label="X") for i in range(0, len(doc), 4)]
    scores = numpy.random.default_rng(0).random(len(spans))
    doc.spans["sc"] = spans
    doc.spans["sc"].attrs["scores"] = scores.tolist()
    chosen = component.entities(doc)
    starts = numpy.asarray([s.start for s in chosen])
    assert len(chosen) > 5 * (len(doc) // 128)  # every stretch of the doc keeps spans
    assert max(int(((starts > s - 64) & (starts < s + 64)).sum()) for s in starts) <= 2 * 5
    # Within one window the best-scoring spans win.
    first = [i for i, s in enumerate(spans) if s.start < 64]
    kept = {s.start for s in chosen}
    best = max(first, key=lambda i: scores[i])
    assert spans[best].start in kept


def test_a_flood_of_candidates_stays_bounded():
    torch.set_num_threads(1)
    nlp = spacy.blank("en")
    # Unbounded distance: the cap is per doc (test_the_candidate_cap_holds_per_window).
    # Label "X" is in no training triple: "any" lets every pair pass.
    nlp.add_pipe("globalpointer_relations", config={"max_candidates": 40, "max_pair_distance": None, "label_triples": "any"})
    nlp.initialize(lambda: make_rel_examples(nlp))
    component = nlp.get_pipe("globalpointer_relations")
    component.cfg["threshold"] = -1e3  # every candidate pair passes
    doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 100))
    spans = [Span(doc, i, i + k, label="X") for i in range(0, len(doc) - 1) for k in (1, 2)][:500]
    assert len(spans) == 500
    doc.spans["sc"] = spans
    start = time.time()
    component.set_annotations([doc], component.predict([doc]))
    assert time.time() - start < 2.0
    linked = {(s.start, s.end) for r in doc._.relations for s in (r.head, r.tail)}
    assert len(linked) == 40  # every pair passes, so exactly the 40 candidates
    assert len(doc._.relations) == 40 * 40 * len(component.labels)
    # With upstream scores, the best-scoring spans are the ones linked.
    rng = numpy.random.default_rng(0)
    scores = rng.random(500)
    doc.spans["sc"].attrs["scores"] = scores.tolist()
    component.set_annotations([doc], component.predict([doc]))
    best = {(spans[i].start, spans[i].end) for i in numpy.argsort(-scores)[:40]}
    assert {(s.start, s.end) for r in doc._.relations for s in (r.head, r.tail)} == best


def test_a_triple_is_kept_only_above_the_threshold(trained_rel):
    """A triple whose logit min(H, T) equals the threshold is not kept (> not >=)."""
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp(REL_DATA[0][0])
    prediction = component.predict([doc])[0]
    logits = prediction["logits"]
    top = float(logits.max())
    threshold, calibrate = component.cfg["threshold"], component.cfg["calibrate_threshold"]
    try:
        component.cfg["calibrate_threshold"] = False  # (a calibrated value would win)
        component.cfg["threshold"] = top
        component.set_annotations([doc], [prediction])
        assert doc._.relations == []
        component.cfg["threshold"] = float(numpy.nextafter(numpy.float32(top), numpy.float32(-numpy.inf)))
        component.set_annotations([doc], [prediction])
        assert len(doc._.relations) == 1
        assert doc._.relations[0].score == pytest.approx(1 / (1 + numpy.exp(-2 * top)))
    finally:
        component.cfg["threshold"], component.cfg["calibrate_threshold"] = threshold, calibrate


def test_a_span_listed_twice_is_linked_once(trained_rel):
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp(REL_DATA[1][0])
    expected = rel_tuples(doc)
    assert expected
    twice = nlp.make_doc(doc.text)
    nlp.get_pipe("tok2vec")(twice)
    twice.spans["sc"] = [Span(twice, s.start, s.end, s.label_) for s in list(doc.spans["sc"]) * 2]
    component(twice)
    assert rel_tuples(twice) == expected  # no duplicated triples
    # Copies do not use up max_candidates either.
    limit = component.cfg["max_candidates"]
    try:
        component.cfg["max_candidates"] = len(doc.spans["sc"])
        component(twice)
        assert rel_tuples(twice) == expected
    finally:
        component.cfg["max_candidates"] = limit


def test_gold_pairs_beyond_max_pair_distance_are_counted():
    nlp = build_rel_nlp(**{"components.globalpointer_relations.max_pair_distance": 3})
    with pytest.warns(UserWarning, match=r"W004\] 6 of 8 gold relations.*max_pair_distance=3"):
        nlp.initialize(lambda: make_rel_examples(nlp))


def test_long_docs_train_in_a_band_short_docs_in_the_full_matrix():
    nlp = build_rel_nlp(**{**SEEDS_FORM, "components.globalpointer_relations.max_pair_distance": 8})
    examples = make_rel_examples(nlp)
    with pytest.warns(UserWarning, match=r"W004\] 1 of 8 gold"):  # Ana Ferreira -> Porto Medical School
        nlp.initialize(lambda: examples)
    component = nlp.get_pipe("globalpointer_relations")
    long_doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 500))  # 3,000 tokens
    short_doc = nlp.make_doc("Ana met Rui .")
    tok2vec = nlp.get_pipe("tok2vec")
    tok2vec.set_annotations([long_doc, short_doc], tok2vec.predict([long_doc, short_doc]))
    (heads, tails), (short_heads, short_tails) = component.model.predict([long_doc, short_doc])
    n_predicates = len(component.labels)
    assert heads.shape == tails.shape == (n_predicates, 3000, 15)  # |i - j| < 8: 2 * 8 - 1 columns
    assert short_heads.shape == short_tails.shape == (n_predicates, 4, 4)  # shorter than D: n x n
    # Inference scores only the candidate cells (gather mode): they must equal the
    # band's cells, and no pair beyond the band is ever proposed.
    # Widths 1, 2 and 7 tokens: pairs whose starts are close but whose ends are not (and back).
    long_doc.spans["sc"] = [Span(long_doc, i, i + (1, 2, 7)[i % 3], "PER") for i in range(0, 60, 2)]
    threshold = component.cfg["threshold"]
    try:
        component.cfg["threshold"] = -1e3
        component.set_annotations([long_doc], component.predict([long_doc]))
    finally:
        component.cfg["threshold"] = threshold
    relations = long_doc._.relations
    pairs = {(r.head.start, r.head.end, r.tail.start, r.tail.end) for r in relations}
    group = long_doc.spans["sc"]
    expected = {
        (a.start, a.end, b.start, b.end) for a in group for b in group
        if abs(a.start - b.start) < 8 and abs(a.end - b.end) < 8
    }
    assert pairs == expected
    assert any(abs(a.start - b.start) < 8 <= abs(a.end - b.end) for a in group for b in group)
    assert any(abs(a.end - b.end) < 8 <= abs(a.start - b.start) for a in group for b in group)
    layout = PairLayout.symmetric(8)
    for r in relations[:50]:
        p = component.labels.index(r.label)
        h = heads[p, r.head.start, layout.column(r.head.start, r.tail.start, 3000)]
        t = tails[p, r.head.end - 1, layout.column(r.head.end - 1, r.tail.end - 1, 3000)]
        assert r.score == pytest.approx(1 / (1 + numpy.exp(-2 * min(h, t))), rel=1e-4, abs=1e-6)
    # Training on the long doc runs in the band too (no n x n tensor).
    ref = long_doc.copy()
    ref.spans["sc"] = [Span(ref, 0, 2, "PER"), Span(ref, 3, 5, "PER"), Span(ref, 2000, 2002, "PER")]
    ref._.relations = [Relation(ref.spans["sc"][0], "works_for", ref.spans["sc"][1])]
    losses = nlp.update([Example(nlp.make_doc(long_doc.text), ref)], sgd=False)
    assert numpy.isfinite(losses["globalpointer_relations"]) and losses["globalpointer_relations"] > 0


def test_gathered_scores_equal_the_full_matrix_on_a_short_doc(trained_seeds_rel):
    """What inference decodes (only the candidate cells) equals the dense matrices."""
    nlp, _ = trained_seeds_rel
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp(REL_DATA[0][0])
    assert doc._.relations
    heads, tails = component.model.predict([doc])[0]
    assert heads.shape == (len(component.labels), len(doc), len(doc))
    for r in doc._.relations:
        p = component.labels.index(r.label)
        logit = min(heads[p, r.head.start, r.tail.start], tails[p, r.head.end - 1, r.tail.end - 1])
        assert r.score == pytest.approx(1 / (1 + numpy.exp(-2 * logit)), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize(
    "setting,value,code",
    [("max_pair_distance", 0, "E024"), ("max_pair_distance", -1, "E024"), ("max_pair_distance", "x", "E024"),
     ("max_pair_distance", 2.5, "E024"), ("max_pair_distance", True, "E024"),
     ("max_candidates", 0, "E024"), ("max_candidates", -3, "E024"), ("max_candidates", None, "E024"),
     ("threshold", float("nan"), "E025"), ("threshold", float("inf"), "E025"), ("threshold", "0.5", "E025"),
     ("torch_threads", -1, "E024"), ("calibration", "dev", "E029"),
     ("cell_loss_weight", 2.0, "E036"), ("cell_loss_weight", True, "E036"), ("loss_mean", "predicates", "E037"),
     ("label_triples", "schema", "E039"), ("calibration_entities", "dev", "E045")],
)
def test_bad_settings_are_refused(bare_model, setting, value, code):
    from spacy_globalpointer import GlobalPointerRelations

    with pytest.raises(ValueError, match=code):
        GlobalPointerRelations(spacy.blank("en").vocab, bare_model, **{setting: value})


@pytest.fixture(scope="module")
def bare_model():
    from spacy_globalpointer.ml.models import build_gplinker
    from spacy.util import registry

    tok2vec = registry.resolve({"t": {**TINY_CNN}})["t"]
    return build_gplinker(tok2vec, head_size=8)


def test_bad_settings_in_the_config_are_refused_with_their_code():
    with pytest.raises(ValueError, match="E024"):
        build_rel_nlp(**{"components.globalpointer_relations.max_pair_distance": 0})
    nlp = build_rel_nlp(**{"components.globalpointer_relations.max_pair_distance": None})
    assert nlp.get_pipe("globalpointer_relations").cfg["max_pair_distance"] is None


@pytest.mark.parametrize("head_size", [0, -2])
def test_a_non_positive_head_size_is_refused(head_size):
    with pytest.raises(ValueError, match="E024"):
        build_rel_nlp(**{"components.globalpointer_relations.model.head_size": head_size})


def test_reference_tokenized_differently_scores_through_the_alignment():
    from spacy_globalpointer.pipeline.relation_scorer import score_relations

    nlp = spacy.blank("en")
    pred = nlp.make_doc("Ana Ferreira works for Corvane")
    ref = Doc(nlp.vocab, words=["Ana", "Ferr", "eira", "works", "for", "Corvane"], spaces=[True, False, True, True, True, False])
    pred._.relations = [Relation(Span(pred, 0, 2, "PER"), "works_for", Span(pred, 4, 5, "ORG"))]
    ref._.relations = [Relation(Span(ref, 0, 3, "PER"), "works_for", Span(ref, 5, 6, "ORG"))]
    scores = score_relations([Example(pred, ref)])
    assert scores["relations_micro_f"] == 1.0
    pred._.relations = [Relation(Span(pred, 0, 2, "ORG"), "works_for", Span(pred, 4, 5, "ORG"))]
    scores = score_relations([Example(pred, ref)])
    assert scores["relations_micro_f"] == 0.0 and scores["relations_boundary_f"] == 1.0


def test_predicted_spans_that_do_not_align_count_as_false_positives():
    from spacy_globalpointer.pipeline.relation_scorer import score_relations

    nlp = spacy.blank("en")
    # The predicted doc splits "Ferreira"; the reference does not.
    pred = Doc(nlp.vocab, words=["Ana", "Ferr", "eira", "works", "for", "Corvane"], spaces=[True, False, True, True, True, False])
    ref = Doc(nlp.vocab, words=["Ana", "Ferreira", "works", "for", "Corvane"])
    corvane_p, corvane_r = Span(pred, 5, 6, "ORG"), Span(ref, 4, 5, "ORG")
    pred._.relations = [
        Relation(Span(pred, 0, 3, "PER"), "works_for", corvane_p),  # aligns: correct
        Relation(Span(pred, 0, 2, "PER"), "works_for", corvane_p),  # "Ana Ferr": no reference span
        Relation(Span(pred, 1, 2, "PER"), "works_for", corvane_p),  # "Ferr": no reference span
    ]
    ref._.relations = [Relation(Span(ref, 0, 2, "PER"), "works_for", corvane_r)]
    scores = score_relations([Example(pred, ref)])
    assert scores["relations_micro_r"] == 1.0
    assert scores["relations_micro_p"] == pytest.approx(1 / 3)
    assert scores["relations_boundary_p"] == pytest.approx(1 / 3)
    assert scores["relations_per_type"]["works_for"]["p"] == pytest.approx(1 / 3)
    # Only unaligned predictions: precision 0, not undefined-and-forgiven.
    pred._.relations = pred._.relations[1:]
    scores = score_relations([Example(pred, ref)])
    assert scores["relations_micro_p"] == 0.0 and scores["relations_micro_r"] == 0.0


@pytest.mark.parametrize("mean_over", ["rows", "docs"])
@pytest.mark.parametrize("distance", [3, None])
def test_sparse_pair_loss_equals_the_dense_loss_on_a_symmetric_layout(mean_over, distance):
    rng = numpy.random.default_rng(0)
    layout = PairLayout.symmetric(distance)
    lengths = (7, 2, 5)
    scores = [rng.normal(size=(2, n, layout.n_columns(n))).astype("float32") for n in lengths]
    # (channel, row token, column); column 0 of row 4 is token 2 in the band, 0 in the full matrix.
    positives = [[(0, 1, 2), (1, 4, 0), (1, 4, 1)], [], [(1, 0, layout.column(0, 2, 5))]]
    sparse_loss, sparse_grads = pair_loss(scores, positives, layout, sparse=True, mean_over=mean_over)
    dense_loss, dense_grads = pair_loss(scores, positives, layout, sparse=False, mean_over=mean_over)
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-5)
    for a, b in zip(sparse_grads, dense_grads):
        assert a.shape == b.shape and numpy.allclose(a, b, atol=1e-6)
    # Both equal ZLPR written out here: multilabel_crossentropy per (doc, channel)
    # row over the cells inside the doc, averaged over rows or over docs.
    total = 0.0
    leaves = []
    for n, doc_scores, doc_positives in zip(lengths, scores, positives):
        leaf = torch.tensor(doc_scores, requires_grad=True)
        leaves.append(leaf)
        target = torch.zeros(doc_scores.shape, dtype=torch.bool)
        for channel, row, column in doc_positives:
            target[channel, row, column] = True
        mask = torch.tensor(numpy.broadcast_to(layout.valid(n, n, numpy.arange), doc_scores.shape[1:]).copy())
        mask = mask[None].expand(doc_scores.shape)
        total = total + multilabel_crossentropy(leaf.reshape(2, -1), target.reshape(2, -1), mask.reshape(2, -1)).sum()
    reference = total / (len(lengths) * 2 if mean_over == "rows" else len(lengths))
    reference.backward()
    assert sparse_loss == pytest.approx(float(reference.detach()), rel=1e-5)
    for leaf, grad in zip(leaves, sparse_grads):
        assert numpy.allclose(leaf.grad.numpy(), grad, atol=1e-6)
    # Padding cells (pairs that leave the doc) get no gradient.
    valid = layout.valid(7, 7, numpy.arange)
    assert numpy.all(sparse_grads[0][:, ~valid] == 0) and numpy.any(sparse_grads[0][:, valid] != 0)


def test_spacy_train_from_the_cli_then_load_in_a_fresh_process(tmp_path):
    nlp = spacy.blank("en")
    install_extensions()
    examples = make_rel_examples(nlp)
    DocBin(store_user_data=True, docs=[eg.reference for eg in examples]).to_disk(tmp_path / "train.spacy")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(CONFIG), "--output", str(out),
         "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "train.spacy"),
         "--training.max_steps", "20", "--training.eval_frequency", "10",
         "--components.tok2vec.model.encode.width", "32", "--components.tok2vec.model.encode.depth", "2"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((out / "model-last" / "meta.json").read_text())
    assert "relations_micro_f" in meta["performance"]
    code = (
        "import json, spacy, sys; before = 'spacy_globalpointer' in sys.modules;"
        "nlp = spacy.load(sys.argv[1]); rel = nlp.get_pipe('globalpointer_relations');"
        "doc = nlp('Corvane hired Rui Costa in Lisbon .');"
        "rels = [[r.head.start, r.head.end, r.label, r.tail.start, r.tail.end, r.score] for r in doc._.relations];"
        "print(json.dumps([before, type(rel).__module__, sorted(rel.labels), rels, rel.cfg['max_pair_distance'],"
        " rel.cfg['spans_key'], nlp.pipe_names, len(doc)]))"
    )
    loaded = subprocess.run([sys.executable, "-c", code, str(out / "model-last")], capture_output=True, text=True, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    before, module, labels, rels, distance, key, pipe_names, n = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert before is False and module == "spacy_globalpointer.pipeline.relations"
    assert labels == sorted({p for _, _, rels in REL_DATA for _, p, _ in rels})
    assert pipe_names == ["sentencizer", "tok2vec", "globalpointer", "globalpointer_relations"]
    assert distance == load_config(CONFIG)["components"]["globalpointer_relations"]["max_pair_distance"]
    assert key == "sc"
    for head_start, head_end, label, tail_start, tail_end, score in rels:
        assert 0 <= head_start < head_end <= n and 0 <= tail_start < tail_end <= n
        assert label in labels and 0.0 < score <= 1.0


def test_gold_that_looks_wrong_is_counted_in_one_warning():
    """Duplicates, self-relations and relation spans the span component never
    sees are learned as given, but counted (W010), never passed silently."""
    nlp = build_rel_nlp()
    examples = make_rel_examples(nlp)  # holds one self-relation (same_as)
    ref = examples[1].reference
    ref._.relations = list(ref._.relations) + [ref._.relations[0]]
    ref.spans["sc"] = [s for s in ref.spans["sc"] if s.label_ != "LOC"]  # Lisbon: lives_in's tail
    with pytest.warns(UserWarning) as record:
        nlp.initialize(lambda: examples)
    (message,) = [str(w.message) for w in record if "W010" in str(w.message)]
    assert "1 of 9 gold relations are listed twice" in message
    assert "1 of 9 gold relations link a span to itself" in message
    assert "1 of 9 gold relations have a head or tail missing from doc.spans['sc']" in message


def test_evaluation_data_that_cannot_measure_the_model_warns(trained_rel):
    nlp, examples = trained_rel
    bare = [Example(nlp.make_doc(eg.reference.text), nlp.make_doc(eg.reference.text)) for eg in examples]
    with pytest.warns(UserWarning, match=r"W011\] The evaluation data has no gold relations in 4 docs"):
        nlp.evaluate(bare)
    unseen = make_rel_examples(nlp, [("Corvane hired Rui Costa .", [(0, 1, "ORG"), (2, 4, "PER")], [(0, "employs", 1)])])
    with pytest.warns(UserWarning, match=r"W011\] The evaluation data has gold predicates the model was never trained on: 'employs' \(1\)"):
        nlp.evaluate(unseen)
