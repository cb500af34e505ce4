"""`platehub channels` (video channels: add, list, set, remove) and `platehub video FILE` (the vehicle
passes of a video file, as JSON: what `POST /v1/video-reader/` answers).

Hooked into `platehub` by cli/__init__.py (`add_parser(sub)`). A running server applies channel changes within
seconds; each change is one settings entry of the event log (user "cli")."""

from __future__ import annotations

import argparse
import json
import sys

from platehub.cli.common import open_store, with_data
from platehub.core.store.channels import Channel, ChannelExists
from platehub.engine.pipeline import MODES
from platehub.video.channels import DIRECTIONS, RECORDING, ChannelError, Channels


def _channels(args: argparse.Namespace) -> Channels:
    return Channels(open_store(args))


def _line(c: Channel) -> str:
    from platehub.video.sources import redact

    parts = [str(c.id), c.name, redact(c.url), "enabled" if c.enabled else "disabled", f"{c.sample_rate:g} fps",
             c.mode, f"direction {c.direction}"]
    if c.recording != "off":
        parts.append(f"recording {c.recording}")
    if c.min_plate_width:
        parts.append(f"min width {c.min_plate_width} px")
    if c.zones or c.masks:
        parts.append(f"{len(c.zones)} zone(s), {len(c.masks)} mask(s)")
    if c.text_formats:
        parts.append("formats " + " ".join(c.text_formats))
    return "\t".join(parts)


def _fields(args: argparse.Namespace) -> dict:
    fields: dict = {}
    for name in ("name", "url", "sample_rate", "mode", "min_plate_width", "direction", "recording"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    if getattr(args, "enabled", None) is not None:
        fields["enabled"] = args.enabled
    for name in ("zones", "masks"):
        value = getattr(args, name, None)
        if value is not None:
            try:
                fields[name] = json.loads(value)
            except json.JSONDecodeError:
                raise ChannelError(f"{name}: JSON, e.g. [[[0,2160],[7680,2160],[7680,4320],[0,4320]]]") from None
    if getattr(args, "text_format", None) is not None:
        fields["text_formats"] = [f for f in args.text_format if f]
    return fields


def channels_add(args: argparse.Namespace) -> int:
    print(_line(_channels(args).add(_fields(args), by="cli")))
    return 0


def channels_set(args: argparse.Namespace) -> int:
    channel = _channels(args).update(args.channel, _fields(args), by="cli")
    if channel is None:
        print(f"platehub channels: no channel {args.channel!r}", file=sys.stderr)
        return 1
    print(_line(channel))
    return 0


def channels_remove(args: argparse.Namespace) -> int:
    channel = _channels(args).remove(args.channel, by="cli")
    if channel is None:
        print(f"platehub channels: no channel {args.channel!r}", file=sys.stderr)
        return 1
    print(f"removed {channel.name}")
    return 0


def channels_list(args: argparse.Namespace) -> int:
    for c in _channels(args).store.channels.list():
        print(_line(c))
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return args.channels_func(args)
    except (ChannelError, ChannelExists) as e:
        print(f"platehub channels: {e}", file=sys.stderr)
        return 2


def cmd_video(args: argparse.Namespace) -> int:
    from platehub.engine import Engine
    from platehub.protocols.video.codec import file_json
    from platehub.video.channel import ChannelOptions, read_file
    from platehub.video.sources import SourceError

    try:
        options = ChannelOptions(sample_rate=args.sample_rate, mode=args.mode, min_plate_width=args.min_plate_width,
                                 text_formats=tuple(args.text_format or ()), direction=args.direction,
                                 regions=tuple(r for r in (args.regions or "").split(",") if r))
        result = read_file(Engine.load(), str(args.file), options)
    except SourceError as e:
        print(f"platehub video: {args.file}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(file_json(result, str(args.file), args.sample_rate, args.mode), indent=2))
    return 0


def _settings_args(a: argparse.ArgumentParser, adding: bool) -> None:
    a.add_argument("--sample-rate", type=float,
                   help=f"frames read a second (default {Channel.sample_rate:g})" if adding else None)
    a.add_argument("--mode", choices=list(MODES), help=f"engine mode (default {Channel.mode})" if adding else None)
    a.add_argument("--min-plate-width", type=int, metavar="PX", help="ignore narrower plates (pixels)")
    a.add_argument("--direction", choices=DIRECTIONS, help="report only passes moving this way: in = down the "
                   "image (towards the camera), out = up" + (f" (default {Channel.direction})" if adding else ""))
    a.add_argument("--recording", choices=RECORDING, help="record the camera's stream into the data directory "
                   "(fragmented MP4 segments, as the camera sends it); event: keep only the video around vehicle "
                   "passes (default off)")
    a.add_argument("--zones", metavar="JSON", help="recognition zones: polygons in 8K logical coordinates "
                   "(0..7680 × 0..4320), e.g. '[[[0,2160],[7680,2160],[7680,4320],[0,4320]]]'; '[]' = the whole view")
    a.add_argument("--masks", metavar="JSON", help="areas never read, as --zones")
    a.add_argument("--text-format", action="append", metavar="REGEX",
                   help="a read must match one of these regular expressions (repeat; '' clears)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("channels", help="video channels platehub reads plates from (RTSP, HTTP MJPEG, files)",
                       description="Video channels: camera streams (rtsp://, http(s):// MJPEG) and video files that "
                       "the server reads plates from, one read per vehicle pass. A running server applies "
                       "changes within seconds.")
    csub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str, func) -> argparse.ArgumentParser:
        a = with_data(csub.add_parser(name, help=help, description=help[0].upper() + help[1:] + "."))
        a.set_defaults(func=run, channels_func=func)
        return a

    a = action("add", "add a channel", channels_add)
    a.add_argument("name", help="the channel's name: also the source (device code) of its reads")
    a.add_argument("url", help="rtsp://user:pass@host/path, http://host/video.mjpg, or a video file")
    a.add_argument("--disabled", dest="enabled", action="store_false", default=None, help="add it disabled")
    _settings_args(a, adding=True)

    s = action("set", "change a channel's settings (the worker restarts)", channels_set)
    s.add_argument("channel", help="the channel's id or name")
    s.add_argument("--name", help="rename")
    s.add_argument("--url")
    s.add_argument("--enable", dest="enabled", action="store_true", default=None)
    s.add_argument("--disable", dest="enabled", action="store_false")
    _settings_args(s, adding=False)

    r = action("remove", "remove a channel", channels_remove)
    r.add_argument("channel", help="the channel's id or name")

    action("list", "list channels (tab-separated; passwords in URLs hidden)", channels_list)

    v = sub.add_parser("video", help="read the vehicle passes of a video file and print them as JSON",
                       description="One entry per vehicle pass (plate, score, candidates, box, times in seconds "
                       "from the start), as POST /v1/video-reader/ answers. Nothing is stored.")
    v.add_argument("file", help="a video file (anything FFmpeg reads: MP4, MKV, AVI, MJPEG …)")
    v.add_argument("--sample-rate", type=float, default=Channel.sample_rate,
                   help="frames read a second of video (default %(default)g)")
    v.add_argument("--mode", choices=list(MODES), default=Channel.mode, help="engine mode (default %(default)s)")
    v.add_argument("--regions", help="region codes, comma-separated, as the Snapshot API's")
    v.add_argument("--min-plate-width", type=int, default=Channel.min_plate_width, metavar="PX")
    v.add_argument("--direction", choices=DIRECTIONS, default=Channel.direction)
    v.add_argument("--text-format", action="append", metavar="REGEX")
    v.set_defaults(func=cmd_video)
