"""Applying a change page to the feed it follows (``ogp_federation.feed.changes``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from ogp_federation.feed import Entity, encode
from ogp_federation.feed.changes import ChangeError, apply_changes
from ogp_federation.feed.protocol import Change, ChangePage
from ogp_federation.feed.synth import generate_feed
from ogp_federation.feed.validation import validate

BASE = generate_feed("13122", commitments=2, seed=3)
LATER = BASE.generated_at + timedelta(hours=1)


def _page(*changes: Change, since: int = BASE.sequence, until: int = BASE.sequence + 1) -> ChangePage:
    return ChangePage(cut="13122", since=since, until=until, generated_at=LATER, changes=list(changes))


def _milestone(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = msgspec.to_builtins(BASE.milestones[0])
    return record | changes


def test_a_put_replaces_the_record_and_the_result_is_a_valid_continuation() -> None:
    changed = _milestone(title="Hito con título nuevo")
    feed = apply_changes(BASE, _page(Change(entity=Entity.MILESTONES, id=changed["id"], sequence=2, record=changed)))
    assert (feed.sequence, feed.generated_at) == (BASE.sequence + 1, LATER)
    assert next(m for m in feed.milestones if m.id == changed["id"]).title == "Hito con título nuevo"
    assert len(feed.milestones) == len(BASE.milestones)
    assert validate(encode(feed), BASE).valid


def test_a_new_record_is_added_and_a_deleted_one_gets_a_tombstone() -> None:
    added = _milestone(id="nuevo-hito", title="Un hito más")
    gone = BASE.assessments[0].id
    deleted_at = LATER - timedelta(minutes=5)
    feed = apply_changes(
        BASE,
        _page(
            Change(entity=Entity.MILESTONES, id="nuevo-hito", sequence=2, record=added),
            Change(entity=Entity.ASSESSMENTS, id=gone, sequence=2, deleted_at=deleted_at),
        ),
    )
    assert "nuevo-hito" in {m.id for m in feed.milestones}
    assert gone not in {a.id for a in feed.assessments}
    assert [(t.entity, t.id, t.deleted_at) for t in feed.tombstones] == [(Entity.ASSESSMENTS, gone, deleted_at)]
    assert validate(encode(feed), BASE).valid  # the vanished record is buried: continuity holds


def test_a_record_put_back_loses_its_tombstone() -> None:
    gone = msgspec.to_builtins(BASE.assessments[0])
    deleted = apply_changes(BASE, _page(Change(entity=Entity.ASSESSMENTS, id=gone["id"], sequence=2)))
    back = apply_changes(
        deleted,
        _page(
            Change(entity=Entity.ASSESSMENTS, id=gone["id"], sequence=3, record=gone),
            since=deleted.sequence,
            until=deleted.sequence + 1,
        ),
    )
    assert back.tombstones == []
    assert gone["id"] in {a.id for a in back.assessments}


@pytest.mark.parametrize(
    ("page", "path"),
    [
        (_page(since=BASE.sequence + 3, until=BASE.sequence + 4), "$.since"),
        (_page(until=BASE.sequence), "$.until"),
        (
            _page(Change(entity=Entity.MILESTONES, id="otro", sequence=2, record=_milestone())),
            "$.changes[0].id",
        ),
        (
            _page(Change(entity=Entity.MILESTONES, id="x", sequence=2, record=_milestone(id="x", status="casi"))),
            "$.changes[0].record",
        ),
    ],
    ids=["does-not-follow", "goes-nowhere", "id-mismatch", "invalid-record"],
)
def test_a_page_that_cannot_be_applied_says_where(page: ChangePage, path: str) -> None:
    with pytest.raises(ChangeError) as error:
        apply_changes(BASE, page)
    assert error.value.path == path


def test_the_base_is_not_modified() -> None:
    before = encode(BASE)
    apply_changes(BASE, _page(Change(entity=Entity.ASSESSMENTS, id=BASE.assessments[0].id, sequence=2)))
    assert encode(BASE) == before
