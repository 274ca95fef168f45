"""What the process may use (geomdl/machine.py): cores under affinity and cgroup CPU quotas, memory under
cgroup memory limits, read from fake /proc and /sys trees for cgroup v1 and v2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomdl import limits, machine
from geomdl.errors import GeomdlError
from scenes.backends import parallel

V1_MOUNTS = ("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
             "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
             "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
             "36 31 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
V2_MOUNTS = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"


def fake(tmp: Path, mounts: str, cgroup: str, files: dict[str, str]) -> Path:
    """A root with ``proc/self/{mountinfo,cgroup}`` and ``files`` (paths under the root -> contents)."""
    (tmp / "proc/self").mkdir(parents=True)
    (tmp / "proc/self/mountinfo").write_text(mounts)
    (tmp / "proc/self/cgroup").write_text(cgroup)
    for rel, text in files.items():
        path = tmp / rel.lstrip("/")          # never the real /sys
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp


def test_v1_quota_on_an_ancestor_and_memory_limit(tmp_path):
    cg = "/sys/fs/cgroup/cpu,cpuacct"
    root = fake(tmp_path, V1_MOUNTS, "4:memory:/job/step\n1:cpu,cpuacct:/job/step\n0::/\n", {
        f"{cg}/job/step/cpu.cfs_quota_us": "-1\n", f"{cg}/job/step/cpu.cfs_period_us": "100000\n",
        f"{cg}/job/cpu.cfs_quota_us": "150000\n", f"{cg}/job/cpu.cfs_period_us": "100000\n",
        f"{cg}/cpu.cfs_quota_us": "-1\n", f"{cg}/cpu.cfs_period_us": "100000\n",
        "sys/fs/cgroup/memory/job/step/memory.limit_in_bytes": "9223372036854771712\n",
        "sys/fs/cgroup/memory/job/memory.limit_in_bytes": f"{1 << 30}\n",
        "sys/fs/cgroup/memory/job/memory.usage_in_bytes": f"{300 << 20}\n",
        "sys/fs/cgroup/memory/job/memory.stat": f"cache 1\ntotal_inactive_file {100 << 20}\n",
    })
    assert [d for _, d in machine.cgroup_dirs("cpu", root)][:3] == [
        root / cg.lstrip("/") / "job/step", root / cg.lstrip("/") / "job", root / cg.lstrip("/")]
    assert machine.cpu_quota(root) == 1.5
    assert machine.usable_cores(root) == min(2, machine.affinity_cores())
    assert machine.cgroup_memory_headroom(root) == (1 << 30) - (200 << 20)


def test_v2_container_namespace_and_max(tmp_path):
    # inside a container's cgroup namespace the process's cgroup is "/": the mount itself holds its limits
    root = fake(tmp_path, V2_MOUNTS, "0::/\n", {
        "sys/fs/cgroup/cpu.max": "100000 100000\n", "sys/fs/cgroup/memory.max": f"{512 << 20}\n",
        "sys/fs/cgroup/memory.current": f"{12 << 20}\n", "sys/fs/cgroup/memory.stat": "anon 1\ninactive_file 0\n",
    })
    assert machine.cpu_quota(root) == 1.0
    assert machine.usable_cores(root) == 1
    assert machine.cgroup_memory_headroom(root) == 500 << 20
    got, source = machine.available_memory(root)
    assert got == 500 << 20 and "cgroup" in source


def test_v2_nested_path_and_no_limits(tmp_path):
    root = fake(tmp_path, V2_MOUNTS, "0::/user.slice/session-1.scope\n", {
        "sys/fs/cgroup/user.slice/session-1.scope/cpu.max": "max 100000\n",
        "sys/fs/cgroup/user.slice/session-1.scope/memory.max": "max\n",
        "sys/fs/cgroup/user.slice/cpu.max": "250000 100000\n",
    })
    assert machine.cpu_quota(root) == 2.5
    assert machine.usable_cores(root) == min(3, machine.affinity_cores())
    assert machine.cgroup_memory_headroom(root) is None
    assert machine.available_memory(root) == (machine.machine_memory(), "memory available on this machine")


@pytest.mark.parametrize("files", [{}, {"proc/self/mountinfo": "garbage\n", "proc/self/cgroup": "1:cpu\n"},
                                   {"proc/self/mountinfo": V2_MOUNTS, "proc/self/cgroup": "0::/\n",
                                    "sys/fs/cgroup/cpu.max": "lots 0\n", "sys/fs/cgroup/memory.max": "\xff\n"}])
def test_unreadable_or_odd_files_are_no_limit(tmp_path, files):
    fake(tmp_path, files.pop("proc/self/mountinfo", ""), files.pop("proc/self/cgroup", ""), files)
    assert machine.cpu_quota(tmp_path) is None
    assert machine.usable_cores(tmp_path) == machine.affinity_cores()
    assert machine.cgroup_memory_headroom(tmp_path) is None


@given(st.lists(st.one_of(st.none(), st.tuples(st.integers(1000, 10 ** 7), st.integers(1000, 10 ** 6))),
                min_size=1, max_size=4))
def test_usable_cores_is_the_tightest_quota_rounded_up(levels):
    import tempfile  # noqa: PLC0415 (hypothesis runs the body many times: a folder of its own each)

    with tempfile.TemporaryDirectory() as tmp:
        names = [f"l{i}" for i in range(len(levels) - 1)]
        files = {}
        for depth, lim in enumerate(levels):       # levels[0]: the mount's own cgroup, then ever deeper
            d = "/".join(["sys/fs/cgroup", *names[:depth]])
            files[f"{d}/cpu.max"] = "max 100000\n" if lim is None else f"{lim[0]} {lim[1]}\n"
        root = fake(Path(tmp), V2_MOUNTS, "0::/" + "/".join(names) + "\n", files)
        quotas = [q / p for q, p in (lim for lim in levels if lim is not None)]
        assert machine.cpu_quota(root) == (min(quotas) if quotas else None)
        want = machine.affinity_cores() if not quotas else min(machine.affinity_cores(), max(1, math.ceil(
            min(quotas) - 1e-9)))
        assert machine.usable_cores(root) == want


def test_defaults_follow_the_quota(monkeypatch):
    # every default that counts cores: --jobs, --scheduler local, and the test runner's -n auto
    from geomdl.experiments.parallel import check_scheduler  # noqa: PLC0415
    from tests.conftest import pytest_xdist_auto_num_workers  # noqa: PLC0415

    monkeypatch.setattr(machine, "affinity_cores", lambda: 64)
    monkeypatch.setattr(machine, "cpu_quota", lambda root=None: 2.0)
    assert machine.usable_cores() == 2
    assert parallel.check_jobs(None) == 2
    assert check_scheduler("local") == 2
    assert pytest_xdist_auto_num_workers(None) == 2
    assert check_scheduler("local:5") == 5 and parallel.check_jobs(5) == 5
    monkeypatch.setattr(machine, "cpu_quota", lambda root=None: None)
    monkeypatch.setattr(machine, "affinity_cores", lambda: 1024)       # a big machine: bare "local" is capped
    from geomdl.experiments.parallel import MAX_LOCAL_WORKERS  # noqa: PLC0415

    assert check_scheduler("local") == MAX_LOCAL_WORKERS


def test_memory_check_counts_the_cgroup_limit(monkeypatch):
    monkeypatch.delenv("GEOMDL_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(machine, "cgroup_memory_headroom", lambda root=None: 256 << 20)
    with pytest.raises(GeomdlError, match=r"more than the 256 MiB memory left under this process's cgroup"):
        limits.check_memory(1 << 30, "this run", "lower --n-per-class")
    limits.check_memory(100 << 20, "this run", "lower --n-per-class")
