"""The host, as `/api/system?info|health` describe it (spec 004), read from /proc, /sys and os
(no psutil). What Linux does not tell an unprivileged process (memory modules, S.M.A.R.T., graphic
adapters' memory) is left out or empty rather than made up. Blocking: run in a thread."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import platform
import shutil
import socket
import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any

INFO_ITEMS = ("os", "cpu", "mainboard", "memory", "graphicAdapter", "disk", "cdrom", "networkAdapter")
HEALTH_ITEMS = ("cpu", "memory", "disk", "recording", "network")
ALIASES = {"storage": "disk", "network": "networkAdapter"}  # the guide's example `info=storage,network`
SAMPLE = 0.25  # seconds between the two readings that rates and usage come from

_SKIP_FS = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "pstore",
            "debugfs", "tracefs", "mqueue", "hugetlbfs", "configfs", "fusectl", "bpf", "autofs", "binfmt_misc",
            "nsfs", "rpc_pipefs", "ramfs", "efivarfs", "squashfs", "overlay", "fuse.portal", "nfsd"}


def _read(path: str | Path, default: str = "") -> str:
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError:
        return default


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _os_release() -> dict[str, str]:
    out = {}
    for line in _read("/etc/os-release").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value.strip().strip('"')
    return out


def os_info() -> dict[str, Any]:
    rel = _os_release()
    return {"name": rel.get("PRETTY_NAME") or f"{platform.system()} {platform.release()}",
            "version": platform.release(), "arch": f"{struct.calcsize('P') * 8}-bit", "kernel": platform.version()}


def cpu_info() -> list[dict[str, Any]]:
    """One entry per physical package, as the guide's list of CPUs."""
    packages: dict[str, dict[str, Any]] = {}
    block: dict[str, str] = {}
    for line in [*_read("/proc/cpuinfo").splitlines(), ""]:
        if not line.strip():
            if block:
                pkg = packages.setdefault(block.get("physical id", "0"), {
                    "name": block.get("model name") or platform.processor() or platform.machine(),
                    "manufacturer": block.get("vendor_id", ""), "cores": set(), "threads": 0})
                pkg["cores"].add(block.get("core id", block.get("processor")))
                pkg["threads"] += 1
            block = {}
            continue
        key, _, value = line.partition(":")
        block[key.strip()] = value.strip()
    if not packages:
        return [{"name": platform.machine(), "manufacturer": "", "cores": os.cpu_count() or 1}]
    return [{"name": p["name"], "manufacturer": p["manufacturer"], "cores": len(p["cores"]), "threads": p["threads"]}
            for _, p in sorted(packages.items())]


def mainboard() -> dict[str, str]:
    return {"name": _read("/sys/class/dmi/id/board_name"), "manufacturer": _read("/sys/class/dmi/id/board_vendor")}


def meminfo() -> dict[str, int]:
    out = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def _mounts() -> list[tuple[str, str, str]]:
    """(device, mount point, file system) of mounted real file systems."""
    out, seen = [], set()
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[2] in _SKIP_FS:
            continue
        dev, mount, fs = parts[0], parts[1].replace("\\040", " "), parts[2]
        if not dev.startswith("/") or mount in seen:
            continue
        seen.add(mount)
        out.append((dev, mount, fs))
    return out


def disks() -> list[dict[str, Any]]:
    """Block devices (/sys/block, without loop/ram devices) and their partitions."""
    mounts = {os.path.realpath(dev): (mount, fs) for dev, mount, fs in _mounts()}
    out = []
    for block in sorted(Path("/sys/block").glob("*")):
        name = block.name
        if name.startswith(("loop", "ram", "zram", "dm-", "sr")):
            continue
        sector = int(_read(block / "queue/logical_block_size", "512") or 512)
        parts = []
        for part in sorted(p for p in block.iterdir() if p.name.startswith(name) and (p / "partition").exists()):
            blocks = int(_read(part / "size", "0") or 0)
            entry: dict[str, Any] = {"name": part.name, "numberOfBlocks": blocks, "size": blocks * 512,
                                     "startingOffset": int(_read(part / "start", "0") or 0) * 512}
            mount = mounts.get(f"/dev/{part.name}")
            if mount:
                entry.update(mount=mount[0], fileSystem=mount[1])
            parts.append(entry)
        subsystem = block / "device/subsystem"
        disk: dict[str, Any] = {"capacity": int(_read(block / "size", "0") or 0) * 512, "deviceId": f"/dev/{name}",
                                "interface": Path(os.path.realpath(subsystem)).name if subsystem.exists() else "",
                                "manufacturer": _read(block / "device/vendor"),
                                "name": _read(block / "device/model") or name, "partition": parts,
                                "sectorSize": sector}
        serial = _read(block / "device/serial")
        if serial:
            disk["serialNo"] = serial
        out.append(disk)
    return out


def _ifaddr(name: str, request: int) -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), request, struct.pack("256s", name.encode()[:15]))
        return socket.inet_ntoa(packed[20:24])
    except OSError:
        return None


def _gateways() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in _read("/proc/net/route").splitlines()[1:]:
        f = line.split()
        if len(f) > 2 and f[1] == "00000000" and f[2] != "00000000":
            out.setdefault(f[0], []).append(socket.inet_ntoa(struct.pack("<L", int(f[2], 16))))
    return out


def _dns() -> list[str]:
    return [line.split()[1] for line in _read("/etc/resolv.conf").splitlines()
            if line.startswith("nameserver") and len(line.split()) > 1]


def _ipv6() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in _read("/proc/net/if_inet6").splitlines():
        f = line.split()
        if len(f) >= 6:
            addr = ipaddress.IPv6Address(bytes.fromhex(f[0]))
            out.setdefault(f[5], []).append(f"{addr}/{int(f[2], 16)}")
    return out


def network_adapters() -> list[dict[str, Any]]:
    gateways, v6, dns = _gateways(), _ipv6(), _dns()
    out = []
    for path in sorted(Path("/sys/class/net").glob("*")):
        name = path.name
        if name == "lo":
            continue
        entry: dict[str, Any] = {"connectionId": name, "name": name,
                                 "mac": _read(path / "address").upper(),
                                 "netEnabled": _read(path / "operstate") == "up"}
        speed = _read(path / "speed")
        if speed.lstrip("-").isdigit() and int(speed) > 0:
            entry["dlSpeed"] = entry["ulSpeed"] = int(speed) * 1_000_000
        ip = _ifaddr(name, 0x8915)  # SIOCGIFADDR
        if ip:
            mask = _ifaddr(name, 0x891B)  # SIOCGIFNETMASK
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen if mask else 32
            entry["ipv4"] = {"dns": dns, "gateway": gateways.get(name, []), "ip": [f"{ip}/{prefix}"]}
        if v6.get(name):
            entry["ipv6"] = {"ip": v6[name]}
        out.append(entry)
    return out


def system_info(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"lastUpdate": now_iso()}
    for item in items:
        if item == "os":
            out["os"] = os_info()
        elif item == "cpu":
            out["cpu"] = cpu_info()
        elif item == "mainboard":
            out["mainboard"] = mainboard()
        elif item == "memory":
            out["physicalMemory"] = []  # memory modules need root (DMI tables): not listed
            out["memoryAmount"] = meminfo().get("MemTotal", 0)
        elif item == "graphicAdapter":
            out["graphicAdapter"] = []
        elif item == "disk":
            out["disk"] = disks()
            out["storageAmount"] = sum(d["capacity"] for d in out["disk"])
        elif item == "cdrom":
            out["cdrom"] = []
        elif item == "networkAdapter":
            out["networkAdapter"] = network_adapters()
    return out


# health: two readings SAMPLE seconds apart

def _cpu_times() -> dict[str, tuple[int, int]]:
    """cpu line → (busy, total) jiffies."""
    out = {}
    for line in _read("/proc/stat").splitlines():
        if line.startswith("cpu"):
            f = line.split()
            values = [int(x) for x in f[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            total = sum(values[:8])
            out[f[0]] = (total - idle, total)
    return out


def _diskstats() -> dict[str, tuple[int, int, int, int]]:
    """device → (sectors read, sectors written, ms reading, ms writing)."""
    out = {}
    for line in _read("/proc/diskstats").splitlines():
        f = line.split()
        if len(f) >= 11:
            out[f[2]] = (int(f[5]), int(f[9]), int(f[6]), int(f[10]))
    return out


def _netdev() -> dict[str, tuple[int, int]]:
    out = {}
    for line in _read("/proc/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        f = rest.split()
        if len(f) >= 9:
            out[name.strip()] = (int(f[0]), int(f[8]))
    return out


def _temperature() -> dict[str, float] | None:
    zones = sorted(Path("/sys/class/thermal").glob("thermal_zone*"))
    preferred = [z for z in zones if _read(z / "type") in ("x86_pkg_temp", "cpu-thermal", "cpu_thermal")] or zones
    for zone in preferred:
        raw = _read(zone / "temp")
        if raw.lstrip("-").isdigit():
            out = {"current": round(int(raw) / 1000 + 273.15, 1)}
            for trip in zone.glob("trip_point_*_type"):
                if _read(trip) == "critical":
                    crit = _read(str(trip).replace("_type", "_temp"))
                    if crit.lstrip("-").isdigit():
                        out["critical"] = round(int(crit) / 1000 + 273.15, 1)
            return out
    return None


def _pct(part: float, whole: float) -> int:
    return max(0, min(100, round(100 * part / whole))) if whole > 0 else 0


def system_health(items: list[str], data_dir: Path | None = None) -> dict[str, Any]:
    cpu0, disk0, net0, t0 = _cpu_times(), _diskstats(), _netdev(), time.monotonic()
    time.sleep(SAMPLE)
    cpu1, disk1, net1, t1 = _cpu_times(), _diskstats(), _netdev(), time.monotonic()
    dt = max(t1 - t0, 1e-3)
    out: dict[str, Any] = {"lastUpdate": now_iso()}

    def usage(key: str) -> int:
        (b0, a0), (b1, a1) = cpu0.get(key, (0, 0)), cpu1.get(key, (0, 0))
        return _pct(b1 - b0, a1 - a0)

    for item in items:
        if item == "cpu":
            threads = sorted((k for k in cpu1 if k != "cpu"), key=lambda k: int(k[3:]))
            cpu: dict[str, Any] = {"usage": {"threads": [usage(k) for k in threads], "total": usage("cpu")}}
            temp = _temperature()
            if temp:
                cpu["temperatureKelvin"] = temp
            out["cpu"] = [cpu]
        elif item == "memory":
            m = meminfo()
            free = m.get("MemAvailable", m.get("MemFree", 0))
            out["memory"] = {"totalPhysical": m.get("MemTotal", 0), "freePhysical": free,
                             "totalVirtual": m.get("MemTotal", 0) + m.get("SwapTotal", 0),
                             "freeVirtual": free + m.get("SwapFree", 0)}
        elif item == "disk":
            disks_out = []
            for dev, mount, fs in _mounts():
                try:
                    du = shutil.disk_usage(mount)
                except OSError:
                    continue
                key = os.path.basename(os.path.realpath(dev))
                r0, w0, rt0, wt0 = disk0.get(key, (0, 0, 0, 0))
                r1, w1, rt1, wt1 = disk1.get(key, (0, 0, 0, 0))
                read_bps, write_bps = round((r1 - r0) * 512 / dt), round((w1 - w0) * 512 / dt)
                read_pct, write_pct = _pct((rt1 - rt0) / 1000, dt), _pct((wt1 - wt0) / 1000, dt)
                disks_out.append({"name": mount, "totalTimePercent": min(100, read_pct + write_pct),
                                  "readTimePercent": read_pct, "writeTimePercent": write_pct,
                                  "totalBytesPerSec": read_bps + write_bps, "readBytesPerSec": read_bps,
                                  "writeBytesPerSec": write_bps, "fileSystem": fs, "volumeName": dev,
                                  "totalSpace": du.total, "freeSpace": du.free})
            out["disk"] = disks_out
        elif item == "recording":
            out["recording"] = {"current": "", "storage": []}  # platehub records no video
        elif item == "network":
            nets = []
            for name, (rx1, tx1) in sorted(net1.items()):
                if name == "lo":
                    continue
                rx0, tx0 = net0.get(name, (rx1, tx1))
                recv, send = round((rx1 - rx0) / dt), round((tx1 - tx0) / dt)
                speed = _read(f"/sys/class/net/{name}/speed")
                nets.append({"name": name, "totalBytesPerSec": recv + send, "recvBytesPerSec": recv,
                             "sendBytesPerSec": send,
                             "curBandwidth": int(speed) * 1_000_000 if speed.isdigit() else 0})
            out["network"] = nets
    return out


def smart(numbers: list[int] | None) -> list[dict[str, Any]]:
    """`hddsmart`: platehub does not read S.M.A.R.T. (it needs root): each disk says so (code 0)."""
    listed = disks()
    chosen = listed if numbers is None else [listed[n - 1] for n in numbers if 0 < n <= len(listed)]
    return [{"code": 0, "message": "Not supported", "model": d["name"], "name": d["deviceId"], "smart": []}
            for d in chosen]
