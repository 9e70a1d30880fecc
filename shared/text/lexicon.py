"""The word lists the normaliser and the term counter read: slang, stop words, generic tags.

They are data files in `shared/text/data/` (documented in their headers and in
docs/text.md), read once per process; editing a list needs no code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

_DATA = "shared.text.data"


@dataclass(frozen=True)
class Lexicon:
    """Slang and abbreviations (written form → normal words), stop words, generic hashtags."""

    slang: dict[str, tuple[str, ...]]
    stop_words: frozenset[str]
    generic_hashtags: frozenset[str]


def _lines(name: str) -> list[str]:
    text = files(_DATA).joinpath(name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def lexicon() -> Lexicon:
    slang: dict[str, tuple[str, ...]] = {}
    for line in _lines("slang_id.tsv"):
        written, normal, *_ = line.split("\t")
        slang[written.strip()] = tuple(normal.split())
    stop_words = frozenset(w for line in _lines("stopwords_id.txt") for w in line.split())
    generic = frozenset(line.strip() for line in _lines("generic_hashtags.txt"))
    return Lexicon(slang, stop_words, generic)
