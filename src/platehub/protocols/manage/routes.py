"""platehub's own management API: devices (settings, gate policy, camera whitelist), command queues,
reads with their gate decision.

Every route needs an API token (`Authorization: Token <key>`) or a signed-in user with the right:
LPR to look, Settings to change settings, Control to send commands (see auth.py). Errors are
`{"detail": ...}` (as the Snapshot API's); times are ISO 8601 in UTC."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.core import dashboard
from platehub.core.commands import CommandError
from platehub.core.parking import lot_json
from platehub.core.read import Read, image_path
from platehub.core.store import Store
from platehub.core.store.decisions import Decision
from platehub.core.store.devices import COMMAND_KINDS, Command, Device
from platehub.protocols.deps import CommandsDep, DevicesDep, RecordingsDep, StoreDep, WhitelistDep
from platehub.protocols.manage.auth import require, session_user
from platehub.protocols.manage.common import iso_utc, json_object, who
from platehub.protocols.manage.readvideo import video_of


def _render(obj: Device | Command | Decision) -> dict[str, Any]:
    return {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in asdict(obj).items()}


def _render_read(read: Read) -> dict[str, Any]:
    out = _render(read)  # type: ignore[arg-type]
    out["candidates"] = [{"plate": p, "score": s} for p, s in read.candidates]
    out["image_full"], out["image_plate"] = image_path(read, "full"), image_path(read, "plate")
    return out


async def _who(request: Request) -> str:
    return who(None if request.headers.get("authorization") else await session_user(request))


def _device(store: Store, code: str) -> Device:
    device = store.devices.get(code)
    if device is None:
        raise HTTPException(404, f"No device {code!r}.")
    return device


router = APIRouter(prefix="/v1", tags=["Management"], dependencies=[Depends(require("LPR"))])


@router.get("/devices/", summary="List devices (LPR sources)")
def list_devices(store: StoreDep, protocol: str | None = None) -> list[dict[str, Any]]:
    return [_render(d) for d in store.devices.list(protocol)]


@router.get("/dashboard/", summary="The console's dashboard: reads per hour per source over the last 24 hours, "
            "parking lots' counts now and every 15 minutes over the same 24 hours (null: not known then), "
            "devices, recent alerts, the latest reads")
def get_dashboard(store: StoreDep) -> dict[str, Any]:
    d = dashboard.gather(store)
    return {"hours": [iso_utc(h) for h in d.hours],
            "reads": [{"source": s.source, "counts": list(s.counts)} for s in d.reads],
            "lots": [{**lot_json(lot), "full": lot.full} for lot in d.lots],
            "occupancy": {"times": [iso_utc(t) for t in d.occupancy_times],
                          "lots": [{"id": x.lot.id, "name": x.lot.name, "counts": list(x.counts)}
                                   for x in d.occupancy]},
            "devices": [_render(x) for x in d.devices],
            "alerts": [{"id": a.id, "at": iso_utc(a.at), "type": a.type, "code": a.code, "source": a.source,
                        "details": a.details} for a in d.alerts],
            "latest": [{k: v for k, v in _render_read(x).items() if k != "raw"} for x in d.latest]}


@router.get("/devices/{code}/", summary="One device")
def get_device(code: str, store: StoreDep) -> dict[str, Any]:
    return _render(_device(store, code))


@router.post("/devices/", status_code=201, summary='Register a device before it first calls: {"code", '
             '"protocol", "name"}', dependencies=[Depends(require("Settings"))])
async def add_device(request: Request, devices: DevicesDep) -> dict[str, Any]:
    body = await json_object(request)
    code = str(body.get("code") or "").strip()
    if not code or len(code) > 128:
        raise HTTPException(400, "`code` is required (at most 128 characters).")
    by = await _who(request)
    device = await run_in_threadpool(lambda: devices.add(
        code, str(body.get("protocol") or "allinone")[:32], (str(body["name"])[:255] if body.get("name") else None),
        by=by))
    return _render(device)


@router.put("/devices/{code}/", summary="Change a device's settings: gate_policy, alert_unknown, gate_device, "
            "whitelist_sync, lot_entrance, lot_exit (null or \"default\" = the server's default), pinned_address "
            "(an IP address, \"current\", or null), secret (its registrations' password; null removes it)",
            dependencies=[Depends(require("Settings"))])
async def configure_device(request: Request, code: str, devices: DevicesDep) -> dict[str, Any]:
    body = await json_object(request)
    by = await _who(request)
    try:
        configured = await run_in_threadpool(lambda: devices.configure(code, body, by=by))
    except KeyError as e:
        raise HTTPException(404, f"No device {e.args[0]!r}.") from None
    return _render(configured.device)


@router.get("/devices/{code}/whitelist/", summary="What an all-in-one camera holds in its own whitelist")
def camera_whitelist(code: str, store: StoreDep) -> dict[str, Any]:
    _device(store, code)
    repo = store.camera_lists
    state, held, version = repo.state(code), repo.held(code), repo.lists_version()
    return {"device": code, "synced": state is not None and state.version == version,
            "never_synced": state is None, "unconfirmed": state.last_batch if state else None,
            "entries": [e.__dict__ for e in held.values()]}


@router.delete("/devices/{code}/whitelist/", status_code=204, dependencies=[Depends(require("Settings"))],
               summary="Forget what the camera holds: the next sync clears it and sends every entry again")
async def reset_whitelist(request: Request, code: str, whitelist: WhitelistDep, store: StoreDep) -> Response:
    await run_in_threadpool(_device, store, code)
    by = await _who(request)
    await run_in_threadpool(lambda: whitelist.reset(code, by=by))
    return Response(status_code=204)


@router.get("/reads/{read_id}/", summary="One read with its gate decision (which list entry matched and why) "
            "and, for a read from a video channel, where its video is (`video`)")
def get_read(read_id: str, store: StoreDep, recordings: RecordingsDep) -> dict[str, Any]:
    read = store.reads.get(read_id)
    if read is None:
        raise HTTPException(404, f"No read {read_id!r}.")
    decision = store.decisions.get(read_id)
    channel = store.channels.get(read.source) if read.protocol == "video" and read.source else None
    return {**_render_read(read), "decision": _render(decision) if decision else None,
            "video": video_of(read, channel, recordings)}


@router.post("/devices/{code}/commands/", status_code=201, dependencies=[Depends(require("Control"))],
             summary='Queue a command: {"kind": ..., payload fields}; delivered on the camera\'s next reply or poll')
async def add_command(request: Request, code: str, commands: CommandsDep, store: StoreDep) -> dict[str, Any]:
    await run_in_threadpool(_device, store, code)
    payload = await json_object(request)
    kind = payload.pop("kind", None)
    if kind not in COMMAND_KINDS:
        raise HTTPException(400, f"`kind` must be one of {', '.join(COMMAND_KINDS)}.")
    try:
        command = await run_in_threadpool(commands.enqueue, code, kind, payload,
                                          await _who(request))
    except CommandError:
        raise  # the domain's refusal (protocols/errors.py)
    except (TypeError, ValueError) as e:  # e.g. a channel that is not a number
        raise HTTPException(400, f"Invalid {kind} payload: {e}.") from None
    return _render(command)


@router.get("/devices/{code}/commands/", summary="The device's commands, newest first")
def list_commands(code: str, store: StoreDep, limit: int = 100) -> list[dict[str, Any]]:
    _device(store, code)
    return [_render(c) for c in store.commands.list(code, max(1, min(limit, 1000)))]


@router.get("/commands/{command_id}/", summary="One command")
def get_command(command_id: int, store: StoreDep) -> dict[str, Any]:
    command = store.commands.get(command_id)
    if command is None:
        raise HTTPException(404, f"No command {command_id}.")
    return _render(command)


@router.delete("/commands/{command_id}/", status_code=204, dependencies=[Depends(require("Control"))],
               summary="Cancel a pending command")
def cancel_command(command_id: int, store: StoreDep) -> Response:
    if store.commands.cancel(command_id):
        return Response(status_code=204)
    command = store.commands.get(command_id)
    if command is None:
        raise HTTPException(404, f"No command {command_id}.")
    raise HTTPException(409, f"Command {command_id} is {command.status}, not pending.")
