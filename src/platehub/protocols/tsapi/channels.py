"""TS-API channel calls (spec 004): `/api/status` (each channel's status code; with `recordingStatus`
its recording's too), `/api/channel/info`,
adding (`POST /api/channel`) and deleting (`DELETE /api/channel/{ids|all}`) channels, and the device
control commands (`/api/channel/ptz|preset|relay|aux|reboot`). `/api/enum?what=channel` is in
server.py, with the other enumerations; shapes and status codes are in channelcodec.py.

Rights: reading channels needs a signed-in user only (the guide: "session authenticated"); adding
and deleting them needs `Settings` (403 without, as every TS-API right); device control needs
`Control` ("Device control permission"), refused as the guide's code -1 in a 200 reply. platehub's
channels have no controllable device, so a permitted command on an existing channel answers -2
("Features not supported by the device")."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.core import rights
from platehub.core.store import Store
from platehub.core.store.channels import Channel, ChannelExists
from platehub.protocols.deps import BusDep, ChannelRunnerDep, RecordersDep, StoreDep
from platehub.protocols.tsapi import channelcodec as codec
from platehub.protocols.tsapi import messages
from platehub.protocols.tsapi.common import TsApiError, respond, user_in
from platehub.protocols.tsapi.events import parse_flag, recording_channel
from platehub.video.channels import ChannelError, Channels

router = APIRouter(tags=["TS-API"])
CONTROLS = ("ptz", "preset", "relay", "aux", "reboot")


def wanted_channels(request: Request, lang: str) -> set[int] | None:
    """`ch=1,2` → {1, 2}; None when not given (every channel). 400 for anything but numbers from 1."""
    raw = request.query_params.get("ch")
    if raw is None or not raw.strip():
        return None
    try:
        chans = {int(p) for p in raw.split(",") if p.strip()}
    except ValueError:
        raise TsApiError(400, messages.text("bad_param", lang, name="ch", value=raw)) from None
    if any(c < 1 for c in chans):
        raise TsApiError(400, messages.text("bad_param", lang, name="ch", value=raw))
    return chans


async def listed(request: Request, store: Store, lang: str) -> list[Channel]:
    """The stored channels `ch=` asks for (all without it), in number order."""
    chans = wanted_channels(request, lang)
    return [c for c in await run_in_threadpool(store.channels.list) if chans is None or c.id in chans]


@router.get("/api/status", summary="Each channel's status code (ch=, verbose, lang, recordingStatus) (TS-API)")
async def status(request: Request, store: StoreDep, runner: ChannelRunnerDep, recorders: RecordersDep) -> Response:
    lang = messages.lang_of(request)
    await user_in(request, lang)
    verbose = parse_flag(request.query_params.get("verbose"))
    chans = await listed(request, store, lang)
    items = [codec.status_item(c, runner.status(c), verbose, lang) for c in chans]
    if "recordingStatus" in request.query_params:  # video/recorder.py: each channel's recording
        for item, state in zip(items, recorders.states(chans), strict=True):
            item["recordingStatus"] = {k: v for k, v in recording_channel(state).items() if k != "chid"}
    return respond(request, items)


@router.get("/api/channel/info", summary="Each channel's source type and capabilities (caps, ch=) (TS-API)")
async def channel_info(request: Request, store: StoreDep) -> Response:
    lang = messages.lang_of(request)
    await user_in(request, lang)
    caps_only = "caps" in request.query_params  # `reload`: nothing to reload, the answer is current
    return respond(request, [codec.info_item(c, caps_only) for c in await listed(request, store, lang)])


@router.get("/api/channel/{command}", summary="Device control: ptz, preset, relay, aux, reboot (TS-API)")
async def control(command: str, request: Request, store: StoreDep) -> Response:
    lang = messages.lang_of(request)
    user = await user_in(request, lang)
    if command not in CONTROLS:
        return respond(request, {"code": -7, "message": messages.text("control.bad_request", lang)})
    if not rights.holds(user, rights.DEVICE_CONTROL):
        return respond(request, {"code": -1, "message": messages.text("control.no_right", lang)})
    chans = wanted_channels(request, lang)
    stored = {c.id for c in await run_in_threadpool(store.channels.list)}
    if (chans is None and command != "preset") or (chans is not None and not chans <= stored) or not stored:
        return respond(request, {"code": -5, "message": messages.text("control.bad_channel", lang)})
    return respond(request, {"code": -2, "message": messages.text("control.unsupported", lang)})


def _add_all(channels: Channels, items: list[Any], by: str) -> tuple[list[Channel], list[dict[str, Any]]]:
    added: list[Channel] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        try:
            taken = {c.id for c in channels.store.channels.list()}
            added.append(channels.add(codec.new_channel(item, taken), by))
        except (codec.Refused, ChannelError, ChannelExists) as e:
            source = item.get("source") if isinstance(item, dict) else None
            failed.append({"source": codec.redact_url(source) if isinstance(source, str) else source,
                           "code": getattr(e, "code", -6), "message": str(e)})
    return added, failed


@router.post("/api/channel", summary="Add channels (a JSON array of {source, name, uid, password …}) (TS-API)")
async def add_channels(request: Request, store: StoreDep, bus: BusDep, runner: ChannelRunnerDep) -> Response:
    lang = messages.lang_of(request)
    user = await user_in(request, lang, rights.CHANNELS)
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise TsApiError(400, messages.text("bad_param", lang, name="body", value="not JSON")) from None
    items = body if isinstance(body, list) else [body]
    added, failed = await run_in_threadpool(_add_all, Channels(store, bus), items, user.login)
    runner.wake()
    out: dict[str, Any] = {"status": codec.outcome(len(added), len(failed), lang, "added")}
    if added:
        out["added"] = [codec.added_item(c) for c in added]
    if failed:
        out["failed"] = failed
    return respond(request, out)


def _delete_all(channels: Channels, ids: list[int] | None, by: str) -> tuple[list[int], list[int]]:
    targets = ids if ids is not None else [c.id for c in channels.store.channels.list()]
    deleted = [cid for cid in targets if channels.remove(cid, by) is not None]
    return deleted, [cid for cid in targets if cid not in deleted]


@router.delete("/api/channel/{ids}", summary="Delete channels: 1,2,3 or all (TS-API)")
async def delete_channels(ids: str, request: Request, store: StoreDep, bus: BusDep,
                          runner: ChannelRunnerDep) -> Response:
    lang = messages.lang_of(request)
    user = await user_in(request, lang, rights.CHANNELS)
    if ids.strip().lower() == "all":
        wanted = None
    else:
        try:
            wanted = list(dict.fromkeys(int(p) for p in ids.split(",") if p.strip()))
        except ValueError:
            wanted = []
        if not wanted:
            return respond(request, {"status": {"code": -7, "message": messages.text("channels.no_channel", lang)}})
    deleted, failed = await run_in_threadpool(_delete_all, Channels(store, bus), wanted, user.login)
    runner.wake()
    status_ = codec.outcome(len(deleted), len(failed), lang, "deleted")
    if failed and not deleted and wanted is not None:
        status_["code"] = -8  # none of the channels named exists
    out: dict[str, Any] = {"status": status_, "deleted": deleted}
    if failed:
        out["failed"] = failed
    return respond(request, out)
