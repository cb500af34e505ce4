"""platehub's own management API: devices, their gate default and command queues.

Every route needs an API token (`Authorization: Token <key>`). Errors are `{"detail": ...}`
(as the Snapshot API's); times are ISO 8601 in UTC."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.commands import CommandError
from platehub.core.eventlog import record_setting
from platehub.core.store.devices import COMMAND_KINDS, Command, Device
from platehub.protocols.manage.auth import require_api_token

GATE_VALUES = ("open", "closed", "default")


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _render(obj: Device | Command) -> dict[str, Any]:
    return {k: _time(v) if isinstance(v, datetime) else v for k, v in asdict(obj).items()}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "The body must be a JSON object.")
    return body


async def _device(request: Request, code: str) -> Device:
    device = await run_in_threadpool(request.app.state.platehub.store.devices.get, code)
    if device is None:
        raise HTTPException(404, f"No device {code!r}.")
    return device


def router(settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["Management"], dependencies=[Depends(require_api_token)])

    @r.get("/devices/", summary="List devices (LPR sources)")
    async def list_devices(request: Request, protocol: str | None = None) -> list[dict[str, Any]]:
        devices = await run_in_threadpool(request.app.state.platehub.store.devices.list, protocol)
        return [_render(d) for d in devices]

    @r.get("/devices/{code}/", summary="One device")
    async def get_device(request: Request, code: str) -> dict[str, Any]:
        return _render(await _device(request, code))

    @r.put("/devices/{code}/gate", summary='Set the gate reply for the device\'s plates: {"gate": "open"|'
           '"closed"|"default"}')
    @r.put("/devices/{code}/gate/", include_in_schema=False)
    async def set_gate(request: Request, code: str) -> dict[str, Any]:
        value = (await _json_object(request)).get("gate")
        if value not in GATE_VALUES:
            raise HTTPException(400, f"`gate` must be one of {', '.join(GATE_VALUES)}.")
        hub = request.app.state.platehub
        before = await run_in_threadpool(hub.store.devices.get, code)
        if before is None or not await run_in_threadpool(
                hub.store.devices.set_gate_default, code, None if value == "default" else value):
            raise HTTPException(404, f"No device {code!r}.")
        await run_in_threadpool(record_setting, hub.store, f"device {code} gate", "api",
                                before.gate_default or "default", value, hub.bus)
        return _render(await _device(request, code))

    @r.post("/devices/{code}/commands/", status_code=201,
            summary='Queue a command: {"kind": ..., payload fields}; delivered on the camera\'s next reply or poll')
    async def add_command(request: Request, code: str) -> dict[str, Any]:
        await _device(request, code)
        payload = await _json_object(request)
        kind = payload.pop("kind", None)
        if kind not in COMMAND_KINDS:
            raise HTTPException(400, f"`kind` must be one of {', '.join(COMMAND_KINDS)}.")
        try:
            command = await run_in_threadpool(request.app.state.platehub.commands.enqueue, code, kind, payload)
        except CommandError as e:
            raise HTTPException(400, str(e)) from None
        except (TypeError, ValueError) as e:  # e.g. a channel that is not a number
            raise HTTPException(400, f"Invalid {kind} payload: {e}.") from None
        return _render(command)

    @r.get("/devices/{code}/commands/", summary="The device's commands, newest first")
    async def list_commands(request: Request, code: str, limit: int = 100) -> list[dict[str, Any]]:
        await _device(request, code)
        commands = await run_in_threadpool(request.app.state.platehub.store.commands.list, code,
                                           max(1, min(limit, 1000)))
        return [_render(c) for c in commands]

    @r.get("/commands/{command_id}/", summary="One command")
    async def get_command(request: Request, command_id: int) -> dict[str, Any]:
        command = await run_in_threadpool(request.app.state.platehub.store.commands.get, command_id)
        if command is None:
            raise HTTPException(404, f"No command {command_id}.")
        return _render(command)

    @r.delete("/commands/{command_id}/", status_code=204, summary="Cancel a pending command")
    async def cancel_command(request: Request, command_id: int) -> Response:
        repo = request.app.state.platehub.store.commands
        if await run_in_threadpool(repo.cancel, command_id):
            return Response(status_code=204)
        command = await run_in_threadpool(repo.get, command_id)
        if command is None:
            raise HTTPException(404, f"No command {command_id}.")
        raise HTTPException(409, f"Command {command_id} is {command.status}, not pending.")

    return r
