"""Convert an NER, relation or event corpus into a `.spacy` file (thin CLI over
spacy_globalpointer.convert).

Relations are written to doc._.relations (their spans also to doc.spans), events
to doc._.events; the DocBin keeps them (store_user_data=True).
"""
import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from spacy_globalpointer.convert import ALIGNMENT_MODES, FORMATS, ConversionError, ConvertOptions, convert, print_stats

# The choices come from the package, so a new reader needs no change here.
Format = Enum("Format", {name: name for name in FORMATS}, type=str)
Alignment = Enum("Alignment", {name: name for name in ALIGNMENT_MODES}, type=str)
_BOOLEANS = {"true": True, "false": False}


def main(
    # fmt: off
    input_path: Path = typer.Argument(..., help="Corpus file to convert", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    format: Format = typer.Option("jsonl", "--format", "-f", help="Input format"),
    lang: str = typer.Option("zh", "--lang", "-l", help="Language code for spacy.blank (zh splits per character; English data needs --lang en)"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans for the spans"),
    alignment: Alignment = typer.Option("strict", "--alignment", "-a", help="strict: skip spans off token boundaries; expand: widen them"),
    ents: bool = typer.Option(False, "--ents/--no-ents", help="Also set doc.ents (non-overlapping subset, longest first)"),
    ents_value: Optional[str] = typer.Option(None, "--ents-value", help="--ents/--no-ents as a value (true or false), for project variables; overrides them"),
    start: int = typer.Option(0, "--start", help="First record index to convert (0-based, inclusive)"),
    end: Optional[int] = typer.Option(None, "--end", help="Record index to stop before (exclusive); default: to the end"),
    stats_json: Optional[Path] = typer.Option(None, "--stats-json", help="Also write the counts as JSON here"),
    schema: Optional[Path] = typer.Option(None, "--schema", help="duee only: event schema (duee_event_schema.json); unknown types and roles are skipped", exists=True, dir_okay=False),
    relations: bool = typer.Option(False, "--relations", help="jsonl: also read 'relations' ({head, tail, label}; head/tail index 'spans') into doc._.relations (duie, spert and scierc always)"),
    events: bool = typer.Option(False, "--events", help="jsonl: also read 'events' ({label, trigger: {start, end}, arguments: [{role, start, end}]}) into doc._.events (duee and phee always)"),
    # fmt: on
) -> None:
    """Convert INPUT_PATH to OUTPUT_PATH and print what was written, changed and skipped.

    Example: CMeEE_dev.json records 0-3,999 as train:
    python scripts/convert.py CMeEE_dev.json train.spacy --format cmeee --end 4000
    """
    if ents_value is not None:
        if ents_value.lower() not in _BOOLEANS:
            msg.fail(f"--ents-value must be true or false, got {ents_value!r}", exits=1)
        ents = _BOOLEANS[ents_value.lower()]
    try:
        options = ConvertOptions(
            format=format.value,
            lang=lang,
            spans_key=spans_key,
            alignment=alignment.value,
            ents=ents,
            start=start,
            end=end,
            schema=schema,
            relations=relations,
            events=events,
        )
        stats = convert(input_path, output_path, options)
    except ConversionError as err:
        msg.fail(str(err), exits=1)
    print_stats(stats)
    if stats_json is not None:
        stats_json.parent.mkdir(parents=True, exist_ok=True)
        stats_json.write_text(json.dumps(stats.to_dict(), indent=2, ensure_ascii=False), encoding="utf8")


if __name__ == "__main__":
    typer.run(main)
