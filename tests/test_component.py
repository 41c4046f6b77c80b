"""The `globalpointer` component: API, training, serialization, bad input."""
import pickle
import warnings
from pathlib import Path
from typing import List, Set, Tuple

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from thinc.api import fix_random_seed

from conftest import LABELS, NESTED_DATA, TINY_CNN, build_nlp, make_examples, span_tuples, train


def gold_tuples(nlp, data=NESTED_DATA):
    out = []
    for text, spans in data:
        doc = nlp.make_doc(text)
        out.append(sorted(
            (sp.start, sp.end, sp.label_) for sp in (doc.char_span(s, e, label=l) for s, e, l in spans)
        ))
    return out


def test_add_pipe_by_name_without_import_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    code = (
        "import spacy, sys; nlp = spacy.blank('en'); gp = nlp.add_pipe('globalpointer');"
        "assert 'spacy_globalpointer' in type(gp).__module__; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "architecture,pooling_size",
    [
        ("spacy-globalpointer.GlobalPointer.v1", 0),
        ("spacy-globalpointer.EfficientGlobalPointer.v1", 0),
        ("spacy-globalpointer.EfficientGlobalPointer.v1", 8),
    ],
)
def test_overfits_nested_data_to_f1_1(architecture, pooling_size):
    nlp = build_nlp(architecture, pooling_size)
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=80)
    scores = nlp.evaluate(examples)
    assert scores["spans_sc_f"] == 1.0
    assert set(scores["spans_sc_per_type"]) == set(LABELS)
    predicted = [span_tuples(doc) for doc in nlp.pipe(text for text, _ in NESTED_DATA)]
    assert predicted == gold_tuples(nlp)
    # Nested spans really are predicted: a LOC inside a PER inside one doc.
    assert (3, 6, "PER") in predicted[0] and (5, 6, "LOC") in predicted[0]


def test_scores_are_probabilities(trained_nlp):
    doc = trained_nlp(NESTED_DATA[1][0])
    scores = doc.spans["sc"].attrs["scores"]
    assert len(scores) == len(doc.spans["sc"]) > 0
    assert ((scores > 0.5) & (scores <= 1.0)).all()  # logit > 0 <=> sigmoid(2 s) > 0.5


def test_labels_from_data_and_explicit_labels():
    nlp = build_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("globalpointer").labels == ("PER", "LOC", "ORG")
    nlp = build_nlp()
    nlp.config["initialize"]["components"]["globalpointer"] = {
        "labels": ["ORG", "LOC", "PER", "DATE"]
    }
    nlp.initialize(lambda: examples)
    gp = nlp.get_pipe("globalpointer")
    assert gp.labels == ("ORG", "LOC", "PER", "DATE")
    assert gp.label_data == list(gp.labels)  # what `spacy init labels` writes


def test_no_labels_is_a_clear_error():
    nlp = build_nlp()
    examples = make_examples(nlp, data=[("Nothing here", [])])
    with pytest.raises(ValueError, match=r"E002.*has no labels"):
        nlp.initialize(lambda: examples)


def test_use_before_initialize_is_a_clear_error():
    nlp = build_nlp()
    with pytest.raises(ValueError, match=r"E003.*before it was initialized"):
        nlp("Some text")
    with pytest.raises(ValueError, match="E003"):
        nlp.update(make_examples(nlp), losses={})


def test_unknown_gold_label_names_the_label_and_the_fix():
    nlp = build_nlp()
    examples = make_examples(nlp)
    nlp.config["initialize"]["components"]["globalpointer"] = {"labels": ["LOC", "ORG"]}
    nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match=r"E007.*'PER'.*initialize\(labels=...\)"):
        nlp.update(examples, losses={})


def test_add_label_after_initialize_is_refused(trained_nlp):
    gp = trained_nlp.get_pipe("globalpointer")
    assert gp.add_label("LOC") == 0
    with pytest.raises(ValueError, match="E008"):
        gp.add_label("NEW")
    with pytest.raises(ValueError, match="E009"):
        build_nlp().get_pipe("globalpointer").add_label("")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="E024"):
        build_nlp(max_span_width=0)
    with pytest.raises(ValueError, match="E011"):
        build_nlp(max_spans_per_token=0)


@pytest.mark.parametrize("text", ["", "   ", "\n", "Paris", "x y"])
def test_degenerate_docs(trained_nlp, text):
    doc = trained_nlp(text)
    assert "sc" in doc.spans
    for span in doc.spans["sc"]:
        assert not span[0].is_space and not span[-1].is_space
    assert len(doc.spans["sc"].attrs["scores"]) == len(doc.spans["sc"])


def test_update_with_empty_docs_and_docs_without_spans(trained_nlp):
    nlp = trained_nlp
    data = [("", []), ("   ", []), ("Nothing here at all", []), ("Paris", [(0, 5, "LOC")])]
    losses = nlp.update(make_examples(nlp, data), losses={})
    assert numpy.isfinite(losses["globalpointer"])
    losses = nlp.update(make_examples(nlp, [("", [])]), losses={})
    assert losses["globalpointer"] == 0.0


def test_reference_tokenized_differently_is_aligned():
    """Gold spans on differently tokenised reference docs are aligned, like spancat."""
    nlp = build_nlp()
    examples = []
    for text, spans in NESTED_DATA:
        predicted = nlp.make_doc(text)
        words = []
        for token in predicted:  # split every token of 6+ chars in two on the reference side
            if len(token.text) >= 6:
                words.extend([(token.text[:3], False), (token.text[3:], bool(token.whitespace_))])
            else:
                words.append((token.text, bool(token.whitespace_)))
        reference = Doc(nlp.vocab, words=[w for w, _ in words], spaces=[s for _, s in words])
        reference.spans["sc"] = [reference.char_span(s, e, label=l) for s, e, l in spans]
        examples.append(Example(predicted, reference))
    train(nlp, examples, n_iter=80)
    predicted = [span_tuples(doc) for doc in nlp.pipe(t for t, _ in NESTED_DATA)]
    assert predicted == gold_tuples(nlp)


def test_misaligned_gold_spans_are_counted_in_a_warning():
    nlp = build_nlp()
    text = "The Bank of England raised rates"
    predicted = nlp.make_doc(text)
    reference = Doc(nlp.vocab, words=["The", "Ba", "nk", "of", "England", "raised", "rates"],
                    spaces=[True, False, True, True, True, True, False])
    # "nk of England" does not start on a token boundary of the predicted doc.
    reference.spans["sc"] = [Span(reference, 2, 5, label="ORG"), Span(reference, 4, 5, label="LOC")]
    examples = [Example(predicted, reference)]
    with pytest.warns(UserWarning, match=r"W002\] 1 of 2 gold spans"):
        nlp.initialize(lambda: examples)


def test_spans_wider_than_max_span_width_are_counted_in_a_warning():
    nlp = build_nlp(max_span_width=2)
    examples = make_examples(nlp)
    with pytest.warns(UserWarning, match=r"W001\] 5 of 12 gold spans.*max_span_width=2"):
        nlp.initialize(lambda: examples)
    nlp.update(examples, losses={})  # and training still works


def test_max_span_width_bounds_predictions_and_long_docs_run():
    nlp = build_nlp(max_span_width=3)
    examples = make_examples(nlp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(nlp, examples, n_iter=30)
    doc = nlp(" ".join(["Paris"] * 20_000))
    assert len(doc) == 20_000
    assert all(len(span) <= 3 for span in doc.spans["sc"])
    assert len(doc.spans["sc"]) <= 20_000 + 4  # the per-doc cap (1 span per token + 4)


FLAT_DATA = [
    (text, [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)])
    for text, spans in NESTED_DATA
]


def test_ents_option_writes_non_overlapping_entities_and_scores_them():
    """On flat data the component can replace `ner`: doc.ents and ents_* scores."""
    nlp = build_nlp(ents=True)
    examples = make_examples(nlp, FLAT_DATA)
    for eg in examples:
        eg.reference.ents = list(eg.reference.spans["sc"])
    train(nlp, examples, n_iter=80)
    scores = nlp.evaluate(examples)
    assert {"ents_f", "ents_p", "ents_r", "ents_per_type", "spans_sc_f"} <= set(scores)
    assert scores["ents_f"] == 1.0
    doc = nlp(NESTED_DATA[5][0])
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 4, "PER"), (6, 9, "ORG")]


def test_ents_threshold_decisions_count_exactly_what_doc_ents_decodes_at_each_threshold():
    """With `ents` on, doc.ents has a calibrated threshold of its own: its
    decisions (the spans doc.ents keeps at the grid's floor, and which are
    gold) must give, at every threshold, the true positives and predictions of
    doc.ents decoded at that threshold; doc.spans keeps its own threshold."""
    from spacy_globalpointer.calibration import _count_above
    from spacy_globalpointer.pipeline.spans import ENTS_THRESHOLD

    nlp = build_nlp(ents=True)
    examples = make_examples(nlp, NESTED_DATA)
    for eg in examples:  # flat gold entities: the first span of each overlapping run
        flat, end = [], -1
        for span in sorted(eg.reference.spans["sc"], key=lambda s: (s.start, -len(s))):
            if span.start >= end:
                flat.append(span)
                end = span.end
        eg.reference.ents = flat
    nlp.initialize(lambda: examples)
    gp = nlp.get_pipe("globalpointer")
    rng = numpy.random.default_rng(0)
    docs = [eg.predicted for eg in examples]
    shapes = [s.shape for s in gp.predict(docs)]
    scores = [rng.normal(0.0, 1.5, size=shape).astype("float32") for shape in shapes]
    candidates, golds = gp._calibration_decisions(examples, scores)[ENTS_THRESHOLD]
    assert sum(len(g) for g in golds) == sum(len(eg.reference.ents) for eg in examples)
    gp.cfg["calibrated"] = {"threshold": 0.5}
    for t in (-2.0, -0.7, 0.0, 0.3, 1.1):
        gp.cfg["calibrated"][ENTS_THRESHOLD] = t
        copies = [nlp.make_doc(doc.text) for doc in docs]
        gp.set_annotations(copies, scores)
        predicted = sum(len(doc.ents) for doc in copies)
        correct = sum(
            len({(e.start, e.end, e.label_) for e in doc.ents} & {(e.start, e.end, e.label_) for e in eg.reference.ents})
            for doc, eg in zip(copies, examples)
        )
        grid = numpy.asarray([t])
        assert _count_above(candidates, grid)[0] == predicted
        assert _count_above(golds, grid)[0] == correct
        # doc.spans keeps the spans' threshold whatever doc.ents uses.
        assert all(min(doc.spans["sc"].attrs["scores"], default=1.0) > 1 / (1 + numpy.exp(-1.0)) - 1e-6 for doc in copies)
    assert gp.threshold(ENTS_THRESHOLD) == 1.1
    gp.cfg["calibrated"] = {"threshold": 0.5}
    assert gp.threshold(ENTS_THRESHOLD) == 0.5  # not calibrated yet: the spans' threshold


def test_ents_are_non_overlapping_and_respect_earlier_entities(trained_nlp):
    gp = trained_nlp.get_pipe("globalpointer")
    gp.cfg["ents"] = True
    try:
        doc = trained_nlp(NESTED_DATA[0][0])
        ents = [(e.start, e.end) for e in doc.ents]
        assert len(ents) >= 2
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ents, ents[1:]))
        # An entity set earlier in the pipeline (e.g. by an entity_ruler) is kept.
        doc = trained_nlp.make_doc(NESTED_DATA[0][0])
        doc.ents = [Span(doc, 5, 7, label="CUSTOM")]
        doc = gp(doc)
        assert (5, 7, "CUSTOM") in [(e.start, e.end, e.label_) for e in doc.ents]
        assert all(e.end <= 5 or e.start >= 7 for e in doc.ents if e.label_ != "CUSTOM")
    finally:
        gp.cfg["ents"] = False


def test_to_disk_and_spacy_load_give_identical_predictions(trained_nlp, tmp_path):
    texts = [t for t, _ in NESTED_DATA] + ["", "Paris"]
    expected = [span_tuples(d) for d in trained_nlp.pipe(texts)]
    expected_scores = [d.spans["sc"].attrs["scores"] for d in trained_nlp.pipe(texts)]
    trained_nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert [span_tuples(d) for d in loaded.pipe(texts)] == expected
    for doc, scores in zip(loaded.pipe(texts), expected_scores):
        assert numpy.allclose(doc.spans["sc"].attrs["scores"], scores)
    assert loaded.get_pipe("globalpointer").labels == trained_nlp.get_pipe("globalpointer").labels


def test_to_bytes_from_bytes_and_pickle(trained_nlp):
    texts = [t for t, _ in NESTED_DATA]
    expected = [span_tuples(d) for d in trained_nlp.pipe(texts)]
    fresh = build_nlp()
    fresh.from_bytes(trained_nlp.to_bytes())
    assert [span_tuples(d) for d in fresh.pipe(texts)] == expected
    gp_bytes = trained_nlp.get_pipe("globalpointer").to_bytes()
    fresh2 = build_nlp()
    fresh2.get_pipe("globalpointer").from_bytes(gp_bytes)
    assert fresh2.get_pipe("globalpointer").labels == trained_nlp.get_pipe("globalpointer").labels
    assert fresh2.get_pipe("globalpointer").cfg == trained_nlp.get_pipe("globalpointer").cfg
    # The component alone, loaded into a pipeline whose tok2vec is untrained, must
    # give the trained head's scores for the same token vectors.
    docs = [fresh2.make_doc(t) for t in texts]
    head_in = trained_nlp.get_pipe("globalpointer").model.get_ref("head")
    head_out = fresh2.get_pipe("globalpointer").model.get_ref("head")
    vectors = [numpy.random.default_rng(i).normal(size=(len(d), head_in.get_dim("nI"))).astype("float32") for i, d in enumerate(docs)]
    for want, got in zip(head_in.predict(vectors), head_out.predict(vectors)):
        assert numpy.allclose(want[0], got[0], atol=1e-6)
    unpickled = pickle.loads(pickle.dumps(trained_nlp))
    assert [span_tuples(d) for d in unpickled.pipe(texts)] == expected


def test_pooled_efficient_head_round_trips_through_disk(tmp_path):
    """The lazily built module includes the pooling layers: from_disk into a
    fresh pipeline must rebuild them before loading the weights."""
    nlp = build_nlp("spacy-globalpointer.EfficientGlobalPointer.v1", pooling_size=8)
    train(nlp, make_examples(nlp), n_iter=5)
    docs = [nlp.make_doc(t) for t, _ in NESTED_DATA]
    expected = nlp.get_pipe("globalpointer").predict(docs)
    nlp.to_disk(tmp_path / "pooled")
    loaded = spacy.load(tmp_path / "pooled")
    assert loaded.get_pipe("globalpointer").model.get_ref("head").attrs["pooling_size"] == 8
    for got, scores in zip(loaded.get_pipe("globalpointer").predict(docs), expected):
        assert got.shape == scores.shape and got.size > 0
        assert numpy.allclose(got, scores, atol=1e-5)


def test_predictions_survive_docbin(trained_nlp):
    docs = list(trained_nlp.pipe(t for t, _ in NESTED_DATA))
    restored = list(DocBin(docs=docs, store_user_data=True).get_docs(trained_nlp.vocab))
    for doc, back in zip(docs, restored):
        assert span_tuples(doc) == span_tuples(back)


def test_multiprocess_pipe_equals_single_process(trained_nlp):
    texts = [t for t, _ in NESTED_DATA] * 3 + [""]
    single = [span_tuples(trained_nlp(t)) for t in texts]
    multi = [span_tuples(d) for d in trained_nlp.pipe(texts, n_process=2, batch_size=4)]
    assert multi == single


def test_batch_composition_does_not_change_predictions(trained_nlp):
    texts = [t for t, _ in NESTED_DATA] + ["Paris " * 60]
    one_by_one = [span_tuples(trained_nlp(t)) for t in texts]
    batched = [span_tuples(d) for d in trained_nlp.pipe(texts, batch_size=64)]
    assert one_by_one == batched


def test_threshold_moves_precision_recall(trained_nlp, tmp_path):
    gp = trained_nlp.get_pipe("globalpointer")
    text = NESTED_DATA[0][0]
    n_default = len(trained_nlp(text).spans["sc"])
    old, calibrate = gp.cfg["threshold"], gp.cfg["calibrate_threshold"]
    try:
        gp.cfg["calibrate_threshold"] = False  # (a calibrated value would win)
        gp.cfg["threshold"] = -50.0
        assert len(trained_nlp(text).spans["sc"]) > n_default
        gp.cfg["threshold"] = 50.0
        assert len(trained_nlp(text).spans["sc"]) == 0
    finally:
        gp.cfg["threshold"], gp.cfg["calibrate_threshold"] = old, calibrate


def test_custom_spans_key():
    fix_random_seed(0)
    nlp = build_nlp(spans_key="entities")
    examples = make_examples(nlp, key="entities")
    train(nlp, examples, n_iter=60)
    scores = nlp.evaluate(examples)
    assert scores["spans_entities_f"] == 1.0
    assert "sc" not in nlp("Paris").spans


def test_initialize_again_with_more_labels_rebuilds_the_head():
    nlp = build_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=5)
    more = make_examples(nlp, NESTED_DATA + [("Monday came", [(0, 6, "DATE")])])
    train(nlp, more, n_iter=60)
    gp = nlp.get_pipe("globalpointer")
    assert "DATE" in gp.labels
    assert nlp.evaluate(more)["spans_sc_f"] == 1.0


def test_calibrated_threshold_is_learned_saved_and_loaded(tmp_path):
    nlp = build_nlp(calibrate_threshold=True, calibration="batches")
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=80)
    gp = nlp.get_pipe("globalpointer")
    calibrated = gp.cfg["calibrated"]["threshold"]
    assert calibrated != 0.0  # moved off the default by the training batches
    assert gp.threshold() == calibrated and gp.cfg["threshold"] == 0.0  # what config.cfg says
    assert nlp.evaluate(examples)["spans_sc_f"] == 1.0
    nlp.to_disk(tmp_path / "m")
    loaded = spacy.load(tmp_path / "m").get_pipe("globalpointer")
    assert loaded.threshold() == calibrated and loaded.cfg["threshold"] == 0.0
    # A user who switches calibration off decodes with the configured threshold.
    own = spacy.load(tmp_path / "m", config={"components": {"globalpointer": {"calibrate_threshold": False, "threshold": 0.5}}})
    assert own.get_pipe("globalpointer").threshold() == 0.5
    fixed = train(build_nlp(calibrate_threshold=False), examples, n_iter=5)
    assert fixed.get_pipe("globalpointer").cfg["calibrated"] == {}
    assert fixed.get_pipe("globalpointer").threshold() == 0.0


def test_inference_calibration_rescores_recent_docs_without_dropout(monkeypatch):
    """The default calibration scores recent training docs as at inference: a model
    whose inference scores are squeezed below 0 gets a threshold below 0."""
    # "heldout" calibrates like "inference" below 1,000 training docs.
    nlp = build_nlp(calibration="heldout")
    # Enough distinct docs for 50+ gold spans (the calibrator's minimum).
    data = [(f"{text} ({k})", spans) for k in range(8) for text, spans in NESTED_DATA]
    examples = make_examples(nlp, data)
    gp = nlp.get_pipe("globalpointer")
    seen = []
    real_predict = type(gp.model).predict

    def shifted_predict(model, docs):
        scores = real_predict(model, docs)
        if model is gp.model:
            seen.append(len(docs))
            return [s * 0.1 - 1.0 for s in scores]
        return scores

    monkeypatch.setattr(type(gp.model), "predict", shifted_predict)
    train(nlp, examples, n_iter=60)
    assert seen and max(seen) == len(examples)  # distinct recent docs, rescored
    assert gp.calibration_source == "inference"
    assert -1.0 < gp.threshold() < -0.3
    with pytest.raises(ValueError, match="E029"):
        build_nlp(calibration="dev")
    with pytest.raises(ValueError, match="E029"):
        build_nlp(calibration={"@misc": "spacy-globalpointer.calibration.v1", "source": "dev"})
    with pytest.raises(ValueError, match="E024"):
        build_nlp(calibration={"interval": 0})
    with pytest.raises(ValueError, match="E033"):
        build_nlp(calibration={"guard_confidence": 0.2})


def record_loss_and_rescoring(monkeypatch, gp) -> Tuple[Set[str], List[Set[str]]]:
    """Patch gp's get_loss and its model's predict to record the texts that
    reach the loss and the texts of each rescoring pass (calibration's)."""
    in_loss: Set[str] = set()
    rescored: List[Set[str]] = []
    real_get_loss, real_predict = type(gp).get_loss, type(gp.model).predict

    def recording_get_loss(self, egs, scores):
        egs = list(egs)
        in_loss.update(eg.predicted.text for eg in egs)
        return real_get_loss(self, egs, scores)

    def recording_predict(model, docs):
        if model is gp.model:
            rescored.append({doc.text for doc in docs})
        return real_predict(model, docs)

    monkeypatch.setattr(type(gp), "get_loss", recording_get_loss)
    monkeypatch.setattr(type(gp.model), "predict", recording_predict)
    return in_loss, rescored


def test_heldout_calibration_keeps_one_doc_in_20_out_of_the_loss(monkeypatch):
    """With enough training docs, the held-out ones never reach the loss (zero
    gradient) and are the only docs calibration rescores."""
    from spacy_globalpointer.pipeline import base

    nlp = build_nlp(
        calibration={"@misc": "spacy-globalpointer.calibration.v1", "source": "heldout", "min_heldout_docs": 10}
    )
    data = [(f"{text} ({k})", spans) for k in range(12) for text, spans in NESTED_DATA]
    examples = make_examples(nlp, data)
    held = {eg.predicted.text for eg in examples if base.is_held_out(eg.predicted.text)}
    assert 0 < len(held) < len(examples) // 4
    gp = nlp.get_pipe("globalpointer")
    in_loss, rescored = record_loss_and_rescoring(monkeypatch, gp)
    train(nlp, examples, n_iter=60)
    assert gp.calibration_source == "heldout"
    assert in_loss == {eg.predicted.text for eg in examples} - held
    # Nothing decoded in 60 updates (interval 50): nothing calibrated either.
    assert not rescored
    nlp("Paris")
    assert rescored == [held, {"Paris"}]  # the held-out docs alone, then the decoding
    # The held-out docs' gradient is zero, not nan, where the band masks cells.
    batch = [eg for eg in examples if eg.predicted.text in held][:2] + examples[:3]
    scores, _ = gp.model.begin_update([eg.predicted for eg in batch])
    _, d_scores = gp._loss_without_held_out(batch, scores)
    for eg, d in zip(batch, d_scores):
        assert numpy.isfinite(gp.model.ops.to_numpy(d)).all()
        assert (gp.model.ops.to_numpy(d) == 0).all() == (eg.predicted.text in held)


def test_heldout_thresholds_are_recalibrated_on_the_current_weights_before_decoding_or_saving(monkeypatch, tmp_path):
    """Calibration every `interval` updates trails the weights: an evaluation
    during training (and the model-best it saves) decodes, and a save writes,
    thresholds calibrated on the held-out docs with the weights as they are,
    once per change of the weights. Source "inference" and a component the
    training loop decodes after every update (annotating_components) keep the
    interval alone."""
    from spacy_globalpointer.pipeline import base

    # interval 1: "heldout" calibrates only before decoding or saving, however
    # often its interval says; "inference" and an annotating component follow it.
    settings = {"@misc": "spacy-globalpointer.calibration.v1", "source": "heldout", "min_heldout_docs": 10, "interval": 1}
    nlp = build_nlp(calibration=settings)
    data = [(f"{text} ({k})", spans) for k in range(12) for text, spans in NESTED_DATA]
    examples = make_examples(nlp, data)
    held = {eg.predicted.text for eg in examples if base.is_held_out(eg.predicted.text)}
    gp = nlp.get_pipe("globalpointer")
    _, scored = record_loss_and_rescoring(monkeypatch, gp)

    def calibrations() -> List[Set[str]]:  # the rescoring passes (decoding scores other texts)
        return [texts for texts in scored if texts <= held]

    optimizer = nlp.initialize(lambda: examples)
    for _ in range(10):
        nlp.update(examples, sgd=optimizer, losses={})
    assert not calibrations()  # nothing decoded yet
    list(nlp.pipe(["Paris is lovely", "The Bank of England"]))
    assert calibrations() == [held]  # the held-out docs, scored with the current weights
    nlp.evaluate([eg for eg in examples if eg.predicted.text not in held][:3])
    nlp("Paris")
    assert len(calibrations()) == 1  # the weights have not changed since
    nlp.update(examples, sgd=optimizer, losses={})
    nlp.to_disk(tmp_path / "m")
    assert len(calibrations()) == 2 and calibrations()[-1] == held
    nlp.to_bytes()
    assert len(calibrations()) == 2

    # "inference" calibrates on fitted training docs: its interval alone.
    recent = build_nlp(calibration={**settings, "source": "inference"})
    gp = recent.get_pipe("globalpointer")
    _, scored = record_loss_and_rescoring(monkeypatch, gp)
    examples = make_examples(recent, data)
    optimizer = recent.initialize(lambda: examples)
    recent.update(examples, sgd=optimizer, losses={})
    list(recent.pipe(["Paris is lovely"]))
    recent.to_bytes()
    assert scored == [{eg.predicted.text for eg in examples}, {"Paris is lovely"}]

    annotating = build_nlp(calibration=settings)
    annotating._config["training"]["annotating_components"] = ["globalpointer"]
    gp = annotating.get_pipe("globalpointer")
    _, scored = record_loss_and_rescoring(monkeypatch, gp)
    examples = make_examples(annotating, data)
    optimizer = annotating.initialize(lambda: examples)
    annotating.update(examples, sgd=optimizer, losses={}, annotates=["globalpointer"])
    list(annotating.pipe(["Paris is lovely"]))
    assert [texts for texts in scored if texts <= held] == [held]  # the interval's, not the decodings'


def test_auto_calibration_on_the_cnn_holds_nothing_out_and_uses_the_training_pass(monkeypatch):
    """Source "auto" is "batches" on a CNN: every doc reaches the loss, however
    many there are, and the threshold follows the training pass's scores
    (squeezed below 0 here, so the threshold must go below 0), with no
    rescoring pass."""
    nlp = build_nlp(calibration={"@misc": "spacy-globalpointer.calibration.v1", "source": "auto", "min_heldout_docs": 10})
    data = [(f"{text} ({k})", spans) for k in range(12) for text, spans in NESTED_DATA]
    examples = make_examples(nlp, data)
    gp = nlp.get_pipe("globalpointer")
    assert gp.calibration.source == "auto"
    in_loss, rescored = record_loss_and_rescoring(monkeypatch, gp)
    real_begin_update = type(gp.model).begin_update

    def squeezed_begin_update(model, docs):
        scores, backprop = real_begin_update(model, docs)
        if model is gp.model:
            return [s * 0.1 - 1.0 for s in scores], lambda d: backprop([x * 0.1 for x in d])
        return scores, backprop

    monkeypatch.setattr(type(gp.model), "begin_update", squeezed_begin_update)
    train(nlp, examples, n_iter=20)
    assert gp.calibration_source == "batches"
    assert in_loss == {eg.predicted.text for eg in examples}
    assert not rescored  # no rescoring pass
    assert -1.0 < gp.threshold() < -0.3


def test_span_component_defaults_to_auto_calibration_and_relations_and_events_to_heldout():
    """Since stop 30 the span component calibrates on the training pass on the
    CNN and on held-out docs on a transformer ("auto"); relations and events
    keep "heldout", the source they were measured with."""
    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer")
    nlp.add_pipe("globalpointer_relations")
    nlp.add_pipe("globalpointer_events")
    assert nlp.get_pipe("globalpointer").calibration.source == "auto"
    assert nlp.get_pipe("globalpointer_relations").calibration.source == "heldout"
    assert nlp.get_pipe("globalpointer_events").calibration.source == "heldout"
    config = spacy.util.load_config(Path(__file__).parent.parent / "project" / "configs" / "cnn.cfg")
    assert config["components"]["globalpointer"]["calibration"]["source"] == "auto"


def test_doc_loss_rows_overfit():
    nlp = build_nlp(loss_rows="doc")
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=80)
    assert nlp.evaluate(examples)["spans_sc_f"] == 1.0
    with pytest.raises(ValueError, match="E012"):
        build_nlp(loss_rows="cells")


def test_mixed_precision_on_cpu_falls_back_to_float32_with_a_warning():
    nlp = spacy.blank("en")
    config = {"model": {"@architectures": "spacy-globalpointer.GlobalPointer.v1", "head_size": 16,
                        "mixed_precision": True, "tok2vec": dict(TINY_CNN)}}
    nlp.add_pipe("globalpointer", config=config)
    examples = make_examples(nlp)
    with pytest.warns(UserWarning, match="W003"):
        train(nlp, examples, n_iter=60)
    assert nlp.evaluate(examples)["spans_sc_f"] == 1.0


def test_heldout_calibration_holds_out_at_most_max_heldout_docs_and_trains_on_the_rest(monkeypatch):
    """Calibration reads max_heldout_docs held-out docs at most, so only those
    are kept out of the loss: every further doc the hash picks trains, in every
    epoch, and the docs held out stay the same ones."""
    from spacy_globalpointer.pipeline import base

    settings = {
        "@misc": "spacy-globalpointer.calibration.v1", "source": "heldout", "min_heldout_docs": 10,
        "heldout_one_in": 2, "max_heldout_docs": 3,
    }
    nlp = build_nlp(calibration=settings)
    data = [(f"{text} ({k})", spans) for k in range(12) for text, spans in NESTED_DATA]
    examples = make_examples(nlp, data)
    hashed = [eg.predicted.text for eg in examples if base.is_held_out(eg.predicted.text, 2)]
    assert len(hashed) > 6
    gp = nlp.get_pipe("globalpointer")
    in_loss, rescored = record_loss_and_rescoring(monkeypatch, gp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):  # three epochs, one doc per update, in the same order
        for eg in examples:
            nlp.update([eg], sgd=optimizer, losses={})
    kept = set(gp._training.held_out)
    assert kept == set(hashed[:3])
    assert in_loss == {eg.predicted.text for eg in examples} - kept
    nlp("Paris")
    assert rescored[0] == kept
