"""scispaCy's combined rule tokenizer, registered so a config can name it.

scispaCy ships the tokenizer as a plain function of `nlp`; spaCy configs need a registered
factory. Registering it lets `config.cfg` say
`[nlp.tokenizer] @tokenizers = "claims.scispacy_tokenizer.v1"`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from types import SimpleNamespace

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import registry

# Split where a substance name meets a modifier, so "lithium-induced", "MDMA-assisted",
# "non-lithium" and "debrisoquine/sparteine" give the name its own token (otherwise about
# one BC5CDR entity in ten sits inside a longer token and cannot be recognised). Names such
# as "7-hydroxymitragynine" or "3,4-methylenedioxymethamphetamine" stay whole.
_MODIFIERS = (
    r"[a-z]{2,}(?:ed|ing)|like|free|(?:in)?dependent|specific|resistant|sensitive|positive|"
    r"negative|responsive|suppressible|naive|rich|poor|type"
)
EXTRA_INFIXES = (
    rf"(?<=[A-Za-z0-9\)\]])-(?=(?:{_MODIFIERS})(?![A-Za-z]))"
    r"|(?<=^[Nn]on)-(?=[A-Za-z0-9])"
    r"|(?<=[A-Za-z]{2})/(?=[A-Za-z]{2})"
)


@registry.tokenizers("claims.scispacy_tokenizer.v1")
def create_scispacy_tokenizer() -> Callable[[Language], Tokenizer]:
    """Return a factory building scispaCy's biomedical rule tokenizer for an `nlp` object."""

    def build(nlp: Language) -> Tokenizer:
        from scispacy.custom_tokenizer import combined_rule_tokenizer

        # scispaCy reads `nlp.tokenizer.token_match`, which does not exist yet while spaCy
        # is building the tokenizer from a config; hand it the language defaults instead.
        defaults = nlp.Defaults
        host = SimpleNamespace(
            vocab=nlp.vocab,
            Defaults=defaults,
            tokenizer=SimpleNamespace(token_match=defaults.token_match),
        )
        # scispaCy's infix regex triggers a harmless FutureWarning from `re` on every build.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            built = combined_rule_tokenizer(host)
        # Web articles carry URLs; keep them whole as spaCy's English tokenizer does.
        built.url_match = defaults.url_match
        pattern = built.infix_finditer.__self__.pattern
        built.infix_finditer = re.compile(f"{pattern}|{EXTRA_INFIXES}").finditer
        return built

    return build
