"""Date parts for the date and currentdate tests (RFC 5260 4-5). Pure."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

_ZONE = re.compile(r"([+-])([0-9]{2})([0-9]{2})")
_MJD_EPOCH = date(1858, 11, 17)


def parse_zone(text: str) -> timezone | None:
    found = _ZONE.fullmatch(text.strip())
    if found is None:
        return None
    offset = timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
    return timezone(-offset if found.group(1) == "-" else offset)


def header_date(value: str) -> datetime | None:
    """A date field's value; a Received field's date follows its last ';' (RFC 5322 3.6.7)."""
    try:
        parsed = parsedate_to_datetime(value.rpartition(";")[2].strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def date_part(moment: datetime, part: str) -> str:
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return {
        "year": f"{moment.year:04d}",
        "month": f"{moment.month:02d}",
        "day": f"{moment.day:02d}",
        "date": moment.strftime("%Y-%m-%d"),
        "julian": str((moment.date() - _MJD_EPOCH).days),
        "hour": f"{moment.hour:02d}",
        "minute": f"{moment.minute:02d}",
        "second": f"{moment.second:02d}",
        "time": moment.strftime("%H:%M:%S"),
        "iso8601": moment.isoformat(timespec="seconds"),
        "std11": format_datetime(moment),
        "zone": zone,
        "weekday": str((moment.weekday() + 1) % 7),
    }[part.lower()]
