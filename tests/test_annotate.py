"""`annotate`: both engines equal nlp.pipe, resumption, failed records, the schema.

One tiny spans + relations + events pipeline (with an entity_ruler for ents) is
trained per module and saved; a local Ray with 2 CPUs starts once per module.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import torch
from spacy.tokens import DocBin
from thinc.api import fix_random_seed

from spacy_globalpointer.annotate import annotate, doc_to_record
from spacy_globalpointer.annotate import engines as engines_module

from test_events import build_events_nlp, make_event_examples
from test_relations import REL_DATA, build_rel_nlp, make_rel_examples

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ray = pytest.importorskip("ray")

REPO = Path(__file__).parent.parent
TEXTS = [text for text, _, _ in REL_DATA] + [
    "Corvane bought Lumo and Vexa bought Orbit in 2020 .",
    "Vexa bought Lumo .",
    "Ana sold the Porto office to Rui .",
    "Nothing happened here .",
    "Rui Costa works for Corvane in Lisbon .",
    "",
    "Ana Ferreira teaches at the University of Porto in Porto .",
    "Lisbon is far from Porto .",
    "Vexa bought Orbit in 2020 and Corvane hired Rui Costa .",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """tok2vec + globalpointer + globalpointer_relations, then globalpointer_events
    (its own tok2vec) and an entity_ruler: every column of the record gets values."""
    torch.set_num_threads(1)
    fix_random_seed(0)
    nlp = build_rel_nlp()
    examples = make_rel_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(80):
        nlp.update(examples, sgd=optimizer)
    events_nlp = build_events_nlp()
    event_examples = make_event_examples(events_nlp)
    optimizer = events_nlp.initialize(lambda: event_examples)
    for _ in range(60):
        events_nlp.update(event_examples, sgd=optimizer)
    nlp.add_pipe("globalpointer_events", source=events_nlp)
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "Porto"}, {"label": "GPE", "pattern": "Lisbon"}])
    path = tmp_path_factory.mktemp("model") / "pipeline"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    with open(folder / "a.jsonl", "w", encoding="utf8") as f:
        for i, text in enumerate(TEXTS[:9]):
            f.write(json.dumps({"id": f"a{i}", "text": text}) + "\n")
    with open(folder / "b.jsonl", "w", encoding="utf8") as f:
        for text in TEXTS[9:]:  # no ids: "file:line"
            f.write(json.dumps({"text": text}) + "\n")
    return folder


# Every run below cuts the 9 + 3 records into shards of 4 and batches of 3.
RUN = {"shard_size": 4, "batch_size": 3, "show_progress": False}


def pipe_records(nlp, corpus, shard_size=RUN["shard_size"], batch_size=RUN["batch_size"]):
    """What nlp.pipe gives, as records in input order, fed the batches a run feeds it:
    float32 scores move in the 7th digit with the batch a doc shares (as between
    nlp(text) and nlp.pipe(texts)), so identical records need identical batches."""
    rows = [(str(corpus / "a.jsonl"), i + 1, f"a{i}", t) for i, t in enumerate(TEXTS[:9])]
    b = str(corpus / "b.jsonl")
    rows += [(b, i + 1, f"{b}:{i + 1}", t) for i, t in enumerate(TEXTS[9:])]
    records = []
    for file in (str(corpus / "a.jsonl"), b):
        in_file = [r for r in rows if r[0] == file]
        for shard_start in range(0, len(in_file), shard_size):
            shard = in_file[shard_start : shard_start + shard_size]
            for start in range(0, len(shard), batch_size):
                batch = shard[start : start + batch_size]
                docs = nlp.pipe([text for _, _, _, text in batch], batch_size=batch_size)
                records += [doc_to_record(d, i, f, l) for d, (f, l, i, _) in zip(docs, batch)]
    return records


@pytest.fixture(scope="module")
def expected(model_dir, corpus):
    return pipe_records(spacy.load(model_dir), corpus)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


def read_jsonl_shards(output: Path):
    return [json.loads(line) for path in sorted(output.glob("part-*.jsonl")) for line in path.open(encoding="utf8")]


def inputs(corpus):
    return [str(corpus / "a.jsonl"), str(corpus / "b.jsonl")]


def test_expected_records_cover_every_column(expected):
    assert len(expected) == len(TEXTS)
    for column in ("spans", "ents", "relations", "events"):
        assert any(record[column] for record in expected), column


@pytest.mark.parametrize("engine,workers", [("local", 1), ("local", 2), ("ray", 2)])
def test_engines_write_what_nlp_pipe_gives(engine, workers, model_dir, corpus, expected, tmp_path, request):
    if engine == "ray":
        request.getfixturevalue("local_ray")
    output = tmp_path / "out"
    summary = annotate(model_dir, inputs(corpus), output, engine=engine, workers=workers, **RUN)
    assert read_jsonl_shards(output) == expected
    assert summary["shards"] == 4 and summary["shards_skipped"] == 0  # 9 + 3 records, 4 a shard
    assert (summary["records_in"], summary["written"], summary["failed"]) == (len(TEXTS), len(TEXTS), 0)
    assert json.loads((output / "summary.json").read_text()) == summary
    assert (output / "errors.jsonl").read_text() == ""


def test_records_equal_plain_nlp_pipe_up_to_float32_noise(model_dir, corpus, expected):
    nlp = spacy.load(model_dir)
    plain = pipe_records(nlp, corpus, shard_size=len(TEXTS), batch_size=len(TEXTS))

    def split(records):
        scores, rest = [], json.loads(json.dumps(records))
        for record in rest:
            for column in ("spans", "relations", "events"):
                for item in record[column]:
                    scores.append(item.pop("score"))
        return rest, scores

    (annotations, scores), (plain_annotations, plain_scores) = split(expected), split(plain)
    assert annotations == plain_annotations
    assert scores == pytest.approx(plain_scores, abs=1e-5)


def test_rerun_after_removing_a_shard_redoes_only_that_shard(model_dir, corpus, expected, tmp_path):
    output = tmp_path / "out"
    annotate(model_dir, inputs(corpus), output, **RUN)
    shards = sorted(output.glob("part-*.jsonl"))
    before = {p.name: p.stat().st_mtime_ns for p in shards}
    shards[1].unlink()
    summary = annotate(model_dir, inputs(corpus), output, **RUN)
    assert (summary["shards"], summary["shards_skipped"]) == (4, 3)
    after = {p.name: p.stat().st_mtime_ns for p in sorted(output.glob("part-*.jsonl"))}
    assert [n for n in after if after[n] != before[n]] == [shards[1].name]
    assert read_jsonl_shards(output) == expected
    assert summary["records_in"] == summary["written"] == len(TEXTS)


def test_a_run_killed_halfway_and_rerun_writes_every_record_once(model_dir, corpus, expected, tmp_path, monkeypatch):
    output = tmp_path / "out"
    real = engines_module.annotate_shard

    def dies_on_the_third_shard(nlp, shard, settings, progress=None):
        if shard.index == 2:
            raise KeyboardInterrupt
        return real(nlp, shard, settings, progress)

    monkeypatch.setattr(engines_module, "annotate_shard", dies_on_the_third_shard)
    with pytest.raises(KeyboardInterrupt):
        annotate(model_dir, inputs(corpus), output, **RUN)
    monkeypatch.setattr(engines_module, "annotate_shard", real)
    assert len(list(output.glob("part-*.jsonl"))) == 2
    summary = annotate(model_dir, inputs(corpus), output, **RUN)
    assert summary["shards_skipped"] == 2
    records = read_jsonl_shards(output)
    assert records == expected
    assert len({(r["file"], r["line"]) for r in records}) == len(TEXTS)
    assert not list(output.glob(".*tmp*"))


def test_malformed_records_land_in_the_errors_file_through_the_cli(model_dir, tmp_path):
    source = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"id": "ok", "text": "Vexa bought Lumo ."}).encode(),
        b'{"id": "broken", "text": ',
        json.dumps({"id": "no-text", "body": "x"}).encode(),
        json.dumps({"id": 7, "text": ["a", "list"]}).encode(),
        json.dumps({"id": "long", "text": "x" * 41}).encode(),
        b'"a string"',
        b'{"text": "caf\xe9"}',
        json.dumps({"text": "Rui Costa works for Corvane ."}).encode(),
    ]
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "spacy_globalpointer", "annotate", str(model_dir), str(source),
         "--output", str(output), "--max-chars", "40", "--quiet"],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["records_in"], summary["written"], summary["failed"]) == (8, 2, 6)
    errors = [json.loads(line) for line in (output / "errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["id"]) for e in errors] == [
        (2, f"{source}:2"), (3, "no-text"), (4, "7"), (5, "long"), (6, f"{source}:6"), (7, f"{source}:7"),
    ]
    assert all(e["file"] == str(source) for e in errors)
    reasons = [e["reason"] for e in errors]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "missing text field 'text'"
    assert reasons[2] == "text field 'text' is a list, not a string"
    assert "--max-chars 40" in reasons[3]
    assert reasons[4] == "not a JSON object but str"
    assert reasons[5].startswith("invalid UTF-8")
    assert [r["id"] for r in read_jsonl_shards(output)] == ["ok", f"{source}:8"]


def test_other_settings_against_an_output_are_refused_unless_overwrite(model_dir, corpus, tmp_path):
    output = tmp_path / "out"
    annotate(model_dir, inputs(corpus), output, **RUN)
    with pytest.raises(ValueError, match=r"\[E100\].*options\.max_chars"):
        annotate(model_dir, inputs(corpus), output, max_chars=10, **RUN)
    # The engine, workers and batch size do not change the records: a rerun may change them.
    summary = annotate(model_dir, inputs(corpus), output, **dict(RUN, batch_size=2))
    assert summary["shards_skipped"] == 4
    summary = annotate(model_dir, inputs(corpus), output, max_chars=10, overwrite=True, **RUN)
    assert summary["shards_skipped"] == 0 and summary["failed"] > 0


def test_parquet_round_trips_to_spans_and_relations_on_the_text(model_dir, corpus, expected, tmp_path):
    output = tmp_path / "out"
    annotate(model_dir, inputs(corpus), output, output_format="parquet", **RUN)
    table = pa.concat_tables([pq.read_table(p) for p in sorted(output.glob("part-*.parquet"))])
    records = table.to_pylist()
    assert records == expected
    nlp = spacy.load(model_dir)
    for record, doc in zip(records, nlp.pipe(r["text"] for r in records)):
        rebuilt = nlp.make_doc(record["text"])
        spans = [rebuilt.char_span(s["start_char"], s["end_char"], s["label"]) for s in record["spans"]]
        assert [(s.start, s.end, s.label_) for s in spans] == [
            (s.start, s.end, s.label_) for key in sorted(doc.spans) for s in doc.spans[key]
        ]
        relations = [
            (rebuilt.char_span(r["head_start"], r["head_end"]).start, r["predicate"],
             rebuilt.char_span(r["tail_start"], r["tail_end"]).end)
            for r in record["relations"]
        ]
        assert relations == [(r.head.start, r.label, r.tail.end) for r in doc._.relations]
        arguments = [
            [(a["role"], rebuilt.char_span(a["start_char"], a["end_char"]).start) for a in e["arguments"]]
            for e in record["events"]
        ]
        assert arguments == [[(role, span.start) for role, span in e.arguments] for e in doc._.events]


def test_text_and_parquet_input_and_docbin_output(model_dir, tmp_path, expected):
    texts = TEXTS[:9]
    (tmp_path / "plain.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    pq.write_table(pa.table({"id": [f"a{i}" for i in range(9)], "text": texts}), tmp_path / "rows.parquet")
    for name in ("plain.txt", "rows.parquet"):
        output = tmp_path / name.replace(".", "_")
        annotate(model_dir, [str(tmp_path / name)], output, **RUN)
        records = read_jsonl_shards(output)
        strip = lambda r: {k: v for k, v in r.items() if k not in ("id", "file")}  # noqa: E731
        assert [strip(r) for r in records] == [strip(r) for r in expected[:9]]
    output = tmp_path / "docbin"
    annotate(model_dir, [str(tmp_path / "rows.parquet")], output, output_format="docbin", **RUN)
    nlp = spacy.load(model_dir)
    docs = [
        doc for path in sorted(output.glob("part-*.spacy")) for doc in DocBin().from_disk(path).get_docs(nlp.vocab)
    ]
    assert [doc_to_record(d, d.user_data["spacy_globalpointer.id"], str(tmp_path / "rows.parquet"), i + 1) for i, d in enumerate(docs)] == [
        dict(r, file=str(tmp_path / "rows.parquet")) for r in expected[:9]
    ]


@spacy.Language.component("annotate_test_fails_on_boom")
def fails_on_boom(doc):
    if "boom" in doc.text:
        raise ValueError("this component refuses 'boom'")
    return doc


def test_a_document_the_pipeline_fails_on_goes_to_the_errors_file(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("annotate_test_fails_on_boom")
    nlp.to_disk(tmp_path / "model")
    source = tmp_path / "texts.txt"
    source.write_text("one fine text\nit goes boom\nanother fine text\n", encoding="utf8")
    summary = annotate(tmp_path / "model", [str(source)], tmp_path / "out", show_progress=False)
    assert (summary["records_in"], summary["written"], summary["failed"]) == (3, 2, 1)
    (error,) = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert (error["line"], error["id"]) == (2, f"{source}:2")
    assert error["reason"] == "pipeline error: ValueError: this component refuses 'boom'"
    assert [r["text"] for r in read_jsonl_shards(tmp_path / "out")] == ["one fine text", "another fine text"]
