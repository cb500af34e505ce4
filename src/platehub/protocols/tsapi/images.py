"""Images of stored reads under stable, authenticated URLs: `/api/image/{read_id}/full` (the whole
image) and `/api/image/{read_id}/plate` (the plate crop); right LPR. 404 when the read or the image
is not there. The vehicle number log (`/api/find?what=carNo`) links to them; every link to them is made by
`core.read.image_path`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from platehub.core.read import IMAGE_KINDS
from platehub.protocols.deps import StoreDep
from platehub.protocols.tsapi.common import TsApiError, require_user

KINDS = IMAGE_KINDS
_MEDIA = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
          ".bmp": "image/bmp"}


def _image_path(store, read_id: str, kind: str):
    read = store.reads.get(read_id)
    if read is None:
        return None
    rel = read.image_full if kind == "full" else read.image_plate
    if not rel:
        return None
    try:
        path = store.images.path(rel)
    except ValueError:
        return None
    return path if path.is_file() else None


router = APIRouter(tags=["TS-API"])


@router.get("/api/image/{read_id}/{kind}", summary="The image of a stored read (TS-API)",
            description="`full`: the whole image, `plate`: the plate crop. Needs the LPR right.")
async def image(request: Request, read_id: str, kind: str, store: StoreDep) -> Response:
    await require_user(request, right="LPR")
    if kind not in KINDS or len(read_id) > 32:
        raise TsApiError(404, "No such image.")
    path = await run_in_threadpool(_image_path, store, read_id, kind)
    if path is None:
        raise TsApiError(404, "No such image.")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix.lower(), "application/octet-stream"),
                        headers={"Cache-Control": "private, max-age=86400"})
