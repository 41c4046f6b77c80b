"""The globalpointer_relations component: joint training, round trips, bad input."""
import json
import pickle
import subprocess
import sys
import time
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
from spacy_globalpointer.extensions import install_extensions, set_relation_records
from spacy_globalpointer.layouts import PairLayout
from spacy_globalpointer.losses import multilabel_crossentropy
from spacy_globalpointer.ml.pair_loss import pair_loss

CONFIG = Path(__file__).parent.parent / "project" / "configs" / "relations.cfg"
SMALL = {"components.tok2vec.model.encode.width": 48, "components.tok2vec.model.encode.depth": 2}
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


@pytest.fixture(scope="module")
def trained_rel():
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_rel_nlp()
    examples = make_rel_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(160):
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


def test_overfits_through_the_shared_tok2vec_config(trained_rel):
    nlp, examples = trained_rel
    assert nlp.pipe_names == ["tok2vec", "globalpointer", "globalpointer_relations"]
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


def test_round_trips(trained_rel, tmp_path):
    nlp, _ = trained_rel
    texts = [t for t, _, _ in REL_DATA]
    docs = list(nlp.pipe(texts))
    expected = [rel_tuples(d) for d in docs]
    assert [rel_tuples(nlp(t)) for t in texts] == expected  # pipe == call
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    loaded_docs = list(loaded.pipe(texts))
    assert [rel_tuples(d) for d in loaded_docs] == expected
    assert [r.score for d in loaded_docs for r in d._.relations] == pytest.approx(
        [r.score for d in docs for r in d._.relations]
    )
    assert loaded.get_pipe("globalpointer_relations").cfg == nlp.get_pipe("globalpointer_relations").cfg
    fresh = build_rel_nlp()
    fresh.from_bytes(nlp.to_bytes())
    assert [rel_tuples(d) for d in fresh.pipe(texts)] == expected
    assert [rel_tuples(pickle.loads(pickle.dumps(d))) for d in docs] == expected
    assert [rel_tuples(Doc(nlp.vocab).from_bytes(d.to_bytes())) for d in docs] == expected
    kept = DocBin(store_user_data=True, docs=docs)
    again = list(DocBin(store_user_data=True).from_bytes(kept.to_bytes()).get_docs(nlp.vocab))
    assert [rel_tuples(d) for d in again] == expected
    # Why store_user_data matters: without it DocBin drops the relations.
    dropped = DocBin(docs=docs)
    assert all(d._.relations == [] for d in DocBin().from_bytes(dropped.to_bytes()).get_docs(nlp.vocab))


def test_multiprocess_pipe_equals_single_process(trained_rel):
    nlp, _ = trained_rel
    texts = [t for t, _, _ in REL_DATA] * 2
    assert [rel_tuples(d) for d in nlp.pipe(texts, n_process=2, batch_size=2)] == [
        rel_tuples(d) for d in nlp.pipe(texts)
    ]


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
    with pytest.raises(TypeError, match="E014"):
        doc._.relations = [("not", "a", "relation")]


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


def test_unknown_predicate_at_update_names_it_and_the_fix(trained_rel):
    nlp, _ = trained_rel
    bad = make_rel_examples(nlp, [("Ana met Rui .", [(0, 1, "PER"), (2, 3, "PER")], [(0, "married_to", 1)])])
    with pytest.raises(ValueError, match=r"E026\].*'married_to'"):
        nlp.update(bad)


@pytest.mark.parametrize("text", ["", "x", " ", "Lisbon and Porto are cities ."])
def test_degenerate_docs(trained_rel, text):
    nlp, _ = trained_rel
    doc = nlp(text)
    assert isinstance(doc._.relations, list)
    eg = Example(nlp.make_doc(text), nlp.make_doc(text))
    nlp.update([eg])
    nlp.evaluate([eg])


def test_without_a_span_component_one_warning_and_no_crash():
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer_relations")
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    with pytest.warns(UserWarning, match="W006") as record:
        docs = list(nlp.pipe(["Ana works for Corvane .", "Rui lives in Lisbon ."]))
    assert len([w for w in record if "W006" in str(w.message)]) == 1
    assert all(d._.relations == [] for d in docs)


def test_an_empty_upstream_group_gives_no_relations(trained_rel):
    nlp, _ = trained_rel
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp.make_doc("Ana Ferreira teaches in Porto .")
    doc.spans["sc"] = []
    component.set_annotations([doc], component.predict([doc]))
    assert doc._.relations == []


def test_a_flood_of_candidates_stays_bounded():
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer_relations", config={"max_candidates": 40})
    nlp.initialize(lambda: make_rel_examples(nlp))
    component = nlp.get_pipe("globalpointer_relations")
    component.cfg["threshold"] = -1e3  # every candidate pair passes
    doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 100))
    doc.spans["sc"] = [Span(doc, i, min(i + k, len(doc)), label="X") for i in range(0, len(doc), 1) for k in (1, 2)][:500]
    start = time.time()
    component.set_annotations([doc], component.predict([doc]))
    assert time.time() - start < 5.0
    linked = {r.head for r in doc._.relations} | {r.tail for r in doc._.relations}
    assert 0 < len(linked) <= 40


def test_gold_pairs_beyond_max_pair_distance_are_counted():
    nlp = build_rel_nlp(**{"components.globalpointer_relations.max_pair_distance": 3})
    with pytest.warns(UserWarning, match=r"W004\] 6 of 8 gold relations.*max_pair_distance=3"):
        nlp.initialize(lambda: make_rel_examples(nlp))


def test_long_docs_train_in_a_band_short_docs_in_the_full_matrix():
    nlp = build_rel_nlp(**{"components.globalpointer_relations.max_pair_distance": 8})
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    component = nlp.get_pipe("globalpointer_relations")
    long_doc = nlp.make_doc(" ".join(["Ana met Rui in Porto ."] * 500))  # 3,000 tokens
    short_doc = nlp.make_doc("Ana met Rui .")
    tok2vec = nlp.get_pipe("tok2vec")
    tok2vec.set_annotations([long_doc, short_doc], tok2vec.predict([long_doc, short_doc]))
    (heads, tails), (short_heads, _) = component.model.predict([long_doc, short_doc])
    n_predicates = len(component.labels)
    assert heads.shape == tails.shape == (n_predicates, 3000, 15)  # |i - j| < 8: 2 * 8 - 1 columns
    assert short_heads.shape == (n_predicates, 4, 4)
    eg = Example(long_doc, long_doc.copy())
    component.update([eg])  # trains in the band: no n x n tensor


@pytest.mark.parametrize(
    "setting,value,code",
    [("max_pair_distance", 0, "E024"), ("max_candidates", 0, "E024"), ("threshold", float("nan"), "E025"),
     ("torch_threads", -1, "E024"), ("calibration", "dev", "E029")],
)
def test_bad_settings_are_refused(setting, value, code):
    from spacy_globalpointer import GlobalPointerRelations

    model = build_rel_nlp().get_pipe("globalpointer_relations").model
    with pytest.raises(ValueError, match=code):
        GlobalPointerRelations(spacy.blank("en").vocab, model, **{setting: value})


def test_head_size_zero_is_refused():
    with pytest.raises(ValueError, match="E019"):
        build_rel_nlp(**{"components.globalpointer_relations.model.head_size": 0})


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


def test_sparse_pair_loss_equals_the_dense_loss_on_a_symmetric_band():
    rng = numpy.random.default_rng(0)
    layout = PairLayout.symmetric(3)
    scores = [rng.normal(size=(2, n, layout.n_columns(n))).astype("float32") for n in (7, 2, 5)]
    positives = [[(0, 1, 2), (1, 4, 0)], [], [(1, 0, 2)]]
    sparse_loss, sparse_grads = pair_loss(scores, positives, layout, sparse=True)
    dense_loss, dense_grads = pair_loss(scores, positives, layout, sparse=False)
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-5)
    for a, b in zip(sparse_grads, dense_grads):
        assert numpy.allclose(a, b, atol=1e-6)
    # ... and the dense one is the ZLPR formula over the cells inside the doc.
    n = 7
    valid = layout.valid(n, n, numpy.arange)
    t = torch.tensor(scores[0]).reshape(2, -1)
    target = torch.zeros_like(t)
    target[0, 1 * 5 + 2] = 1
    target[1, 4 * 5 + 0] = 1
    mask = torch.tensor(numpy.broadcast_to(valid.reshape(1, -1), t.shape).copy())
    assert float(multilabel_crossentropy(t, target, mask).sum()) > 0


def test_spacy_train_from_the_cli_then_load_in_a_fresh_process(tmp_path):
    nlp = spacy.blank("en")
    install_extensions()
    examples = make_rel_examples(nlp)
    DocBin(store_user_data=True, docs=[eg.reference for eg in examples]).to_disk(tmp_path / "train.spacy")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(CONFIG), "--output", str(out),
         "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "train.spacy"),
         "--training.max_steps", "30", "--training.eval_frequency", "15",
         "--components.tok2vec.model.encode.width", "32"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((out / "model-last" / "meta.json").read_text())
    assert "relations_micro_f" in meta["performance"]
    code = (
        "import json, spacy, sys; before = 'spacy_globalpointer' in sys.modules;"
        "nlp = spacy.load(sys.argv[1]); rel = nlp.get_pipe('globalpointer_relations');"
        "doc = nlp('Corvane hired Rui Costa in Lisbon .');"
        "print(json.dumps([before, type(rel).__module__, sorted(rel.labels), isinstance(doc._.relations, list)]))"
    )
    loaded = subprocess.run([sys.executable, "-c", code, str(out / "model-last")], capture_output=True, text=True, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    before, module, labels, has_relations = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert before is False and module == "spacy_globalpointer.pipeline.relations"
    assert labels == sorted({p for _, _, rels in REL_DATA for _, p, _ in rels}) and has_relations
