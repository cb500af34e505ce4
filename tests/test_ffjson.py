"""The FF JSON door (spec 000): the codec on the spec's own payloads, then a real `platehub serve`
fed by curl (the spec's commands), a byte-exact replay of the spec's header dump, other clients,
bad input, and the `platehub simulate ff` simulator."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from platehub.core.read import Box
from platehub.engine.image import decode
from platehub.engine.regions import REGION_CODES
from platehub.protocols.ffjson import codec
from platehub.protocols.ffjson.codec import FFError
from platehub.simulator import ff as sim

FIXTURES = Path(__file__).parent / "fixtures" / "ffjson"
DUMP_EVENT = (FIXTURES / "1470311585.json").read_bytes()  # the header dump's event, 337 bytes
SPEC_EXAMPLE = (FIXTURES / "spec_example.json").read_bytes()  # the JSON example, repaired
PATH = "/ff_post.php"
PHOTO_A, PLATE_A = "ua-oneline-23.jpeg", "AA7564MX"
PHOTO_B, PLATE_B = "ua-oneline-19.jpeg", "BC9911BK"

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def parse(data: bytes | str | dict) -> codec.FFEvent:
    return codec.parse_event(data if isinstance(data, dict) else codec.load_json(data))


def dump_event(**changes) -> dict:
    """The header dump's event with fields changed (None removes a field)."""
    event = json.loads(DUMP_EVENT)
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


# --------------------------------------------------------------------------------------------------
# Codec
# --------------------------------------------------------------------------------------------------


def test_fixture_is_the_dumps_337_bytes():
    assert len(DUMP_EVENT) == 337  # "Send data, 337 bytes (0x151)" and the PHP receiver's [size] => 337
    assert DUMP_EVENT.startswith(b'{"packetCounter":"1","datetime":"20160805 145305000","plateText"')
    assert DUMP_EVENT.endswith(b'D":"CameraTest2"}')


def test_header_dump_event():
    event = parse(DUMP_EVENT)
    assert event.plate_text == "AA4295OK" and event.byte_swapped  # 0x4f is 'O': AA 4295 OK
    assert event.when == datetime(2016, 8, 5, 14, 53, 5, tzinfo=UTC)
    assert (event.packet_counter, event.country, event.confidence) == (1, "UKR", 0.852113)
    assert (event.car_state, event.move_direction, event.time_processing) == ("new", "in", 20)
    assert event.plate_coordinates == (1233, 1429, 104, 144)
    assert (event.car_id, event.geo_target, event.sensor) == ("1", "Office", "CameraTest2")
    assert event.warnings == ()
    received = datetime(2026, 1, 1, tzinfo=UTC)
    read = codec.to_read(event, received)
    assert (read.plate, read.plate_raw, read.protocol) == ("AA4295OK", "AA4295OK", "ffjson")
    assert (read.source, read.source_key) == ("CameraTest2", "CameraTest2:1")
    assert read.box == Box(1233, 1429, 1337, 1573)
    assert (read.region, read.direction, read.score) == ("ua", "in", 0.852113)
    assert read.first_seen == read.last_seen == event.when and read.received_at == received
    assert read.raw == json.loads(DUMP_EVENT)  # as received: the swapped text stays in the payload


def test_spec_json_example():
    event = parse(SPEC_EXAMPLE)
    assert event.plate_text == "AA4295OK" and not event.byte_swapped
    assert event.when == datetime(2017, 2, 21, 8, 13, 31, tzinfo=UTC)
    assert event.geotag == (50.418114, 30.476213)
    assert (event.image_type, event.plate_image_type, event.plate_image_size) == ("plate", "png", 0)
    assert codec.to_read(event, datetime.now(UTC)).box == Box(0, 680, 440, 952)
    assert codec.device_fields(event) == {
        "name": "Office",
        "meta": {"channel": 1, "zone": 1, "geotag": {"lat": 50.418114, "lon": 30.476213}, "country": "UKR"},
    }


@pytest.mark.parametrize(("text", "expected", "swapped"), [
    ("\u4100\u4100\u3400\u3200\u3900\u3500\u4f00\u4b00", "AA4295OK", True),  # the spec's dump
    ("\u4100\u4200\u2d00\u3100\u3200", "AB-12", True),
    ("AA4295OK", "AA4295OK", False),
    ("一", "一", False),  # U+4E00 alone: one code unit is no evidence
    ("京A12345", "京A12345", False),  # real CJK mixed with ASCII
    ("\u4e00\u4e8c", "\u4e00\u4e8c", False),  # 一二: 二 (U+4E8C) has a non-zero low byte
    ("\u4100B", "\u4100B", False),  # not every code unit swapped
    ("АА4295ОК", "АА4295ОК", False),  # Cyrillic (U+04xx) is no swapped ASCII
    ("\u2000\u2000", "\u2000\u2000", False),  # swaps to spaces: no plate
    ("\u4100\u2100", "\u4100\u2100", False),  # swaps to "A!": not a plate's characters
])
def test_byte_swap_rule(text, expected, swapped):
    assert codec.unswap_plate_text(text) == (expected, swapped)
    assert codec.swap_bytes(codec.swap_bytes(text)) == text


@pytest.mark.parametrize(("value", "expected"), [
    ("20170221 081331000", datetime(2017, 2, 21, 8, 13, 31, tzinfo=UTC)),
    ("20160805 145305000+0300", datetime(2016, 8, 5, 11, 53, 5, tzinfo=UTC)),
    ("20160805 145305123-0130", datetime(2016, 8, 5, 16, 23, 5, 123000, tzinfo=UTC)),
    ("20160805 145305", datetime(2016, 8, 5, 14, 53, 5, tzinfo=UTC)),
    ("2016-08-05T14:53:05+02:00", datetime(2016, 8, 5, 12, 53, 5, tzinfo=UTC)),
])
def test_datetime(value, expected):
    assert codec.parse_datetime(value) == expected
    assert parse(dump_event(datetime=value)).when == expected


@pytest.mark.parametrize("value", ["20161305 145305000", "20160805 256000000", "20160805 145305000+2500",
                                   "yesterday", 20160805, "", "2016080514530500"])
def test_bad_datetime(value):
    with pytest.raises(FFError, match="datetime"):
        codec.parse_datetime(value)


def test_format_datetime_round_trips():
    when = datetime(2016, 8, 5, 14, 53, 5, 250000, tzinfo=timezone(timedelta(hours=3)))
    assert codec.format_datetime(when) == "20160805 115305250"
    assert codec.format_datetime(when, offset=True) == "20160805 145305250+0300"
    assert codec.parse_datetime(codec.format_datetime(when, offset=True)) == when


def test_key_variants():
    variants = [
        {"plate_text": "AB123", "sensor_provider_id": "s1", "car_id": 7, "Plate_Country": "ukr"},
        {"platetext": "AB123", "sensorProviderId": "s1", "carId": "7", "PLATECOUNTRY": "UKR"},
        {"PlateText": "AB123", "SENSORPROVIDERID": "s1", "car-id": 7.0, "plateCountry": "UKR"},
        {"plateUTF8": "AB123", "sensorProviderID": "s1", "carID": "7", "plateCountry": "UKR"},
    ]
    for raw in variants:
        event = parse(raw)
        assert (event.plate_text, event.sensor, event.car_id, event.country) == ("AB123", "s1", "7", "UKR"), raw
    # the frame direction's name did not survive in the spec: the accepted spellings
    for key in ("carFrameDirection", "frameDirection", "carMoveFrameDirection"):
        assert parse({"plateText": "AB1", key: "Down"}).frame_direction == "down"


def test_numbers_as_strings_or_numbers():
    as_strings = parse(dump_event(packetCounter="7", plateConfidence="0.5", timeProcessing="12", carID="42",
                                  plateCoordinates=["1", "2", "3", "4"], channel="2", zone="3"))
    as_numbers = parse(dump_event(packetCounter=7, plateConfidence=0.5, timeProcessing=12, carID=42,
                                  plateCoordinates=[1, 2, 3, 4], channel=2, zone=3))
    for event in (as_strings, as_numbers):
        assert (event.packet_counter, event.confidence, event.time_processing, event.car_id) == (7, 0.5, 12, "42")
        assert (event.plate_coordinates, event.channel, event.zone) == ((1, 2, 3, 4), 2, 3)
    assert parse(dump_event(plateConfidence="85.5%")).confidence == 0.855
    assert parse(dump_event(plateConfidence=92)).confidence == 0.92  # a percentage
    assert parse(dump_event(plateCoordinates="10, 20, 30, 40")).plate_coordinates == (10, 20, 30, 40)


@pytest.mark.parametrize(("change", "message"), [
    ({"plateText": None}, "plateText is missing"),
    ({"plateText": ""}, "plateText is missing"),
    ({"plateText": "\u0000 "}, "plateText is missing"),
    ({"plateText": ["AB"]}, "plateText must be a string"),
    ({"plateText": "A" * 65}, "plateText is too long"),
    ({"plateConfidence": "high"}, "plateConfidence must be a number"),
    ({"plateConfidence": 250}, "out of range"),
    ({"packetCounter": "one"}, "packetCounter must be a whole number"),
    ({"packetCounter": True}, "packetCounter must be a whole number"),
    ({"packetCounter": -1}, "out of range"),
    ({"plateCoordinates": [1, 2, 3]}, "plateCoordinates"),
    ({"plateCoordinates": [1, 2, -3, 4]}, "plateCoordinates"),
    ({"geotag": {"lat": 95, "lon": 0}}, "geotag"),
    ({"geotag": "north"}, "geotag"),
    ({"carID": {"id": 1}}, "carID"),
    ({"sensorProviderID": "s" * 129}, "sensorProviderID is too long"),
    ({"datetime": "20160805"}, "datetime"),
])
def test_bad_fields(change, message):
    with pytest.raises(FFError, match=message):
        parse(dump_event(**change))


@pytest.mark.parametrize(("body", "message", "status"), [
    (b"hello", "not valid JSON", 400),
    (b"", "empty", 400),
    (b"[" + DUMP_EVENT + b"]", "must be an object, not list", 400),
    (b"null", "must be an object, not null", 400),
    (b'{"plateText":"AB1","plateConfidence":NaN}', "NaN", 400),
    (b'{"plateText":"AB\\ud800"}', "not valid Unicode", 400),
    (b"[" * 100_000, "not valid JSON", 400),
    (b'{"plateText":"AB1","x":"' + b"x" * 300_000 + b'"}', "too large", 413),
    ("\ufeff".encode() + DUMP_EVENT, None, None),  # a UTF-8 BOM is fine
    (DUMP_EVENT.decode().encode("utf-16"), None, None),  # and so is UTF-16
])
def test_load_json(body, message, status):
    if message is None:
        assert codec.load_json(body)["sensorProviderID"] == "CameraTest2"
        return
    with pytest.raises(FFError, match=message) as e:
        codec.load_json(body)
    assert e.value.status == status


def test_enumerations_are_lenient():
    event = parse(dump_event(carState="update", carMoveDirection="Out", imageType="VEHICLE",
                             plateImageType="JPG"))
    assert (event.car_state, event.move_direction, event.image_type, event.plate_image_type) == (
        "updated", "out", "vehicle", "jpeg")
    for word in ("null", "unknown", "UNK", ""):
        assert parse(dump_event(carMoveDirection=word)).move_direction is None
    odd = parse(dump_event(carState="parked", carMoveDirection="sideways"))
    assert odd.car_state is None and odd.move_direction is None  # the read is kept ...
    assert len(odd.warnings) == 2 and "parked" in odd.warnings[0]  # ... and the log says why


def test_region_table():
    assert codec.region_of("UKR") == "ua" and codec.region_of("gbr") == "gb" and codec.region_of("DEU") == "de"
    assert codec.region_of("UA") == "ua"  # alpha-2 passes
    assert codec.region_of("XYZ") is None and codec.region_of(None) is None
    assert set(codec.ALPHA3_TO_REGION.values()) <= REGION_CODES  # all are Snapshot API region codes


def test_source_key_and_images():
    event = parse(dump_event(carID=None, packetCounter="9"))
    assert codec.source_key(event) == "CameraTest2:9:20160805 145305000"
    assert codec.source_key(parse(dump_event(carID=None, datetime=None))) is None  # counters restart
    assert codec.source_of(parse(dump_event(sensorProviderID=None))) == "ff"
    image = b"\xff\xd8\xff" + b"x" * 50 + b"\xff\xd9"
    for kind, slots in (("plate", (None, image)), ("mmrcrop", (None, image)), ("vehicle", (image, None)),
                        ("frame", (image, None)), (None, (image, None))):
        assert codec.image_slots(parse(dump_event(imageType=kind)), image) == slots, kind


def test_decode_form_and_image_checks():
    image = b"\xff\xd8\xff" + b"x" * 50 + b"\xff\xd9"
    parts = [codec.Part("event", DUMP_EVENT.decode()), codec.Part("image", image, "a.jpg", "image/jpeg")]
    assert codec.decode_form(parts).image == image  # event as a text field
    other = [codec.Part("data", DUMP_EVENT, "1.json", "application/json"), codec.Part("shot", image, "b.jpg")]
    decoded = codec.decode_form(other)  # no `event` part: the JSON part and the image part by content
    assert decoded.event.plate_text == "AA4295OK" and decoded.image == image
    with pytest.raises(FFError, match="No `event` part"):
        codec.decode_form([codec.Part("image", image, "a.jpg")])
    not_image = codec.decode_form([codec.Part("event", DUMP_EVENT), codec.Part("image", b"GIF89a...")])
    assert not_image.image is None and "not an image" in not_image.warnings[0]
    truncated = codec.decode_form([codec.Part("event", DUMP_EVENT), codec.Part("image", image[:-2])])
    assert truncated.image is None and "truncated" in truncated.warnings[0]
    assert codec.multipart_complete(b"--xyz\r\n...\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz")
    assert not codec.multipart_complete(b"--xyz\r\n...\r\n", "multipart/form-data; boundary=xyz")
    assert not codec.multipart_complete(b"--xyz--", "multipart/form-data")


# --------------------------------------------------------------------------------------------------
# The simulator's wire format (against the spec's header dump)
# --------------------------------------------------------------------------------------------------


def test_simulator_frames_requests_like_the_dump():
    boundary = "------------------------c83536ed0d118f9a"
    image = b"\xff\xd8\xff" + b"x" * 1000 + b"\xff\xd9"
    body, ctype = sim.multipart_body(DUMP_EVENT, "1470311585.json", image, "etalon_hd.jpg", boundary)
    assert ctype == f"multipart/form-data; boundary={boundary}"
    head, rest = body.split(DUMP_EVENT)
    image_head, tail = rest.split(image)
    assert (len(head), len(image_head), len(tail)) == (0x98, 0x92, 0x30)  # the dump's "Send data" sizes
    assert head.endswith(b'filename="1470311585.json"\r\nContent-Type: application/json\r\n\r\n')
    assert tail == f"\r\n--{boundary}--\r\n".encode()
    event = sim.make_event("AA4295OK", 1, "new", 1, datetime(2016, 8, 5, 14, 53, 5, tzinfo=UTC),
                           sensor="CameraTest2", name="Office", confidence=0.852113, box=(1233, 1429, 104, 144))
    encoded = sim.encode_event(event, byte_swapped=True)
    assert b'"plateText":"\\u4100\\u4100\\u3400\\u3200\\u3900\\u3500\\u4f00\\u4b00"' in encoded
    assert parse(encoded).plate_text == "AA4295OK"
    assert sim.event_states(4) == ["new", "updated", "updated", "lost"] and sim.event_states(1) == ["lost"]


# --------------------------------------------------------------------------------------------------
# A real server
# --------------------------------------------------------------------------------------------------


def reads(srv, source: str | None = None) -> list[dict]:
    out = srv.cli("reads")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    return [r for r in rows if r["protocol"] == "ffjson" and (source is None or r["source"] == source)]


def post_ff(srv, event: dict | bytes, image: bytes | None = None, path: str = PATH, **kwargs) -> httpx.Response:
    """multipart as httpx frames it: the event as a .json file part, the image as `image`."""
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    files = {"event": ("1470311585.json", data, "application/json")}
    if image is not None:
        files["image"] = ("etalon_hd.jpg", image, "image/jpeg")
    return httpx.post(srv.url + path, files=files, timeout=30, **kwargs)


@needs_curl
def test_spec_curl_commands(make_server, photo, tmp_path):
    """The spec's two curl commands, verbatim but for the URL they leave out."""
    srv = make_server()
    (tmp_path / "1470311582.json").write_bytes(DUMP_EVENT)
    (tmp_path / "etalon_hd.jpg").write_bytes(photo(PHOTO_A))
    commands = [
        ["curl", "--trace-ascii", "headers.txt", "-i", "-X", "POST", "-F", "event=@1470311582.json",
         "-F", "image=@etalon_hd.jpg", srv.url + PATH],
        ["curl", "--trace-ascii", "headers.txt", "-i", "-X", "POST", "-F",
         "event=@1470311582.json;type=application/json", "-F", "image=@etalon_hd.jpg", srv.url + PATH],
    ]
    answers = []
    for command in commands:
        out = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=60, check=True)
        assert out.stdout.startswith(b"HTTP/1.1 200 OK"), out.stdout
        answers.append(json.loads(out.stdout.split(b"\r\n\r\n", 1)[1]))
        trace = (tmp_path / "headers.txt").read_text(errors="replace")  # 64-byte lines behind "0040: "
        sent = "".join(line[6:] for line in trace.splitlines() if re.match(r"[0-9a-f]{4}: ", line))
        assert 'name="event"; filename="1470311582.json"' in sent  # a file part, as in the spec's dump
    # the second command types the part as the dump shows it (curl's own guess differs between versions)
    assert 'filename="1470311582.json"Content-Type: application/json' in sent
    assert answers[0]["status"] == "ok" and answers[0]["stored"] == "new"
    # the same event file again is a retransmission: merged once, not twice
    assert answers[1] == {"status": "ok", "read": answers[0]["read"], "stored": "duplicate"}
    [read] = reads(srv)
    assert (read["id"], read["plate"], read["source"], read["source_key"]) == (
        answers[0]["read"], "AA4295OK", "CameraTest2", "CameraTest2:1")
    assert (read["region"], read["direction"], read["score"]) == ("ua", "in", 0.852113)
    assert read["first_seen"] == "2016-08-05T14:53:05+00:00"
    assert (srv.data / "images" / read["image_full"]).read_bytes() == photo(PHOTO_A)
    assert read["image_plate"] is None


def _http_exchange(port: int, head: bytes, body: bytes) -> tuple[list[str], bytes]:
    """Send a request as curl 7.35 does (wait for `100 Continue`), return the status lines and the body."""
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        interim, buf = buf.split(b"\r\n\r\n", 1)
        statuses.append(interim.decode().split("\r\n")[0])
        s.sendall(body)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        header, rest = buf.split(b"\r\n\r\n", 1)
        lines = header.decode().split("\r\n")
        statuses.append(lines[0])
        length = int(next(x.split(":", 1)[1] for x in lines if x.lower().startswith("content-length")))
        while len(rest) < length:
            rest += s.recv(65536)
    return statuses, rest


def test_header_dump_replayed_byte_for_byte(make_server, photo):
    """The spec's "HTTP headers dump": the same headers, boundary, part headers and event bytes."""
    srv = make_server()
    boundary = b"------------------------c83536ed0d118f9a"
    image = photo(PHOTO_B)
    event_head = (b"--" + boundary + b"\r\n"
                  b'Content-Disposition: form-data; name="event"; filename="1470311585.json"\r\n'
                  b"Content-Type: application/json\r\n\r\n")
    image_head = (b"\r\n--" + boundary + b"\r\n"
                  b'Content-Disposition: form-data; name="image"; filename="etalon_hd.jpg"\r\n'
                  b"Content-Type: image/jpeg\r\n\r\n")
    tail = b"\r\n--" + boundary + b"--\r\n"
    assert (len(event_head), len(image_head), len(tail)) == (152, 146, 48)  # the dump's block sizes
    body = event_head + DUMP_EVENT + image_head + image + tail
    head = (f"POST {PATH} HTTP/1.1\r\nUser-Agent: curl/7.35.0\r\nHost: 127.0.0.1:{srv.port}\r\nAccept: */*\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n\r\n").encode()
    statuses, answer = _http_exchange(srv.port, head, body)
    assert statuses == ["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"]
    assert json.loads(answer)["stored"] == "new"
    [read] = reads(srv)
    assert read["plate"] == "AA4295OK" and read["plate_raw"] == "AA4295OK"  # the byte-swapped text, un-swapped
    assert read["box"] == {"xmin": 1233, "ymin": 1429, "xmax": 1337, "ymax": 1573}
    assert read["raw"]["events"] == [json.loads(DUMP_EVENT)]
    assert (srv.data / "images" / read["image_full"]).read_bytes() == image


def test_other_clients_plain_json_text_field_and_urlencoded(server):
    forms = {
        "json": lambda e: httpx.post(server.url + PATH, json=e, timeout=30),
        "no-type": lambda e: httpx.post(server.url + PATH, content=json.dumps(e).encode(), timeout=30),
        "field": lambda e: httpx.post(server.url + PATH, files={"image": ("a.jpg", b"")},
                                      data={"event": json.dumps(e)}, timeout=30),
        "urlencoded": lambda e: httpx.post(server.url + PATH, data={"event": json.dumps(e)}, timeout=30),
    }
    answers = {}
    for name, send in forms.items():
        event = dump_event(sensorProviderID=f"other-{name}", plateText="BC 9911-BK", carID=None)
        first, again = send(event), send(event)  # the second is a retransmission
        assert first.status_code == again.status_code == 200, (name, first.text, again.text)
        answers[name] = first.json(), again.json()
    stored = {r["source"]: r for r in reads(server) if r["source"].startswith("other-")}
    assert sorted(stored) == sorted(f"other-{name}" for name in forms)  # one read each
    for name, (first, again) in answers.items():
        read = stored[f"other-{name}"]
        assert first == {"status": "ok", "read": read["id"], "stored": "new"}, name
        assert again == {"status": "ok", "read": read["id"], "stored": "duplicate"}, name
        assert (read["plate"], read["plate_raw"], read["image_full"]) == ("BC9911BK", "BC 9911-BK", None), name
        assert read["source_key"] == f"other-{name}:1:20160805 145305000"
        assert read["raw"]["sensorProviderID"] == f"other-{name}"  # a single event: the payload itself


def test_numbers_offsets_and_key_variants_on_the_wire(server):
    sensor = "wire-variants"
    event = {"packet_counter": 5, "date_time": "20160805 145305000+0300", "plate_text": "AB1234CD",
             "plateConfidence": 0.77, "car_id": 42, "timeProcessing": 12, "plateCoordinates": [10, 20, 30, 40],
             "sensorProviderId": sensor, "plateCountry": "POL", "carMoveDirection": "OUT"}
    assert post_ff(server, event).status_code == 200
    [read] = reads(server, sensor)
    assert (read["plate"], read["score"], read["source_key"], read["region"], read["direction"]) == (
        "AB1234CD", 0.77, f"{sensor}:42", "pl", "out")
    assert read["first_seen"] == read["last_seen"] == "2016-08-05T11:53:05+00:00"  # +0300 → UTC
    assert read["box"] == {"xmin": 10, "ymin": 20, "xmax": 40, "ymax": 60}


def test_one_vehicle_pass_is_one_read(make_server, photo):
    srv = make_server(PLATEHUB_PASS_TIMEOUT="60")
    sensor, t0 = "gate-7", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

    def send(state, text, score, seconds, image):
        event = dump_event(sensorProviderID=sensor, carID="77", carState=state, plateText=text,
                           plateConfidence=str(score), datetime=codec.format_datetime(t0 + timedelta(seconds=seconds)),
                           imageType="frame")
        r = post_ff(srv, event, image)
        assert r.status_code == 200, r.text
        return r.json()

    first = send("new", "AA7564M", 0.61, 0, photo(PHOTO_B))
    second = send("updated", "AA7564MX", 0.93, 1.5, photo(PHOTO_A))
    third = send("lost", "AA7564HX", 0.80, 3.25, None)
    assert [first["stored"], second["stored"], third["stored"]] == ["new", "updated", "updated"]
    assert first["read"] == second["read"] == third["read"]
    [read] = reads(srv, sensor)
    assert (read["plate"], read["score"]) == (PLATE_A, 0.93)  # the best text and score
    assert read["first_seen"] == "2024-05-01T10:00:00+00:00"
    assert read["last_seen"] == "2024-05-01T10:00:03.250000+00:00"
    assert [e["carState"] for e in read["raw"]["events"]] == ["new", "updated", "lost"]
    assert (srv.data / "images" / read["image_full"]).read_bytes() == photo(PHOTO_A)  # the best event's image

    # the camera restarts and reuses carID 77 an hour later: a new pass, a new read
    later = send("new", PLATE_B, 0.9, 3600, None)
    assert later["stored"] == "new" and later["read"] != first["read"]
    rows = {r["id"]: r for r in reads(srv, sensor)}
    assert len(rows) == 2
    assert rows[later["read"]]["source_key"] == f"{sensor}:77"
    assert rows[first["read"]]["source_key"].startswith(f"{sensor}:77@")  # the old pass, closed


def test_images_follow_image_type_and_retention(server, make_server, photo):
    image = photo(PHOTO_B)
    kinds = {"frame": (True, False), "vehicle": (True, False), "plate": (False, True), "mmrcrop": (False, True)}
    for kind in kinds:
        assert post_ff(server, dump_event(sensorProviderID=f"img-{kind}", imageType=kind), image).status_code == 200
    # a part that is no image is not stored, the read is
    assert post_ff(server, dump_event(sensorProviderID="img-bad"), b"not an image").status_code == 200
    stored = {r["source"]: r for r in reads(server) if r["source"].startswith("img-")}
    for kind, (full, crop) in kinds.items():
        read = stored[f"img-{kind}"]
        assert (read["image_full"] is not None, read["image_plate"] is not None) == (full, crop), kind
        assert (server.data / "images" / (read["image_full"] or read["image_plate"])).read_bytes() == image
    assert stored["img-bad"]["image_full"] is None and stored["img-bad"]["image_plate"] is None

    srv = make_server(PLATEHUB_IMAGE_RETENTION="plate")
    for kind in ("frame", "plate"):
        assert post_ff(srv, dump_event(sensorProviderID=kind, imageType=kind), image).status_code == 200
    stored = {r["source"]: r for r in reads(srv)}
    assert stored["frame"]["image_full"] is None and stored["frame"]["image_plate"] is None  # no full frames
    assert (srv.data / "images" / stored["plate"]["image_plate"]).read_bytes() == image


def test_device_registered(server):
    event = dump_event(sensorProviderID="cam-entry-2", GEOtarget="Entry, lane 2", channel=2, zone="1",
                       geotag={"lat": "50.45", "lon": 30.52})
    assert post_ff(server, event).status_code == 200
    out = server.cli("devices", "list")
    line = next(x for x in out.stdout.splitlines() if x.startswith("cam-entry-2\t"))
    _code, protocol, name, address, state, *_ = line.split("\t")
    assert (protocol, name, address, state) == ("ffjson", "Entry, lane 2", "127.0.0.1", "online")
    from platehub.config import Settings
    from platehub.core.store import Store

    store = Store.open(Settings.from_env(data_dir=server.data))
    try:
        device = store.devices.get("cam-entry-2")
    finally:
        store.close()
    assert device.meta == {"channel": 2, "zone": 1, "geotag": {"lat": 50.45, "lon": 30.52}, "country": "UKR"}


def _multipart(event: bytes, image: bytes, boundary: str = "b0undary") -> tuple[bytes, dict]:
    body, ctype = sim.multipart_body(event, "1.json", image, "etalon_hd.jpg", boundary)
    return body, {"Content-Type": ctype}


def test_bad_input_gets_4xx_and_the_server_keeps_serving(server, photo):
    def event(sensor, **changes):
        return json.dumps(dump_event(sensorProviderID=sensor, **changes)).encode()

    good, headers = _multipart(event("bad-truncated"), photo(PHOTO_A))
    cases = {
        "not-json": (b"this is not json", {"Content-Type": "application/json"}),
        "array": (b"[" + event("bad-array") + b"]", {"Content-Type": "application/json"}),
        "no-plate": (event("bad-no-plate", plateText=None), {"Content-Type": "application/json"}),
        "bad-datetime": (event("bad-datetime", datetime="20161332 250000000"), {}),
        "empty": (b"", {"Content-Type": "application/json"}),
        "nan": (b'{"plateText":"AB1","sensorProviderID":"bad-nan","plateConfidence":NaN}', {}),
        "truncated-in-image": (good[: len(good) // 2], headers),
        "truncated-in-event": (good[:60], headers),
        "no-event-part": (_multipart(b"", photo(PHOTO_A))[0].replace(b'name="event"', b'name="other"'), headers),
        "no-boundary": (good, {"Content-Type": "multipart/form-data"}),
        "garbage-multipart": (b"x" * 100 + b"--b0undary--", headers),
    }
    for name, (body, hdrs) in cases.items():
        r = httpx.post(server.url + PATH, content=body, headers=hdrs, timeout=30)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"], name
        assert server.alive(), name
    # nothing stored; "bad-truncated": the event part was complete, the request was not
    assert [r for r in reads(server) if r["source"].startswith("bad-")] == []

    # a camera that hangs up in the middle of the body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: {headers['Content-Type']}\r\n"
                  f"Content-Length: {len(good)}\r\n\r\n".encode() + good[:1000])
    assert server.alive()
    assert post_ff(server, dump_event(sensorProviderID="after-bad")).status_code == 200
    log = server.log.read_text()
    assert "Traceback" not in log and "ffjson 400" in log  # refused in the log, never a server error


def test_huge_bodies_get_413(make_server, photo):
    srv = make_server(PLATEHUB_UPLOAD_LIMIT="300000")
    big = photo(PHOTO_A) + b"\0" * 300_000
    r = post_ff(srv, dump_event(sensorProviderID="huge"), big)
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit holds while streaming
        body, _ = _multipart(json.dumps(dump_event(sensorProviderID="huge")).encode(), big)
        for i in range(0, len(body), 16384):
            yield body[i:i + 16384]

    r = httpx.post(srv.url + PATH, content=chunks(), timeout=30,
                   headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert r.status_code == 413
    # an event JSON bigger than any real event, within the body limit
    r = httpx.post(srv.url + PATH, json=dump_event(sensorProviderID="huge", padding="x" * 270_000), timeout=30)
    assert r.status_code == 413 and "event JSON is too large" in r.json()["detail"]
    assert reads(srv, "huge") == []
    assert post_ff(srv, dump_event(sensorProviderID="small"), photo("hr-02.jpg")).status_code == 200  # 47 kB


def test_path_setting(make_server):
    srv = make_server(PLATEHUB_FF_PATH="/anpr/ff-events")
    assert post_ff(srv, dump_event(sensorProviderID="custom-path"), path="/anpr/ff-events").status_code == 200
    assert post_ff(srv, dump_event(sensorProviderID="default-path")).status_code == 404
    assert [r["source"] for r in reads(srv)] == ["custom-path"]


def test_simulator_end_to_end(server, photo, tmp_path):
    (tmp_path / "a.jpg").write_bytes(photo(PHOTO_A))
    (tmp_path / "b.jpg").write_bytes(photo(PHOTO_B))
    out = server.cli("simulate", "ff", "--to", server.url, "--sensor", "sim-photos", "--plates",
                     f"{PLATE_A},{PLATE_B}", "--image", str(tmp_path / "a.jpg"), "--image", str(tmp_path / "b.jpg"),
                     "--events-per-pass", "4", "--byte-swapped", "--interval", "0", "--car-id", "500")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert sum("-> HTTP 200" in x for x in lines) == 8 and "all accepted" in lines[-1]
    rows = reads(server, "sim-photos")
    assert sorted((r["plate"], r["source_key"]) for r in rows) == [
        (PLATE_A, "sim-photos:500"), (PLATE_B, "sim-photos:501")]
    for r in rows:
        assert [e["carState"] for e in r["raw"]["events"]] == ["new", "updated", "updated", "lost"]
        assert r["raw"]["events"][0]["plateText"] != r["plate"]  # sent byte-swapped, stored readable
        assert r["score"] == 0.95 and r["region"] == "ua"
        expected = photo(PHOTO_A if r["plate"] == PLATE_A else PHOTO_B)
        assert (server.data / "images" / r["image_full"]).read_bytes() == expected
    assert "sim-photos\tffjson\tplatehub simulator\t127.0.0.1" in server.cli("devices", "list").stdout

    # without photos: a synthetic plate image, said so; to another path with --path
    out = server.cli("simulate", "ff", "--to", server.url, "--sensor", "sim-synthetic", "--plates", "XY12ZZ",
                     "--events-per-pass", "1", "--interval", "0")
    assert out.returncode == 0 and "synthetic" in out.stdout, out.stdout + out.stderr
    [read] = reads(server, "sim-synthetic")
    assert read["raw"]["events"][0]["carState"] == "lost" and read["box"]["xmax"] > read["box"]["xmin"]
    assert decode((server.data / "images" / read["image_full"]).read_bytes()).shape[:2] == (720, 1280)

    refused = server.cli("simulate", "ff", "--to", server.url, "--path", "/nowhere", "--interval", "0")
    assert refused.returncode == 1 and "HTTP 404" in refused.stdout and "refused" in refused.stdout
    unreachable = server.cli("simulate", "ff", "--to", "http://127.0.0.1:9", "--interval", "0", "--timeout", "5")
    assert unreachable.returncode == 1 and "127.0.0.1:9" in unreachable.stderr
    assert "--image" in subprocess.run([sys.executable, "-m", "platehub.cli", "simulate", "ff", "--help"],
                                       capture_output=True, text=True).stdout


def test_simulator_functions(server, photo):
    with httpx.Client(timeout=30) as client:
        responses = sim.send_pass(client, sim.receiver_url(server.url, PATH), PLATE_B, 9001, sensor="sim-fn",
                                  image=photo(PHOTO_B), events=2)
    assert [r.json()["stored"] for r in responses] == ["new", "updated"]
    [read] = reads(server, "sim-fn")
    assert read["plate"] == PLATE_B and read["source_key"] == "sim-fn:9001"


def test_on_postgresql(make_server, photo):
    """PostgreSQL enforces what SQLite lets pass (column lengths, NUL in text): a pass, the byte-swapped
    dump, a C string's trailing NUL and an over-long channel description are stored, never a 500."""
    from postgres import postgres_server

    from platehub.simulator.harness import free_port

    with postgres_server(free_port()) as url:
        srv = make_server(PLATEHUB_DATABASE_URL=url)
        events = [
            dump_event(),  # the byte-swapped text, kept as received in `raw`
            dump_event(carState="updated", plateText="AA4295OK\u0000", plateConfidence="0.97", note="\u0000"),
            dump_event(carState="lost", datetime="20160805 145307000+0000", GEOtarget="Вʼїзд " * 60),
        ]
        answers = [post_ff(srv, e, photo("hr-02.jpg")) for e in events]
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        assert [a.json()["stored"] for a in answers] == ["new", "updated", "updated"]
        [read] = reads(srv)
        assert (read["plate"], read["plate_raw"], read["score"]) == ("AA4295OK", "AA4295OK", 0.97)
        assert read["last_seen"] == "2016-08-05T14:53:07+00:00"
        assert read["raw"]["events"][0]["plateText"] == json.loads(DUMP_EVENT)["plateText"]
        device = next(x for x in srv.cli("devices", "list").stdout.splitlines() if x.startswith("CameraTest2\t"))
        assert device.split("\t")[2] == ("Вʼїзд " * 60).strip()[:255]  # cut to the column's 255
        srv.stop()
