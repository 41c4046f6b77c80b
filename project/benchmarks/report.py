"""results.md from the JSONs in results/: the tables per data set, over seeds,
for relations, scale and events, the machine, and the hand-written notes."""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from wasabi import msg

from systems import COVERAGE, DATASETS, HERE, PROJECT_DIR, SYSTEMS


def load_results(results_dir: Path) -> Dict[str, List[Dict[str, Any]]]:
    by_dataset: Dict[str, List[Dict[str, Any]]] = {}
    order = list(SYSTEMS)
    for path in sorted(results_dir.glob("*/*.json")):
        result = json.loads(path.read_text(encoding="utf8"))
        by_dataset.setdefault(result["dataset"], []).append(result)
    for rows in by_dataset.values():
        rows.sort(key=lambda r: (order.index(r["system"]) if r["system"] in order else len(order), r["system"], r["seed"]))
    known = list(DATASETS)
    return dict(sorted(by_dataset.items(), key=lambda kv: known.index(kv[0]) if kv[0] in known else len(known)))


def pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def label(result: Dict[str, Any], target: str) -> str:
    return result["system"] if len(result["targets"]) == 1 else f"{result['system']} ({target})"


def reach(result: Dict[str, Any]) -> Optional[float]:
    """Share of dev gold spans the system can output at all (its last span
    component's suggester or max_span_width)."""
    suggesters = result["measure"].get("suggesters") or {}
    return list(suggesters.values())[-1]["recall"] if suggesters else None


LAST_EVALS = 5


def last_evals_mean(curve: Sequence[Sequence[float]]) -> Optional[float]:
    """Mean dev F1 of the last LAST_EVALS evaluations of the training log:
    steadier than model-best, whose dev score swings by a few points from one
    evaluation to the next, and not picked by the score itself."""
    scores = [score for _, score in curve[-LAST_EVALS:]]
    return sum(scores) / len(scores) if scores else None


def system_lines(results: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    """What each system is: its config and the overrides that make it differ."""
    names = list(dict.fromkeys(r["system"] for rows in results.values() for r in rows))
    lines = ["Systems (config, and overrides on top of it):", ""]
    for name in names:
        system = SYSTEMS.get(name)
        if system is None:
            continue
        changes = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in system.overrides.items()) or "as is"
        lines.append(f"- **{name}**: `{system.config.relative_to(PROJECT_DIR)}`, {changes}")
    lines.append("")
    return lines


def main_runs(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One run per system for the main tables: the one with the lowest seed."""
    first: Dict[str, Dict[str, Any]] = {}
    for r in rows:
        if r["system"] not in first or r["seed"] < first[r["system"]]["seed"]:
            first[r["system"]] = r
    return [r for r in rows if first[r["system"]] is r]


def seeds_table(title: str, rows: List[Dict[str, Any]]) -> List[str]:
    """Every seed of the systems run with more than one: the spread that a
    single seed's difference has to beat."""
    by_system: Dict[str, List[Dict[str, Any]]] = {}
    for r in rows:
        by_system.setdefault(r["system"], []).append(r)
    repeated = {name: runs for name, runs in by_system.items() if len(runs) > 1}
    if not repeated:
        return []
    lines = [
        f"F1 over seeds ({title}; the headline target, model-best and in brackets the mean of the last "
        f"{LAST_EVALS} evaluations)",
        "",
        "| system | seeds | F1 per seed | mean F1 (sd) | mean last-evals F1 (sd) |",
        "|---|---|---|---:|---:|",
    ]
    for name, runs in repeated.items():
        best = [100 * r["measure"]["scores"][r["targets"][0]]["overall"]["f"] for r in runs]
        steady = [100 * (last_evals_mean(r["train"].get("curve", [])) or 0.0) for r in runs]
        per_seed = ", ".join(f"{b:.1f} ({s:.1f})" for b, s in zip(best, steady))
        lines.append(
            f"| {name} | {', '.join(str(r['seed']) for r in runs)} | {per_seed} | "
            f"**{_mean(best):.1f}** ({_sd(best):.1f}) | {_mean(steady):.1f} ({_sd(steady):.1f}) |"
        )
    lines.append("")
    return lines


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sd(values: Sequence[float]) -> float:
    mean = _mean(values)
    return (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5


TOP_PREDICATES = 10


def relation_tables(name: str, rows: List[Dict[str, Any]]) -> List[str]:
    """The relations suite: entity and relation F1, speed and cost per system;
    relation F1 by entities per doc and for the most frequent predicates."""
    data = rows[0]["data"]
    title = DATASETS[name].title if name in DATASETS else name
    lines = [
        f"## {title}",
        "",
        f"{DATASETS[name].note if name in DATASETS else ''}. Train: {data['train']['docs']:,} docs, "
        f"{data['train']['tokens']:,} tokens{' (characters)' if name == 'duie' else ''}, {data['train']['spans']:,} gold entities; dev: "
        f"{data['dev']['docs']:,} docs, {data['dev']['tokens']:,} tokens, {data['dev']['spans']:,} gold entities. "
        + (
            "Converted by `convert --format duie` (nearest occurrences of subject and object; the count of "
            "triples left out is printed at conversion). "
            if name == "duie" else f"Converted by `convert --format {name}`. "
        )
        + "The CNN systems share relations.cfg's CNN and entity head "
        "(egp, pooling 32) and link the spans it predicts: **gplinker** = relations.cfg as shipped (both heads on "
        "one shared tok2vec, trained jointly; span-pair scores that also read the tokens between the two spans "
        "decide, the cells stay untrained, losses are means over (doc, predicate) rows, only label triples seen "
        "in training are kept and a pair whose labels were never seen with a predicate takes the labels it was "
        "seen with where that is one choice, the threshold is calibrated on the pairs of the entities predicted "
        "on held-out training docs), "
        "**gplinker_seeds** = the seeds' "
        "GPLinker form on the same encoder and entity head (the cells decide, losses summed over the predicates, "
        "every label pair kept), **pair_classifier** = the rel_component tutorial's design (pair_classifier.py: "
        "mean-pooled head and tail span vectors, concatenated, Linear + one sigmoid per predicate, BCE, trained on "
        "gold entity pairs, threshold 0.5) on the shared tok2vec, **pair_classifier_seen** = the same with the "
        "seen-label-triple filter; the other rows are ablations defined in systems.py, whose comments say what "
        "each changes. Relation scores from `spacy-globalpointer.relations_scorer.v1` "
        "for all: **strict** = head span and type, predicate, tail span and type exact; **boundary** = spans "
        "and predicate. **relation head share**: 1 - words/s / words/s without the relation component (its "
        "share of the pipeline's inference time; for gplinker_pipeline it includes its own encoder).",
        "",
        *transformer_note(rows, "configs/relations_trf.cfg"),
        "| system | entity F1 | relation P | relation R | strict F1 | boundary F1 | last 5 evals F1 | train CPU time "
        "| train wall time | steps (best) | train peak RSS | words/s | words/s, busy core | tok2vec words/s | head cost "
        "| relation head share | inference peak RSS |",
        "|---|" + "---:|" * 16,
    ]
    for r in rows:
        m, t = r["measure"], r["train"]
        rel = m["scores"]["relations"]
        o = rel["overall"]
        lines.append(
            f"| {r['system']} | {pct(m['scores']['spans']['overall']['f'])} | {pct(o['p'])} | {pct(o['r'])} | "
            f"**{pct(o['f'])}** | {pct(rel['boundary']['f'])} | {pct(last_evals_mean(t.get('curve', [])))} | "
            f"{t['cpu_seconds'] / 60:.1f} min | {t['seconds'] / 60:.1f} min | {t.get('last_step')} ({t.get('best_step')}) | "
            f"{t['peak_rss_mb']:.0f} MB | {m['words_per_second']:,.0f} | {busy_core_wps(m)} | "
            f"{m.get('tok2vec_words_per_second', 0):,.0f} | "
            f"{m.get('head_cost', 0):.2f} | {100 * m.get('relation_head_share', 0):.0f}% | {m['peak_rss_mb']:.0f} MB |"
        )
    buckets = rows[0]["measure"]["scores"]["relations"]["by_entities"]
    lines += [
        "",
        f"Strict relation F1 by gold entities per doc ({title}; in brackets: dev docs, gold triples)",
        "",
        "| system | " + " | ".join(f"{b} entities ({v['docs']}, {v['n_gold']})" for b, v in buckets.items()) + " |",
        "|---|" + "---:|" * len(buckets),
    ]
    for r in rows:
        by = r["measure"]["scores"]["relations"]["by_entities"]
        lines.append(f"| {r['system']} | " + " | ".join(pct(by[b]["f"]) for b in buckets) + " |")
    per_type = rows[0]["measure"]["scores"]["relations"]["per_type"]
    support = {p: v["n_gold"] for p, v in per_type.items()}
    top = sorted((p for p in support if support[p]), key=lambda p: (-support[p], p))[:TOP_PREDICATES]
    lines += [
        "",
        f"Strict relation F1 of the {TOP_PREDICATES} most frequent dev predicates ({title}; all predicates in "
        f"results/{name}/*.json)",
        "",
        "| predicate | dev gold | " + " | ".join(r["system"] for r in rows) + " |",
        "|---|---:|" + "---:|" * len(rows),
    ]
    for predicate in top:
        cells = []
        for r in rows:
            score = r["measure"]["scores"]["relations"]["per_type"].get(predicate)
            cells.append(pct(score["f"]) if score else "–")
        lines.append(f"| {predicate} | {support[predicate]} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def busy_core_wps(measured: Dict[str, Any]) -> str:
    """words/s while another process spins on one core; "–" for
    runs measured before that figure existed."""
    value = measured.get("contended_words_per_second")
    return f"{value:,.0f}" if value else "–"


def growth_factor(per_token: List[float]) -> Optional[float]:
    """How much the time per token grows from a smaller doc to a larger one
    (rows in order of size): the largest ratio of a size's time per token to
    the smallest at any smaller size. Cost is linear where this stays near 1;
    a time per token that falls with size (fixed overhead spread over more
    tokens) is not growth."""
    if len(per_token) < 2 or min(per_token) <= 0:
        return None
    return max(max(per_token[j] / min(per_token[:j]) for j in range(1, len(per_token))), 1.0)


def linear_verdict(growth: Optional[float]) -> str:
    if growth is None:
        return "not measured"
    return f"{'linear' if growth <= 1.5 else 'NOT linear'} (time per token grows by at most a factor {growth:.2f} with the size)"


def relation_scale_table(scale: Dict[str, Any]) -> List[str]:
    rows = sorted(scale["rows"], key=lambda row: row["tokens"])
    head = [(row["seconds"] - row["without_relations_seconds"]) / row["tokens"] * 1000 for row in rows]
    ratio = growth_factor(head)
    lines = [
        "## Relations scale: one long document",
        "",
        f"The trained {scale['system']} pipeline ({scale['model']}"
        + (f", {scale['model_steps']:,} training steps: the probe measures cost, not quality" if scale.get("model_steps") else "")
        + f") on one document of {scale['dataset']} dev text "
        f"repeated to the size, each size in a fresh process, {scale['threads']} thread(s); max_pair_distance = "
        f"{scale['max_pair_distance']}, max_candidates = {scale['max_candidates']}. Relation head = full pipeline "
        "minus the pipeline without the relation component (fastest of the timed calls after a warm-up). "
        + (f"Relation head: {linear_verdict(ratio)}." if ratio else ""),
        "",
        "| tokens | seconds | s / 1k tokens | without relations s / 1k tokens | relation head s / 1k tokens | "
        "candidate spans | relations predicted | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, per_k in zip(rows, head):
        lines.append(
            f"| {row['tokens']:,} | {row['seconds']:.2f} | {row['seconds'] / row['tokens'] * 1000:.4f} | "
            f"{row['without_relations_seconds'] / row['tokens'] * 1000:.4f} | {per_k:.4f} | {row['spans']:,} | "
            f"{row['relations']:,} | {row['peak_rss_mb']:.0f} MB |"
        )
    lines.append("")
    return lines


def tokenization_note(rows: List[Dict[str, Any]]) -> List[str]:
    """Say how many dev docs the pipeline tokenizes differently from the gold
    file, and how their spans were compared: in the gold tokens (measure.py
    since it aligns them, as spaCy's scorer does) or on exact token offsets
    (older runs: spans of those docs could not match)."""
    worst = max((r["measure"].get("tokenization_mismatches", 0) for r in rows), default=0)
    if not worst:
        return []
    dev_docs = rows[0]["data"]["dev"]["docs"]
    unaligned = [r["system"] for r in rows if r["measure"].get("tokenization_mismatches") and not r["measure"].get("aligned_to_gold_tokens")]
    how = (
        "entity P/R/F1 compare the predicted spans mapped onto the gold tokens (as spaCy's scorer and the relation scorer do)"
        if not unaligned
        else f"in the runs of {', '.join(unaligned)} (measured before measure.py aligned them) P/R/F1 compare exact token "
        "offsets, so spans in those docs cannot match, while the training log's dev F1 (spaCy's scorer, which aligns "
        "tokenizations) counts them: it is higher"
    )
    return [
        f"{worst:,} of the {dev_docs:,} dev docs are tokenized differently by the pipeline than in the gold file; {how}.",
        "",
    ]


def transformer_note(rows: List[Dict[str, Any]], config: str = "configs/transformer.cfg") -> List[str]:
    """What the transformer suite's rows of a section ran on: their encoder is
    not the CNN of the header, and a CPU run of a transformer is no GPU figure."""
    runs = [r for r in rows if r.get("transformer")]
    if not runs:
        return []
    settings = sorted({
        (r["transformer"]["label"], "CPU" if r["gpu_id"] < 0 else f"GPU {r['gpu_id']}", r["threads"], r["max_steps"])
        for r in runs
    })
    return [
        f"Transformer rows ({', '.join(r['system'] for r in runs)}): "
        + "; ".join(f"{label} on {device}, {threads} thread(s), {steps:,} steps" for label, device, threads, steps in settings)
        + f". They train on `{config}`'s transformer, optimizer and batcher instead of the CNN, the "
        "same for all of them (`benchmarks/configs/*_trf.cfg` differ from it only in the component); their "
        "tok2vec words/s and head cost are those of the transformer alone.",
        "",
    ]


def dataset_tables(name: str, all_rows: List[Dict[str, Any]]) -> List[str]:
    rows = main_runs(all_rows)
    if "relations" in rows[0]["targets"]:
        return relation_tables(name, rows)
    data = rows[0]["data"]
    title = DATASETS[name].title if name in DATASETS else name
    lines = [
        f"## {title}",
        "",
        f"{DATASETS[name].note if name in DATASETS else ''}. Train: {data['train']['docs']:,} docs, "
        f"{data['train']['tokens']:,} tokens, {data['train']['spans']:,} gold spans; dev: "
        f"{data['dev']['docs']:,} docs, {data['dev']['tokens']:,} tokens, {data['dev']['spans']:,} gold spans "
        f"(longest {data['longest_dev_span']} tokens). spancat n-grams 1–{data['ngram_max_size']} "
        f"(the smallest range that reaches {COVERAGE:.0%} of train gold spans): reaches "
        f"{pct(data['ngram_train_coverage'])}% of train and {pct(data['ngram_dev_coverage'])}% of dev gold spans.",
        "",
        *transformer_note(rows),
        *tokenization_note(rows),
        "| system | P | R | F1 | last 5 evals F1 | reach | train CPU time | train wall time | steps (best) | train peak RSS | words/s | words/s, busy core | tok2vec words/s | head cost | inference peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        m, t = r["measure"], r["train"]
        for index, target in enumerate(r["targets"]):
            o = m["scores"][target]["overall"]
            steady = pct(last_evals_mean(t.get("curve", []))) if index == 0 else "–"
            lines.append(
                f"| {label(r, target)} | {pct(o['p'])} | {pct(o['r'])} | **{pct(o['f'])}** | {steady} | {pct(reach(r))} | "
                f"{t['cpu_seconds'] / 60:.1f} min | {t['seconds'] / 60:.1f} min | {t.get('last_step')} ({t.get('best_step')}) | {t['peak_rss_mb']:.0f} MB | "
                f"{m['words_per_second']:,.0f} | {busy_core_wps(m)} | {m.get('tok2vec_words_per_second', 0):,.0f} | "
                f"{m.get('head_cost', 0):.2f} | {m['peak_rss_mb']:.0f} MB |"
            )
    buckets = list(rows[0]["measure"]["by_length"])
    gold_counts = rows[0]["measure"]["scores"][rows[0]["targets"][0]]["by_length"]
    lines += [
        "",
        f"F1 by gold span length ({title}; in brackets: dev gold spans of that length)",
        "",
        "| system | " + " | ".join(f"{b} tokens ({gold_counts[b]['n_gold']:,})" for b in buckets) + " |",
        "|---|" + "---:|" * len(buckets),
    ]
    for r in rows:
        for target in r["targets"]:
            bl = r["measure"]["scores"][target]["by_length"]
            lines.append(f"| {label(r, target)} | " + " | ".join(pct(bl[b]["f"]) for b in buckets) + " |")
    columns = [(r, target) for r in rows for target in r["targets"]]
    types = sorted({t for r, target in columns for t in r["measure"]["scores"][target]["per_type"]})
    gold_by_type = {}
    for r, target in columns:
        for t, s in r["measure"]["scores"][target]["per_type"].items():
            gold_by_type.setdefault(t, s["n_gold"])
    lines += [
        "",
        f"F1 per type ({title})",
        "",
        "| type | dev gold | " + " | ".join(label(r, target) for r, target in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for t in types:
        cells = []
        for r, target in columns:
            s = r["measure"]["scores"][target]["per_type"].get(t)
            cells.append(pct(s["f"]) if s else "–")
        lines.append(f"| {t} | {gold_by_type.get(t, 0):,} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines + seeds_table(title, all_rows)


def scale_table(scale: Dict[str, Any]) -> List[str]:
    rows = sorted(scale["rows"], key=lambda row: row["tokens"])

    def ratio(seconds) -> Optional[float]:
        return growth_factor([seconds(row) / row["tokens"] for row in rows])

    verdict = linear_verdict

    full = ratio(lambda row: row["seconds"])
    tok2vec = ratio(lambda row: row["tok2vec_seconds"]) if all(r.get("tok2vec_seconds") for r in rows) else None
    head = ratio(lambda row: row["seconds"] - row["tok2vec_seconds"]) if tok2vec is not None else None
    lines = [
        "## Scale: one long document",
        "",
        f"globalpointer with max_span_width = {scale['max_span_width']} ({scale['model']}), one synthetic document "
        f"of {scale['dataset']} dev text repeated to the size, each size in a fresh process, "
        f"{scale['threads']} thread(s). Time: fastest of the timed `nlp(doc)` calls after a warm-up (head = full "
        "pipeline minus tok2vec alone); peak RSS of the process, and its growth during inference over the peak "
        "after loading and warm-up.",
        "",
        f"- full pipeline: {verdict(full)}",
        f"- tok2vec alone: {verdict(tok2vec)}",
        f"- globalpointer head: {verdict(head)}",
        "",
        "| tokens | seconds | s / 1k tokens | tok2vec s / 1k tokens | head s / 1k tokens | spans predicted | peak RSS | growth during inference | growth / token |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        per_k = lambda seconds: f"{seconds / row['tokens'] * 1000:.4f}"
        growth = row["peak_rss_mb"] - row["rss_before_mb"]
        t2v = row.get("tok2vec_seconds")
        lines.append(
            f"| {row['tokens']:,} | {row['seconds']:.2f} | {per_k(row['seconds'])} | "
            f"{per_k(t2v) if t2v else '–'} | {per_k(row['seconds'] - t2v) if t2v else '–'} | {row['spans']:,} | "
            f"{row['peak_rss_mb']:.0f} MB | +{growth:.0f} MB | {growth * 1024 / row['tokens']:.1f} KB |"
        )
    lines.append("")
    return lines


def machine_lines(results: Dict[str, List[Dict[str, Any]]], scale: Optional[Dict[str, Any]]) -> List[str]:
    machines: Dict[str, List[str]] = {}
    dates: List[str] = []
    for name, rows in results.items():
        for r in rows:
            key = json.dumps(r["machine"], sort_keys=True)
            machines.setdefault(key, []).append(f"{name}/{r['system']}")
            dates.append(r["date"])
    if scale:
        machines.setdefault(json.dumps(scale["machine"], sort_keys=True), []).append("scale")
        dates.append(scale["date"])
    lines = ["## Machine", ""]
    for key, runs in machines.items():
        m = json.loads(key)
        lines.append(
            f"- {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['platform']}; Python {m['python']}, "
            f"torch {m['torch']}, spaCy {m['spacy']}, thinc {m['thinc']}"
            + (f" — runs: {', '.join(runs)}" if len(machines) > 1 else "")
        )
    if dates:
        lines.append(f"- Runs dated {min(dates)[:10]} to {max(dates)[:10]} (UTC).")
    lines.append("")
    return lines


NOTES_HEADING = "## Notes and experiment log"


def hand_written_notes(path: Path) -> str:
    """The hand-written part of an existing results.md (from NOTES_HEADING on),
    which a rebuilt report keeps; "" when there is none."""
    text = path.read_text(encoding="utf8") if path.exists() else ""
    start = text.find("\n" + NOTES_HEADING)
    return text[start:] if start >= 0 else ""


def write_report(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)  # a run that failed before writing anything
    results_dir = out_dir / "results"
    results = load_results(results_dir)
    scale_path = results_dir / "scale.json"
    scale = json.loads(scale_path.read_text(encoding="utf8")) if scale_path.exists() else None
    settings = sorted({(r["max_steps"], r["seed"], r["threads"], r["model"], r["patience"]) for rows in results.values() for r in main_runs(rows)})
    lines = [
        "# Benchmarks: globalpointer vs spaCy's spancat, span_finder + spancat and ner",
        "",
        "Generated by `run_benchmark.py` from the JSON files in `results/`; do not edit by hand.",
        "Every system trains with `spacy train` on the same CNN tok2vec (MultiHashEmbed 96, rows "
        "[5000, 1000, 2500, 2500], MaxoutWindowEncoder depth 4, shared through a listener), optimizer "
        "(Adam 0.001, L2 0.01, grad clip 1), batcher (batch_by_words, compounding 100→1000), dropout 0.1 "
        "and split: the configs differ only in the component. "
        + "; ".join(
            f"{steps:,} steps, seed {seed}, patience {patience or 'off'}, {threads} thread(s), scored: {model}"
            for steps, seed, threads, model, patience in settings
        )
        + " (runs with other seeds only appear in the tables of F1 over seeds).",
        "",
        "P/R/F1 are exact-match micro scores (start, end, label) on the dev split, in %. **reach**: share of dev "
        "gold spans the system can output at all (spancat: spans its suggester proposes; globalpointer: spans no "
        "wider than max_span_width). **train CPU / wall time**: user + system CPU time and wall time of `spacy train` "
        "(initialization and the dev evaluations every eval_frequency steps included); with one thread on shared "
        "cores the CPU time is the comparable figure, the wall time also counts waiting for the neighbours. **steps (best)**: steps trained (the step of the scored "
        "model-best). "
        "**words/s**: `nlp.pipe(texts, batch_size=64)` after a warm-up, fastest of the timed passes; **words/s, busy "
        "core**: the same while another process spins on one core (– where a run predates it). **head cost**: "
        "full-pipeline words/s divided by tok2vec-only words/s (1.0 = the head is free); tok2vec is the same network "
        "in every system, so its words/s shows how loaded the machine was during that measurement. Peak RSS: maximum resident "
        "memory of the training process and of the measuring process (model, dev docs, inference). model-best is "
        "the checkpoint with the best dev F1 among the evaluations every 200 steps, so it is selected on the split "
        "it is scored on, for every system alike (spaCy's default workflow; use --model last to avoid it). "
        f"**last 5 evals F1**: mean dev F1 of the last {LAST_EVALS} evaluations in the training log (the headline "
        "target's F; steadier than model-best, and not selected by its own score).",
        "",
    ]
    if any(r.get("transformer") for rows in results.values() for r in rows):
        lines += [
            "The transformer suite's systems (`*_trf`) share a transformer instead of the CNN (the sections with "
            "them say which, on what device and with how many threads).",
            "",
        ]
    lines += system_lines(results)
    for name, rows in results.items():
        lines += dataset_tables(name, rows)
    if results:
        lines += ["![F1 against training time](f1_vs_train_time.png)", ""]
    if scale:
        lines += scale_table(scale)
    relation_scale_path = results_dir / "relations_scale.json"
    if relation_scale_path.exists():
        lines += relation_scale_table(json.loads(relation_scale_path.read_text(encoding="utf8")))
    for dataset in ("duee", "phee"):
        # events_DATASET[_VARIANT][_trf].json: one section per encoder (CNN, transformer).
        for on_transformer in (False, True):
            runs = [
                json.loads(path.read_text(encoding="utf8"))
                for path in sorted(results_dir.glob(f"events_{dataset}*.json"))
                if path.stem.endswith("_trf") == on_transformer
            ]
            if runs:
                lines += _events_benchmark().report(runs)
    annotate_runs = [json.loads(p.read_text(encoding="utf8")) for p in results_dir.glob("annotate*.json")]
    if annotate_runs:  # smallest corpus first; the on-paper costs use the largest
        lines += _benchmark_module("annotate_benchmark").report(sorted(annotate_runs, key=lambda r: r["words"]))
    lines += machine_lines(results, scale)
    (out_dir / "results.md").write_text("\n".join(lines) + hand_written_notes(out_dir / "results.md"), encoding="utf8")
    if results:
        from plot import write_plot  # plot uses this module's row helpers

        write_plot(results, out_dir / "f1_vs_train_time.png")
    msg.good(f"Wrote {out_dir / 'results.md'}" + (f" and {out_dir / 'f1_vs_train_time.png'}" if results else ""))


def _benchmark_module(name: str):
    """A script beside this file (annotate_benchmark.py, ...) as a module, for its report."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events_benchmark():
    """events_benchmark.py (beside this file) as a module, for its report."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("events_benchmark", HERE / "events_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
