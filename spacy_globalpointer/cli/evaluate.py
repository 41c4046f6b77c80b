"""`python -m spacy_globalpointer evaluate`: `spacy evaluate` plus our tables.

spaCy's `evaluate` prints a fixed list of metrics (TOK, NER P/R/F, SPAN P/R/F
of one spans key, ...) and per-type tables for morph, dep, ents, spans and
textcat only; every other score reaches only the `--output` JSON, and spaCy
offers no hook to print more (the `spacy_cli` entry points can only add
commands to its app, by changing that app when loaded). So this command runs
spaCy's own `evaluate` (same options, same output, same JSON) and then prints
the relation and event scores the pipeline reported: the micro rows, and P/R/F
per predicate and per event type, in spaCy's table format.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import srsly
import typer
from spacy.cli._util import import_code
from spacy.cli.evaluate import evaluate as spacy_evaluate
from spacy.cli.evaluate import print_prf_per_type
from wasabi import Printer

# (row name, score prefix): prefix + "_p" / "_r" / "_f" in nlp.evaluate's scores.
RELATION_ROWS: Sequence[Tuple[str, str]] = (
    ("strict", "relations_micro"),  # spans, their labels and the predicate
    ("boundary (no entity labels)", "relations_boundary"),
)
EVENT_ROWS: Sequence[Tuple[str, str]] = (
    ("trigger identification", "events_trigger_id"),  # trigger span
    ("trigger classification", "events_trigger_cls"),  # trigger span and event type
    ("argument identification", "events_argument_id"),  # event type and span
    ("argument classification", "events_argument_cls"),  # event type, role and span
    ("events (exact match)", "events"),  # type, trigger and every argument
    ("co-event argument pairs", "events_coevent_pair"),  # two members of one event, with its type
)


def print_scores(scores: Dict[str, Any], *, silent: bool = False, title_prefix: str = "") -> bool:
    """Print the relation and event tables of one `nlp.evaluate` result.

    scores (Dict[str, Any]): flat scores, as `nlp.evaluate` returns them.
    silent (bool): print nothing (what was found is still returned).
    title_prefix (str): put before each table title (a component name).
    RETURNS (bool): whether the scores held relation or event scores.
    """
    msg = Printer(no_print=silent, pretty=not silent)
    found = False
    for title, rows, per_type, per_what in (
        ("RELATIONS", RELATION_ROWS, "relations_per_type", "predicate"),
        ("EVENTS", EVENT_ROWS, "events_per_type", "event type"),
    ):
        present = [(name, prefix) for name, prefix in rows if f"{prefix}_f" in scores]
        if not present:
            continue
        found = True
        msg.table(
            [[name] + [_pct(scores.get(f"{prefix}_{k}")) for k in "prf"] for name, prefix in present],
            header=("", "P", "R", "F"),
            aligns=("l", "r", "r", "r"),
            title=title_prefix + title,
        )
        if scores.get(per_type):
            print_prf_per_type(msg, scores[per_type], title_prefix + title, per_what)
    return found


def evaluate(
    model: str,
    data_path: Path,
    output: Optional[Path] = None,
    use_gpu: int = -1,
    gold_preproc: bool = False,
    displacy_path: Optional[Path] = None,
    displacy_limit: int = 25,
    silent: bool = True,
    spans_key: str = "sc",
    per_component: bool = False,
) -> Dict[str, Any]:
    """spaCy's `evaluate` (its tables, its return value), then our tables.

    The arguments are those of `spacy.cli.evaluate.evaluate`. The JSON is
    written after our tables, so "Saved results" stays the last line (with
    `per_component`, spaCy writes it, as it announces).
    RETURNS (Dict[str, Any]): what spaCy's `evaluate` returns and writes.
    """
    data = spacy_evaluate(
        model,
        data_path,
        output=output if per_component else None,
        use_gpu=use_gpu,
        gold_preproc=gold_preproc,
        displacy_path=displacy_path,
        displacy_limit=displacy_limit,
        silent=silent,
        spans_key=spans_key,
        per_component=per_component,
    )
    msg = Printer(no_print=silent, pretty=not silent)
    if per_component:
        # {component: its scores}: one set of tables per component.
        found = [print_scores(s, silent=silent, title_prefix=f"{name}: ") for name, s in _components(data)]
    else:
        found = [print_scores(data, silent=silent)]
    if not any(found):
        msg.info("No relation or event scores: the pipeline has no globalpointer_relations or globalpointer_events")
    if output is not None and not per_component:
        srsly.write_json(output, data)
        msg.good(f"Saved results to {output}")
    return data


def evaluate_cli(
    # fmt: off
    model: str = typer.Argument(..., help="Model name or path"),
    data_path: Path = typer.Argument(..., help="Location of binary evaluation data in .spacy format", exists=True),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output JSON file for metrics", dir_okay=False),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help="Path to Python file with additional code (registered functions) to be imported"),
    use_gpu: int = typer.Option(-1, "--gpu-id", "-g", help="GPU ID or -1 for CPU"),
    gold_preproc: bool = typer.Option(False, "--gold-preproc", "-G", help="Use gold preprocessing"),
    displacy_path: Optional[Path] = typer.Option(None, "--displacy-path", "-dp", help="Directory to output rendered parses as HTML", exists=True, file_okay=False),
    displacy_limit: int = typer.Option(25, "--displacy-limit", "-dl", help="Limit of parses to render as HTML"),
    per_component: bool = typer.Option(False, "--per-component", "-P", help="Print and return scores per component"),
    spans_key: str = typer.Option("sc", "--spans-key", "-sk", help="Spans key to use when evaluating Doc.spans"),
    # fmt: on
) -> None:
    """Evaluate a trained pipeline like `spacy evaluate` (same options, same
    tables and JSON), then print the relation and event scores that
    `spacy evaluate` leaves out: strict and boundary relation P/R/F and P/R/F
    per predicate; trigger, argument and event P/R/F and P/R/F per event type.
    """
    import_code(code_path)
    evaluate(
        model,
        data_path,
        output=output,
        use_gpu=use_gpu,
        gold_preproc=gold_preproc,
        displacy_path=displacy_path,
        displacy_limit=displacy_limit,
        silent=False,
        spans_key=spans_key,
        per_component=per_component,
    )


def _components(data: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    return [(name, scores) for name, scores in data.items() if isinstance(scores, dict)]


def _pct(value: Any) -> str:
    return f"{value * 100:.2f}" if isinstance(value, (int, float)) else "-"


if __name__ == "__main__":
    typer.run(evaluate_cli)
