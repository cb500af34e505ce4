"""Bus topics of the all-in-one door (payloads are plain dicts; subscribe with `Bus.subscribe(topic)`)."""

IO_IN = "allinone.io_in"  # {device, name, address, source, value, received_at, raw}
SERIAL_DATA = "allinone.serial_data"  # {device, name, address, channel, serial_channel, data (bytes), received_at}
SNAPSHOT = "allinone.snapshot"  # {device, address, image (path in the image store), size, received_at}
