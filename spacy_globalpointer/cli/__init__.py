"""Command-line commands (typer functions), registered in `spacy_globalpointer/__main__.py`."""
