"""Score a trained pipeline on a .spacy file: all scores as JSON, plus a per-label table.

The JSON holds the scores `nlp.evaluate` returns (as `spacy evaluate` does), so the
component's own score keys (`spans_<key>_f/p/r/per_type`) are there. The Markdown
table adds gold and predicted counts per label, which the scores alone hide.
With --relations the table is per predicate of doc._.relations instead (the
`globalpointer_relations` scores: strict `relations_micro_*`, boundary
`relations_boundary_*`, `relations_per_type`), and with --events per event
type of doc._.events (the `globalpointer_events` scores: `events_per_type`
exact match, trigger and argument identification and classification).
"""
import json
from collections import Counter
from pathlib import Path
from timeit import default_timer as timer
from typing import Any, Callable, Dict, Iterable, List, Tuple

import spacy
import typer
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from wasabi import msg

from spacy_globalpointer.extensions import event_records, install_extensions, relation_records
from spacy_globalpointer.pipeline.event_scorer import score_events
from spacy_globalpointer.pipeline.relation_scorer import score_relations
from spacy_globalpointer.pipeline.spans import score_globalpointer


def per_type_scores(examples: List[Example], scores: Dict[str, Any], spans_key: str) -> Dict[str, Dict[str, float]]:
    """The component's per-label scores, or spaCy's span scorer if it reported none."""
    per_type = scores.get(f"spans_{spans_key}_per_type")
    if per_type is not None:
        return per_type
    msg.warn(f"No 'spans_{spans_key}_per_type' in the pipeline's scores: scoring doc.spans['{spans_key}'] directly")
    fallback = score_globalpointer(examples, spans_key=spans_key)
    return fallback.get(f"spans_{spans_key}_per_type") or {}


def label_counts(examples: List[Example], spans_key: str) -> Dict[str, Counter]:
    return _counts(examples, lambda doc: (sp.label_ for sp in doc.spans.get(spans_key, [])))


def _counts(examples: List[Example], labels_of: Callable[[Doc], Iterable[str]]) -> Dict[str, Counter]:
    """Gold and predicted counts of each label, `labels_of` naming a doc's labels."""
    counts = {"gold": Counter(), "pred": Counter()}
    for eg in examples:
        counts["gold"].update(labels_of(eg.reference))
        counts["pred"].update(labels_of(eg.predicted))
    return counts


def per_type_table(
    title: str, column: str, per_type: Dict[str, Dict[str, float]], counts: Dict[str, Counter],
    scores: Dict[str, Any], micro_prefix: str, note: str = "",
) -> List[str]:
    """One markdown table for every kind of output: gold and predicted counts
    and P/R/F per label, then the micro row (`micro_prefix` + _p/_r/_f)."""
    labels = sorted(set(per_type) | set(counts["gold"]) | set(counts["pred"]))
    lines = [f"# {title}", ""] + ([note, ""] if note else [])
    lines += [f"| {column} | gold | predicted | P | R | F |", "|---|---:|---:|---:|---:|---:|"]
    for label in labels:
        prf = per_type.get(label, {})
        lines.append(
            f"| {label} | {counts['gold'][label]} | {counts['pred'][label]} | "
            f"{_pct(prf.get('p'))} | {_pct(prf.get('r'))} | {_pct(prf.get('f'))} |"
        )
    lines.append(
        f"| **all (micro)** | {sum(counts['gold'].values())} | {sum(counts['pred'].values())} | "
        + " | ".join(_pct(scores.get(f"{micro_prefix}_{k}")) for k in "prf") + " |"
    )
    return lines


def level_rows(header: str, rows: Iterable[Tuple[str, str]], scores: Dict[str, Any]) -> List[str]:
    """A P/R/F table with one row per (name, score prefix)."""
    lines = ["", f"| {header} | P | R | F |", "|---|---:|---:|---:|"]
    for name, prefix in rows:
        lines.append(f"| {name} | " + " | ".join(_pct(scores.get(f"{prefix}_{k}")) for k in "prf") + " |")
    return lines


def markdown_table(
    per_type: Dict[str, Dict[str, float]], counts: Dict[str, Counter], scores: Dict[str, Any], spans_key: str
) -> str:
    lines = per_type_table(
        f"Per-label scores (doc.spans['{spans_key}'])", "label", per_type, counts, scores, f"spans_{spans_key}"
    )
    return "\n".join(lines) + "\n"


def relation_table(examples: List[Example], scores: Dict[str, Any], spans_key: str) -> str:
    """Gold/predicted counts and P/R/F per predicate, the micro row, strict and boundary F."""
    if scores.get("relations_per_type") is None:
        msg.warn("No 'relations_per_type' in the pipeline's scores: scoring doc._.relations directly")
        scores.update(score_relations(examples))
    counts = _counts(examples, lambda doc: (p for _, p, _, _ in relation_records(doc)))
    lines = per_type_table(
        "Per-predicate scores (doc._.relations)", "predicate", scores["relations_per_type"], counts, scores,
        "relations_micro", note="Strict: head span and label, predicate, tail span and label all match.",
    )
    lines += level_rows(
        "relations",
        (
            ("strict", "relations_micro"),
            ("boundary (entity labels ignored)", "relations_boundary"),
            (f"entities (doc.spans['{spans_key}'])", f"spans_{spans_key}"),
        ),
        scores,
    )
    return "\n".join(lines) + "\n"


EVENT_ROWS = (
    ("trigger identification (span)", "events_trigger_id"),
    ("trigger classification (span, type)", "events_trigger_cls"),
    ("argument identification (type, span)", "events_argument_id"),
    ("argument classification (type, role, span)", "events_argument_cls"),
    ("events (type, trigger, every argument)", "events"),
    ("co-event argument pairs (type, two members of one event)", "events_coevent_pair"),
)


def event_table(examples: List[Example], scores: Dict[str, Any]) -> str:
    """Gold/predicted counts and exact-match P/R/F per event type, then the
    trigger, argument and event rows."""
    if "events_per_type" not in scores:
        msg.warn("No 'events_per_type' in the pipeline's scores: scoring doc._.events directly")
        scores.update(score_events(examples))
    counts = _counts(examples, lambda doc: (label for label, _, _, _ in event_records(doc)))
    lines = per_type_table(
        "Per-event-type scores (doc._.events)", "event type", scores["events_per_type"], counts, scores, "events",
        note="Exact match: event type, trigger span and every (role, argument span) match.",
    )
    lines += level_rows("level", EVENT_ROWS, scores)
    return "\n".join(lines) + "\n"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline directory", exists=True, file_okay=False),
    data: Path = typer.Argument(..., help="Gold .spacy file", exists=True, dir_okay=False),
    metrics_path: Path = typer.Argument(..., help="Output JSON with all scores"),
    table_path: Path = typer.Argument(..., help="Output Markdown table with P/R/F per label"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans to score"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
    relations: bool = typer.Option(False, "--relations", help="Write the table per predicate of doc._.relations"),
    events: bool = typer.Option(False, "--events", help="Write the table per event type of doc._.events"),
    # fmt: on
) -> None:
    """Evaluate MODEL on DATA and write METRICS_PATH and TABLE_PATH."""
    install_extensions()
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    gold_docs = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    if not gold_docs:
        msg.fail(f"{data} holds no docs", exits=1)
    # What nlp.evaluate does, but keeping the predicted docs for the label counts.
    start_time = timer()
    predicted = list(nlp.pipe(doc.text for doc in gold_docs))
    seconds = timer() - start_time
    examples = [Example(pred, gold) for pred, gold in zip(predicted, gold_docs)]
    scores = Scorer(nlp=nlp).score(examples)
    scores["speed"] = sum(len(doc) for doc in predicted) / max(seconds, 1e-9)
    if events:
        table = event_table(examples, scores)
        _write(metrics_path, json.dumps(scores, indent=2, ensure_ascii=False) + "\n")
        _write(table_path, table)
        print(table)
        msg.good(
            f"{len(examples)} docs, argument classification F {_pct(scores.get('events_argument_cls_f'))}, "
            f"trigger classification F {_pct(scores.get('events_trigger_cls_f'))}, event F "
            f"{_pct(scores.get('events_f'))}; wrote {metrics_path} and {table_path}"
        )
        return
    missing = [k for k in ("f", "p", "r") if f"spans_{spans_key}_{k}" not in scores]
    if missing:
        msg.warn(f"The pipeline reported no spans_{spans_key}_{{f,p,r}}: is '{spans_key}' its spans key?")
    if relations:
        table = relation_table(examples, scores, spans_key)
        _write(metrics_path, json.dumps(scores, indent=2, ensure_ascii=False) + "\n")
        _write(table_path, table)
        print(table)
        msg.good(
            f"{len(examples)} docs, relation F {_pct(scores.get('relations_micro_f'))} (strict), "
            f"{_pct(scores.get('relations_boundary_f'))} (boundary), entity F "
            f"{_pct(scores.get(f'spans_{spans_key}_f'))}; wrote {metrics_path} and {table_path}"
        )
        return
    per_type = per_type_scores(examples, scores, spans_key)
    counts = label_counts(examples, spans_key)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(scores, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(markdown_table(per_type, counts, scores, spans_key), encoding="utf8")
    rows = [
        (label, counts["gold"][label], counts["pred"][label],
         *(f"{100 * per_type.get(label, {}).get(k, 0.0):.1f}" for k in ("p", "r", "f")))
        for label in sorted(set(per_type) | set(counts["gold"]))
    ]
    msg.table(rows, header=("label", "gold", "pred", "P", "R", "F"), aligns=("l", "r", "r", "r", "r", "r"))
    f_score = scores.get(f"spans_{spans_key}_f")
    summary = "n/a" if f_score is None else f"{100 * f_score:.1f}"
    msg.good(f"{len(examples)} docs, span F {summary}; wrote {metrics_path} and {table_path}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf8")


if __name__ == "__main__":
    typer.run(main)
