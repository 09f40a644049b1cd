"""A real network for the network probe: namespaces, veth pairs, nftables, userspace peers.

Topology (names carry this process's pid, so parallel runs on one machine never collide)::

    agent ns                    gateway ns                       mcu ns  (icmp_echo_ignore_all=1)
    ha<pid> 10.99.1.1/24 ── hg<pid> 10.99.1.254/24               hm<pid> 10.99.2.2  mcu: fast ICMP, TCP 1720 open,
    default via 10.99.1.254     hgm<pid> 10.99.2.254/24 ──────          5060 refused, 5061 black-holed
                                ip_forward=1                             10.99.2.3  slow: 40 +/- 15 ms ICMP
                                                                         10.99.2.4  dead: every packet dropped
                                                                         10.99.2.5  lossy: 25 % of echo requests dropped
                                                                         default via 10.99.2.254

The MCU namespace answers ping only through ``tests/peers/icmp_responder.py`` (the kernel's
echo replies are off there): delay and jitter cannot come from ``tc netem`` on these kernels.
Loss and black holes are nftables rules inside the MCU namespace, never on the host.  Every
packet of these tests stays inside the namespaces.

Tests that change an agent's link, address, route or ICMP sysctl get a scratch agent
namespace of their own (:meth:`Lab.scratch_agent`), wired to the same gateway, so they never
disturb the shared one.

Not root: every test here skips with the reason.  Root but a namespace or peer cannot start:
the fixture FAILS, because then the probe would go untested on a machine that should test it.
"""

from __future__ import annotations

import datetime
import json
import os
import selectors
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.demo.tomlw import dumps
from tests.helpers import REPO, is_root

PEERS = REPO / "tests" / "peers"

AGENT_IP, GW_AGENT_SIDE, GW_MCU_SIDE = "10.99.1.1", "10.99.1.254", "10.99.2.254"
MCU_IP, SLOW_IP, DEAD_IP, LOSSY_IP = "10.99.2.2", "10.99.2.3", "10.99.2.4", "10.99.2.5"
TCP_OPEN, TCP_REFUSED, TCP_BLACKHOLE = 1720, 5060, 5061
SLOW_DELAY_MS, SLOW_JITTER_MS = 40.0, 15.0
LOSSY_MOD = 4  # nft "numgen random mod 4 0": each echo request dropped with p = 1/4

NFT_MCU = f"""
table inet hntht_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    ip daddr {DEAD_IP} counter drop
    ip daddr {LOSSY_IP} icmp type echo-request numgen random mod {LOSSY_MOD} 0 counter drop
    ip daddr {MCU_IP} tcp dport {TCP_BLACKHOLE} counter drop
  }}
}}
"""


class LabError(RuntimeError):
    pass


def sh(*argv: str, check: bool = True, timeout: float = 15, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


@dataclass
class CheckRun:
    """One `hntht-agent check --json` run inside a namespace."""

    report: dict[str, Any]
    rc: int
    wall_s: float
    stderr: str
    exited_at: float = 0.0  # time.time() when the command had exited

    @property
    def checklist_to_exit_s(self) -> float:
        """From the checklist's start (report.generated_at - duration_ms) to the process's exit.

        What the agent controls, without the interpreter's start-up and imports, which on a
        loaded shared machine vary by seconds from one run to the next.
        """
        end = datetime.datetime.fromisoformat(self.report["generated_at"].replace("Z", "+00:00")).timestamp()
        return self.exited_at - (end - self.report["duration_ms"] / 1000)

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report["checks"]}

    def target(self, name: str) -> dict[str, Any]:
        for target in self.report["statuses"]["network"]["targets"]:
            if target["name"] == name:
                return target
        raise KeyError(name)


@dataclass
class Lab:
    suffix: str
    dir: Path
    namespaces: list[str] = field(default_factory=list)
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    scratch_count: int = 0
    extra_count: int = 0
    etc_dirs: list[Path] = field(default_factory=list)

    # -- names ---------------------------------------------------------------------------
    @property
    def agent_ns(self) -> str:
        return f"hnt-agent-{self.suffix}"

    @property
    def gw_ns(self) -> str:
        return f"hnt-gw-{self.suffix}"

    @property
    def mcu_ns(self) -> str:
        return f"hnt-mcu-{self.suffix}"

    @property
    def agent_if(self) -> str:
        return f"ha{self.suffix}"

    # -- building ------------------------------------------------------------------------
    def add_ns(self, name: str) -> str:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
        # Created straight inside the namespaces: the names never exist in the host namespace.
        sh("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)

    def addr(self, ns: str, iface: str, *cidrs: str) -> None:
        for cidr in cidrs:
            sh("ip", "-n", ns, "addr", "add", cidr, "dev", iface)
        sh("ip", "-n", ns, "link", "set", iface, "up")

    def sysctl(self, ns: str, key: str, value: str) -> None:
        # /proc/sys/net is per network namespace; written directly, so procps is not needed.
        path = "/proc/sys/" + key.replace(".", "/")
        sh("ip", "netns", "exec", ns, "sh", "-c", 'printf "%s\n" "$1" > "$2"', "sh", value, path)

    def nft(self, ns: str, script: str) -> None:
        sh("ip", "netns", "exec", ns, "nft", "-f", "-", input=script)

    def nft_counter(self, ns: str, match: str) -> int:
        """Packets counted by the rule whose text contains ``match``."""
        listing = sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "hntht_lab").stdout
        for line in listing.splitlines():
            if match in line and "counter packets" in line:
                return int(line.split("counter packets", 1)[1].split()[0])
        raise LabError(f"no counter rule matching {match!r} in\n{listing}")

    def spawn(self, ns: str, name: str, argv: list[str], ready: str = "ready", timeout: float = 10.0) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE, stderr=log, text=True)
        self.procs.append((name, proc))
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(max(0.0, deadline - time.monotonic())):
                line = proc.stdout.readline()
                if line.strip() == ready:
                    return proc
                if not line:
                    break
        raise LabError(f"peer {name} did not start (rc={proc.poll()}): {(self.dir / f'{name}.log').read_text()}")

    def build(self) -> None:
        agent, gw, mcu = self.add_ns(self.agent_ns), self.add_ns(self.gw_ns), self.add_ns(self.mcu_ns)
        s = self.suffix
        self.veth(agent, f"ha{s}", gw, f"hg{s}")
        self.veth(gw, f"hgm{s}", mcu, f"hm{s}")
        self.addr(agent, f"ha{s}", f"{AGENT_IP}/24")
        self.addr(gw, f"hg{s}", f"{GW_AGENT_SIDE}/24")
        self.addr(gw, f"hgm{s}", f"{GW_MCU_SIDE}/24")
        self.addr(mcu, f"hm{s}", *(f"{ip}/24" for ip in (MCU_IP, SLOW_IP, DEAD_IP, LOSSY_IP)))
        sh("ip", "-n", agent, "route", "add", "default", "via", GW_AGENT_SIDE)
        sh("ip", "-n", mcu, "route", "add", "default", "via", GW_MCU_SIDE)
        self.sysctl(gw, "net.ipv4.ip_forward", "1")
        self.sysctl(mcu, "net.ipv4.icmp_echo_ignore_all", "1")
        self.nft(mcu, NFT_MCU)
        self.spawn(mcu, "icmp-responder", [
            sys.executable, str(PEERS / "icmp_responder.py"),
            "--serve", MCU_IP,
            "--serve", f"{SLOW_IP},delay={SLOW_DELAY_MS:g},jitter={SLOW_JITTER_MS:g}",
            "--serve", LOSSY_IP,
        ])
        self.spawn(mcu, "tcp-listener", [sys.executable, str(PEERS / "tcp_listener.py"), f"{MCU_IP}:{TCP_OPEN}"])
        self.etc_netns(agent)
        # The routed path works end to end before any test relies on it.
        sh("ip", "netns", "exec", agent, sys.executable, "-c",
           f"import socket; socket.create_connection(({MCU_IP!r}, {TCP_OPEN}), 3).close()")

    def etc_netns(self, ns: str) -> None:
        """Name service of the agent namespace: `ip netns exec` mounts /etc/netns/<ns>/* over /etc.

        mcu.hnt.test resolves from hosts; any other name goes to a resolver on the namespace's
        own loopback, where nothing listens, so no DNS query ever leaves the namespace.
        """
        etc = Path("/etc/netns") / ns
        etc.mkdir(parents=True, exist_ok=False)
        self.etc_dirs.append(etc)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{MCU_IP} mcu.hnt.test\n")
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        for path in (etc, etc / "hosts", etc / "resolv.conf"):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def extra_mcu_address(self) -> str:
        """One more address in the MCU namespace, for a test's own responder."""
        self.extra_count += 1
        ip = f"10.99.2.{20 + self.extra_count}"
        sh("ip", "-n", self.mcu_ns, "addr", "add", f"{ip}/24", "dev", f"hm{self.suffix}")
        return ip

    def scratch_agent(self) -> tuple[str, str, str]:
        """A fresh agent namespace on its own /24 to the shared gateway: (ns, interface, gateway ip)."""
        self.scratch_count += 1
        n, s = self.scratch_count, self.suffix
        net = f"10.99.{10 + n}"
        ns = self.add_ns(f"hnt-x{n}-{s}")
        iface, gw_iface = f"hx{n}a{s}", f"hx{n}g{s}"
        self.veth(ns, iface, self.gw_ns, gw_iface)
        self.addr(ns, iface, f"{net}.1/24")
        self.addr(self.gw_ns, gw_iface, f"{net}.254/24")
        sh("ip", "-n", ns, "route", "add", "default", "via", f"{net}.254")
        return ns, iface, f"{net}.254"

    # -- running the agent ---------------------------------------------------------------
    def config(self, targets: list[dict[str, Any]], *, interface: str | None = None, budget: str = "15s",
               ping_count: int = 5, ping_interval: str = "50ms", ping_timeout: str = "1s") -> dict[str, Any]:
        return {
            "agent": {"room_id": "test-netns", "level": "commune", "language": "en",
                      "state_dir": str(self.dir / "state")},
            "check": {"budget": budget},
            # A socket no service listens on: `check` must run here, not ask a service of the machine.
            "daemon": {"control_socket": str(self.dir / "no-service.sock")},
            "network": {
                "interface": interface or self.agent_if,
                "ping_count": ping_count,
                "ping_interval": ping_interval,
                "ping_timeout": ping_timeout,
                "target": targets,
            },
        }

    def run_check(self, config: dict[str, Any], *, ns: str | None = None, only: str | None = "network",
                  unprivileged: bool = False, timeout: float = 30.0) -> CheckRun:
        path = Path(tempfile.mkstemp(dir=self.dir, suffix=".toml")[1])
        path.write_text(dumps(config), encoding="utf-8")
        path.chmod(0o644)  # readable by the unprivileged user too
        args = ["check", "--json", "--lang", "en", "--config", str(path)]
        if only:
            args += ["--only", only]
        if unprivileged:
            # setpriv as nobody with no-new-privs, then an intermediate shell: setpriv keeps root's
            # permitted capabilities until its exec, so running Python straight from it could
            # report a raw socket that the real service would never get (agent-practice.md §8).
            argv = [*AS_NOBODY, *nobody_python("import runpy; runpy.run_module('agent', run_name='__main__', "
                                                "alter_sys=True)"), *args]
        else:
            argv = [sys.executable, "-m", "agent", *args]
        started = time.monotonic()
        proc = subprocess.run(["ip", "netns", "exec", ns or self.agent_ns, *argv], capture_output=True, text=True,
                              timeout=timeout, cwd=self.dir)
        wall = time.monotonic() - started
        exited_at = time.time()
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"check printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from None
        assert report.get("mode") == "standalone", "check asked a running service instead of probing here"
        return CheckRun(report, proc.returncode, wall, proc.stderr, exited_at)

    # -- teardown ------------------------------------------------------------------------
    def close(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(3)
            if proc.stdout:
                proc.stdout.close()
        for ns in reversed(self.namespaces):
            # Anything still inside one of *our* namespaces is ours: stop it by pid before the
            # name goes, or it would keep running in an anonymous namespace.
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        for etc in self.etc_dirs:
            shutil.rmtree(etc, ignore_errors=True)
        try:
            Path("/etc/netns").rmdir()  # only when empty: other runs may have theirs there
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


_NOBODY_PYTHON: tuple[str, str] | None = None  # (interpreter, code run before the caller's)
NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
             "sh", "-c", '"$@"', "sh"]


def _runs_as_nobody(argv: list[str]) -> subprocess.CompletedProcess:
    return sh(*AS_NOBODY, *argv, check=False)


def nobody_python(code: str) -> list[str]:
    """argv that runs ``code`` as the unprivileged user with the agent and its dependencies importable.

    The venv's interpreter when nobody may run it (CI builds the venv from /usr/bin/python3).
    When its base interpreter lives where nobody may enter (a pyenv build under a 0700 /root,
    as on the development machines), we do NOT loosen permissions on a shared machine: we run
    Debian's interpreter of the same X.Y version (same ABI, so psutil's extension loads) with
    the venv's site-packages added as a site dir (which also processes the editable install's
    .pth) and the repository on sys.path.
    """
    global _NOBODY_PYTHON
    if _NOBODY_PYTHON is None:
        probe = "import agent.probes.network, icmplib, psutil"
        first = _runs_as_nobody([sys.executable, "-c", probe])
        tried = [f"{sys.executable}: {first.stderr.strip()}"]
        if first.returncode == 0:
            _NOBODY_PYTHON = (sys.executable, "")
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site_packages = sysconfig.get_paths()["purelib"]
        prefix = f"import site, sys; site.addsitedir({site_packages!r}); sys.path.insert(0, {str(REPO)!r}); "
        for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
            if _NOBODY_PYTHON is not None or not os.access(candidate, os.X_OK):
                continue
            check = _runs_as_nobody([candidate, "-c", prefix + probe])
            if check.returncode == 0:
                _NOBODY_PYTHON = (candidate, prefix)
            else:
                tried.append(f"{candidate}: {check.stderr.strip()}")
        if _NOBODY_PYTHON is None:
            raise LabError(
                f"uid {NOBODY} cannot run the agent: the venv interpreter is not executable for it and no "
                f"{version} outside it works either ({'; '.join(tried)}). Make the interpreter's directories "
                "world-executable (e.g. build the venv from /usr/bin/python3)."
            )
    interpreter, prefix = _NOBODY_PYTHON
    return [interpreter, "-c", prefix + code]


@pytest.fixture(scope="session")
def lab():
    if not is_root():
        pytest.skip("needs root: network namespaces, veth pairs and nftables (CI runs the suite as root)")
    for tool, package in (("ip", "iproute2"), ("nft", "nftables"), ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            pytest.fail(f"root but `{tool}` is missing: install {package} (scripts/install-test-deps.sh)")
    work = Path(tempfile.mkdtemp(prefix="hntht-netlab-"))
    work.chmod(0o755)  # the unprivileged agent reads its config here
    (work / "state").mkdir()
    lab = Lab(suffix=str(os.getpid()), dir=work)
    try:
        lab.build()
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        lab.close()
        pytest.fail(f"could not build the test network: {exc}")
    try:
        yield lab
    finally:
        lab.close()
