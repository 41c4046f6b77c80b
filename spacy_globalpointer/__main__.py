"""`python -m spacy_globalpointer COMMAND` (and the `spacy-globalpointer` console script).

The commands are typer functions in `spacy_globalpointer/cli/`, one module each.
"""
import typer

from .cli.annotate import annotate_cli
from .cli.evaluate import evaluate_cli

app = typer.Typer(name="spacy-globalpointer", add_completion=False, no_args_is_help=True)
app.command("annotate", help=annotate_cli.__doc__)(annotate_cli)
app.command("evaluate", help=evaluate_cli.__doc__)(evaluate_cli)

if __name__ == "__main__":
    app(prog_name="python -m spacy_globalpointer")
