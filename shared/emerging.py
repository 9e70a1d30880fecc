"""Emerging terms: phrases and hashtags counted like products (`term:…`) that no catalogue
product names yet.

A term event is an ordinary event whose `product_id` is `term:` + the normalised term and
whose `product_name` is the term as written, so terms get features and scores like any
product. This module holds the rules around them, with no I/O:

- which catalogue product a term already names (`matching_product`): the term's words are
  exactly the words of the product's name, of one alias or of its keyword set, or the term
  written as one word (a hashtag, `#kopiaren`, or `kopi aren` run together) is one of the
  product's hashtags. Case, `#`, `-` and `_` do not matter. Deliberately simple: the full
  matcher (shared/text) finds products in free text; this only decides whether a term is
  new.
- the bounded context kept per term: the posts that named it, each once by id, with
  their words (`merge_posts`: the last 7 days, at most `MAX_POSTS`), from which the top
  `MAX_WORDS` co-occurring words are counted (`context_words`), and the last
  `MAX_EXAMPLES` example links (`merge_context`, which also adds up counts reported
  without posts).
- the catalogue product a term becomes when promoted (`promoted_product`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from shared.catalogue import Catalogue, CatalogueProduct

TERM_PREFIX = "term:"
# Context kept for a catalogue product (its example posts) is keyed by this and its id.
PRODUCT_CONTEXT_PREFIX = "product:"
MAX_WORDS = 20
MAX_EXAMPLES = 5
MAX_POSTS = 200  # posts kept per term for its context
CONTEXT_WINDOW_MS = 7 * 86_400_000  # a term's context: the posts of its last 7 days
_SEPARATORS = re.compile(r"[\s_\-]+")
_ID_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def is_term(product_id: str) -> bool:
    return product_id.startswith(TERM_PREFIX)


def term_key(term_or_id: str) -> str:
    """The term as its product id carries it after `term:` (either form is accepted)."""
    return term_or_id.removeprefix(TERM_PREFIX).strip()


def words(text: str) -> tuple[str, ...]:
    """Lower-case words of a term or a name; `#`, `-` and `_` separate nothing else."""
    return tuple(w for w in _SEPARATORS.split(text.lower().replace("#", " ")) if w)


def _names(product: CatalogueProduct) -> Iterable[frozenset[str]]:
    yield frozenset(words(product.name))
    for alias in product.aliases:
        yield frozenset(words(alias))
    if product.keywords:
        yield frozenset(w for keyword in product.keywords for w in words(keyword))


class TermIndex:
    """A catalogue's names (word sets) and hashtags, for one lookup per term rather than
    a pass over every product."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.by_words: dict[frozenset[str], CatalogueProduct] = {}
        self.by_hashtag: dict[str, CatalogueProduct] = {}
        for product in catalogue.products:  # the first product wins, as in the catalogue
            for name in _names(product):
                if name:
                    self.by_words.setdefault(name, product)
            for tag in product.hashtags:
                self.by_hashtag.setdefault(tag, product)

    def product_for(self, term: str) -> CatalogueProduct | None:
        """The catalogue product `term` names (the rule in the module docstring), or None."""
        term_words = words(term)
        if not term_words:
            return None
        return self.by_hashtag.get("".join(term_words)) or self.by_words.get(frozenset(term_words))


def matching_product(term: str, catalogue: Catalogue) -> CatalogueProduct | None:
    """The catalogue product `term` names, or None: an unknown term."""
    return TermIndex(catalogue).product_for(term)


def merge_context(
    old_words: Mapping[str, int],
    old_examples: Sequence[str],
    new_words: Mapping[str, int],
    new_examples: Sequence[str],
) -> tuple[dict[str, int], list[str]]:
    """Counts added up and cut to the top `MAX_WORDS` (ties by word, so the cut does not
    depend on arrival order); examples oldest first, a repeated link moved to the end, the
    last `MAX_EXAMPLES` kept."""
    counts = dict(old_words)
    for word, count in new_words.items():
        if count > 0:
            counts[word] = counts.get(word, 0) + count
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_WORDS]
    examples = [e for e in old_examples if e not in new_examples]
    for example in new_examples:
        if example not in examples:
            examples.append(example)
    return dict(top), examples[-MAX_EXAMPLES:]


# A post's contribution to a term's context: when it was seen (epoch ms) and its words.
PostWords = tuple[int, tuple[str, ...]]


def merge_posts(
    old: Mapping[str, PostWords],
    new: Mapping[str, PostWords],
    window_ms: int = CONTEXT_WINDOW_MS,
    max_posts: int = MAX_POSTS,
) -> dict[str, PostWords]:
    """The posts naming a term, each once by its id (a post reported again keeps its
    latest words and time): those seen within `window_ms` of the newest, at most
    `max_posts` of them, newest kept (ties by id), oldest first."""
    posts = dict(old)
    for post, (seen_ms, post_words) in new.items():
        before = posts.get(post)
        if before is None or seen_ms >= before[0]:
            posts[post] = (seen_ms, tuple(post_words))
    if not posts:
        return {}
    newest_ms = max(seen_ms for seen_ms, _ in posts.values())
    recent = sorted(
        (item for item in posts.items() if item[1][0] > newest_ms - window_ms),
        key=lambda item: (-item[1][0], item[0]),
    )[:max_posts]
    return dict(reversed(recent))


def context_words(counts: Mapping[str, int], posts: Mapping[str, PostWords]) -> dict[str, int]:
    """The top `MAX_WORDS` words (most first, ties by word): reported counts plus, per
    word, the posts that hold it."""
    total = dict(counts)
    for _, post_words in posts.values():
        for word in set(post_words):
            total[word] = total.get(word, 0) + 1
    top = sorted(total.items(), key=lambda item: (-item[1], item[0]))[:MAX_WORDS]
    return dict(top)


def promoted_product(
    term: str, product_id: str | None = None, name: str | None = None, category: str = ""
) -> CatalogueProduct:
    """The catalogue product a term becomes: named by its words (first letter capitalised),
    id given or derived from the words (`kopi-aren`), the term's run-together form as a
    hashtag when it was one. Raises `CatalogueError` for an unusable id or name."""
    term_words = words(term)
    derived_id = _ID_UNSAFE.sub("-", "-".join(term_words)).strip("-._")[:128]
    text = " ".join(term_words)
    hashtag = term.lstrip().startswith("#") or term_key(term).startswith("#")
    return CatalogueProduct(
        product_id=product_id or derived_id,
        name=name or text[:1].upper() + text[1:],
        category=category,
        hashtags=("".join(term_words),) if hashtag and term_words else (),
    )
