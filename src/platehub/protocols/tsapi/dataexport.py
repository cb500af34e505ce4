"""TS-API `/wsapi/dataExport` (spec 004, "Exporting recorded video"): recorded video of a time range as
MP4 files, one at a time, over a WebSocket; each is fetched at `/download/<task>/<file>` (export.py's route).

Stages, as the guide's: `ready` (the task, or a failure: -1 no data, -2 invalid parameters), `begin`,
then per channel `channelBegin`, per file `fileBegin`, `fileWriting` every `statusInterval` (none
without it), `fileEnd` with the download link (and `md5` when asked) and a `ttl`; the client then sends
`wait` (the ttl starts again), `next` (the file is deleted and the next one made) or `cancel`;
`timeoutAlert` comes 2 s before the ttl runs out, after which the task ends (-1004). `channelEnd`, and
`end` (0, -1003 cancelled by the user, -1004 timed out). A closed socket stops the task and deletes
its files. The files: video/export.py (ffmpeg concat, `-c copy`, trimmed to the range, split by
`mediaSize`). `subtitleFormat`, `password`, `submitter`, `recipient` and `purpose` are accepted and
logged (who exported what, for whom and why); no subtitle file is made and nothing is encrypted.

Sign-in: the socket's own `auth=` or HTTP Basic (the guide: independent of session authentication);
the right: DataExport (and Playback: it is recorded video).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from platehub.protocols.deps import RecordingsDep, SettingsDep
from platehub.protocols.tsapi.auth import SignInRefused, sign_in
from platehub.protocols.tsapi.carno import ParamError, parse_time
from platehub.protocols.tsapi.common import dumps
from platehub.protocols.tsapi.events import parse_flag, timestamp
from platehub.protocols.tsapi.export import exports_dir
from platehub.video import export

log = logging.getLogger("platehub.tsapi")

TTL = 10_000  # ms the client has to answer a fileEnd
ALERT_BEFORE = 2_000  # ms before the ttl runs out: timeoutAlert
SUCCESS, NO_DATA, INVALID = 0, -1, -2
CANCELLED, TIMED_OUT, FAILED = -1003, -1004, -1001
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(GB|MB|KB|B)?\s*$", re.IGNORECASE)
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", re.IGNORECASE)
_UNITS = {"gb": 1024**3, "mb": 1024**2, "kb": 1024, "b": 1, "": 1}
MESSAGES = {SUCCESS: "Success", NO_DATA: "No data in the requested time range and channels",
            INVALID: "Invalid parameters", CANCELLED: "Task canceled by user", TIMED_OUT: "Task terminated by timeout",
            FAILED: "The file could not be made"}


def parse_size(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 0
    m = _SIZE.match(raw)
    if not m:
        raise ParamError(f"`mediaSize` is a size such as 700MB or 1GB: {raw!r}")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def parse_interval(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 0.0
    m = _INTERVAL.match(raw)
    if not m:
        raise ParamError(f"`statusInterval` is a time such as 1s or 500ms: {raw!r}")
    return float(m.group(1)) / (1000 if (m.group(2) or "s").lower() == "ms" else 1)


def _percent(done: float, total: float) -> str:
    return f"{int(100 * done / total) if total else 100}%"


class _Client:
    """The socket's incoming commands, read by a task of their own (so a cancel is heard while writing)."""

    def __init__(self, websocket: WebSocket, task_id: str) -> None:
        self.ws, self.task_id = websocket, task_id
        self.commands: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    body = json.loads(message.get("text") or message.get("bytes") or b"")
                    cmd = str(body.get("cmd", "")).lower()
                except (ValueError, AttributeError):
                    continue
                if cmd in ("wait", "next", "cancel"):
                    await self.commands.put(cmd)
        finally:
            self.gone.set()
            await self.commands.put("gone")

    async def send(self, message: dict[str, Any]) -> None:
        if not self.gone.is_set():
            await self.ws.send_text(dumps(message, None).decode())

    def close(self) -> None:
        self._reader.cancel()


class _Stop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


async def _write(client: _Client, f: export.ExportFile, out: Path, ffmpeg: str, interval: float,
                 progress: dict[str, Any]) -> None:
    """Make one file; `fileWriting` every `interval` s; a cancel or a closed socket kills ffmpeg."""
    script = out.with_suffix(".txt")
    script.write_text(export.concat_list(f))
    proc = await asyncio.create_subprocess_exec(*export.concat_command(ffmpeg, script, out),
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    done = asyncio.create_task(proc.wait())
    last_sent = 0.0
    loop = asyncio.get_running_loop()
    try:
        assert proc.stdout is not None
        while not done.done():
            line_task = asyncio.create_task(proc.stdout.readline())
            cmd_task = asyncio.create_task(client.commands.get())
            finished, _ = await asyncio.wait({line_task, cmd_task}, return_when=asyncio.FIRST_COMPLETED)
            if cmd_task in finished:
                line_task.cancel()
                if cmd_task.result() in ("cancel", "gone"):
                    raise _Stop(CANCELLED)
                continue
            cmd_task.cancel()
            line = line_task.result().decode(errors="replace").strip()
            if not line:
                await done
                break
            if line.startswith("out_time_us=") and line[12:].lstrip("-").isdigit():
                progress["file"] = max(0.0, int(line[12:]) / 1e6)
                if interval and loop.time() - last_sent >= interval:
                    last_sent = loop.time()
                    await client.send(progress["message"]("fileWriting"))
        if await done != 0:
            err = (await proc.stderr.read()).decode(errors="replace")[-300:] if proc.stderr else ""
            log.warning("dataExport: ffmpeg failed for %s: %s", out.name, err)
            raise _Stop(FAILED)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        script.unlink(missing_ok=True)


async def _await_next(client: _Client) -> None:
    """After fileEnd: `wait` restarts the ttl, `next` goes on; a timeoutAlert before the ttl runs out."""
    while True:
        try:
            cmd = await asyncio.wait_for(client.commands.get(), (TTL - ALERT_BEFORE) / 1000)
        except TimeoutError:
            await client.send({"request": "timeoutAlert", "ttl": ALERT_BEFORE})
            try:
                cmd = await asyncio.wait_for(client.commands.get(), ALERT_BEFORE / 1000)
            except TimeoutError:
                raise _Stop(TIMED_OUT) from None
        if cmd == "next":
            return
        if cmd in ("cancel", "gone"):
            raise _Stop(CANCELLED)


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


async def data_export(websocket: WebSocket, settings: SettingsDep, recordings: RecordingsDep) -> None:
    await websocket.accept()
    params = websocket.query_params
    try:
        user = await sign_in(websocket)  # type: ignore[arg-type]
    except SignInRefused as e:
        await websocket.close(1008, e.message[:120])
        return
    if not (user.is_admin or {"DataExport", "Playback"} <= set(user.rights)):
        await websocket.close(1008, "The DataExport and Playback rights are required.")
        return
    task_id = str(uuid.uuid4())
    try:
        since, until = parse_time(params.get("timeBegin"), "timeBegin"), parse_time(params.get("timeEnd"), "timeEnd")
        if since is None or until is None or until <= since:
            raise ParamError("`timeBegin` and `timeEnd` are required, the end after the beginning")
        media_size, interval = parse_size(params.get("mediaSize")), parse_interval(params.get("statusInterval"))
        chans = sorted({int(c) for c in (params.get("ch") or "").split(",") if c.strip()}) or recordings.channels()
    except ValueError as e:  # ParamError too
        await websocket.send_text(dumps({"stage": "ready", "status": {"code": INVALID, "message": str(e)}}, None)
                                  .decode())
        await websocket.close()
        return
    files = {c: export.plan(c, await run_in_threadpool(recordings.segments, c, since, until), since, until,
                            media_size) for c in chans}
    files = {c: fs for c, fs in files.items() if fs}
    task = {"id": task_id, "ch": list(files) or chans, "timeRange": [timestamp(since), timestamp(until)],
            "mediaSize": media_size, "subtitleFormat": params.get("subtitleFormat") or "None",
            "language": params.get("lang") or "en-US"}
    code = SUCCESS if files else NO_DATA
    await websocket.send_text(dumps({"stage": "ready", "status": {"code": code, "message": MESSAGES[code]},
                                     "task": task}, None).decode())
    if not files:
        await websocket.close()
        return
    log.info("dataExport %s by %s: channels %s, %s to %s (submitter %r, recipient %r, purpose %r)", task_id,
             user.login, list(files), since, until, params.get("submitter"), params.get("recipient"),
             params.get("purpose"))
    await _run(websocket, task_id, files, since, until, settings, interval, parse_flag(params.get("md5")))


async def _run(websocket: WebSocket, task_id: str, files: dict[int, list[export.ExportFile]], since: datetime,
               until: datetime, settings, interval: float, md5: bool) -> None:
    folder = exports_dir(settings) / task_id  # served by export.py's /download/<task>/<file>
    folder.mkdir(parents=True, exist_ok=True)
    client = _Client(websocket, task_id)
    total = sum(f.seconds for fs in files.values() for f in fs) or 1.0
    state: dict[str, Any] = {"done": 0.0, "file": 0.0, "ch": 0, "ch_done": 0.0, "ch_total": 1.0, "at": since,
                             "fid": 0}

    def message(stage: str, **extra: Any) -> dict[str, Any]:
        done = state["done"] + state["file"]
        at = min(until, state["at"] + timedelta(seconds=state["file"]))
        msg: dict[str, Any] = {"stage": stage, "overallProgress": _percent(done, total), "timestamp": timestamp(at)}
        if state["ch"]:
            ch = {"chid": state["ch"], "progress": _percent(state["ch_done"] + state["file"], state["ch_total"])}
            if extra:
                ch["file"] = extra
            msg["channel"] = ch
        return msg

    state["message"] = message
    base = str(websocket.url).split("/wsapi/")[0].replace("ws://", "http://").replace("wss://", "https://")
    end_code = SUCCESS
    try:
        await client.send(message("begin"))
        for chid, fs in files.items():
            state.update(ch=chid, ch_done=0.0, ch_total=sum(f.seconds for f in fs) or 1.0, file=0.0)
            await client.send(message("channelBegin"))
            for f in fs:
                state["fid"] += 1
                state["at"] = f.since
                name = f.name()
                await client.send(message("fileBegin", fid=state["fid"], name=name))
                out = folder / name
                await _write(client, f, out, settings.ffmpeg, interval, state)
                state["file"] = f.seconds
                link: dict[str, Any] = {"fileName": name, "src": f"{base}/download/{task_id}/{name}"}
                if md5:
                    link["md5"] = await run_in_threadpool(_md5, out)
                await client.send(message("fileEnd", fid=state["fid"], ttl=TTL, download=[link]))
                await _await_next(client)
                out.unlink(missing_ok=True)  # downloaded: the guide deletes it before the next file
                state["done"] += f.seconds
                state["ch_done"] += f.seconds
                state["file"] = 0.0
            state["at"] = until
            await client.send(message("channelEnd"))
    except _Stop as stop:
        end_code = stop.code
    except (WebSocketDisconnect, RuntimeError, OSError):
        end_code = CANCELLED
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        state["ch"] = 0
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            end = message("end")
            end["status"] = {"code": end_code, "message": MESSAGES[end_code]}
            await client.send(end)
            await websocket.close()
        client.close()
        log.info("dataExport %s ended: %s", task_id, MESSAGES[end_code])


router = APIRouter()
router.add_api_websocket_route("/wsapi/dataExport", data_export)

