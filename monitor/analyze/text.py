"""Text normalisation shared by keyword matching and the sentiment model.

NFKC folds full-width letters, digits and punctuation to their ASCII forms (ＡＢＣ１２３ → ABC123);
OpenCC's t2s turns Traditional into Simplified characters (江城水務集團 → 江城水务集团); lower case
makes Latin brand names match however they are written. Lengths are kept for Chinese text, so
positions in the normalised text point at the same characters as in the original.
"""

from __future__ import annotations

import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower()
