"""jieba segmentation with the keyword library's terms in its user dictionary.

Terms are added to one jieba.Tokenizer (not the global one, so tests and reloads stay isolated);
when the library changes, terms that left it are deleted again. Keyword matching does not depend
on this (it runs on characters); segmentation serves what works on words (event shingles).
"""

from __future__ import annotations

import logging

import jieba

# jieba prints its dictionary-loading chatter through the root logger at INFO.
jieba.setLogLevel(logging.WARNING)


class Segmenter:
    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._added: set[str] = set()

    def use_terms(self, terms: set[str]) -> None:
        for term in self._added - terms:
            self._tokenizer.del_word(term)
        for term in terms - self._added:
            # A high frequency makes jieba prefer the whole term over its parts.
            self._tokenizer.add_word(term, freq=max(1000, self._tokenizer.suggest_freq(term)))
        self._added = set(terms)

    def cut(self, text: str) -> list[str]:
        return [token for token in self._tokenizer.lcut(text) if token.strip()]
