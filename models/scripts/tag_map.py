"""Penn Treebank tag -> Universal POS, as spaCy's English pipelines map them.

The attribute ruler sets `token.pos_` (UPOS) and morphology from the tagger's PTB tag,
so one trained tagger gives both tag sets.
"""

TAG_MAP: dict[str, dict[str, str]] = {
    ".": {"POS": "PUNCT", "MORPH": "PunctType=Peri"},
    ",": {"POS": "PUNCT", "MORPH": "PunctType=Comm"},
    "-LRB-": {"POS": "PUNCT", "MORPH": "PunctSide=Ini|PunctType=Brck"},
    "-RRB-": {"POS": "PUNCT", "MORPH": "PunctSide=Fin|PunctType=Brck"},
    "``": {"POS": "PUNCT", "MORPH": "PunctSide=Ini|PunctType=Quot"},
    "''": {"POS": "PUNCT", "MORPH": "PunctSide=Fin|PunctType=Quot"},
    '"': {"POS": "PUNCT", "MORPH": "PunctType=Quot"},
    ":": {"POS": "PUNCT"},
    "$": {"POS": "SYM"},
    "#": {"POS": "SYM"},
    "AFX": {"POS": "ADJ", "MORPH": "Hyph=Yes"},
    "CC": {"POS": "CCONJ", "MORPH": "ConjType=Comp"},
    "CD": {"POS": "NUM", "MORPH": "NumType=Card"},
    "DT": {"POS": "DET"},
    "EX": {"POS": "PRON", "MORPH": "PronType=Dem"},
    "FW": {"POS": "X", "MORPH": "Foreign=Yes"},
    "HYPH": {"POS": "PUNCT", "MORPH": "PunctType=Dash"},
    "IN": {"POS": "ADP"},
    "JJ": {"POS": "ADJ", "MORPH": "Degree=Pos"},
    "JJR": {"POS": "ADJ", "MORPH": "Degree=Cmp"},
    "JJS": {"POS": "ADJ", "MORPH": "Degree=Sup"},
    "LS": {"POS": "X", "MORPH": "NumType=Ord"},
    "MD": {"POS": "AUX", "MORPH": "VerbType=Mod"},
    "NIL": {"POS": "X"},
    "NN": {"POS": "NOUN", "MORPH": "Number=Sing"},
    "NNP": {"POS": "PROPN", "MORPH": "NounType=Prop|Number=Sing"},
    "NNPS": {"POS": "PROPN", "MORPH": "NounType=Prop|Number=Plur"},
    "NNS": {"POS": "NOUN", "MORPH": "Number=Plur"},
    "PDT": {"POS": "DET"},
    "POS": {"POS": "PART", "MORPH": "Poss=Yes"},
    "PRP": {"POS": "PRON", "MORPH": "PronType=Prs"},
    "PRP$": {"POS": "DET", "MORPH": "Poss=Yes|PronType=Prs"},
    "RB": {"POS": "ADV", "MORPH": "Degree=Pos"},
    "RBR": {"POS": "ADV", "MORPH": "Degree=Cmp"},
    "RBS": {"POS": "ADV", "MORPH": "Degree=Sup"},
    "RP": {"POS": "ADP"},
    "SP": {"POS": "SPACE"},
    "_SP": {"POS": "SPACE"},
    "SYM": {"POS": "SYM"},
    "TO": {"POS": "PART", "MORPH": "PartType=Inf|VerbForm=Inf"},
    "UH": {"POS": "INTJ"},
    "VB": {"POS": "VERB", "MORPH": "VerbForm=Inf"},
    "VBD": {"POS": "VERB", "MORPH": "Tense=Past|VerbForm=Fin"},
    "VBG": {"POS": "VERB", "MORPH": "Aspect=Prog|Tense=Pres|VerbForm=Part"},
    "VBN": {"POS": "VERB", "MORPH": "Aspect=Perf|Tense=Past|VerbForm=Part"},
    "VBP": {"POS": "VERB", "MORPH": "Tense=Pres|VerbForm=Fin"},
    "VBZ": {"POS": "VERB", "MORPH": "Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"},
    "WDT": {"POS": "DET"},
    "WP": {"POS": "PRON"},
    "WP$": {"POS": "DET", "MORPH": "Poss=Yes"},
    "WRB": {"POS": "ADV"},
    "ADD": {"POS": "X"},
    "NFP": {"POS": "PUNCT"},
    "GW": {"POS": "X"},
    "XX": {"POS": "X"},
}

# Universal Dependencies conventions a tag alone cannot give (learned from nothing: read off
# UD's guidelines and checked on EWT dev). Added after TAG_MAP, so they win where both match.
_BE = ["be", "is", "are", "was", "were", "been", "being", "am", "'s", "'re", "'m", "’s", "’re"]
_HAVE = ["have", "has", "had", "'ve", "'d", "’ve", "’d", "having"]
_DO = ["do", "does", "did"]
_VERB_TAGS = ["VB", "VBD", "VBG", "VBN", "VBP", "VBZ"]
_ADVERB = {"TAG": {"IN": ["RB", "RBR"]}, "OP": "*"}
UD_PATTERNS: list[dict] = [
    {"patterns": [[{"LOWER": {"IN": _BE}, "TAG": {"IN": _VERB_TAGS}}]], "attrs": {"POS": "AUX"}},
    {
        "patterns": [
            [{"LOWER": {"IN": _HAVE}, "TAG": {"IN": _VERB_TAGS}}, _ADVERB, {"TAG": "VBN"}]
        ],
        "attrs": {"POS": "AUX"},
        "index": 0,
    },
    {
        "patterns": [[{"LOWER": {"IN": _DO}, "TAG": {"IN": _VERB_TAGS}}, _ADVERB, {"TAG": "VB"}]],
        "attrs": {"POS": "AUX"},
        "index": 0,
    },
    {"patterns": [[{"TAG": "PRP$"}], [{"TAG": "WP$"}]], "attrs": {"POS": "PRON"}},
    {
        "patterns": [[{"LOWER": {"IN": ["not", "n't", "n’t"]}, "TAG": "RB"}]],
        "attrs": {"POS": "PART"},
    },
    {
        "patterns": [
            [
                {
                    "LOWER": {
                        "IN": [
                            "if",
                            "because",
                            "although",
                            "though",
                            "whether",
                            "unless",
                            "whereas",
                            "that",
                        ]
                    },
                    "TAG": "IN",
                }
            ]
        ],
        "attrs": {"POS": "SCONJ"},
    },
    {
        "patterns": [
            [{"LOWER": {"IN": ["which", "that", "who", "whom"]}, "TAG": {"IN": ["WDT", "WP"]}}]
        ],
        "attrs": {"POS": "PRON"},
    },
]
