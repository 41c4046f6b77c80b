"""The globalpointer_events component: decoding, training, round trips, bad input."""
import time
import warnings

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import Config, fix_random_seed

from spacy_globalpointer import Event
from spacy_globalpointer.decoding import linked_groups
from spacy_globalpointer.pipeline.event_structure import (
    ANY_TYPE, TRIGGER_ROLE, event_label, mentioned_events, output_decisions, predictable_labels, type_arguments,
)

from conftest import check_multiprocess, check_round_trips

CONFIG = {"max_argument_width": 8, "max_pair_distance": 16}
TINY_TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {
        "@architectures": "spacy.MultiHashEmbed.v2", "width": 32, "rows": [500, 100, 100, 100],
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "include_static_vectors": False,
    },
    "encode": {
        "@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 32, "window_size": 1,
        "maxout_pieces": 2, "depth": 2,
    },
}
# (text, [(type, trigger (start, end) or None, [(role, (start, end))])]) in token offsets.
EVENT_DATA = [
    (
        "Corvane bought Lumo and Vexa bought Orbit in 2020 .",
        [
            ("Acquisition", (1, 2), [("buyer", (0, 1)), ("target", (2, 3)), ("time", (8, 9))]),
            ("Acquisition", (5, 6), [("buyer", (4, 5)), ("target", (6, 7)), ("time", (8, 9))]),
        ],
    ),
    (
        "Rui Costa left the University of Porto Medical School in May .",
        [("Departure", (2, 3), [("person", (0, 2)), ("org", (4, 9)), ("place", (6, 7)), ("time", (10, 11))])],
    ),
    ("Ana sold the Porto office to Rui .", [("Sale", (1, 2), [("seller", (0, 1)), ("item", (3, 5)), ("buyer", (6, 7))])]),
    ("Nothing happened here .", []),
    ("Vexa bought Lumo .", [("Acquisition", (1, 2), [("buyer", (0, 1)), ("target", (2, 3))])]),
]


def make_event_examples(nlp, data=EVENT_DATA):
    examples = []
    for text, events in data:
        doc = nlp.make_doc(text)
        ref = doc.copy()
        ref._.events = [
            Event(
                event_type,
                None if trigger is None else Span(ref, *trigger, label=event_type),
                tuple((role, Span(ref, *span, label=role)) for role, span in arguments),
            )
            for event_type, trigger, arguments in events
        ]
        examples.append(Example(doc, ref))
    return examples


def build_events_nlp(model_settings=None, **config):
    """A small events pipeline; model_settings override the model's own settings."""
    nlp = spacy.blank("en")
    model = {
        "@architectures": "spacy-globalpointer.GPLinkerEvents.v2", "head_size": 32,
        "pooling_size": 8, "tok2vec": TINY_TOK2VEC, **(model_settings or {}),
    }
    nlp.add_pipe("globalpointer_events", config={**CONFIG, "model": model, **config})
    return nlp


def overfit(nlp, steps=100):
    """Initialize on the tiny event data and train on it; RETURNS its examples."""
    examples = make_event_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return examples


def event_tuples(doc):
    return sorted(
        (e.label, (e.trigger.start, e.trigger.end), tuple((r, s.start, s.end) for r, s in e.arguments))
        for e in doc._.events
    )


@pytest.fixture(scope="module")
def trained_events():
    """GPLinker's own form: one label per (event type, role), links decided by
    the start and end link cells."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp(model_settings={"link_pair_width": 0}, argument_labels="typed")
    examples = make_event_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(100):
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


@pytest.fixture(scope="module")
def trained_role_events():
    """Trained with argument_labels = "roles" (the default): Acquisition and
    Sale share the role 'buyer', every type shares 'time' where it has it."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp()
    assert nlp.get_pipe("globalpointer_events").cfg["argument_labels"] == "roles"
    examples = make_event_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(100):
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


# Decoding


def test_linked_groups_are_the_maximal_cliques():
    # 0-1-2 a triangle, 2-3 linked, 4 alone
    groups = linked_groups(5, [(0, 1), (1, 2), (0, 2), (2, 3)])
    assert groups == [(0, 1, 2), (2, 3), (4,)]


def test_linked_groups_stay_bounded():
    n = 60
    links = [(a, b) for a in range(n) for b in range(a + 1, n) if (a + b) % 3]
    start = time.time()
    groups = linked_groups(n, links, max_groups=50)
    assert len(groups) <= 50 and time.time() - start < 2.0


def decode(component, n_tokens, arguments, linked):
    """Hand-made link matrices: `linked` lists pairs of argument indices to link."""
    layout = component.link_layout
    starts = numpy.full((1, n_tokens, layout.n_columns(n_tokens)), -5.0, dtype="float32")
    ends = starts.copy()
    for a, b in linked:
        (row_s,), (col_s,), (row_e,), (col_e,) = component._link_cells(
            *(numpy.asarray([v]) for v in (*arguments[a][1], *arguments[b][1])), n_tokens
        )
        assert col_s >= 0 and col_e >= 0  # the hand-made link lies inside the matrices
        starts[0, row_s, col_s] = 3.0
        ends[0, row_e, col_e] = 3.0
    return component._decode_events(arguments, starts, ends)


def test_decoding_two_events_of_one_type_with_a_shared_argument():
    component = build_events_nlp().get_pipe("globalpointer_events")
    args = [
        (("Acquisition", TRIGGER_ROLE), (1, 2), 2.0),
        (("Acquisition", "buyer"), (0, 1), 2.0),
        (("Acquisition", TRIGGER_ROLE), (5, 6), 2.0),
        (("Acquisition", "buyer"), (4, 5), 2.0),
        (("Acquisition", "time"), (8, 9), 2.0),  # shared by both events
    ]
    records = decode(component, 10, args, [(0, 1), (0, 4), (1, 4), (2, 3), (2, 4), (3, 4)])
    events = sorted((r[0], r[1], r[2]) for r in records)
    assert events == [
        ("Acquisition", (1, 2, "Acquisition"), (("buyer", (0, 1, "buyer")), ("time", (8, 9, "time")))),
        ("Acquisition", (5, 6, "Acquisition"), (("buyer", (4, 5, "buyer")), ("time", (8, 9, "time")))),
    ]


def test_decoding_drops_a_group_without_a_trigger_and_keeps_types_apart():
    component = build_events_nlp().get_pipe("globalpointer_events")
    args = [
        (("Sale", "seller"), (0, 1), 2.0),
        (("Sale", "item"), (3, 5), 2.0),  # linked to the seller, but no trigger: no event
        (("Attack", TRIGGER_ROLE), (6, 7), 2.0),
        (("Attack", "target"), (7, 8), 2.0),
    ]
    # a link across types is never used: cliques are per event type
    records = decode(component, 9, args, [(0, 1), (2, 3), (1, 3)])
    assert [(r[0], r[1]) for r in records] == [("Attack", (6, 7, "Attack"))]
    assert records[0][2] == (("target", (7, 8, "target")),)


def test_decoding_link_exactly_at_the_threshold_does_not_link():
    component = build_events_nlp().get_pipe("globalpointer_events")
    component.cfg["link_threshold"] = 3.0  # the hand-made links score exactly 3.0
    args = [(("Sale", TRIGGER_ROLE), (1, 2), 2.0), (("Sale", "seller"), (0, 1), 2.0)]
    records = decode(component, 4, args, [(0, 1)])
    assert [r[2] for r in records] == [()]


def test_role_arguments_take_the_types_of_the_triggers_in_their_window():
    arguments = [
        (("Sale", TRIGGER_ROLE), (1, 2), 2.0),
        (("Acquisition", TRIGGER_ROLE), (5, 6), 1.0),
        ((ANY_TYPE, "buyer"), (0, 1), 3.0),
        ((ANY_TYPE, "item"), (3, 4), 0.5),
        ((ANY_TYPE, "buyer"), (9, 10), 0.7),  # window 1: no trigger there
    ]
    windows = numpy.asarray([0, 0, 0, 0, 1])
    roles_of = {"Sale": {"buyer", "item"}, "Acquisition": {"buyer", "target"}}
    typed, typed_windows = type_arguments(arguments, windows, roles_of)
    assert typed == [
        (("Sale", TRIGGER_ROLE), (1, 2), 2.0),
        (("Acquisition", TRIGGER_ROLE), (5, 6), 1.0),
        (("Acquisition", "buyer"), (0, 1), 3.0),
        (("Sale", "buyer"), (0, 1), 3.0),
        (("Sale", "item"), (3, 4), 0.5),  # Acquisition never had an item
    ]
    assert typed_windows.tolist() == [0, 0, 0, 0, 0]
    # Recorded before roles were: every type may take every role.
    typed, _ = type_arguments(arguments, windows, None)
    assert (("Acquisition", "item"), (3, 4), 0.5) in typed
    # What the scorer's W011 check counts as trainable: triggers and the trained pairs.
    labels = [event_label("Sale", TRIGGER_ROLE), event_label(ANY_TYPE, "buyer")]
    assert predictable_labels(labels, "roles", [["Sale", "buyer"]]) == ["Sale::trigger", "Sale::buyer"]
    assert predictable_labels(labels, "typed", None) == labels


# Training and scoring


def test_overfits_to_event_f1_1(trained_events):
    nlp, examples = trained_events
    scores = nlp.evaluate(examples)
    for key in (
        "events_trigger_id_f", "events_trigger_cls_f", "events_argument_id_f",
        "events_argument_cls_f", "events_f",
    ):
        assert scores[key] == 1.0, (key, scores)
    assert set(scores["events_per_type"]) == {"Acquisition", "Departure", "Sale"}
    doc = nlp(EVENT_DATA[0][0])
    # Two events of one type in a sentence, sharing the argument "2020".
    assert len(doc._.events) == 2
    assert all(any(r == "time" and s.text == "2020" for r, s in e.arguments) for e in doc._.events)
    # The arguments are also in doc.spans, label = role, event type in kb_id.
    group = doc.spans["events"]
    assert ("trigger", "Acquisition") in {(s.label_, s.kb_id_) for s in group}
    assert len(group.attrs["scores"]) == len(group)


def test_shared_role_labels_overfit_to_event_f1_1_and_round_trip(trained_role_events, tmp_path):
    nlp, examples = trained_role_events
    component = nlp.get_pipe("globalpointer_events")
    assert event_label(ANY_TYPE, "buyer") in component.labels
    assert event_label("Sale", TRIGGER_ROLE) in component.labels
    assert not any(label.startswith("Sale::") and not label.endswith(TRIGGER_ROLE) for label in component.labels)
    assert component.roles_of["Sale"] == {"seller", "item", "buyer"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every gold (type, role) was trained: no W011
        scores = nlp.evaluate(examples)
    for key in ("events_trigger_cls_f", "events_argument_cls_f", "events_f"):
        assert scores[key] == 1.0, (key, scores)
    doc = nlp(EVENT_DATA[2][0])
    assert {(s.label_, s.kb_id_) for s in doc.spans["events"]} >= {("buyer", "Sale"), ("seller", "Sale")}
    check_round_trips(
        nlp, [t for t, _ in EVENT_DATA], event_tuples, lambda d: [e.score for e in d._.events],
        build_events_nlp(), tmp_path / "model",
    )


@pytest.mark.parametrize("link_rope", [False, True])
def test_link_rope_makes_link_scores_depend_on_distance(link_rope):
    """With link_rope the start/end link matrices see how far apart two tokens
    are: pairs of identical token vectors score alike without it, not with it."""
    nlp = build_events_nlp(model_settings={"pooling_size": 0, "link_rope": link_rope, "link_pair_width": 0})
    examples = make_event_examples(nlp)
    nlp.initialize(lambda: examples)
    component = nlp.get_pipe("globalpointer_events")
    doc = nlp.make_doc(" ".join(["same"] * 16))  # tokens 3-12 have identical vectors (window 1, depth 2)
    vectors = component.model.get_ref("tok2vec").predict([doc])[0]
    assert numpy.allclose(vectors[4], vectors[8])
    (_, start_links, end_links), = component.predict([doc])
    n = len(doc)
    for links in (start_links, end_links):
        columns = component.link_layout.columns(numpy.full(5, 4), numpy.arange(4, 9), n)
        row = component.model.ops.to_numpy(links)[0, 4, columns]
        assert numpy.allclose(row, row[0], atol=1e-5) != link_rope, row


def test_link_rope_overfits_and_round_trips(tmp_path):
    torch.set_num_threads(1)
    fix_random_seed(0)

    def build():
        return build_events_nlp(model_settings={"link_rope": True, "link_pair_width": 0})

    nlp = build()
    examples = overfit(nlp)
    scores = nlp.evaluate(examples)
    assert scores["events_f"] == 1.0 and scores["events_coevent_pair_f"] == 1.0, scores
    check_round_trips(
        nlp, [t for t, _ in EVENT_DATA], event_tuples, lambda d: [e.score for e in d._.events], build(),
        tmp_path / "model",
    )


def test_nested_arguments_are_predicted(trained_events):
    nlp, _ = trained_events
    (event,) = nlp(EVENT_DATA[1][0])._.events
    spans = {role: (span.start, span.end) for role, span in event.arguments}
    assert spans["org"] == (4, 9) and spans["place"] == (6, 7)


def test_round_trips(trained_events, tmp_path):
    nlp, _ = trained_events
    texts = [t for t, _ in EVENT_DATA]
    check_round_trips(
        nlp, texts, event_tuples, lambda d: [e.score for e in d._.events],
        build_events_nlp(model_settings={"link_pair_width": 0}, argument_labels="typed"), tmp_path / "model",
    )


def test_a_pipeline_trained_with_typed_labels_decodes_them_whatever_its_config_says(trained_events, tmp_path):
    """The label encoding is learned: a pipeline saved before argument_labels
    existed (trained "typed"; the default is now "roles") or loaded with the
    other value still decodes as it was trained. Saved before link_pair_width
    existed (its config has no such key), it loads with the link cells it was
    trained with: the architecture's own default is 0."""
    nlp, _ = trained_events
    texts = [t for t, _ in EVENT_DATA]
    expected = [event_tuples(d) for d in nlp.pipe(texts)]
    assert any(expected)
    path = tmp_path / "model"
    nlp.to_disk(path)
    config = Config().from_disk(path / "config.cfg")
    del config["components"]["globalpointer_events"]["argument_labels"]
    model_config = config["components"]["globalpointer_events"]["model"]
    model_config["@architectures"] = "spacy-globalpointer.GPLinkerEvents.v1"
    del model_config["link_pair_width"]
    config.to_disk(path / "config.cfg")
    saved = srsly.read_json(path / "globalpointer_events" / "cfg")
    del saved["argument_labels"]
    srsly.write_json(path / "globalpointer_events" / "cfg", saved)
    for overrides in ({}, {"components.globalpointer_events.argument_labels": "roles"}):
        loaded = spacy.load(path, config=overrides)
        assert loaded.get_pipe("globalpointer_events").cfg["argument_labels"] == "typed"
        assert [event_tuples(d) for d in loaded.pipe(texts)] == expected


def test_multiprocess_pipe_equals_single_process(trained_events):
    nlp, _ = trained_events
    check_multiprocess(nlp, [t for t, _ in EVENT_DATA], event_tuples)


def test_scores_compare_through_the_alignment():
    """Reference tokenised differently from the prediction still scores exact matches."""
    nlp = spacy.blank("en")
    from spacy_globalpointer.pipeline.event_scorer import score_events

    pred = nlp.make_doc("Ana sold the office")
    ref = Doc(nlp.vocab, words=["Ana", "so", "ld", "the", "office"], spaces=[True, False, True, True, False])
    pred._.events = [Event("Sale", Span(pred, 1, 2, "Sale"), (("seller", Span(pred, 0, 1, "seller")), ("item", Span(pred, 2, 4, "item"))))]
    ref._.events = [Event("Sale", Span(ref, 1, 3, "Sale"), (("seller", Span(ref, 0, 1, "seller")), ("item", Span(ref, 3, 5, "item"))))]
    scores = score_events([Example(pred, ref)])
    assert scores["events_argument_cls_f"] == 1.0 and scores["events_f"] == 1.0
    assert scores["events_trigger_id_f"] == 1.0
    # A wrong role: identification still right, classification not.
    pred._.events = [Event("Sale", Span(pred, 1, 2, "Sale"), (("buyer", Span(pred, 0, 1, "buyer")),))]
    scores = score_events([Example(pred, ref)])
    assert scores["events_argument_id_p"] == 1.0 and scores["events_argument_cls_p"] == 0.0
    assert scores["events_f"] == 0.0
    # A predicted argument that does not align with the reference is a false positive.
    fine = Doc(nlp.vocab, words=["Ana", "so", "ld", "the", "office"], spaces=[True, False, True, True, False])
    coarse = nlp.make_doc("Ana sold the office")
    coarse._.events = [Event("Sale", Span(coarse, 1, 2, "Sale"), (("seller", Span(coarse, 0, 1, "seller")),))]
    fine._.events = [Event("Sale", Span(fine, 1, 3, "Sale"), (("seller", Span(fine, 0, 1, "seller")), ("item", Span(fine, 2, 3, "item"))))]
    scores = score_events([Example(fine, coarse)])  # "ld" lies inside the reference token "sold"
    assert scores["events_argument_cls_p"] == 0.5 and scores["events_argument_cls_r"] == 1.0


# Bad input


def test_unknown_role_at_update_names_it_and_the_fix():
    nlp = build_events_nlp()
    examples = make_event_examples(nlp)
    nlp.initialize(lambda: examples)
    bad = make_event_examples(nlp, [("Ana sold it .", [("Sale", (1, 2), [("price", (2, 3))])])])
    with pytest.raises(ValueError, match=r"E027\].*'Sale'.*'price'"):
        nlp.update(bad)


def test_gold_events_without_trigger_are_kept_and_counted():
    nlp = build_events_nlp()
    data = EVENT_DATA + [("Lumo was sold .", [("Sale", None, [("item", (0, 1))])])]
    examples = make_event_examples(nlp, data)
    with pytest.warns(UserWarning, match=r"W007\].*1 events have no trigger"):
        nlp.initialize(lambda: examples)
    nlp.update(examples)  # no crash: the arguments still train


def test_misaligned_and_too_wide_arguments_are_counted():
    nlp = build_events_nlp(max_argument_width=2)
    doc = nlp.make_doc("Rui Costa left the University of Porto Medical School in May .")
    ref = Doc(nlp.vocab, words=["Rui", "Cos", "ta", "left", "the", "University", "of", "Porto", "Medical", "School", "in", "May", "."],
              spaces=[True, False, True, True, True, True, True, True, True, True, True, False, False])
    ref._.events = [Event("Departure", Span(ref, 3, 4, "Departure"), (("person", Span(ref, 0, 2, "person")), ("org", Span(ref, 4, 10, "org"))))]
    with pytest.warns(UserWarning, match=r"W007\].*1 arguments do not align.*1 are wider than max_argument_width=2"):
        nlp.initialize(lambda: [Example(doc, ref)])


@pytest.mark.parametrize("text", ["", "x", " "])
def test_empty_and_one_token_docs(trained_events, text):
    nlp, _ = trained_events
    doc = nlp(text)
    assert doc._.events == [] or all(e.trigger is not None for e in doc._.events)
    nlp.update([Example(nlp.make_doc(text), nlp.make_doc(text))])


def test_flood_of_arguments_on_an_untrained_model_is_bounded():
    nlp = build_events_nlp(threshold=-1e3, link_threshold=-1e3, max_pair_distance=None)
    nlp.initialize(lambda: make_event_examples(nlp))
    text = " ".join(["Corvane bought Lumo and Vexa"] * 60)
    start = time.time()
    with pytest.warns(UserWarning, match=r"W009") as caught:
        doc = nlp(text)
    assert time.time() - start < 5.0
    # One window (no sentence boundaries), no distance bound: the cap keeps exactly
    # max_arguments, and W009 counts decoded arguments, not their typed copies.
    limit = nlp.get_pipe("globalpointer_events").cfg["max_arguments"]
    import re

    cut, total = map(int, re.search(r"(\d+) of (\d+) arguments", str(caught[-1].message)).groups())
    assert total - cut == limit, str(caught[-1].message)
    assert len({(s.start, s.end, s.label_) for s in doc.spans["events"]}) <= limit


@pytest.mark.parametrize(
    "setting,value,code",
    [
        ("max_arguments", 0, "E024"), ("max_pair_distance", -1, "E024"), ("max_argument_width", 0, "E024"),
        ("threshold", float("nan"), "E025"), ("link_threshold", float("inf"), "E025"), ("torch_threads", 0, "E024"), ("loss_rows", "cells", "E012"),
        ("argument_labels", "shared", "E040"), ("candidate_link_weight", -1.0, "E041"), ("event_grouping", "trigger", "E034"),
        ("candidate_link_weight", True, "E041"), ("overlapping_arguments", "nms", "E044"),
        ("calibration_arguments", "output", "E046"),
    ],
)
def test_bad_settings_are_refused(setting, value, code):
    from spacy_globalpointer import GlobalPointerEvents

    model = build_events_nlp().get_pipe("globalpointer_events").model
    with pytest.raises(ValueError, match=code):
        GlobalPointerEvents(spacy.blank("en").vocab, model, **{setting: value})


def test_bad_labels_are_refused():
    component = build_events_nlp().get_pipe("globalpointer_events")
    with pytest.raises(ValueError, match="E028"):
        component.add_label("no separator")
    assert component.add_label(event_label("Sale", "seller")) == 1


def test_grouping_by_type_is_the_links_ablation():
    component = build_events_nlp().get_pipe("globalpointer_events")
    args = [
        (("Acquisition", TRIGGER_ROLE), (1, 2), 2.0),
        (("Acquisition", "buyer"), (0, 1), 2.0),
        (("Acquisition", TRIGGER_ROLE), (5, 6), 2.0),
        (("Acquisition", "buyer"), (4, 5), 2.0),
    ]
    assert len(decode(component, 8, args, [(0, 1), (2, 3)])) == 2
    component.cfg["event_grouping"] = "types"
    (record,) = decode(component, 8, args, [(0, 1), (2, 3)])
    assert len(record[2]) == 2  # both buyers, one event


def test_gold_that_looks_wrong_is_counted_and_no_events_names_doc_events():
    nlp = build_events_nlp()
    examples = make_event_examples(nlp)
    ref = examples[2].reference
    event = ref._.events[0]
    ref._.events = [event, Event(event.label, event.trigger, event.arguments + event.arguments[:1])]
    with pytest.warns(UserWarning) as record:
        nlp.initialize(lambda: examples)
    (message,) = [str(w.message) for w in record if "W010" in str(w.message)]
    assert "gold arguments (triggers included) are listed twice in their event" in message
    empty = build_events_nlp()
    plain = [Example(nlp.make_doc(t), nlp.make_doc(t)) for t, _ in EVENT_DATA]
    with pytest.raises(ValueError, match=r"E002.*events in `doc._.events`.*store_user_data=True"):
        empty.initialize(lambda: plain)


def test_coevent_pair_scores_count_the_arguments_put_together():
    """Two gold events of one type; the prediction merges them into one: exact
    match 0, co-event pairs say how many pairs it still got right."""
    from spacy_globalpointer.pipeline.event_scorer import score_events

    nlp = build_events_nlp()
    (gold_eg,) = make_event_examples(nlp, [EVENT_DATA[0]])
    predicted = nlp.make_doc(EVENT_DATA[0][0])
    span = lambda s, e, l: Span(predicted, s, e, label=l)  # noqa: E731
    predicted._.events = [Event("Acquisition", span(1, 2, "Acquisition"), (
        ("buyer", span(0, 1, "buyer")), ("target", span(2, 3, "target")), ("time", span(8, 9, "time")),
        ("buyer", span(4, 5, "buyer")),
    ))]
    scores = score_events([Example(predicted, gold_eg.reference)])
    assert scores["events_f"] == 0.0
    # Gold: 2 events x C(4, 2) = 12 pairs; predicted: C(5, 2) = 10, of which the 6 of
    # the first event and (second buyer, shared time) of the second are right.
    assert scores["events_coevent_pair_p"] == pytest.approx(7 / 10)
    assert scores["events_coevent_pair_r"] == pytest.approx(7 / 12)


def test_candidate_cells_merge_pairs_that_share_a_cell():
    """Two pairs of spans with the same starts share one start cell: it is gold
    where either pair shares an event, as in the full-matrix gold."""
    from spacy_globalpointer.pipeline.events import END_LINKS, START_LINKS, CandidateLinks, candidate_cells

    links = CandidateLinks(
        numpy.asarray([0, 0, 2]), numpy.asarray([3, 3, 1]), numpy.asarray([1, 2, 4]), numpy.asarray([2, 1, 1]),
        numpy.asarray([False, True, False]), numpy.zeros((3, 4), dtype="int64"),
    )
    cells, positive = candidate_cells(links, START_LINKS, 10)
    assert cells.tolist() == [3, 21] and positive.tolist() == [True, False]
    cells, positive = candidate_cells(links, END_LINKS, 10)
    assert cells.tolist() == [12, 21, 41] and positive.tolist() == [False, True, False]


def test_candidate_link_loss_trains_the_pairs_decoding_tries():
    """With candidate_link_weight the loss gains a term over pairs of gold
    arguments: it pushes a same-event pair's cells up and a pair of arguments
    from two events of one type down, and touches no other cell."""
    fix_random_seed(0)
    nlp = build_events_nlp(candidate_link_weight=1.0)
    component = nlp.get_pipe("globalpointer_events")
    examples = make_event_examples(nlp)
    nlp.initialize(lambda: examples)
    baseline = build_events_nlp(candidate_link_weight=0.0).get_pipe("globalpointer_events")
    baseline.cfg.update({k: v for k, v in component.cfg.items() if k != "candidate_link_weight"})
    eg = examples[0]  # two Acquisition events: buyers (0, 1) and (4, 5)
    # Scored as update scores them (the training pairs, not decoded ones).
    scores = component.model.predict(component._scoring_input([eg]))
    loss, (d_with,) = component.get_loss([eg], scores)
    base_loss, (d_without,) = baseline.get_loss([eg], scores)
    assert loss > base_loss
    extra = component.model.ops.to_numpy(d_with[1] - d_without[1])[0]
    layout = component.link_layout
    same_event = (0, layout.column(0, 1, len(eg.predicted)))  # buyer (0, 1) and trigger (1, 2)
    other_event = (0, layout.column(0, 4, len(eg.predicted)))  # buyer (0, 1) and buyer (4, 5)
    assert extra[same_event] < 0 < extra[other_event]
    shared_time = (1, layout.column(1, 8, len(eg.predicted)))  # trigger (1, 2) and time (8, 9)
    assert extra[shared_time] < 0
    assert (extra != 0).sum() <= len(component._candidate_links(eg, component.aligned_gold(eg)).together)


def test_candidate_link_loss_overfits_to_event_f1_1():
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp(candidate_link_weight=1.0)
    examples = overfit(nlp)
    scores = nlp.evaluate(examples)
    assert scores["events_f"] == 1.0 and scores["events_coevent_pair_f"] == 1.0, scores


def test_span_pair_links_overfit_decide_the_links_and_round_trip(tmp_path):
    """GPLinkerEvents link_pair_width > 0 (v2's default): span-pair link logits decide
    which arguments are linked (the cells no longer do), and the pipeline
    overfits and round-trips."""
    torch.set_num_threads(1)
    fix_random_seed(0)

    def build():
        return build_events_nlp(model_settings={"link_pair_width": 32})

    nlp = build()
    # v2 keeps the scorer's loss from the encoder (link_encoder_grad_scale 0.0); v1 passes it all.
    assert nlp.get_pipe("globalpointer_events").model.get_ref("link_pairs").layers[0].attrs["encoder_grad_scale"] == 0.0
    v1 = build_events_nlp(model_settings={"@architectures": "spacy-globalpointer.GPLinkerEvents.v1", "link_pair_width": 32})
    assert v1.get_pipe("globalpointer_events").model.get_ref("link_pairs").layers[0].attrs["encoder_grad_scale"] == 1.0
    examples = overfit(nlp)
    scores = nlp.evaluate(examples)
    assert scores["events_f"] == 1.0 and scores["events_coevent_pair_f"] == 1.0, scores
    component = nlp.get_pipe("globalpointer_events")
    doc = nlp.make_doc(EVENT_DATA[0][0])
    with nlp.select_pipes(disable=["globalpointer_events"]):
        doc = nlp(doc)
    (doc_scores,) = component.predict([doc])
    assert len(doc_scores) == 4
    no_cells = tuple(numpy.full_like(component.model.ops.to_numpy(m), -100.0) for m in doc_scores[1:3])
    component.set_annotations([doc], [(doc_scores[0], *no_cells, doc_scores[3])])
    assert event_tuples(doc) == event_tuples(nlp(EVENT_DATA[0][0])) and len(doc._.events) == 2
    unlinked = numpy.full_like(component.model.ops.to_numpy(doc_scores[3]), -100.0)
    component.set_annotations([doc], [(*doc_scores[:3], unlinked)])
    assert all(not e.arguments for e in doc._.events)
    check_round_trips(
        nlp, [t for t, _ in EVENT_DATA], event_tuples, lambda d: [e.score for e in d._.events], build(),
        tmp_path / "model",
    )


def test_an_extra_trigger_mentions_the_event_it_overlaps_or_the_only_one_of_its_type():
    gold = [
        ("Attack", [(TRIGGER_ROLE, (2, 4)), ("victim", (5, 6))]),
        ("Attack", [(TRIGGER_ROLE, (10, 11)), ("victim", (12, 13))]),
        ("Sale", [(TRIGGER_ROLE, (20, 21)), ("buyer", (22, 23))]),
        ("Sale", [("buyer", (40, 41))]),  # no trigger: nothing overlaps it
    ]
    windows = [0, 0, 1, 2]
    triggers = [
        ("Attack", (3, 5), 0),  # overlaps the first Attack's trigger
        ("Attack", (7, 8), 0),  # two Attacks in its window, overlaps neither: none
        ("Sale", (24, 25), 1),  # the only Sale of its window
        ("Sale", (30, 31), 3),  # no Sale in its window
        ("Attack", (20, 21), 1),  # a Sale's trigger span, but no Attack there
    ]
    assert mentioned_events(gold, windows, triggers) == [0, None, 2, None, None]


def test_the_argument_threshold_decides_what_the_output_holds():
    """The argument threshold is calibrated on the output's (type, role, span):
    a role counts at no more than the best trigger of its type in its window,
    one without such a trigger is no decision, a gold item never decoded is
    -inf; at each threshold the counts are what the output's argument and
    trigger F1 count."""
    arguments = [
        (("Attack", TRIGGER_ROLE), (2, 3), 1.5),
        (("Attack", TRIGGER_ROLE), (7, 8), -0.5),
        (("Attack", "victim"), (4, 5), 3.0),  # capped by the trigger's 1.5
        (("Attack", "place"), (0, 1), -1.0),
        (("Sale", "buyer"), (5, 6), 2.0),  # no Sale trigger in its window
        (("Attack", "victim"), (10, 11), 2.0),  # window 1: no trigger there
        (("Attack", "place"), (0, 1), -2.0),  # the same item again: its best score
    ]
    windows = numpy.asarray([0, 0, 0, 0, 0, 1, 0])
    gold = {("Attack", TRIGGER_ROLE, (2, 3)), ("Attack", "victim", (4, 5)), ("Attack", "time", (9, 10))}
    candidates, golds = output_decisions(arguments, windows, gold)
    assert sorted(candidates.tolist()) == [-1.0, -0.5, 1.5, 1.5]
    assert sorted(golds.tolist()) == [-numpy.inf, 1.5, 1.5]


def test_best_non_overlapping_keeps_one_span_per_overlapping_set_of_one_label_and_window():
    """overlapping_arguments = "best": the best-scoring span of an overlapping
    set of one label in one window; other labels may nest, other windows and
    touching spans are apart, and what is kept over a threshold is what is
    kept at a lower one that passes it (calibration decodes at its floor)."""
    from spacy_globalpointer.decoding import DecodedSpans, best_non_overlapping

    labels = numpy.asarray([0, 0, 0, 1, 0, 0, 0])  # 0: place, 1: org
    spans = [(4, 9), (6, 7), (5, 9), (4, 9), (9, 10), (6, 7), (0, 2)]
    logits = numpy.asarray([1.0, 2.0, 0.5, 0.2, 0.1, 3.0, -1.0], dtype="float32")
    windows = numpy.asarray([0, 0, 0, 0, 0, 1, 0])

    def best(rows):
        decoded = DecodedSpans(labels[rows], numpy.asarray([spans[i][0] for i in rows], dtype="int64"),
                               numpy.asarray([spans[i][1] for i in rows], dtype="int64"), logits[rows])
        groups = numpy.stack([labels[rows], windows[rows]], axis=1) if len(rows) else numpy.zeros((0, 2), dtype="int64")
        return [rows[j] for j in best_non_overlapping(decoded, groups=groups)]

    # (6, 7) beats (4, 9) and (5, 9), which overlap it; org nests; (9, 10)
    # touches (5, 9) without overlapping; window 1 is another set.
    assert best(list(range(7))) == [1, 3, 4, 5, 6]
    for threshold in (-2.0, 0.0, 0.15, 1.5):
        above = [i for i in range(7) if logits[i] > threshold]
        assert best(above) == [i for i in [1, 3, 4, 5, 6] if logits[i] > threshold]
    assert best([]) == []


def test_overlapping_arguments_all_is_gplinkers_every_span(trained_events):
    """The trained sample pipeline under "all" and "best": the same events
    where it found no overlapping spans of one role; "best" is the factory's."""
    nlp, examples = trained_events
    component = nlp.get_pipe("globalpointer_events")
    assert component.cfg["overlapping_arguments"] == "best"
    best = [sorted(map(repr, nlp(eg.reference.text)._.events)) for eg in examples]
    try:
        component.cfg["overlapping_arguments"] = "all"
        every = [sorted(map(repr, nlp(eg.reference.text)._.events)) for eg in examples]
    finally:
        component.cfg["overlapping_arguments"] = "best"
    assert best == every
    assert nlp.evaluate(examples)["events_f"] == 1.0


def test_predicted_triggers_join_the_link_candidates_with_the_event_they_mention():
    """link_predicted_triggers: the triggers the argument head decodes beyond
    the gold ones become link candidates of the scoring pass, linked to the
    event they mention again (here the only Departure of the sentence) and to
    nothing else; the loss and the calibration read the same candidates."""
    nlp = build_events_nlp(link_predicted_triggers=True)
    component = nlp.get_pipe("globalpointer_events")
    examples = make_event_examples(nlp)
    component.initialize(lambda: examples, nlp=nlp)
    eg = examples[1]  # Rui Costa left ... : trigger (2, 3)
    gold = component.aligned_gold(eg)
    plain = component._candidate_links(eg, gold)
    label = component.labels.index(event_label("Departure", TRIGGER_ROLE))
    (doc_scores,) = component.model.get_ref("head").predict(component.model.get_ref("tok2vec").predict([eg.predicted]))
    arg_scores = numpy.full_like(component.model.ops.to_numpy(doc_scores[0]), -50.0)
    layout = component.argument_layout
    for start, end in ((2, 3), (1, 3)):  # the gold trigger and an extra one
        arg_scores[label, start, layout.column(start, end - 1, len(eg.predicted))] = 5.0
    links = component._links_with_predicted_triggers(eg, component.model.ops.asarray3f(arg_scores))
    assert component.candidate_links(eg) is links
    pairs = [tuple(p) for p in links.spans.tolist()]
    extra = [k for k, (s1, e1, s2, e2) in enumerate(pairs) if (1, 3) in ((s1, e1), (s2, e2))]
    members = {span for _, span in gold.events[0][1]}
    assert len(pairs) == len(plain.spans) + len(extra) and len(extra) == len(members)
    assert all(links.together[k] for k in extra)
    assert links.together.sum() == plain.together.sum() + len(extra)


def test_link_predicted_triggers_without_a_span_pair_scorer_is_refused():
    with pytest.raises(ValueError, match="E043"):
        build_events_nlp(model_settings={"link_pair_width": 0}, link_predicted_triggers=True)


def test_link_predicted_triggers_overfits_to_event_f1_1():
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp(link_predicted_triggers=True)
    examples = overfit(nlp)
    scores = nlp.evaluate(examples)
    assert scores["events_f"] == 1.0 and scores["events_coevent_pair_f"] == 1.0, scores


def test_grouping_by_triggers_lets_links_choose_only_between_triggers():
    """event_grouping "triggers": each trigger takes the arguments linked to it
    (argument-argument links play no part); an argument linked to no trigger
    joins the trigger it is best linked to, so with one trigger it is the
    ablation, and a missing link never splits an event as in a clique."""
    component = build_events_nlp(event_grouping="triggers").get_pipe("globalpointer_events")
    args = [
        (("Acquisition", TRIGGER_ROLE), (1, 2), 2.0),
        (("Acquisition", "buyer"), (0, 1), 2.0),
        (("Acquisition", TRIGGER_ROLE), (5, 6), 2.0),
        (("Acquisition", "buyer"), (4, 5), 2.0),
        (("Acquisition", "time"), (8, 9), 2.0),  # linked to both triggers: in both events
    ]
    records = decode(component, 10, args, [(0, 1), (2, 3), (0, 4), (2, 4)])
    assert sorted((r[1], r[2]) for r in records) == [
        ((1, 2, "Acquisition"), (("buyer", (0, 1, "buyer")), ("time", (8, 9, "time")))),
        ((5, 6, "Acquisition"), (("buyer", (4, 5, "buyer")), ("time", (8, 9, "time")))),
    ]
    # One trigger, no link at all: every argument joins it (cliques: none would).
    alone = [args[0], args[1], args[4]]
    (record,) = decode(component, 10, alone, [])
    assert record[2] == (("buyer", (0, 1, "buyer")), ("time", (8, 9, "time")))
    component.cfg["event_grouping"] = "cliques"
    assert decode(component, 10, alone, [])[0][2] == ()
    # Two triggers, an argument linked to neither: it joins the better-linked one.
    component.cfg["event_grouping"] = "triggers"
    layout = component.link_layout
    starts = numpy.full((1, 10, layout.n_columns(10)), -5.0, dtype="float32")
    ends = starts.copy()
    for trigger, logit in (((5, 6), -1.0), ((1, 2), -3.0)):  # buyer (4, 5) is nearer the second
        (row_s,), (col_s,), (row_e,), (col_e,) = component._link_cells(
            *(numpy.asarray([v]) for v in (4, 5, *trigger)), 10
        )
        starts[0, row_s, col_s] = ends[0, row_e, col_e] = logit
    records = component._decode_events([args[0], args[2], args[3]], starts, ends)
    assert sorted((r[1], r[2]) for r in records) == [
        ((1, 2, "Acquisition"), ()), ((5, 6, "Acquisition"), (("buyer", (4, 5, "buyer")),)),
    ]


def test_the_factory_default_decides_links_by_span_pairs():
    """nlp.add_pipe("globalpointer_events") with no model config gets
    GPLinkerEvents.v2's span-pair link scorer; v1 keeps the link cells."""
    nlp = spacy.blank("en")
    assert nlp.add_pipe("globalpointer_events").has_link_pairs
    v1 = {"@architectures": "spacy-globalpointer.GPLinkerEvents.v1", "tok2vec": TINY_TOK2VEC}
    assert not spacy.blank("en").add_pipe("globalpointer_events", config={"model": v1}).has_link_pairs


def test_link_threshold_levels_are_where_the_passing_links_change():
    from spacy_globalpointer.pipeline.event_structure import link_threshold_levels

    # Logits at or below the floor never pass; above the top, all pass alike.
    assert link_threshold_levels([-5.0, -1.0, 0.5, 0.5, 3.0], -4.0, 2.0) == [-4.0, -1.0, 0.5]
    assert link_threshold_levels([], -4.0, 2.0) == [-4.0]


@pytest.mark.parametrize("argument_labels", ["roles", "typed"])
def test_link_calibration_on_predicted_arguments_counts_the_outputs_coevent_pairs(argument_labels):
    """calibration_arguments = "predicted": at every link threshold of the
    grid, the decisions above it are the co-event pairs the output holds when
    decoded there, and the gold ones above it those the scorer matches: the
    calibrator's F1 is `events_coevent_pair_f`. "gold" keeps the gold
    arguments' pairs."""
    from spacy_globalpointer.pipeline.event_scorer import score_events

    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp(argument_labels=argument_labels)
    examples = overfit(nlp, steps=20)  # part-trained: link logits inside the grid
    component = nlp.get_pipe("globalpointer_events")
    assert component.cfg["calibration_arguments"] == "predicted"
    egs = [Example(nlp.make_doc(eg.reference.text), eg.reference) for eg in examples]
    decisions = list(component._inference_calibration_decisions(egs))
    # The argument threshold, the link threshold on gold pairs, then on the output.
    assert [setting for setting, _ in decisions] == ["threshold", "link_threshold", "link_threshold"]
    counts = decisions[-1][1]
    assert counts.predicted.shape == counts.correct.shape == (len(egs), len(component._calibrator("link_threshold").grid))
    n_gold = counts.n_gold.sum()
    scores = component.predict([eg.predicted for eg in egs])
    grid = component._calibrator("link_threshold").grid
    checked = set()
    for point, threshold in enumerate(grid):
        component.cfg["calibrated"]["link_threshold"] = float(threshold)
        docs = [eg.predicted.copy() for eg in egs]
        component.set_annotations(docs, scores)
        expected = score_events([Example(doc, eg.reference) for doc, eg in zip(docs, egs)])
        predicted, correct = counts.predicted[:, point].sum(), counts.correct[:, point].sum()
        f1 = 2 * correct / (predicted + n_gold) if predicted + n_gold else 0.0
        assert f1 == pytest.approx(expected["events_coevent_pair_f"] or 0.0), threshold
        checked.add(predicted)
    assert len(checked) > 1  # the threshold changed what the output holds
    component._calibrators.clear()
    component._calibrate_counts(counts, "link_threshold", reference=float(grid[0]))
    assert component.threshold("link_threshold") in grid

    component.cfg["calibration_arguments"] = "gold"
    decisions = list(component._inference_calibration_decisions(egs))
    assert [setting for setting, _ in decisions] == ["threshold", "link_threshold"]
    _, gold_pairs = decisions[-1][1]  # scores per pair
    assert all(numpy.isfinite(g).all() for g in gold_pairs)


def test_events_cfgs_and_the_factory_calibrate_links_on_predicted_arguments():
    from pathlib import Path

    from thinc.api import Config

    project = Path(__file__).resolve().parents[1] / "project"
    for name in ("events.cfg", "events_trf.cfg"):
        config = Config().from_disk(project / "configs" / name)
        assert config["components"]["globalpointer_events"]["calibration_arguments"] == "predicted"
    nlp = spacy.blank("en")
    assert nlp.add_pipe("globalpointer_events").cfg["calibration_arguments"] == "predicted"


def test_events_recalibrate_benchmark_runs_the_components_calibration(tmp_path):
    """benchmarks/events_recalibrate.py, as its docstring runs it: the
    held-out training docs' thresholds, then dev scores for both groupings."""
    import subprocess
    import sys
    from pathlib import Path

    from spacy.tokens import DocBin

    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_events_nlp()
    examples = overfit(nlp, steps=20)
    nlp.to_disk(tmp_path / "model")
    # Enough docs with events that some are held out (one text in 20 by hash):
    # the data with its first word varied (the token offsets stay).
    data = DocBin(store_user_data=True)
    for n in range(60):
        varied = [(f"W{n} " + text.split(" ", 1)[1], events) for text, events in EVENT_DATA]
        for eg in make_event_examples(nlp, varied):
            data.add(eg.reference)
    data.to_disk(tmp_path / "train.spacy")
    dev = DocBin(store_user_data=True, docs=[eg.reference for eg in examples])
    dev.to_disk(tmp_path / "dev.spacy")
    script = Path(__file__).resolve().parents[1] / "project" / "benchmarks" / "events_recalibrate.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model"), str(tmp_path / "train.spacy"), str(tmp_path / "dev.spacy")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("held-out docs") and "after {'threshold'" in lines[0] and "'link_threshold'" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["cliques", "types"]
