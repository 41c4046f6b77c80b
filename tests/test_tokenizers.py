"""spacy-globalpointer.LanguageTokenizer.v1: the tokenizer a config names
follows `nlp.lang` (every shipped config is checked in test_project_configs.py)."""
import spacy
from spacy.util import load_model_from_config
from thinc.api import Config

import spacy_globalpointer  # noqa: F401  (registers the tokenizer)

CONFIG = """
[nlp]
lang = "{lang}"
pipeline = []

[nlp.tokenizer]
@tokenizers = "spacy-globalpointer.LanguageTokenizer.v1"

[components]
"""


def test_the_language_tokenizer_follows_nlp_lang_and_round_trips(tmp_path):
    zh = load_model_from_config(Config().from_str(CONFIG.format(lang="zh")), auto_fill=True)
    en = load_model_from_config(Config().from_str(CONFIG.format(lang="en")), auto_fill=True)
    assert [t.text for t in zh.make_doc("中文句子")] == ["中", "文", "句", "子"]
    assert [t.text for t in en.make_doc("Ana's test.")] == ["Ana", "'s", "test", "."]
    zh.to_disk(tmp_path / "zh")
    assert [t.text for t in spacy.load(tmp_path / "zh").make_doc("中文")] == ["中", "文"]
