"""Project smoke test for events: the `events` workflow on the shipped events
sample, and the sample itself.

The workflow runs once per module in a copy of project/ as the READMEs show it
(default steps, through the CLI): it checks that every command runs, writes
what it promises and scores what the READMEs quote.
"""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from weasel.util import load_project_config

from spacy_globalpointer.extensions import event_records, install_extensions

from test_project import PROJECT_DIR, check_readme_figures, copy_project, load_make_sample, run_workflow

EV_FILES = (("sample_events_train.jsonl", 200), ("sample_events_dev.jsonl", 60))
ROLES = {
    "Acquisition": {"buyer", "target", "time"},
    "Hiring": {"employer", "employee", "time"},
    "Move": {"person", "origin", "destination"},
}
PACKAGE = "en_globalpointer_events_sample-0.0.1"

event_properties = load_make_sample().event_properties


def read_records(name):
    text = (PROJECT_DIR / "assets" / name).read_text(encoding="utf8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def ran_events(tmp_path_factory) -> Path:
    return run_workflow(copy_project(tmp_path_factory.mktemp("project_events")), "events")


def test_events_scores_what_the_readmes_quote(ran_events):
    check_readme_figures(ran_events, "events")


def test_events_convert_with_user_data(ran_events):
    install_extensions()
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(ran_events / "corpus" / "events_dev.spacy").get_docs(nlp.vocab))
    records = read_records("sample_events_dev.jsonl")
    assert len(docs) == len(records) == 60
    for doc, rec in zip(docs, records):
        # Every event survives the DocBin, with the sample's character offsets.
        got = sorted(
            (label, (doc[t[0]].idx, doc[t[1] - 1].idx + len(doc[t[1] - 1])),
             sorted((role, doc[s:e].start_char, doc[s:e].end_char) for role, (s, e, _) in args))
            for label, t, args, _ in event_records(doc)
        )
        want = sorted(
            (e["label"], (e["trigger"]["start"], e["trigger"]["end"]),
             sorted((a["role"], a["start"], a["end"]) for a in e["arguments"]))
            for e in rec["events"]
        )
        assert got == want, rec["text"]
        for label, trigger, args, _ in event_records(doc):
            assert trigger[2] == label and all(span[2] == role for role, span in args)
    stats = json.loads((ran_events / "corpus" / "events_dev_stats.json").read_text(encoding="utf8"))
    assert stats["events_skipped_total"] == 0 and stats["arguments_skipped_total"] == 0
    assert stats["events_read"] == stats["events_written"] == sum(len(r["events"]) for r in records)
    assert set(stats["events_by_label"]) == set(ROLES)
    assert "events" not in stats["ignored_keys"]


def test_convert_counts_misaligned_triggers_and_arguments(tmp_path):
    rec = {"text": "Kestrel bought Lumio in 2020.", "events": [
        {"label": "Acquisition", "trigger": {"start": 8, "end": 14},
         "arguments": [{"role": "buyer", "start": 0, "end": 5}, {"role": "target", "start": 15, "end": 20}]},
        {"label": "Acquisition", "trigger": {"start": 8, "end": 12}, "arguments": [{"role": "time", "start": 24, "end": 28}]},
    ]}
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps(rec) + "\n", encoding="utf8")
    out = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "convert.py"), str(src), str(tmp_path / "bad.spacy"),
         "--lang", "en", "--events", "--stats-json", str(tmp_path / "stats.json")],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "buyer 'Kestr' [0:5]" in out.stdout and "Acquisition 'boug' [8:12]" in out.stdout
    ev = json.loads((tmp_path / "stats.json").read_text(encoding="utf8"))
    assert (ev["events_read"], ev["events_written"], ev["events_skipped_total"]) == (2, 1, 1)
    assert (ev["arguments_read"], ev["arguments_written"], ev["arguments_skipped_total"]) == (3, 1, 2)
    assert ev["arguments_skipped"] == {"misaligned (strict)": 1, "its event was skipped": 1}
    install_extensions()
    (doc,) = DocBin().from_disk(tmp_path / "bad.spacy").get_docs(spacy.blank("en").vocab)
    (event,) = doc._.events
    assert event.trigger.text == "bought" and [(r, s.text) for r, s in event.arguments] == [("target", "Lumio")]


def test_events_write_metrics_and_per_type_table(ran_events):
    metrics = json.loads((ran_events / "metrics" / "events.json").read_text(encoding="utf8"))
    for kind in ("events_trigger_id", "events_trigger_cls", "events_argument_id", "events_argument_cls", "events",
                 "events_coevent_pair"):
        for k in ("p", "r", "f"):
            assert isinstance(metrics[f"{kind}_{k}"], float), f"{kind}_{k}"
    assert isinstance(metrics["events_per_type"], dict)
    table = (ran_events / "metrics" / "events_per_type.md").read_text(encoding="utf8")
    assert "| event type | gold | predicted | P | R | F |" in table
    n_gold = sum(len(r["events"]) for r in read_records("sample_events_dev.jsonl"))
    for label in ROLES:
        assert re.search(rf"^\| {label} \| [1-9]\d* \| \d+ \|", table, re.M), label
    assert re.search(rf"^\| \*\*all \(micro\)\*\* \| {n_gold} \| \d+ \|", table, re.M)
    for row in ("trigger identification", "trigger classification", "argument identification",
                "argument classification", "events (type, trigger, every argument)", "co-event argument pairs"):
        assert re.search(rf"^\| {re.escape(row)}[^|]* \| [\d.-]+ \| [\d.-]+ \| [\d.-]+ \|$", table, re.M), row


def test_events_html_draws_triggers_with_role_arcs(ran_events):
    html = (ran_events / "visualize" / "events.html").read_text(encoding="utf8")
    assert html.index("Doc 1: predicted") < html.index("Doc 1: gold") < html.index("Doc 2: predicted")
    gold = html.split("Doc 1: gold")[1].split("Doc 2:")[0]
    assert 'class="event-arc"' in gold and 'marker-end="url(#arrow)"' in gold
    roles = re.findall(r'class="event-label"[^>]*>([a-z]+)<', gold)
    assert roles and set(roles) <= set().union(*ROLES.values())
    # The richest gold doc comes first: two events, so two triggers labelled with their type.
    bar_labels = re.findall(r'class="span-label"[^>]*>([A-Za-z]+)<', gold)
    assert sum(label in ROLES for label in bar_labels) >= 2, bar_labels
    # Nested or shared arguments put bars on two or more rows.
    assert len(set(re.findall(r'class="span-bar" x="[\d.]+" y="(\d+)"', gold))) >= 2
    # Every arc starts at a trigger: its hover text names the event type.
    titles = re.findall(r'class="event-arc"[^>]*><title>([^<]+)</title>', gold)
    assert titles and all(t.split(":")[0] in ROLES for t in titles)


def test_events_build_wheel_requiring_our_package(ran_events):
    package_dir = ran_events / "packages" / PACKAGE
    assert [w.name for w in (package_dir / "dist").glob("*.whl")] == [f"{PACKAGE}-py3-none-any.whl"]
    requirements = srsly.read_json(package_dir / "meta.json")["requirements"]
    assert any(req.startswith("spacy-globalpointer") for req in requirements), requirements
    nlp = spacy.load(package_dir / "en_globalpointer_events_sample" / PACKAGE)
    assert nlp.pipe_names == ["sentencizer", "tok2vec", "globalpointer_events"]
    # A paragraph of two sentences: an event in each, none across them.
    doc = nlp("Kestrel bought Lumio in 2020. Anna Novak moved from Oslo to Porto.")
    assert [(e.label, e.trigger.text) for e in doc._.events] == [("Acquisition", "bought"), ("Move", "moved")]
    assert all(s.sent == e.trigger.sent for e in doc._.events for _, s in e.arguments)


def test_events_workflow_resolves():
    config = load_project_config(PROJECT_DIR, overrides={"vars.ev_max_steps": 7})
    commands = {cmd["name"]: cmd for cmd in config["commands"]}
    assert config["workflows"]["events"] == [
        "convert-events", "train-events", "evaluate-events", "visualize-events", "package-events"
    ]
    assert "--training.max_steps 7" in commands["train-events"]["script"][0]
    assert "--gpu-id -1" in commands["train-events"]["script"][0]
    assert all("--events" in line for line in commands["convert-events"]["script"])
    shipped = {a["dest"]: a.get("checksum") for a in config["assets"] if not a.get("extra")}
    for name, _ in EV_FILES:
        data = (PROJECT_DIR / "assets" / name).read_bytes()
        assert shipped[f"assets/{name}"] == hashlib.md5(data).hexdigest(), name


@pytest.mark.parametrize("name,n_docs", EV_FILES)
def test_events_sample_has_every_shape(name, n_docs):
    records = read_records(name)
    assert len(records) == n_docs
    found = {prop: 0 for prop in event_properties(records[0])}
    nlp = spacy.blank("en")
    for rec in records:
        for prop, present in event_properties(rec).items():
            found[prop] += present
        doc = nlp.make_doc(rec["text"])
        for event in rec["events"]:
            assert doc.char_span(event["trigger"]["start"], event["trigger"]["end"]) is not None
            for arg in event["arguments"]:
                assert arg["role"] in ROLES[event["label"]]
                assert doc.char_span(arg["start"], arg["end"]) is not None, rec["text"]
    assert all(found.values()), found
    assert {e["label"] for rec in records for e in rec["events"]} == set(ROLES)
    triggers = {rec["text"][e["trigger"]["start"]:e["trigger"]["end"]] for rec in records for e in rec["events"]}
    assert {"bought", "acquired", "hired", "moved"} <= triggers


def test_events_sample_properties_are_what_they_say():
    """event_properties on hand-made records, so the sample check above means something."""
    text = "Anna Novak moved to the Cork office of Kestrel after being hired in 2011."
    rec = {"text": text, "events": [
        {"label": "Move", "trigger": {"start": 11, "end": 16},
         "arguments": [{"role": "person", "start": 0, "end": 10}, {"role": "destination", "start": 24, "end": 46}]},
        {"label": "Hiring", "trigger": {"start": 59, "end": 64},
         "arguments": [{"role": "employee", "start": 0, "end": 10}, {"role": "employer", "start": 39, "end": 46}]},
    ]}
    props = event_properties(rec)
    assert props["nested arguments"] and props["argument in two events"]
    assert not props["two events of one type"] and not props["no events"]
    rec["events"][1]["label"] = "Move"
    assert event_properties(rec)["two events of one type"]
    assert event_properties({"text": "Nothing happened.", "events": []}) == {
        "two events of one type": False, "argument in two events": False, "nested arguments": False, "no events": True,
    }


def test_events_sample_is_reproducible(tmp_path):
    """make-sample rewrites all six shipped files (spans, relations, events) byte for byte."""
    script = PROJECT_DIR / "scripts" / "make_sample.py"
    names = ["sample_train.jsonl", "sample_dev.jsonl", "sample_relations_train.jsonl",
             "sample_relations_dev.jsonl", "sample_events_train.jsonl", "sample_events_dev.jsonl"]
    out = [tmp_path / name for name in names]
    result = subprocess.run(
        [sys.executable, str(script), str(out[0]), str(out[1]), "--seed", "0",
         "--rel-train", str(out[2]), "--rel-dev", str(out[3]), "--ev-train", str(out[4]), "--ev-dev", str(out[5])],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in out:
        assert path.read_bytes() == (PROJECT_DIR / "assets" / path.name).read_bytes(), path.name
