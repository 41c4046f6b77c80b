"""A tokenizer setting that follows `nlp.lang`.

Why: a complete config (what `spacy init fill-config` writes, and what
`spacy debug data` needs) names one tokenizer, and for an English config that
is `spacy.Tokenizer.v1`, spaCy's rule-based tokenizer. Trained with
`--nlp.lang zh`, that tokenizer keeps a Chinese sentence without spaces as one
token, so nearly every gold span is misaligned (16,426 of 16,470 on CMeEE).
The shipped configs name this function instead: it builds whatever tokenizer
the language has by default (the character segmenter for zh, the rule-based
tokenizer for en, ...), so one config serves every language.
"""
from typing import Any, Callable

from spacy.language import Language
from spacy.util import get_lang_class, registry
from thinc.api import Config


@registry.tokenizers("spacy-globalpointer.LanguageTokenizer.v1")
def create_language_tokenizer() -> Callable[[Language], Any]:
    """The default tokenizer of the pipeline's language (`nlp.lang`), with the
    default settings of its `[nlp.tokenizer]` block (`[initialize.tokenizer]`
    still reaches it, e.g. pkuseg for zh)."""

    def create(nlp: Language) -> Any:
        default = get_lang_class(nlp.lang).default_config["nlp"]["tokenizer"]
        factory = registry.resolve(Config({"tokenizer": default}))["tokenizer"]
        return factory(nlp)

    return create
