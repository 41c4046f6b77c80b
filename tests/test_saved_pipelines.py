"""A saved pipeline with all three components: the evaluate command prints the
relation and event scores (issue 18.3), and damaged component folders or bytes
raise coded errors naming the component and the file (issue 18.5)."""
import json
import shutil
import subprocess
import sys

import pytest
import spacy
import srsly
import torch
from spacy.tokens import DocBin, Span
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_globalpointer import Event, Relation
from conftest import TINY_CNN

COMPONENTS = ("globalpointer", "globalpointer_relations", "globalpointer_events")
# (text, entities in tokens, relations (head index, predicate, tail index),
#  events (type, trigger, [(role, span)])).
DATA = [
    (
        "Corvane hired Rui Costa in Lisbon .",
        [(0, 1, "ORG"), (2, 4, "PER"), (5, 6, "LOC")],
        [(1, "works_for", 0), (1, "lives_in", 2)],
        [("Hiring", (1, 2), [("employer", (0, 1)), ("employee", (2, 4))])],
    ),
    (
        "Ana moved to Porto .",
        [(0, 1, "PER"), (3, 4, "LOC")],
        [(0, "lives_in", 1)],
        [("Move", (1, 2), [("person", (0, 1)), ("destination", (3, 4))])],
    ),
]


def build_nlp():
    nlp = spacy.blank("en")
    heads = {
        "globalpointer": {"@architectures": "spacy-globalpointer.GlobalPointer.v1", "pooling_size": 0},
        "globalpointer_relations": {"@architectures": "spacy-globalpointer.GPLinker.v1"},
        "globalpointer_events": {"@architectures": "spacy-globalpointer.GPLinkerEvents.v1", "pooling_size": 0},
    }
    for name in COMPONENTS:
        nlp.add_pipe(name, config={"model": {**heads[name], "head_size": 16, "tok2vec": dict(TINY_CNN)}})
    return nlp


def make_examples(nlp):
    examples = []
    for text, entities, relations, events in DATA:
        doc = nlp.make_doc(text)
        ref = doc.copy()
        spans = [Span(ref, s, e, label=label) for s, e, label in entities]
        ref.spans["sc"] = spans
        ref._.relations = [Relation(spans[h], p, spans[t]) for h, p, t in relations]
        ref._.events = [
            Event(kind, Span(ref, *trigger, label=kind), tuple((r, Span(ref, *sp, label=r)) for r, sp in args))
            for kind, trigger, args in events
        ]
        examples.append(Example(doc, ref))
    return examples


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained tokens-to-events pipeline on disk and its gold docs."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    folder = tmp_path_factory.mktemp("saved")
    nlp.to_disk(folder / "model")
    DocBin(store_user_data=True, docs=[eg.reference for eg in examples]).to_disk(folder / "gold.spacy")
    return folder


def test_the_evaluate_command_prints_relation_and_event_scores(saved):
    out = saved / "scores.json"
    result = subprocess.run(
        [sys.executable, "-m", "spacy_globalpointer.cli.evaluate", str(saved / "model"), str(saved / "gold.spacy"),
         "--output", str(out)],
        capture_output=True, text=True, cwd=saved,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = result.stdout
    scores = json.loads(out.read_text())
    # spaCy's own tables first, then ours, then the JSON (the same keys as spaCy writes).
    assert text.index("Results") < text.index("SPANS (per type)") < text.index("RELATIONS") < text.index("Saved results")
    for title in ("RELATIONS (per predicate)", "EVENTS (per event type)"):
        assert title in text
    lines = text.splitlines()

    def row(name):
        found = [line for line in lines if line.startswith(name + " ")]
        assert len(found) == 1, (name, text)
        return found[0].split()[-3:]

    for name, prefix in (
        ("strict", "relations_micro"), ("boundary (no entity labels)", "relations_boundary"),
        ("trigger classification", "events_trigger_cls"), ("argument classification", "events_argument_cls"),
        ("events (exact match)", "events"),
    ):
        assert row(name) == [f"{scores[f'{prefix}_{k}'] * 100:.2f}" for k in "prf"]
    for predicate, prf in scores["relations_per_type"].items():
        assert row(predicate) == [f"{prf[k] * 100:.2f}" for k in "prf"]
    assert set(scores["relations_per_type"]) == {"lives_in", "works_for"}
    assert set(scores["events_per_type"]) == {"Hiring", "Move"}
    for event_type in scores["events_per_type"]:
        row(event_type)


def _damage(path, how):
    if how == "delete cfg":
        (path / "cfg").unlink()
    elif how == "delete model":
        (path / "model").unlink()
    elif how == "truncate model":
        data = (path / "model").read_bytes()
        (path / "model").write_bytes(data[: len(data) // 2])
    elif how == "truncate cfg":
        data = (path / "cfg").read_bytes()
        (path / "cfg").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("name", COMPONENTS)
@pytest.mark.parametrize(
    "how,code,file",
    [("delete cfg", "E150", "cfg"), ("delete model", "E150", "model"), ("truncate model", "E151", "model"),
     ("truncate cfg", "E151", "cfg")],
)
def test_a_damaged_folder_names_the_component_and_the_file(saved, tmp_path, name, how, code, file):
    copy = tmp_path / "model"
    shutil.copytree(saved / "model", copy)
    _damage(copy / name, how)
    with pytest.raises(ValueError, match=rf"\[{code}\] Cannot load the component '{name}'") as err:
        spacy.load(copy)
    message = str(err.value)
    assert str(copy / name / file) in message
    assert "nlp.to_disk" in message  # what to do next


@pytest.mark.parametrize("name", COMPONENTS)
def test_damaged_component_bytes_raise_e152(saved, name):
    nlp = spacy.load(saved / "model")
    data = nlp.get_pipe(name).to_bytes()
    for damaged, part in ((data[: len(data) // 2], "not what `to_bytes()` wrote"), (b"", "not what `to_bytes()` wrote")):
        with pytest.raises(ValueError, match=rf"\[E152\] Cannot load the component '{name}' from bytes") as err:
            build_nlp().get_pipe(name).from_bytes(damaged)
        assert part in str(err.value)
    # A readable cfg beside damaged weights: the error names the weights.
    parts = srsly.msgpack_loads(data)
    parts["model"] = parts["model"][: len(parts["model"]) // 2]
    with pytest.raises(ValueError, match=r"\[E152\].*'model' part \(the weights\)"):
        build_nlp().get_pipe(name).from_bytes(srsly.msgpack_dumps(parts))
    # Intact bytes still load.
    fresh = build_nlp()
    fresh.get_pipe(name).from_bytes(data)
    assert fresh.get_pipe(name).labels == nlp.get_pipe(name).labels
