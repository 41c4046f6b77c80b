"""`python -m spacy_globalpointer annotate ...`: see spacy_globalpointer/cli.py."""
from .cli import app

if __name__ == "__main__":
    app(prog_name="python -m spacy_globalpointer")
