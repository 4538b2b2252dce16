"""How a vms world is started, for the tools that start one (tools/world,
tools/bench): the daemons' command lines, their certificates, the user's
environment for the `vms` command, and waiting for what they write when
they are up. The tools differ only in where the processes run (tools/world
in network namespaces, tools/bench on loopback) and what they measure.

The C++ tests start worlds through tests/testing (the same flags, one
process each); ops/quickstart is the shell version a user reads.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time


def logger(tool):
    """A log function that prefixes `tool:` and writes to stderr."""
    def log(*args):
        print(f"{tool}:", *args, file=sys.stderr, flush=True)
    return log


def run(cmd, check=True, quiet=True, timeout=3600, **kw):
    """Runs `cmd` (bounded: an hour unless told); with check, a failure
    raises with its stderr."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None,
                         stderr=subprocess.PIPE if quiet else None, text=True, timeout=timeout,
                         **kw)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({out.returncode}): "
                           f"{(out.stderr or '').strip()}")
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(xs, p):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))]


def is_mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_file(path, what, seconds=60, failed=None):
    """The stripped content of `path` once a daemon has written it (its
    address, its key); `failed()` true (its process exited) ends the wait."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().strip()
            if text:
                return text
        if failed and failed():
            break
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not start (no {path})")


class Pki:
    """A CA (vms-pki) under `root`, made on first use, and certificates
    issued from it on first use."""

    def __init__(self, bin_dir, root):
        self.bin = bin_dir
        self.root = root

    def flags(self, kind, name, ips=()):
        """A daemon's TLS flags; a server's certificate names the addresses
        it serves on."""
        if not os.path.exists(os.path.join(self.root, "ca.crt")):
            run([f"{self.bin}/tools/vms-pki", "init", self.root])
        crt = os.path.join(self.root, f"{kind}-{name}.crt")
        if not os.path.exists(crt):
            extra = [a for ip in ips for a in ("--ip", ip)]
            run([f"{self.bin}/tools/vms-pki", "issue", self.root, kind, name] + extra)
        return ["--tls-ca", os.path.join(self.root, "ca.crt"), "--tls-cert", crt,
                "--tls-key", crt[:-4] + ".key"]

    def user_dir(self, name):
        """A directory the `vms` command reads as VMS_TLS_DIR for user `name`."""
        d = os.path.join(self.root, f"user-{name}")
        if not os.path.exists(os.path.join(d, "cert.key")):
            flags = self.flags("user", name)
            os.makedirs(d, exist_ok=True)
            for src, dst in ((flags[1], "ca.crt"), (flags[3], "cert.crt"), (flags[5], "cert.key")):
                shutil.copy(src, os.path.join(d, dst))
        return d


def master_cmd(bin_dir, data, listen, tls, extra=()):
    """vms-master on `data`, listening on `listen` (it writes data/address)."""
    return [f"{bin_dir}/server/vms-master", "--data", data, "--listen", listen] + list(extra) + tls


def replica_cmd(bin_dir, site, upstreams, data, listen, trust, tls, extra=()):
    """vms-replica of `site` following `upstreams` (a list, first preferred),
    trusting `trust` (master.pub or root.pub); it writes data/address."""
    return [f"{bin_dir}/server/vms-replica", "--site", site, "--upstream", ",".join(upstreams),
            "--data", data, "--listen", listen, "--trust", trust] + list(extra) + tls


def fuse_cmd(bin_dir, mountpoint, cache, trust, tls, source):
    """vms-fuse in the foreground; `source` holds ["--replicas", ADDRS] or
    ["--discover", MASTER] (and any further flags: --takeover)."""
    return [f"{bin_dir}/fusefs/vms-fuse", "-f"] + list(source) + [
        "--cache", cache, "--trust", trust, mountpoint] + tls


def vms_env(home, tls_dir=None):
    """The environment of the `vms` command: plaintext without `tls_dir`."""
    env = dict(os.environ, HOME=home)
    if tls_dir:
        env["VMS_TLS_DIR"] = tls_dir
    else:
        env["VMS_INSECURE"] = "1"
    return env
