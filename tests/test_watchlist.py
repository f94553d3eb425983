"""Which passes alert: watch-list patterns, one OCR confusion, outbreak provinces by date."""

from __future__ import annotations

from datetime import date

from anpr_feed.events_store import Outbreak, WatchEntry
from anpr_feed.watchlist import Matcher

DAY = date(2021, 11, 20)


def watch(pattern: str, reason: str = "kiểm tra") -> WatchEntry:
    return WatchEntry(pattern, pattern, reason, "host.tinh", 0.0)


def outbreak(code: str, start: str, end: str, reason: str = "F0", ident: str = "") -> Outbreak:
    return Outbreak(ident or f"{code}{start}", code, start, end, reason, "host.tinh", 0.0)


def test_exact_wildcard_and_fuzzy_matches() -> None:
    matcher = Matcher([watch("30A12345", "xe mất cắp"), watch("29A*"), watch("*8888")])
    assert [a.pattern for a in matcher.match("30A12345", "30", DAY)] == ["30A12345"]
    assert [a.pattern for a in matcher.match("29A99999", "29", DAY)] == ["29A*"]
    assert [a.pattern for a in matcher.match("20C08888", "20", DAY)] == ["*8888"]
    # One confusable character away (B read where the list has 8): an alert that says so.
    [near] = matcher.match("20C0888B", "20", DAY)
    assert near.pattern == "*8888" and near.fuzzy and "B" in near.fuzzy
    assert matcher.match("20C12345", "20", DAY) == []  # on no list, not even nearly


def test_outbreak_provinces_alert_within_their_dates_once_per_reason() -> None:
    matcher = Matcher(
        outbreaks=[
            outbreak("22", "2021-11-01", "2021-11-30"),
            outbreak("22", "2021-11-01", "2021-11-30", ident="again"),  # entered twice
            outbreak("22", "2021-11-15", "2021-12-15", reason="công điện 15"),
            outbreak("99", "2021-10-01", "2021-10-31"),
        ]
    )
    alerts = matcher.match("22A12345", "22", DAY)
    assert [(a.kind, a.reason) for a in alerts] == [
        ("outbreak", "F0"),
        ("outbreak", "công điện 15"),
    ]
    assert matcher.match("99A12345", "99", DAY) == []  # its dates are over
    assert [a.reason for a in matcher.match("22A12345", "22", date(2021, 12, 1))] == [
        "công điện 15"
    ]
