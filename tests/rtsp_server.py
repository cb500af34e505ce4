"""A real RTSP server on loopback for the tests: GStreamer's gst-rtsp-server (Debian packages
gstreamer1.0-rtsp, gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-good/-bad; installed by
tools/install-test-deps), run by Debian's own /usr/bin/python3 (where python3-gi lives) as a process of
its own. It serves an MP4 file's H.264 as it is (no re-encoding) at `rtsp://127.0.0.1:PORT/video`, in
real time; each client gets the file from its start. RTP over TCP (interleaved) is what platehub asks.

`RtspServer.kill()` and `.start()` take the server away and bring it back on the same port (an outage);
`.pause()` / `.resume()` stop and continue the process (SIGSTOP/SIGCONT): connections stay open but no
frame comes (a stall).

Run by hand: /usr/bin/python3 tests/rtsp_server.py PORT FILE
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


class RtspServer:
    def __init__(self, port: int, video: Path, log: Path) -> None:
        self.port, self.video, self.log = port, video, log
        self.url = f"rtsp://127.0.0.1:{port}/video"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RtspServer:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([SYSTEM_PYTHON, __file__, str(self.port), str(self.video)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the RTSP server exited (are the GStreamer packages installed? "
                                   "tools/install-test-deps):\n" + self.log.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the RTSP server did not start:\n" + self.log.read_text())

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def serve(port: int, video: str) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    location = video.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 '
                       "config-interval=1 )")
    factory.set_shared(False)  # each client from the start of the file
    server.get_mount_points().add_factory("/video", factory)
    if server.attach(None) == 0:
        sys.exit(f"could not listen on 127.0.0.1:{port}")
    print(f"rtsp server: rtsp://127.0.0.1:{port}/video ← {video} (pid {os.getpid()})", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
