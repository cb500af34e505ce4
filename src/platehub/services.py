"""The services the app is built from (`app.create_app` builds each once, with its collaborators), and
what the routes ask for by type (`protocols/deps.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from platehub import __version__
from platehub.config import Settings
from platehub.core.access import AccessLists
from platehub.core.bus import Bus
from platehub.core.commands import CommandQueue
from platehub.core.devices import DeviceRegistry
from platehub.core.eventlog import EventLog
from platehub.core.gate import GateKeeper
from platehub.core.ingest import Ingestor
from platehub.core.metrics import Metrics
from platehub.core.parking import ParkingService
from platehub.core.ratelimit import RateLimiter
from platehub.core.recognition import Recognizer
from platehub.core.store import Store
from platehub.core.store.search import PlateSearch
from platehub.core.whitelist import WhitelistSync
from platehub.protocols.allinone.comet import CometPolls
from platehub.protocols.allinone.service import Door
from platehub.protocols.tsapi.devicenames import DeviceNames
from platehub.protocols.tsapi.hls import LinkSigner
from platehub.protocols.tsapi.signins import FailedSignIns
from platehub.video.channel import ChannelRunner
from platehub.video.reads import VideoReads
from platehub.video.recorder import Recorders
from platehub.video.recordings import Recordings


@dataclass(frozen=True)
class Platehub:
    """One app's services (`app.state.platehub`); routes name the ones they use (protocols/deps.py)."""

    settings: Settings
    store: Store
    bus: Bus
    eventlog: EventLog
    parking: ParkingService
    recognizer: Recognizer
    rate_limiter: RateLimiter
    devices: DeviceRegistry
    commands: CommandQueue
    ingestor: Ingestor
    lists: AccessLists
    gate: GateKeeper
    whitelist: WhitelistSync
    metrics: Metrics
    door: Door  # the all-in-one cameras' door
    polls: CometPolls  # … and their registration posts
    sign_ins: FailedSignIns  # TS-API: failed sign-ins per client, shared by every route
    plate_search: PlateSearch  # TS-API: the vehicle number log's search
    device_names: DeviceNames  # TS-API: device code -> device, for the event socket's messages
    videoreads: VideoReads  # video passes → reads (channels, uploads with a camera_id)
    channels: ChannelRunner  # one worker per enabled video channel
    recordings: Recordings  # the channels' recorded segments on disk
    recorders: Recorders  # one ffmpeg per recording channel, and the recordings' retention
    links: LinkSigner  # the /watch links' tokens, under the site's key (every process makes the same)
    version: str = __version__
