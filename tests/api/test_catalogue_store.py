"""The catalogue and term context in the store, on SQLite and PostgreSQL: every change
raises the version once in its own transaction, nothing else does, and a term's context
stays bounded."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from services.api.catalogue_store import (
    apply_products,
    bump_version,
    catalogue_version,
    delete_product,
    load_catalogue,
)
from services.api.terms import TermContext, TermReport, merge_term_contexts
from shared.catalogue import CatalogueProduct
from shared.emerging import MAX_EXAMPLES, MAX_WORDS, context_words

KOPI = CatalogueProduct("kopi-aren", "Kopi Aren", "minuman", ("es kopi aren",), (), ("kopiaren",))
KERIPIK = CatalogueProduct("keripik", "Keripik Pisang", "makanan_ringan", keywords=("keripik",))


def test_an_empty_store_is_version_0(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        catalogue = load_catalogue(session)
    assert (catalogue.version, catalogue.products) == (0, ())


def test_each_change_raises_the_version_once_and_a_repeat_not_at_all(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        change = apply_products(session, (KOPI, KERIPIK))
    assert (change.version, change.created) == (1, 2)
    with sessions.begin() as session:
        again = apply_products(session, (KOPI, KERIPIK))
    assert (again.version, again.unchanged, again.changed) == (1, 2, False)
    renamed = CatalogueProduct("kopi-aren", "Kopi Gula Aren", "minuman", hashtags=("kopiaren",))
    with sessions.begin() as session:
        change = apply_products(session, (renamed,))
    assert (change.version, change.updated, change.unchanged) == (2, 1, 0)
    with sessions() as session:
        catalogue = load_catalogue(session)
    assert catalogue.version == 2
    assert catalogue.by_id["kopi-aren"] == renamed
    assert catalogue.by_id["keripik"] == KERIPIK  # merge keeps the others


def test_replace_deletes_what_the_import_lacks(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        apply_products(session, (KOPI, KERIPIK))
    with sessions.begin() as session:
        change = apply_products(session, (KERIPIK,), replace=True)
    assert (change.version, change.deleted, change.unchanged) == (2, 1, 1)
    with sessions() as session:
        assert [p.product_id for p in load_catalogue(session).products] == ["keripik"]


def test_a_rolled_back_change_leaves_the_version(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        apply_products(session, (KOPI,))
    session = sessions()
    apply_products(session, (KERIPIK,))
    session.rollback()
    session.close()
    with sessions() as session:
        catalogue = load_catalogue(session)
    assert (catalogue.version, len(catalogue.products)) == (1, 1)


def test_delete_raises_the_version_only_when_something_went(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        apply_products(session, (KOPI,))
    with sessions.begin() as session:
        assert delete_product(session, "nope") is None
    with sessions.begin() as session:
        assert delete_product(session, "kopi-aren") == 2
    with sessions() as session:
        assert catalogue_version(session) == 2


def test_concurrent_bumps_never_repeat_a_version(sessions: sessionmaker[Session]) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def bump() -> None:
        for _ in range(10):
            with sessions.begin() as session:
                version = bump_version(session)
            with lock:
                seen.append(version)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 41))


def test_term_context_adds_up_and_stays_bounded(sessions: sessionmaker[Session]) -> None:
    first = {f"w{i:02d}": 1 for i in range(30)}
    with sessions.begin() as session:
        merged = merge_term_contexts(
            session,
            [
                TermReport("term:kopi-pandan", first, tuple(f"https://x/{i}" for i in range(4))),
                TermReport("kopi-pandan", {"gula": 5}, ("https://x/9",)),
            ],
        )
    assert merged == 1  # both name the same term
    with sessions.begin() as session:
        merge_term_contexts(
            session, [TermReport("kopi-pandan", {"gula": 2, "w29": 7}, ("https://x/0",))]
        )
    with sessions() as session:
        row = session.get(TermContext, "kopi-pandan")
        assert row is not None
        assert len(row.words) == MAX_WORDS
        assert row.words["gula"] == 7
        assert row.words["w29"] == 7  # cut by the first merge (below the top 20): counted anew
        assert list(row.words)[:2] == ["gula", "w29"]  # most first, ties by word
        assert len(row.examples) == MAX_EXAMPLES
        assert row.examples[-1] == "https://x/0"  # seen again: newest
        assert "https://x/9" in row.examples


def test_term_context_counts_each_post_once(sessions: sessionmaker[Session]) -> None:
    """The same posts reported by every poll (and by a repeated import) count once."""
    posts = {"tiktok:1": (1_000, ("gula", "aren")), "tiktok:2": (1_000, ("gula",))}
    for hour in range(3):
        later = {post: (ms + hour * 3_600_000, words) for post, (ms, words) in posts.items()}
        with sessions.begin() as session:
            merge_term_contexts(session, [TermReport("kopi-aren", posts=later)])
    with sessions() as session:
        row = session.get(TermContext, "kopi-aren")
        assert row is not None
        assert context_words(row.words, row.post_words()) == {"gula": 2, "aren": 1}
        assert row.post_words()["tiktok:1"][0] == 1_000 + 2 * 3_600_000
