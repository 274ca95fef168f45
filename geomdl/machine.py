"""What this process may use of the machine: its cores and its memory.

A process can be held to less than the machine has: a CPU affinity (``taskset``, a cpuset), a cgroup CPU quota
(``docker --cpus``, a Kubernetes CPU limit, systemd's ``CPUQuota=``) and a cgroup memory limit (``docker
--memory``). ``os.cpu_count()`` and ``MemAvailable`` see none of the quotas: in a container given 2 CPUs and 8 GiB
of a 64-core, 512 GiB host they say 64 and ~500 GiB. The default worker counts (``--jobs``, ``--scheduler
local``, the test runner's ``-n auto``) come from :func:`usable_cores` and the memory check before a large
allocation from :func:`available_memory`, so that container starts 2 workers, and a run too large for its 8 GiB
is refused with one line instead of being killed by the kernel half way.

cgroup v1 and v2 are read from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``; a limit may be set on the
process's own cgroup or on any cgroup above it (the tightest counts). ``root`` re-roots every path read (tests
build fake ``/proc`` and ``/sys`` trees); anything unreadable counts as no limit.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

NO_LIMIT = 1 << 62      # cgroup v1 writes "no memory limit" as a page-rounded 2**63 - 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _mounts(root: Path) -> list[tuple[str, set[str], str, str]]:
    """The cgroup mounts ``(kind, controllers, mount root, mount point)``: kind ``"cgroup2"`` or ``"cgroup"``
    (v1: its controllers from the super options, e.g. ``{"cpu", "cpuacct"}``)."""
    got = []
    for line in (_read(root / "proc/self/mountinfo") or "").splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        controllers = set(tail[2].split(",")) if tail[0] == "cgroup" else set()
        got.append((tail[0], controllers, fields[3], fields[4]))
    return got


def _memberships(root: Path) -> dict[str, str]:
    """``controller -> cgroup path`` of this process (``""``: its cgroup v2 path)."""
    got = {}
    for line in (_read(root / "proc/self/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for c in parts[1].split(",") if parts[1] else [""]:
                got[c] = parts[2]
    return got


def cgroup_dirs(controller: str, root: Path = Path("/")) -> list[tuple[str, Path]]:
    """``(kind, directory)`` of this process's cgroup and of each cgroup above it up to the mount, innermost
    first, for a v1 ``controller`` (``cpu``, ``memory``) and for cgroup v2, where the process has them."""
    member = _memberships(root)
    dirs = []
    for kind, controllers, mroot, mpoint in _mounts(root):
        if kind == "cgroup" and controller not in controllers:
            continue
        path = member.get("" if kind == "cgroup2" else controller)
        if path is None:
            continue
        top = root / mpoint.lstrip("/")
        rel = os.path.relpath(path, mroot)
        if rel == "." or rel.startswith(".."):
            # the mount's own cgroup (a container's cgroup namespace shows its path as "/" or outside the mount)
            dirs.append((kind, top))
            continue
        parts = Path(rel).parts
        dirs += [(kind, top.joinpath(*parts[:i])) for i in range(len(parts), -1, -1)]
    return dirs


def _number(text: str | None) -> int | None:
    try:
        return int(text.split()[0]) if text else None
    except ValueError:
        return None


def cpu_quota(root: Path = Path("/")) -> float | None:
    """The tightest cgroup CPU quota on this process, in CPUs (``1.5``: one and a half cores' time per period);
    ``None``: no quota."""
    quotas = []
    for kind, d in cgroup_dirs("cpu", root):
        if kind == "cgroup2":
            parts = (_read(d / "cpu.max") or "").split()
            quota = _number(parts[0]) if parts and parts[0] != "max" else None
            period = _number(parts[1]) if len(parts) > 1 else None
        else:
            quota, period = _number(_read(d / "cpu.cfs_quota_us")), _number(_read(d / "cpu.cfs_period_us"))
        if quota is not None and quota > 0 and period:
            quotas.append(quota / period)
    return min(quotas) if quotas else None


def affinity_cores() -> int:
    """The cores this process may be scheduled on (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


def usable_cores(root: Path = Path("/")) -> int:
    """How many cores' work this process can get: its affinity, and no more than its cgroup CPU quota rounded
    up (a quota of 1.5 CPUs keeps two workers busy three quarters of the time); at least 1."""
    n = affinity_cores()
    quota = cpu_quota(root)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota - 1e-9)))
    return max(1, n)


def cgroup_memory_headroom(root: Path = Path("/")) -> int | None:
    """Bytes this process's cgroups still allow: the least, over its cgroup and those above it that set a memory
    limit, of the limit less what is charged to it now (less inactive file cache, which the kernel reclaims
    before it kills: what ``docker stats`` counts as used); ``None``: no limit."""
    room = []
    for kind, d in cgroup_dirs("memory", root):
        if kind == "cgroup2":
            text = (_read(d / "memory.max") or "").strip()
            limit = None if text in ("", "max") else _number(text)
            usage = _number(_read(d / "memory.current"))
            cache_key = "inactive_file"
        else:
            limit = _number(_read(d / "memory.limit_in_bytes"))
            usage = _number(_read(d / "memory.usage_in_bytes"))
            cache_key = "total_inactive_file"
        if limit is None or limit >= NO_LIMIT:
            continue
        cache = 0
        for line in (_read(d / "memory.stat") or "").splitlines():
            key, _, value = line.partition(" ")
            if key == cache_key:
                cache = _number(value) or 0
        room.append(max(0, limit - max(0, (usage or 0) - cache)))
    return min(room) if room else None


def machine_memory() -> int | None:
    """Memory available now on the machine (``MemAvailable`` on Linux, else the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory(root: Path = Path("/")) -> tuple[int | None, str]:
    """``(bytes, where the figure comes from)``: the machine's available memory, or the room left under this
    process's cgroup memory limit where that is less; ``None``: unknown."""
    machine, cgroup = machine_memory(), cgroup_memory_headroom(root)
    if cgroup is not None and (machine is None or cgroup < machine):
        return cgroup, "memory left under this process's cgroup memory limit"
    return machine, "memory available on this machine"
