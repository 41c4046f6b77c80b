"""Ablation only (results_scierc_ablation.md), loaded with `spacy train --code`:
the factory `scaled_globalpointer_relations`, globalpointer_relations with
its loss and gradient multiplied by `loss_scale`. It tests whether the
relation head's gradient, much larger than the entity head's, dominates the
shared tok2vec (the entity head trains worse beside GPLinker than beside the
pair classifier). Not part of the package.
"""
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.training import Example
from thinc.api import Model

from spacy_globalpointer.pipeline.relations import GlobalPointerRelations, make_globalpointer_relations

_FACTORY = Language.get_factory_meta("globalpointer_relations")


class ScaledGlobalPointerRelations(GlobalPointerRelations):
    loss_scale = 1.0

    def _loss(self, scores: List[Any], golds: List[Any], examples: List[Example]) -> Tuple[float, List[Any]]:
        loss, grads = super()._loss(scores, golds, examples)
        s = self.loss_scale
        return loss * s, [tuple(g * s for g in pair) for pair in grads]


@Language.factory(
    "scaled_globalpointer_relations",
    assigns=_FACTORY.assigns,
    requires=_FACTORY.requires,
    default_config={**_FACTORY.default_config, "loss_scale": 1.0},
    default_score_weights=_FACTORY.default_score_weights,
)
def make_scaled(
    nlp: Language, name: str, model: Model, spans_key: str, use_ents: bool, threshold: float,
    max_pair_distance: Optional[int], max_candidates: int, link_scope: str, calibrate_threshold: bool,
    calibration: Union[str, Dict[str, Any]], torch_threads: Optional[int], scorer: Optional[Callable],
    loss_scale: float,
) -> ScaledGlobalPointerRelations:
    component = make_globalpointer_relations(
        nlp, name, model, spans_key, use_ents, threshold, max_pair_distance, max_candidates, link_scope,
        calibrate_threshold, calibration, torch_threads, scorer,
    )
    component.__class__ = ScaledGlobalPointerRelations
    component.loss_scale = loss_scale
    return component


def write_config(config_in: Path, config_out: Path, loss_scale: float) -> None:
    """A copy of relations.cfg whose relation component is this factory."""
    from spacy.util import load_config

    config = load_config(config_in, interpolate=False)
    config["components"]["globalpointer_relations"]["factory"] = "scaled_globalpointer_relations"
    config["components"]["globalpointer_relations"]["loss_scale"] = loss_scale
    config_out.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(config_out)


if __name__ == "__main__":
    import typer

    typer.run(write_config)
