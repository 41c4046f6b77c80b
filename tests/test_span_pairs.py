"""GPLinker relations with span-pair scores (GPLinker.v1 span_pair_width > 0):
the pooling layer's gradient, the loss, overfitting, round trips, and that
inference decodes exactly what the span-pair scorer gives a pair."""
import numpy
import pytest
from thinc.api import NumpyOps, fix_random_seed

from spacy_globalpointer.ml.pair_loss import listed_pairs_loss
from spacy_globalpointer.ml.span_pairs import span_pair_vectors

from conftest import check_round_trips
from test_relations import REL_DATA, build_rel_nlp, make_rel_examples, rel_tuples, train_rel_nlp

SPAN_PAIRS = {"components.globalpointer_relations.model.span_pair_width": 32}


def test_span_pair_vectors_are_span_means_and_their_gradient_matches_finite_differences():
    ops = NumpyOps()
    rng = numpy.random.default_rng(0)
    vectors = [rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")]
    pairs = [numpy.asarray([[0, 2, 3, 6], [3, 6, 0, 2], [1, 2, 1, 2]]), numpy.zeros((0, 4), dtype="int64")]
    layer = span_pair_vectors()
    layer.initialize(X=(vectors, pairs))
    out, backprop = layer((vectors, pairs), is_train=True)
    assert out.shape == (3, 6)
    numpy.testing.assert_allclose(out[0], numpy.concatenate([vectors[0][0:2].mean(0), vectors[0][3:6].mean(0)]), rtol=1e-6)
    numpy.testing.assert_allclose(out[2], numpy.concatenate([vectors[0][1], vectors[0][1]]), rtol=1e-6)
    weights = rng.normal(size=out.shape).astype("float32")
    d_vectors = backprop(ops.asarray2f(weights))
    assert d_vectors[1].shape == (2, 3) and not d_vectors[1].any()
    eps = 1e-3
    for i, j in [(0, 0), (1, 2), (4, 1), (5, 2)]:
        bumped = [v.copy() for v in vectors]
        bumped[0][i, j] += eps
        up = (layer.predict((bumped, pairs)) * weights).sum()
        bumped[0][i, j] -= 2 * eps
        down = (layer.predict((bumped, pairs)) * weights).sum()
        assert d_vectors[0][i, j] == pytest.approx((up - down) / (2 * eps), rel=1e-2, abs=1e-3)


def test_near_miss_spans_move_one_boundary_by_one_token_and_are_no_entity():
    from spacy_globalpointer.pipeline.relations import near_miss_spans

    misses = near_miss_spans([(0, 2), (1, 2), (3, 4)], 4)
    # (0, 2) -> (0, 1), (0, 3) ((1, 2) is an entity); (1, 2) -> (1, 3) ((0, 2) is
    # one, (2, 2) and (1, 1) are empty); (3, 4) -> (2, 4) (the others leave the doc).
    assert sorted(misses) == [(0, 1), (0, 3), (1, 3), (2, 4)]


def test_listed_pairs_loss_is_zlpr_per_predicate_row_mean_over_docs():
    scores = [numpy.asarray([[2.0, -1.0], [0.5, 0.0]], dtype="float32"), numpy.zeros((0, 2), dtype="float32")]
    loss, grads = listed_pairs_loss(scores, [[(0, 0)], []])
    # Row of predicate 0: positive pair 0 (2.0), negative pair 1 (0.5); predicate 1: negatives -1, 0.
    expected = numpy.log1p(numpy.exp(0.5)) + numpy.log1p(numpy.exp(-2.0)) + numpy.log1p(numpy.exp(-1.0) + numpy.exp(0.0))
    assert loss == pytest.approx(expected, rel=1e-5)
    assert grads[0][0, 0] < 0 < grads[0][1, 0] and grads[1].shape == (0, 2)
    # mean_over="rows": divided by the (doc, predicate) rows of the docs with pairs (1 x 2).
    rows_loss, rows_grads = listed_pairs_loss(scores, [[(0, 0)], []], mean_over="rows")
    assert rows_loss == pytest.approx(expected / 2, rel=1e-5)
    numpy.testing.assert_allclose(rows_grads[0], grads[0] / 2, rtol=1e-6)


@pytest.fixture(scope="module")
def trained_span_pairs():
    # More updates than the cells alone need: the near-miss spans (a boundary
    # one token off, e.g. "University of Porto Medical" beside the nested gold
    # "University of Porto" and "... Medical School") are negatives to learn too.
    return train_rel_nlp(300, **SPAN_PAIRS)


def _rescored(nlp, examples):
    """The examples with their predicted docs annotated by the earlier
    components (the entity head), as calibration rescores held-out docs."""
    docs = list(nlp.pipe([eg.reference.text for eg in examples], disable=["globalpointer_relations"]))
    return [type(eg)(doc, eg.reference) for doc, eg in zip(docs, examples)]


def test_overfits_with_span_pair_scores(trained_span_pairs):
    nlp, examples = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    assert component.has_span_pairs
    scores = nlp.evaluate(examples)
    assert scores["relations_micro_f"] == 1.0, scores
    assert ((0, 1, "ORG"), "same_as", (0, 1, "ORG")) in rel_tuples(nlp(REL_DATA[2][0]))


def test_span_pair_relations_round_trip(trained_span_pairs, tmp_path):
    nlp, _ = trained_span_pairs
    texts = [t for t, _, _ in REL_DATA]
    check_round_trips(
        nlp, texts, rel_tuples, lambda d: [r.score for r in d._.relations], build_rel_nlp(**SPAN_PAIRS), tmp_path / "model"
    )


def test_a_relation_score_is_its_span_pair_score(trained_span_pairs):
    """With span pairs the span-pair scorer decides: what inference decodes (no
    cell gathered) equals the scorer run on the pair directly."""
    nlp, _ = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    doc = nlp(REL_DATA[0][0])
    assert doc._.relations
    pairs = numpy.asarray([[r.head.start, r.head.end, r.tail.start, r.tail.end] for r in doc._.relations])
    _, _, span_pair_scores = component.model.predict(([doc], None, [pairs]))[0]
    for k, r in enumerate(doc._.relations):
        logit = span_pair_scores[k, component.labels.index(r.label)]
        assert logit > component.threshold()
        assert r.score == pytest.approx(1 / (1 + numpy.exp(-2 * logit)), rel=1e-4, abs=1e-6)


def test_cell_loss_weight_scales_the_cells_loss_and_gradient(trained_span_pairs):
    """cell_loss_weight 0 leaves the cells untrained (zero gradient), the span-pair
    scores still learn; 0.5 halves the cells' share."""
    nlp, examples = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    egs = _rescored(nlp, examples)
    scores = component.model.predict(component._scoring_input(egs))
    golds = [component.aligned_gold(eg) for eg in egs]
    results = {}
    saved = component.cfg["cell_loss_weight"], component.cfg["loss_mean"]
    try:
        component.cfg["loss_mean"] = "docs"
        for weight in (1.0, 0.5, 0.0):
            component.cfg["cell_loss_weight"] = weight
            results[weight] = component._loss(scores, golds, egs)
        component.cfg["cell_loss_weight"] = 1.0
        component.cfg["loss_mean"] = "rows"
        rows_loss, _ = component._loss(scores, golds, egs)
    finally:
        component.cfg["cell_loss_weight"], component.cfg["loss_mean"] = saved
    # loss_mean "rows": every doc here has pairs and cells, so the mean over
    # (doc, predicate) rows is the per-doc sum divided by the predicates.
    assert rows_loss == pytest.approx(results[1.0][0] / len(component.labels), rel=1e-5)
    for doc_grads in results[0.0][1]:
        assert not doc_grads[0].any() and not doc_grads[1].any()  # the cells
    assert any(doc_grads[2].any() for doc_grads in results[0.0][1])  # the span pairs
    for full, half in zip(results[1.0][1], results[0.5][1]):
        numpy.testing.assert_allclose(half[0], full[0] * 0.5, rtol=1e-6)
        numpy.testing.assert_allclose(half[2], full[2], rtol=1e-6)
    assert results[0.0][0] < results[0.5][0] < results[1.0][0]


def test_encoder_grad_scale_scales_the_gradient_sent_back_to_the_encoder_and_still_calls_back():
    """GPLinker.v1 encoder_grad_scale multiplies what the relation head passes to
    its tok2vec; at 0 the callback still runs (spaCy's shared tok2vec updates
    when its last listener calls back, so skipping it would freeze the encoder)."""
    from thinc.api import Model

    from spacy_globalpointer.ml.layers import with_cells

    received = []

    def forward(model, docs, is_train):
        def backprop(d_vectors):
            received.append(float(d_vectors[0].sum()))
            return docs

        return [numpy.ones((2, 3), dtype="float32")], backprop

    for scale in (1.0, 0.25, 0.0):
        layer = with_cells(Model("recorder", forward), scale)
        _, backprop = layer((["doc"], None), is_train=True)
        backprop(([numpy.full((2, 3), 2.0, dtype="float32")], None))
    assert received == [12.0, 3.0, 0.0]


def test_encoder_grad_scale_outside_0_to_1_is_refused_with_its_code():
    from spacy_globalpointer.ml.models import build_gplinker

    for value in (1.5, -0.1):
        with pytest.raises(ValueError, match="E038"):
            build_rel_nlp(**{"components.globalpointer_relations.model.encoder_grad_scale": value})
    for value in (True, "0.5"):  # the config's type check catches these before the architecture
        with pytest.raises(ValueError, match="E038"):
            build_gplinker(None, encoder_grad_scale=value)


def test_encoder_grad_scale_0_leaves_the_shared_encoder_the_entity_heads_gradient_only():
    """Through nlp.update: spaCy's tok2vec loss is the squared norm of the
    gradient its listeners send; with the relation head's share at 0 it is what
    the entity head sends alone, smaller than with the full share."""
    received = {}
    for scale in (1.0, 0.0):
        fix_random_seed(0)
        nlp = build_rel_nlp(**{"components.globalpointer_relations.model.encoder_grad_scale": scale})
        examples = make_rel_examples(nlp)
        nlp.initialize(lambda: examples)
        losses = nlp.update(examples, drop=0.0)
        received[scale] = losses["tok2vec"]
    fix_random_seed(0)
    nlp = build_rel_nlp(**{"components.globalpointer_relations.model.encoder_grad_scale": 0.0})
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    entity_only = nlp.update(examples, drop=0.0, exclude=["globalpointer_relations"])["tok2vec"]
    assert received[0.0] == pytest.approx(entity_only, rel=1e-5)
    assert received[0.0] < received[1.0]


def test_near_miss_negatives_off_trains_on_gold_entity_pairs_only(trained_span_pairs):
    nlp, examples = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    docs = list(nlp.pipe([eg.reference.text for eg in examples], disable=["globalpointer_relations"]))
    egs = [type(eg)(doc, eg.reference) for doc, eg in zip(docs, examples)]
    try:
        component.cfg["near_miss_negatives"] = False
        without = [component._find_gold_pairs(eg)[0] for eg in egs]
    finally:
        component.cfg["near_miss_negatives"] = True
    with_misses = [component._find_gold_pairs(eg)[0] for eg in egs]
    for eg, spans, more in zip(egs, without, with_misses):
        assert sorted(spans) == component.aligned_gold(eg).entities
        assert set(spans) < set(more)  # the near misses come on top


def test_span_link_vectors_pool_both_spans_the_gap_and_one_hot_distance():
    """Per pair: the earlier span's mean, the later span's, the tokens between
    (zeros where they touch or overlap), then the distance bucket; the
    gradient reaches exactly those tokens."""
    from spacy_globalpointer.ml.span_pairs import N_DISTANCE_FEATURES, span_link_vectors

    ops = NumpyOps()
    rng = numpy.random.default_rng(0)
    vectors = [rng.normal(size=(12, 3)).astype("float32")]
    # (later, earlier) given in either order; touching; overlapping (nested).
    pairs = [numpy.asarray([[8, 10, 0, 2], [0, 2, 2, 3], [0, 4, 1, 2]])]
    layer = span_link_vectors()
    layer.initialize(X=(vectors, pairs))
    out, backprop = layer((vectors, pairs), is_train=True)
    v = vectors[0]
    assert out.shape == (3, 9 + N_DISTANCE_FEATURES)
    numpy.testing.assert_allclose(out[0, :9], numpy.concatenate([v[0:2].mean(0), v[8:10].mean(0), v[2:8].mean(0)]), rtol=1e-6)
    numpy.testing.assert_allclose(out[1, 6:9], 0.0)
    numpy.testing.assert_allclose(out[2, 6:9], 0.0)
    distance = out[:, 9:]
    assert distance.sum(1).tolist() == [1.0, 1.0, 1.0]
    # gap 6 -> bucket "5-7" (index 5); gap 0 -> index 0; overlap -> the last.
    assert numpy.argmax(distance, 1).tolist() == [5, 0, N_DISTANCE_FEATURES - 1]
    weights = rng.normal(size=out.shape).astype("float32")
    (d_vectors,) = backprop(ops.asarray2f(weights))
    assert not d_vectors[10:].any()
    eps = 1e-3
    for i, j in [(0, 0), (3, 1), (9, 2), (5, 0)]:
        bumped = [vectors[0].copy()]
        bumped[0][i, j] += eps
        up = (layer.predict((bumped, pairs)) * weights).sum()
        bumped[0][i, j] -= 2 * eps
        down = (layer.predict((bumped, pairs)) * weights).sum()
        assert d_vectors[i, j] == pytest.approx((up - down) / (2 * eps), rel=1e-2, abs=1e-3)


def test_ordered_span_link_vectors_keep_subject_first_and_flag_an_object_before_it():
    """A relation's span-pair context (span_pair_context): subject's mean,
    object's mean, the tokens between them wherever the two lie, the distance
    bucket, and one more feature that is 1 where the object comes first; so
    (s, o) and (o, s) differ, where the unordered link vectors are equal."""
    from spacy_globalpointer.ml.span_pairs import N_DISTANCE_FEATURES, span_link_vectors

    rng = numpy.random.default_rng(2)
    vectors = [rng.normal(size=(12, 3)).astype("float32")]
    pairs = [numpy.asarray([[8, 10, 0, 2], [0, 2, 8, 10]])]
    v = vectors[0]
    ordered = span_link_vectors(ordered=True)
    ordered.initialize(X=(vectors, pairs))
    assert ordered.get_dim("nO") == 9 + N_DISTANCE_FEATURES + 1
    out = ordered.predict((vectors, pairs))
    gap = v[2:8].mean(0)
    numpy.testing.assert_allclose(out[0, :9], numpy.concatenate([v[8:10].mean(0), v[0:2].mean(0), gap]), rtol=1e-6)
    numpy.testing.assert_allclose(out[1, :9], numpy.concatenate([v[0:2].mean(0), v[8:10].mean(0), gap]), rtol=1e-6)
    assert out[:, 9 + 5].tolist() == [1.0, 1.0]  # gap 6 both ways
    assert out[:, -1].tolist() == [1.0, 0.0]
    unordered = span_link_vectors()
    unordered.initialize(X=(vectors, pairs))
    both = unordered.predict((vectors, pairs))
    numpy.testing.assert_allclose(both[0], both[1])


def test_relation_span_pair_context_scores_the_order_of_a_pair():
    """GPLinker.v1 span_pair_context: the relation scorer reads the ordered
    context vectors, so a pair and its reverse get different logits."""
    from spacy_globalpointer.ml.span_pairs import span_pair_scorer

    rng = numpy.random.default_rng(3)
    vectors = [rng.normal(size=(12, 4)).astype("float32")]
    pairs = [numpy.asarray([[8, 10, 0, 2], [0, 2, 8, 10]])]
    scorer = span_pair_scorer(8, 3, context=True)
    scorer.initialize(X=(vectors, pairs))
    assert scorer.layers[0].name == "span_link_vectors"
    logits = scorer.predict((vectors, pairs))
    assert logits.shape == (2, 3)
    assert not numpy.allclose(logits[0], logits[1])


def test_span_link_vectors_scale_the_gradient_to_the_encoder_and_pass_zeros_at_0():
    """GPLinkerEvents link_encoder_grad_scale: the link loss's gradient to the
    token vectors times the scale; at 0 zeros of each doc's shape, so the
    encoder's callback still runs with nothing from the links."""
    from spacy_globalpointer.ml.span_pairs import span_link_vectors

    ops = NumpyOps()
    rng = numpy.random.default_rng(1)
    vectors = [rng.normal(size=(7, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")]
    pairs = [numpy.asarray([[0, 2, 4, 6]]), numpy.asarray([[3, 4, 0, 1]])]
    grads = {}
    for scale in (1.0, 0.25, 0.0):
        layer = span_link_vectors(scale)
        layer.initialize(X=(vectors, pairs))
        out, backprop = layer((vectors, pairs), is_train=True)
        grads[scale] = backprop(ops.asarray2f(numpy.ones(out.shape, dtype="float32")))
    assert [g.shape for g in grads[0.0]] == [(7, 3), (4, 3)]
    assert grads[1.0][0].any() and grads[1.0][1].any()
    for full, quarter, none in zip(grads[1.0], grads[0.25], grads[0.0]):
        numpy.testing.assert_allclose(quarter, 0.25 * full, rtol=1e-6)
        assert not none.any()


def test_link_encoder_grad_scale_outside_0_to_1_is_refused_with_its_code():
    from spacy_globalpointer.ml.models import build_gplinker_events_v2

    for value in (1.5, -0.1, True, "0.5"):
        with pytest.raises(ValueError, match="E042"):
            build_gplinker_events_v2(None, link_encoder_grad_scale=value)


def test_gplinker_v2_reads_the_context_by_default_and_v1_saved_without_the_key_loads_as_trained(tmp_path):
    """The factory's default model (GPLinker.v2) scores a pair with its context;
    a pipeline saved before span_pair_context existed (GPLinker.v1, no such key
    in its config) loads with the pair scorer it was trained with, and scores
    the same pairs the same."""
    import spacy
    from spacy.util import load_config

    nlp = spacy.blank("en")
    nlp.add_pipe("globalpointer")
    component = nlp.add_pipe("globalpointer_relations")
    assert nlp.get_pipe_config("globalpointer_relations")["model"]["@architectures"] == "spacy-globalpointer.GPLinker.v2"
    assert component.model.get_ref("span_pairs").layers[0].name == "span_link_vectors"

    nlp = build_rel_nlp(**{
        "components.globalpointer_relations.model.@architectures": "spacy-globalpointer.GPLinker.v1",
        "components.globalpointer_relations.model.span_pair_context": False,
    })
    examples = make_rel_examples(nlp)
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("globalpointer_relations").model.get_ref("span_pairs").layers[0].name == "span_pair_vectors"
    doc = nlp(REL_DATA[0][0])
    pairs = [numpy.asarray([[0, 1, 3, 5], [3, 5, 0, 1]])]
    expected = nlp.get_pipe("globalpointer_relations").model.predict(([doc], None, pairs))[0][2]
    nlp.to_disk(tmp_path / "model")
    config = load_config(tmp_path / "model" / "config.cfg")
    del config["components"]["globalpointer_relations"]["model"]["span_pair_context"]
    config.to_disk(tmp_path / "model" / "config.cfg")
    loaded = spacy.load(tmp_path / "model")
    model = loaded.get_pipe("globalpointer_relations").model
    assert model.get_ref("span_pairs").layers[0].name == "span_pair_vectors"
    numpy.testing.assert_allclose(model.predict(([loaded(REL_DATA[0][0])], None, pairs))[0][2], expected, rtol=1e-5)


def test_calibration_on_predicted_entities_scores_what_the_decoder_finds_end_to_end(trained_span_pairs):
    """calibration_entities = "predicted": the candidates are the triples the
    decoder finds among the predicted spans (their logits), and each gold
    triple counts with its decoded logit, or -inf where its spans were not
    predicted (missed at every threshold). "gold", or docs without predicted
    spans: the gold entities' pairs, where every gold triple has a score."""
    from spacy_globalpointer.extensions import relation_records

    nlp, examples = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    egs = _rescored(nlp, examples)
    doc = egs[0].predicted
    dropped = next(s for s in doc.spans["sc"] if s.label_ == "PER")  # Ana Ferreira: works_for's head
    doc.spans["sc"] = [s for s in doc.spans["sc"] if s is not dropped and s != dropped]
    candidates, golds = dict(component._inference_calibration_decisions(egs))["threshold"]
    low = component._calibrator().lowest
    for eg, doc_candidates, doc_golds in zip(egs, candidates, golds):
        decoded = component._decoded(component._predict([eg.predicted])[0], low)
        numpy.testing.assert_allclose(numpy.sort(doc_candidates), numpy.sort([d[3] for d in decoded]))
        logits = {d[:3]: d[3] for d in decoded}
        gold = {(h, p, t) for h, p, t, _ in relation_records(eg.reference)}
        assert len(doc_golds) == len(gold)
        expected = sorted(logits.get(triple, -numpy.inf) for triple in gold)
        numpy.testing.assert_allclose(numpy.sort(doc_golds), expected)
    # The dropped span's triple is missed; the trained model finds the others.
    assert numpy.isinf(golds[0]).sum() == 1 and numpy.isfinite(golds[0]).sum() == len(golds[0]) - 1
    assert all(numpy.isfinite(g).all() for g in golds[1:])

    saved = component.cfg["calibration_entities"]
    try:
        component.cfg["calibration_entities"] = "gold"
        _, gold_golds = dict(component._inference_calibration_decisions(egs))["threshold"]
    finally:
        component.cfg["calibration_entities"] = saved
    assert all(numpy.isfinite(g).all() for g in gold_golds)
    del egs[1].predicted.spans["sc"]  # nothing upstream wrote spans: the gold pairs
    _, fallback_golds = dict(component._inference_calibration_decisions(egs))["threshold"]
    assert all(numpy.isfinite(g).all() for g in fallback_golds)


def test_triples_decoded_at_a_low_threshold_and_cut_are_those_decoded_at_the_higher_one(trained_span_pairs):
    """What calibration relies on: a triple's presence depends on its own logit alone."""
    nlp, examples = trained_span_pairs
    component = nlp.get_pipe("globalpointer_relations")
    predictions = component._predict([eg.predicted for eg in _rescored(nlp, examples)])
    low = component._calibrator().lowest
    for prediction in predictions:
        everything = component._decoded(prediction, low)
        for threshold in (low, -1.0, 0.0, 1.0, 3.0):
            assert sorted(d for d in everything if d[3] > threshold) == sorted(component._decoded(prediction, threshold))


def test_relations_cfg_calibrates_on_predicted_entities_and_the_earlier_systems_pin_gold():
    from spacy_globalpointer.pipeline.relations import make_globalpointer_relations
    import inspect
    from pathlib import Path
    from thinc.api import Config

    project = Path(__file__).resolve().parents[1] / "project"
    for name in ("relations.cfg", "relations_trf.cfg"):
        config = Config().from_disk(project / "configs" / name)
        assert config["components"]["globalpointer_relations"]["calibration_entities"] == "predicted"
    assert "calibration_entities" in inspect.signature(make_globalpointer_relations).parameters
    assert build_rel_nlp().get_pipe("globalpointer_relations").cfg["calibration_entities"] == "predicted"
