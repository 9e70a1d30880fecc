"""Reading a connector's saved JSON state: numbers and objects as `int()` and `dict()` read
them, anything else a TypeError that names what was found."""

from __future__ import annotations

import pytest

from services.sources.checkpoint_dir import saved_dict, saved_int
from services.sources.polling import QuotaLedger


def test_numbers_read_as_int_reads_them() -> None:
    assert [saved_int(v) for v in (7, 7.9, "7")] == [7, 7, 7]


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_a_value_that_is_no_number_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="expected a number"):
        saved_int(value)


def test_objects_are_copied() -> None:
    saved = {"used": 3}
    copy = saved_dict(saved)
    copy["used"] = 4
    assert saved == {"used": 3}


def test_a_quota_ledger_refuses_a_corrupt_count() -> None:
    ledger = QuotaLedger(100)
    with pytest.raises(TypeError, match="expected a number, got list"):
        ledger.restore({"day": "2026-01-01", "used": [3]})
