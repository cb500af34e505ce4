"""Access lists (allow / deny) and the matcher that finds a read's entries, tolerating misreads.

Readings of the spec chosen here:

- An entry is (list, plate) — unique —, an optional validity window `valid_from`..`valid_until`
  (the camera spec's enable_time / overdue_time, section 7.5: `valid_until` is the first moment the
  entry is no longer valid), an optional weekly schedule (windows in site local time: weekdays and
  start-end times, an end before the start crosses midnight into the next day, start == end is the
  whole day), a tag (group), a comment, and the device codes it applies to (None = every device).
- Times are accepted as ISO 8601 or the spec's `YYYY-MM-DD HH:MM:SS`; naive times are site local
  time (`Settings.timezone`, an IANA name; "" = the machine's zone). Stored in UTC, whole seconds.
- Matching compares normalised plates (upper case, no separators). Exact beats look-alike (only
  look-alike characters differ: 0/O/Q/D, 1/I/L, 8/B, 5/S, 2/Z, 6/G, 7/T, 4/A — the classes of
  core/similar.py) beats edits (Levenshtein; with look-alikes on, look-alike swaps are free).

Matching is fast on 1,000,000 entries: the indexed column `plate_key` holds the look-alike canonical
form; exact and look-alike are one indexed lookup; one edit is one `plate_key IN (...)` query over
every single-edit variant of the key (~500 strings); two edits use an in-memory index of the keys
(forward and reversed, sorted; built on first use, rebuilt when the lists' version changes) and the
pigeonhole principle: one half of the plate is within one edit of the entry's prefix or suffix."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any

from platehub.core import similar
from platehub.core.errors import Conflict, DomainError
from platehub.core.eventlog import EventLog, over
from platehub.core.read import normalize_plate
from platehub.core.store.access import AccessRepo, Entry, Window

if TYPE_CHECKING:
    from platehub.config import Settings

LISTS = ("allow", "deny")
MAX_PLATE = 32
MAX_TAG = 64
MAX_COMMENT = 2000
MAX_DEVICES = 100
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS = ("exact", "lookalike", "edit")


class ListError(DomainError):
    """Invalid user input for an access list entry (the message says what and why)."""


class DuplicateEntry(ListError, Conflict):
    """The list holds the plate already."""


@dataclass(frozen=True)
class Match:
    entry: Entry
    kind: str  # "exact" | "lookalike" | "edit"
    distance: int  # character edits (0 for exact and lookalike)
    active: bool  # the entry is valid at the time asked (validity window and schedule)
    inactive_reason: str | None  # "not yet valid" | "expired" | "outside schedule" | None
    read: str = ""  # the normalised plate that was matched
    zone: tzinfo | None = field(default=None, repr=False, compare=False)

    @property
    def why(self) -> str:
        e = self.entry
        if self.kind == "exact":
            how = "exact"
        elif self.kind == "lookalike":
            how = f"look-alike characters: read {self.read}"
        else:
            how = f"{self.distance} edit{'s' if self.distance != 1 else ''}: read {self.read}"
        text = f"{e.list} list entry {e.plate} ({how})"
        if self.inactive_reason == "not yet valid":
            text += f", not yet valid: from {format_time(e.valid_from, self.zone)}"
        elif self.inactive_reason == "expired":
            text += f", expired {format_time(e.valid_until, self.zone)}"
        elif self.inactive_reason == "outside schedule":
            text += f", outside schedule {format_schedule(e.schedule)}"
        return text


# ---- times and zones ---------------------------------------------------------------------------------------

def parse_time(value: Any, zone: tzinfo | None, what: str = "time") -> datetime | None:
    """ISO 8601 or `YYYY-MM-DD HH:MM:SS` (the camera spec's), naive = site local → aware UTC, whole
    seconds. None or "" → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ListError(f"{what}: {value!r} is not a time (ISO 8601 or YYYY-MM-DD HH:MM:SS)") from None
    else:
        raise ListError(f"{what}: expected a time as text, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.astimezone() if zone is None else moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(value: datetime | None, zone: tzinfo | None) -> str:
    """ISO 8601 in site local time with its offset ("" for None): exact when read back."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else ""


# ---- schedules ---------------------------------------------------------------------------------------------

_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _day(name: str) -> int:
    n = name.strip().lower()
    for names in (DAYS, _FULL_DAYS):
        if n in names:
            return names.index(n)
    raise ListError(f"schedule: unknown day {name!r} (mon, tue, wed, thu, fri, sat, sun)")


def _days(text: str) -> frozenset[int]:
    if text.lower() in ("daily", "*", "all", "everyday"):
        return frozenset(range(7))
    out: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        first, dash, last = part.partition("-")
        a = _day(first)
        if not dash:
            out.add(a)
            continue
        b = _day(last)
        out.update((a + i) % 7 for i in range((b - a) % 7 + 1))  # fri-mon wraps
    if not out:
        raise ListError(f"schedule: no days in {text!r}")
    return frozenset(out)


def _clock(h: str, m: str, text: str) -> time:
    hour, minute = int(h), int(m)
    if hour == 24 and minute == 0:
        return time(0, 0)
    if hour > 23 or minute > 59:
        raise ListError(f"schedule: {text!r} is not a time of day")
    return time(hour, minute)


def parse_schedule(text: Any) -> tuple[Window, ...]:
    """`mon-fri 07:00-19:00; sat 08:00-12:00` → windows. Days: names or ranges (`fri-mon` wraps),
    comma-separated, or `daily`; no days = every day; no times = the whole day; several time ranges
    separated by commas. "" → () (always)."""
    if text is None:
        return ()
    if isinstance(text, (list, tuple)):
        try:
            return tuple(w if isinstance(w, Window) else Window.from_json(w) for w in text)
        except (KeyError, TypeError, ValueError):
            raise ListError("schedule: expected text such as 'mon-fri 07:00-19:00'") from None
    if not isinstance(text, str):
        raise ListError(f"schedule: expected text such as 'mon-fri 07:00-19:00', got {type(text).__name__}")
    windows: list[Window] = []
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z*][A-Za-z,\-\s*]*?)?\s*((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)*)$", part)
        if not m:
            raise ListError(f"schedule: cannot read {part!r} (expected e.g. 'mon-fri 07:00-19:00')")
        days = _days(re.sub(r"\s+", "", m.group(1))) if m.group(1) else frozenset(range(7))
        ranges = [r.strip() for r in (m.group(2) or "").split(",") if r.strip()]
        if not ranges:
            windows.append(Window(days, time(0, 0), time(0, 0)))
        for r in ranges:
            t = _TIME_RANGE.match(r)
            if not t:
                raise ListError(f"schedule: {r!r} is not a time range HH:MM-HH:MM")
            windows.append(Window(days, _clock(t[1], t[2], r), _clock(t[3], t[4], r)))
    return tuple(windows)


def _days_text(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(DAYS[r[0]] if len(r) == 1 else f"{DAYS[r[0]]}-{DAYS[r[-1]]}" for r in runs)


def format_schedule(windows: Iterable[Window]) -> str:
    """Windows → the text `parse_schedule` reads back to the same windows."""
    out = []
    for w in windows:
        if w.start == w.end == time(0, 0):
            out.append(_days_text(w.days))
        else:
            out.append(f"{_days_text(w.days)} {w.start:%H:%M}-{w.end:%H:%M}")
    return "; ".join(out)


# ---- entries from user input -------------------------------------------------------------------------------

def _utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ListError(f"{what}: not valid text (a lone surrogate)") from None


def _text(value: Any, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ListError(f"{what}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    _utf8(text, what)
    if len(text) > limit:
        raise ListError(f"{what}: longer than {limit} characters")
    return text or None


def parse_devices(value: Any) -> tuple[str, ...] | None:
    """Device codes separated by spaces, commas or `;` (or a list); empty = every device (None)."""
    if value is None:
        return None
    if isinstance(value, str):
        codes = [c for c in re.split(r"[\s;,]+", value) if c]
    elif isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value):
        codes = [c.strip() for c in value if c.strip()]
    else:
        raise ListError("devices: expected device codes separated by spaces or ';', or a list of them")
    for c in codes:
        _utf8(c, "devices")
    if any(len(c) > 128 for c in codes) or len(codes) > MAX_DEVICES:
        raise ListError(f"devices: at most {MAX_DEVICES} codes of up to 128 characters")
    return tuple(dict.fromkeys(codes)) or None


def parse_list(value: Any) -> str:
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in LISTS:
        raise ListError(f"list: {value!r} is not a list (allow or deny)")
    return name


def parse_plate(value: Any) -> str:
    text = _text(value, "plate", 200)
    plate = normalize_plate(text or "")
    if not plate:
        raise ListError("plate: empty")
    if len(plate) > MAX_PLATE:
        raise ListError(f"plate: longer than {MAX_PLATE} characters")
    return plate


FIELDS = ("list", "plate", "valid_from", "valid_until", "schedule", "tag", "comment", "devices")


def parse_entry(fields: Mapping[str, Any], zone: tzinfo | None, *, base: Entry | None = None) -> Entry:
    """An entry from user input (API JSON, a CSV row, CLI options). With `base`, only the given fields
    change (an update). Unknown fields are refused."""
    unknown = set(fields) - set(FIELDS) - {"id", "created_at", "updated_at"}
    if unknown:
        raise ListError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}; the fields are "
                        f"{', '.join(FIELDS)}")
    if base is None:
        for required in ("list", "plate"):
            if fields.get(required) in (None, ""):
                raise ListError(f"{required}: missing")
        base = Entry(list="allow", plate="X")
    values: dict[str, Any] = {}
    if "list" in fields:
        values["list"] = parse_list(fields["list"])
    if "plate" in fields:
        values["plate"] = parse_plate(fields["plate"])
    if "valid_from" in fields:
        values["valid_from"] = parse_time(fields["valid_from"], zone, "valid_from")
    if "valid_until" in fields:
        values["valid_until"] = parse_time(fields["valid_until"], zone, "valid_until")
    if "schedule" in fields:
        values["schedule"] = parse_schedule(fields["schedule"])
    if "tag" in fields:
        values["tag"] = _text(fields["tag"], "tag", MAX_TAG)
    if "comment" in fields:
        values["comment"] = _text(fields["comment"], "comment", MAX_COMMENT)
    if "devices" in fields:
        values["devices"] = parse_devices(fields["devices"])
    entry = Entry(**{**{f: getattr(base, f) for f in ("list", "plate", "valid_from", "valid_until", "schedule",
                                                         "tag", "comment", "devices", "id", "created_at",
                                                         "updated_at")}, **values})
    if entry.valid_from and entry.valid_until and entry.valid_until <= entry.valid_from:
        raise ListError("valid_until must be after valid_from")
    return entry


def entry_fields(entry: Entry, zone: tzinfo | None) -> dict[str, str]:
    """The entry as the text columns of a list file (what `parse_entry` reads back)."""
    return {"list": entry.list, "plate": entry.plate, "valid_from": format_time(entry.valid_from, zone),
            "valid_until": format_time(entry.valid_until, zone), "schedule": format_schedule(entry.schedule),
            "tag": entry.tag or "", "comment": entry.comment or "", "devices": " ".join(entry.devices or ())}


def described(entry: Entry, names: Iterable[str] = ()) -> dict[str, Any]:
    """What the event log records of an entry: its id and plate, and the fields `names` as JSON (times
    ISO 8601 in UTC)."""
    out: dict[str, Any] = {"id": entry.id, "plate": entry.plate}
    for name in names:
        if name in ("list", "plate", "tag", "comment"):
            out[name] = getattr(entry, name)
        elif name in ("valid_from", "valid_until"):
            when = getattr(entry, name)
            out[name] = when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None
        elif name == "schedule":
            out[name] = format_schedule(entry.schedule) or None
        elif name == "devices":
            out[name] = list(entry.devices) if entry.devices else None
    return out


# ---- the matcher -------------------------------------------------------------------------------------------

_ASCII = "".join(dict.fromkeys(similar.canonical(c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
# characters that start (or end) plates in other scripts: Chinese provinces and special plates
_EDGE = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领警学挂港澳"


def variants(key: str, alphabet: str = _ASCII, edge: str = _EDGE) -> set[str]:
    """Every string one substitution, insertion or deletion away from `key` (and `key` itself).
    Letters/digits anywhere; the non-Latin `edge` characters (and the key's own) only at either end —
    where Chinese plates carry them."""
    out = {key}
    n = len(key)
    own = "".join(c for c in dict.fromkeys(key) if c not in alphabet)
    inner, outer = alphabet + own, alphabet + own + edge
    for i in range(n + 1):
        pre, post = key[:i], key[i:]
        for c in outer if i in (0, n) else inner:
            out.add(pre + c + post)
        if i < n:
            out.add(pre + post[1:])
            for c in outer if i in (0, n - 1) else inner:
                out.add(pre + c + post[1:])
    return out


class _KeyIndex:
    """The lists' plate keys sorted forward and reversed, for prefix/suffix searches (two edits)."""

    def __init__(self, keys: Iterable[str], version: int) -> None:
        unique = set(keys)
        self.keys = frozenset(unique)
        self.version = version
        self.forward = sorted(unique)
        self.backward = sorted(k[::-1] for k in unique)
        self.alphabet = "".join(sorted({c for k in unique for c in k}))

    @staticmethod
    def _prefixed(sorted_keys: list[str], prefix: str) -> Iterable[str]:
        i = bisect.bisect_left(sorted_keys, prefix)
        while i < len(sorted_keys) and sorted_keys[i].startswith(prefix):
            yield sorted_keys[i]
            i += 1

    def near(self, key: str, edits: int) -> set[str]:
        """Keys within `edits` (0, 1 or 2) edits of `key`."""
        if edits == 0:
            return {key} & self.keys
        return self.within_one(key) if edits == 1 else self.within_two(key)

    def within_one(self, key: str) -> set[str]:
        """Keys within one edit of `key`. Split `key` in halves: a key one edit away has that edit in one
        half, so it starts with the first half or ends with the second: one prefix search in the forward
        keys, one in the reversed (cheaper than the ~500 strings of `variants(key)`, asked of every read)."""
        n, half = len(key), len(key) // 2
        found = {k for k in self._prefixed(self.forward, key[:half]) if abs(len(k) - n) <= 1}
        found.update(k[::-1] for k in self._prefixed(self.backward, key[half:][::-1]) if abs(len(k) - n) <= 1)
        return {k for k in found if similar.edits(key, k, lookalikes=False, limit=1) <= 1}

    def within_two(self, key: str) -> set[str]:
        """Keys within two edits of `key`. Split `key` = A + B: an optimal alignment spends at most
        one edit on A, or two on A and none on B. So the entry starts with A or a one-edit variant
        of A, or ends with B exactly: prefix searches in the forward keys, one suffix search in the
        reversed keys. The split point minimises the expected number of keys scanned."""
        n = len(key)
        if n < 3:
            return {k for k in self.forward if len(k) <= n + 2 and similar.edits(key, k, False, 2) <= 2}
        # keys scanned ≈ a·N/20^(a-1) (deleting from A) + N/20^(n-a) (the suffix B)
        a = min(range(2, n), key=lambda a: a * 20.0 ** -(a - 1) + 20.0 ** -(n - a))
        head, tail = key[:a], key[a:]
        found: set[str] = set()
        for v in variants(head, self.alphabet, ""):
            found.update(k for k in self._prefixed(self.forward, v) if abs(len(k) - n) <= 2)
        found.update(k[::-1] for k in self._prefixed(self.backward, tail[::-1]) if abs(len(k) - n) <= 2)
        return {k for k in found if similar.edits(key, k, lookalikes=False, limit=2) <= 2}


class AccessLists:
    """The allow and deny lists: edits over the repository, each one settings entry of the event log
    (by whom: `by`, the CLI's "cli" or the API's user), and the matcher."""

    def __init__(self, repo: AccessRepo, settings: Settings, eventlog: EventLog | None = None) -> None:
        self.repo = repo
        self.settings = settings
        self.zone = settings.zone
        self.eventlog = eventlog or over(repo.engine)
        self._index: _KeyIndex | None = None
        self._index_lock = threading.Lock()

    # -- edits (thin over the repo) --
    def parse(self, fields: Mapping[str, Any], base: Entry | None = None) -> Entry:
        return parse_entry(fields, self.zone, base=base)

    def add(self, fields: Mapping[str, Any], *, by: str | None = None) -> Entry:
        """A new entry; ListError when the list already holds the plate."""
        entry = self.parse(fields)
        stored = self.repo.add(entry)
        if stored is None:
            raise DuplicateEntry(f"the {entry.list} list holds {entry.plate} already")
        self._logged(stored, by, None, described(stored))
        return stored

    def put(self, fields: Mapping[str, Any], *, by: str | None = None) -> tuple[Entry, bool]:
        """Add or replace the entry of (list, plate); True when it was added."""
        stored, added = self.repo.upsert(self.parse(fields))
        self._logged(stored, by, None if added else "entry", described(stored))
        return stored, added

    def update(self, entry_id: int, fields: Mapping[str, Any], *, by: str | None = None) -> Entry | None:
        """Change the given fields of an entry; None when there is no such entry."""
        current = self.repo.get(entry_id)
        if current is None:
            return None
        changed = self.parse(fields, base=current)
        stored = self.repo.update(changed)
        if stored is None:
            raise DuplicateEntry(f"the {changed.list} list holds {changed.plate} already")
        self._logged(stored, by, described(current, fields), described(stored, fields))
        return stored

    def remove(self, entry_id: int, *, by: str | None = None) -> Entry | None:
        """The removed entry; None when there is no such entry."""
        entry = self.repo.remove(entry_id)
        if entry is not None:
            self._logged(entry, by, described(entry), None)
        return entry

    def _logged(self, entry: Entry, by: str | None, before: Any, after: Any) -> None:
        self.eventlog.settings_changed(f"{entry.list} list", by, before, after)

    def get(self, entry_id: int) -> Entry | None:
        return self.repo.get(entry_id)

    def find(self, list_: str | None = None, plate: str | None = None) -> Entry | None:
        return self.repo.find(list_, normalize_plate(plate or "")) if plate else None

    def version(self) -> int:
        return self.repo.version()

    # -- matching --
    def match(self, plate: str, device: str | None, at: datetime, *, edits: int | None = None,
              lookalikes: bool | None = None) -> list[Match]:
        """Every entry (both lists) that matches `plate` for `device` (entries scoped to other devices
        are excluded), best first: exact, then look-alike (only look-alike substitutions), then by edit
        distance; at equal quality active entries first, then deny before allow. Never returns entries
        beyond the tolerance."""
        edits = self.settings.match_edits if edits is None else edits
        lookalikes = self.settings.match_lookalikes if lookalikes is None else lookalikes
        if not 0 <= edits <= 2:
            raise ListError("edits: 0, 1 or 2")
        read = normalize_plate(plate)
        if not read:
            return []
        key = similar.canonical(read)
        if edits == 0 and not lookalikes:
            rows = self.repo.by_plate(read)
        else:  # only the keys some entry has: most reads match none, and then nothing is asked of the store
            index = self._key_index()  # the lists' keys (read again when the lists' version moved)
            hits = index.near(key, edits)
            rows = self.repo.by_key(hits) if hits else []
        at = at.astimezone(UTC) if at.tzinfo else parse_time(at, self.zone)  # type: ignore[assignment]
        out = []
        for entry in rows:
            if not entry.applies_to(device):
                continue
            if entry.plate == read:
                kind, dist = "exact", 0
            else:
                dist = similar.edits(read, entry.plate, lookalikes, limit=edits)
                if dist > edits:
                    continue
                kind = "lookalike" if dist == 0 else "edit"
            reason = entry.state(at, self.zone)
            out.append(Match(entry, kind, dist, reason is None, reason, read, self.zone))
        out.sort(key=lambda m: (KINDS.index(m.kind), m.distance, not m.active, m.entry.list != "deny",
                                m.entry.plate, m.entry.id))
        return out

    def _key_index(self) -> _KeyIndex:
        version = self.repo.version()
        with self._index_lock:
            if self._index is None or self._index.version != version:
                self._index = _KeyIndex(self.repo.keys(), version)
            return self._index
