"""Runs a Python script as N local processes that form one ember.core.distributed group.

    python -m ember.launch -n 4 train.py --lr 0.1

Each process gets MLX_RANK (its rank) and MLX_HOSTFILE (a JSON list of one ["127.0.0.1:port"]
per rank, on free ports), the variables mlx.core.distributed's ring backend reads, so
``mx.distributed.init()`` forms the group. Every output line is prefixed with its rank
(``[1] ...``) unless --no-prefix. When a process fails, the others are stopped, and the
launcher exits with the failed process's code (1 for a signal); it exits 0 when all succeed.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Optional, Sequence


def free_ports(n: int, host: str = "127.0.0.1") -> List[int]:
    """n distinct ports that are free now on host (the OS picks them)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def write_hostfile(path: str, n: int, host: str = "127.0.0.1") -> List[str]:
    """Writes a hostfile of n local ranks to path and returns their addresses."""
    addrs = [f"{host}:{p}" for p in free_ports(n, host)]
    with open(path, "w") as f:
        json.dump([[a] for a in addrs], f)
    return addrs


def _pump(stream, out, prefix: str, lock: threading.Lock) -> None:
    for line in iter(stream.readline, b""):
        with lock:
            out.write(prefix + line.decode(errors="replace"))
            out.flush()
    stream.close()


def _stop(procs: Sequence[subprocess.Popen], grace: float = 3.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    end = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(n: int, command: Sequence[str], prefix: bool = True, env: Optional[dict] = None,
           executable: Optional[str] = None) -> int:
    """Starts `command` (a script and its arguments, run with `executable`, this Python by
    default) n times as ranks 0..n-1 and waits; returns the exit code (see the module
    docstring)."""
    if n < 1:
        raise ValueError(f"[launch] The number of processes must be at least 1, got {n}.")
    if not command:
        raise ValueError("[launch] No script given.")
    with tempfile.TemporaryDirectory(prefix="ember-launch-") as tmp:
        hostfile = os.path.join(tmp, "hostfile.json")
        write_hostfile(hostfile, n)
        base = dict(os.environ if env is None else env)
        base["MLX_HOSTFILE"] = hostfile
        base.setdefault("PYTHONUNBUFFERED", "1")
        argv = [executable or sys.executable] + list(command)
        procs, pumps = [], []
        lock = threading.Lock()
        try:
            for rank in range(n):
                child_env = dict(base, MLX_RANK=str(rank))
                p = subprocess.Popen(argv, env=child_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
                procs.append(p)
                tag = f"[{rank}] " if prefix else ""
                for stream, out in ((p.stdout, sys.stdout), (p.stderr, sys.stderr)):
                    t = threading.Thread(target=_pump, args=(stream, out, tag, lock), daemon=True)
                    t.start()
                    pumps.append(t)
            code = 0
            while True:
                codes = [p.poll() for p in procs]
                failed = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
                if failed:
                    rank, c = failed[0]
                    with lock:
                        sys.stderr.write(f"ember.launch: rank {rank} exited with code {c}; "
                                         f"stopping the other ranks.\n")
                    _stop(procs)
                    code = c if c > 0 else 1
                    break
                if all(c == 0 for c in codes):
                    break
                time.sleep(0.05)
        except BaseException:
            _stop(procs)
            raise
        for t in pumps:
            t.join(timeout=5)
        return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ember.launch",
        description="Run a script as N local processes of one ember.core.distributed group "
                    "(the ring backend over 127.0.0.1).")
    parser.add_argument("-n", "--nproc", type=int, required=True,
                        help="number of processes (ranks)")
    parser.add_argument("--no-prefix", action="store_true",
                        help="do not prefix each output line with [rank]")
    parser.add_argument("script", help="the Python script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    a = parser.parse_args(argv)
    if a.nproc < 1:
        parser.error(f"-n must be at least 1, got {a.nproc}")
    # A Ctrl-C reaches the children too (same process group); stop them if they linger.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return launch(a.nproc, [a.script] + list(a.args), prefix=not a.no_prefix)


if __name__ == "__main__":
    sys.exit(main())
