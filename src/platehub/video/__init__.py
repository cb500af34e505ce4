"""Reading plates from video: frame sources (RTSP, HTTP MJPEG, files), a tracker that turns the reads of
many frames into one read per vehicle pass, and the channel worker that joins them to the engine and the
ingest path.

    sources.py  frames from a URL or file, sampled, reconnecting   (I/O)
    tracker.py  plates followed across frames → one Pass each      (pure)
    zones.py    recognition zones and masks in 8K logical coordinates (pure)
    channel.py  source → engine → tracker → ingest, one worker per channel; `read_file` for uploads
"""
