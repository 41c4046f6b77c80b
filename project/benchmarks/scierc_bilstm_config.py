"""Write a copy of a relation config whose shared tok2vec encoder is spaCy's
BiLSTM (spacy.TorchBiLSTMEncoder.v1) instead of the CNN's
MaxoutWindowEncoder: the SciERC encoder-context ablation
(results_scierc_ablation.md). Everything else, the embedding included, stays.

python scierc_bilstm_config.py IN.cfg OUT.cfg [--depth 2] [--dropout 0.0]
"""
from pathlib import Path

import typer
from spacy.util import load_config


def main(config_in: Path, config_out: Path, depth: int = 2, dropout: float = 0.0) -> None:
    config = load_config(config_in, interpolate=False)
    width = config["components"]["tok2vec"]["model"]["encode"]["width"]
    config["components"]["tok2vec"]["model"]["encode"] = {
        "@architectures": "spacy.TorchBiLSTMEncoder.v1", "width": width, "depth": depth, "dropout": dropout,
    }
    config_out.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(config_out)


if __name__ == "__main__":
    typer.run(main)
