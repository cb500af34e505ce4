"""The heartbeat / comet-poll form (spec 001) from whatever body the camera sends. Blocking: the routes
run `fields` in a worker thread.

A form Content-Type is parsed strictly first (`protocols.forms`). A body that fails that, or whose
Content-Type is wrong or missing, is read leniently: multipart by the boundary on its first line,
then the looser shape of the spec's printed dumps (`name="serialno"d85b1269-8f942256-----…`), then
url-encoded. Every step is linear in the body's length (no regular expression that backtracks), and
a body with more than `MAX_FIELDS` fields is refused (`FormError`, 413)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl

from platehub.protocols import forms
from platehub.protocols.allinone.codec import decode_text
from platehub.protocols.forms import FormError

log = logging.getLogger("platehub.allinone")
MAX_FIELDS = 100  # a heartbeat has 7; the registry keeps 20 extra fields at most

_SPACE = re.compile(r"\s*")
_LINE = re.compile(r"[^\r\n]*")
_DASHES = re.compile(r"-*")


def _too_many(limit: int) -> FormError:
    return FormError(f"Too many form fields: at most {limit} are accepted.", 413)


def fields(body: bytes, content_type: str, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The text fields of the body (file parts are ignored). Raises FormError (413) for too many."""
    if forms.media_type(content_type) in forms.FORM_TYPES:
        try:
            form = forms.parse(body, content_type, max_fields=max_fields, max_files=max_fields)
        except FormError as e:
            if e.status == 413:
                raise _too_many(max_fields) from None
            log.debug("all-in-one form not parsed as %s (%s); trying leniently", content_type, e)
        else:
            items = form.multi_items()
            for _, value in items:
                if not isinstance(value, str):
                    value.file.close()
            return {k: v for k, v in items if isinstance(v, str)}
    return lenient(body, max_fields)


def lenient(body: bytes, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """Form fields from a body whose Content-Type is wrong or missing, or that is malformed."""
    text = decode_text(body)
    if 'name="' in text:
        return _multipart(text, max_fields) or _printed(text, max_fields)
    if "=" in text:
        try:
            return dict(parse_qsl(text.strip(), keep_blank_values=True, max_num_fields=max_fields))
        except ValueError:  # "Max number of fields exceeded"
            raise _too_many(max_fields) from None
    return {}


def _quoted_name(text: str, start: int = 0) -> tuple[str, int] | None:
    """The first `name="…"` from `start`: its value and where its closing quote ends."""
    i = text.find('name="', start)
    if i < 0:
        return None
    j = text.find('"', i + 6)
    return None if j < 0 else (text[i + 6 : j], j + 1)


def _boundary(text: str) -> str | None:
    """The boundary a multipart body's first line gives (`--boundary`, blanks around it allowed)."""
    head = text.lstrip()
    if not head.startswith("--"):
        return None
    line, newline, _ = head.partition("\n")
    boundary = line[2:].rstrip()
    return boundary if newline and boundary and "\r" not in boundary else None


def _pieces(text: str, sep: str) -> Iterator[str]:
    """`text.split(sep)`, one piece at a time."""
    start = 0
    while (end := text.find(sep, start)) >= 0:
        yield text[start:end]
        start = end + len(sep)
    yield text[start:]


def _multipart(text: str, max_fields: int) -> dict[str, str]:
    boundary = _boundary(text)
    if boundary is None:
        return {}
    out: dict[str, str] = {}
    count = 0
    for part in _pieces(text, "--" + boundary):
        head, sep, value = part.replace("\r\n", "\n").partition("\n\n")
        name = _quoted_name(head)
        if sep and name:
            count += 1
            if count > max_fields:
                raise _too_many(max_fields)
            out[name[0]] = value.rstrip("\n")
    return out


def _printed(text: str, max_fields: int) -> dict[str, str]:
    """Each `name="x"` is followed (after blanks) by its value, up to the end of its line or to a run
    of three or more dashes (what is left of the boundary), whichever comes first."""
    out: dict[str, str] = {}
    count, pos, dashes = 0, 0, -1
    while (found := _quoted_name(text, pos)) is not None:
        count += 1
        if count > max_fields:
            raise _too_many(max_fields)
        name, pos = found
        pos = _SPACE.match(text, pos).end()
        if dashes < pos:  # the next run of dashes, searched for again only once passed: linear
            dashes = text.find("---", pos)
            dashes = len(text) if dashes < 0 else dashes
        end = _LINE.match(text, pos, dashes).end()
        out[name] = text[pos:end].strip()
        pos = _DASHES.match(text, end).end() if end == dashes else end
    return out
