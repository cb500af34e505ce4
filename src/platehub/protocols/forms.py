"""Request forms (multipart, url-encoded) parsed off the event loop, with bounded field counts.

Starlette's `request.form()` runs its parser on the event loop: a 20 MB url-encoded body of `%41`s
takes seconds to unquote, and every other request waits. Here the same parsers (so the same fields,
files and error messages) run in a worker thread, on a loop of their own; the doors answer a
`FormError` in their own reply convention (413 for too many fields or files, 400 for the rest)."""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

MAX_FIELDS = 1000  # Starlette's default; doors with small forms ask for fewer
PART_SIZE = 1024 * 1024  # bytes per non-file part (Starlette's default)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class FormError(ValueError):
    """The form could not be parsed; `status` is 413 when it has too many fields or files, else 400."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse(body: bytes, content_type: str, *, max_fields: int = MAX_FIELDS, max_files: int = MAX_FIELDS,
          max_part_size: int = PART_SIZE) -> FormData:
    """The fields of a multipart or url-encoded body (an empty form for other types). Blocking: call it
    in a worker thread (`read` does)."""
    return asyncio.run(_parse(body, content_type, max_fields, max_files, max_part_size))


async def read(request: Request, *, max_fields: int = MAX_FIELDS, max_files: int = MAX_FIELDS,
               max_part_size: int = PART_SIZE) -> FormData:
    """`request.form()`, parsed in a worker thread. Raises FormError."""
    body = await request.body()
    return await run_in_threadpool(parse, body, request.headers.get("content-type", ""), max_fields=max_fields,
                                   max_files=max_files, max_part_size=max_part_size)


async def _parse(body: bytes, content_type: str, max_fields: int, max_files: int, max_part_size: int) -> FormData:
    async def stream():
        yield body

    kind = media_type(content_type)
    headers = Headers({"content-type": content_type})
    try:
        if kind == "multipart/form-data":
            return await MultiPartParser(headers, stream(), max_files=max_files, max_fields=max_fields,
                                         max_part_size=max_part_size).parse()
        if kind == "application/x-www-form-urlencoded":
            return await FormParser(headers, stream(), max_fields=max_fields, max_part_size=max_part_size).parse()
    except MultiPartException as e:
        too_many = e.message.startswith("Too many")
        raise FormError(e.message, 413 if too_many else 400) from None
    except Exception as e:  # what the parser lets through (bad charset, header shapes …)
        raise FormError(f"Invalid form data ({type(e).__name__}).") from None
    return FormData()
