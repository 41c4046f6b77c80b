"""Project smoke test for relations: the `relations` workflow on the shipped
relations sample, and the sample itself.

The workflow runs once per module in a copy of project/ as the READMEs show it
(default steps, through the CLI): it checks that every command runs, writes
what it promises and scores what the READMEs quote.
"""
import hashlib
import json
import re
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from weasel.util import load_project_config

from spacy_globalpointer.extensions import install_extensions, relation_records

from test_project import PROJECT_DIR, check_readme_figures, copy_project, load_make_sample, run_workflow

REL_FILES = (("sample_relations_train.jsonl", 200), ("sample_relations_dev.jsonl", 60))
PREDICATES = ("founded", "located_in", "lives_in", "part_of", "partner_of", "works_for")
PACKAGE = "en_globalpointer_relations_sample-0.0.1"

relation_properties = load_make_sample().relation_properties


@pytest.fixture(scope="module")
def ran_relations(tmp_path_factory) -> Path:
    return run_workflow(copy_project(tmp_path_factory.mktemp("project_relations")), "relations")


def test_relations_scores_what_the_readmes_quote(ran_relations):
    check_readme_figures(ran_relations, "relations")


def test_relations_converts_with_user_data(ran_relations):
    install_extensions()
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(ran_relations / "corpus" / "relations_dev.spacy").get_docs(nlp.vocab))
    assert len(docs) == 60
    assert sum(len(relation_records(doc)) for doc in docs) > 60
    for doc in docs:
        spans = {(sp.start, sp.end, sp.label_) for sp in doc.spans["sc"]}
        for head, _, tail, _ in relation_records(doc):
            assert head in spans and tail in spans
    stats = json.loads((ran_relations / "corpus" / "relations_dev_stats.json").read_text(encoding="utf8"))
    assert stats["relations_skipped_total"] == 0
    assert stats["relations_read"] == stats["relations_written"] > 0
    assert "relations" not in stats["ignored_keys"]


def test_relations_writes_metrics_and_predicate_table(ran_relations):
    metrics = json.loads((ran_relations / "metrics" / "relations.json").read_text(encoding="utf8"))
    for key in ("relations_micro_f", "relations_micro_p", "relations_micro_r",
                "relations_boundary_f", "relations_boundary_p", "relations_boundary_r", "spans_sc_f"):
        assert isinstance(metrics[key], float), key
    assert isinstance(metrics["relations_per_type"], dict)
    table = (ran_relations / "metrics" / "relations_per_predicate.md").read_text(encoding="utf8")
    assert "| predicate | gold | predicted | P | R | F |" in table
    for predicate in PREDICATES:
        # Every predicate has gold relations in dev, whatever the model predicts.
        assert re.search(rf"^\| {predicate} \| [1-9]\d* \| \d+ \|", table, re.M), predicate
    assert re.search(r"^\| \*\*all \(micro\)\*\* \| 92 \| \d+ \|", table, re.M)
    assert "| strict |" in table and "| boundary (entity labels ignored) |" in table
    assert "| entities (doc.spans['sc']) |" in table


def test_relations_html_draws_arcs_between_stacked_spans(ran_relations):
    html = (ran_relations / "visualize" / "relations.html").read_text(encoding="utf8")
    assert "Doc 1: predicted" in html and "Doc 1: gold" in html
    assert html.index("Doc 1: predicted") < html.index("Doc 1: gold") < html.index("Doc 2: predicted")
    gold = html.split("Doc 1: gold")[1].split("Doc 2:")[0]
    assert 'class="relation-arc"' in gold and 'marker-end="url(#arrow)"' in gold
    labels = set(re.findall(r'class="relation-label"[^>]*>([a-z_]+)<', gold))
    assert labels and labels <= set(PREDICATES)
    # The richest gold doc comes first: nested spans on two or more bar rows.
    rows = set(re.findall(r'class="span-bar" x="[\d.]+" y="(\d+)"', gold))
    assert len(rows) >= 2, rows


def test_relations_builds_wheel_requiring_our_package(ran_relations):
    package_dir = ran_relations / "packages" / PACKAGE
    wheels = [w.name for w in (package_dir / "dist").glob("*.whl")]
    assert wheels == [f"{PACKAGE}-py3-none-any.whl"]
    requirements = srsly.read_json(package_dir / "meta.json")["requirements"]
    assert any(req.startswith("spacy-globalpointer") for req in requirements), requirements
    nlp = spacy.load(package_dir / "en_globalpointer_relations_sample" / PACKAGE)
    assert nlp.pipe_names == ["sentencizer", "tok2vec", "globalpointer", "globalpointer_relations"]
    # A paragraph of two sentences: relations found in each, none across them.
    doc = nlp("Leila Rosen lives near Krakow with two dogs and a cat. Port of Valencia Authority has worked with Greyline Media since 2022.")
    found = {(r.head.text, r.label, r.tail.text) for r in doc._.relations}
    assert {("Leila Rosen", "lives_in", "Krakow"), ("Port of Valencia Authority", "located_in", "Valencia")} <= found
    assert all(r.head.sent == r.tail.sent for r in doc._.relations)


def test_relations_workflow_resolves():
    config = load_project_config(PROJECT_DIR, overrides={"vars.rel_max_steps": 7})
    commands = {cmd["name"]: cmd for cmd in config["commands"]}
    assert config["workflows"]["relations"] == [
        "convert-relations", "train-relations", "evaluate-relations", "visualize-relations", "package-relations"
    ]
    assert "--training.max_steps 7" in commands["train-relations"]["script"][0]
    assert "--gpu-id -1" in commands["train-relations"]["script"][0]
    shipped = {a["dest"]: a.get("checksum") for a in config["assets"] if not a.get("extra")}
    for name, _ in REL_FILES:
        data = (PROJECT_DIR / "assets" / name).read_bytes()
        assert shipped[f"assets/{name}"] == hashlib.md5(data).hexdigest(), name


@pytest.mark.parametrize("name,n_docs", REL_FILES)
def test_relations_sample_has_every_shape(name, n_docs):
    records = [json.loads(line) for line in (PROJECT_DIR / "assets" / name).read_text(encoding="utf8").splitlines()]
    assert len(records) == n_docs
    found = {prop: 0 for prop in relation_properties(records[0])}
    for rec in records:
        for prop, present in relation_properties(rec).items():
            found[prop] += present
    assert all(found.values()), found
    assert {r["label"] for rec in records for r in rec["relations"]} == set(PREDICATES)


def test_relations_sample_properties_are_what_they_say():
    """relation_properties on hand-made records, so the sample check above means something."""
    rec = {
        "text": "University of Lisbon Medical School",
        "spans": [{"start": 0, "end": 35, "label": "ORG"}, {"start": 0, "end": 20, "label": "ORG"},
                  {"start": 14, "end": 20, "label": "LOC"}],
        "relations": [{"head": 0, "tail": 1, "label": "part_of"}, {"head": 1, "tail": 2, "label": "located_in"}],
    }
    props = relation_properties(rec)
    assert props["nested"] and props["shared start"] and props["entity in several relations"]
    assert not props["both directions"] and not props["no relations"]
    rec["relations"].append({"head": 1, "tail": 0, "label": "partner_of"})
    assert relation_properties(rec)["both directions"]
    flat = {"text": "Anna met Tomas", "spans": [{"start": 0, "end": 4, "label": "PER"},
                                                {"start": 9, "end": 14, "label": "PER"}], "relations": []}
    props = relation_properties(flat)
    assert props["no relations"] and not props["nested"] and not props["shared start"]


# The relations files' reproducibility is checked with all six files in
# test_project_events.test_events_sample_is_reproducible.
