"""Backlog API benchmark: requests per second of the ranked backlog against a trivial endpoint.

    DATABASE_URL=postgres://… SECRET_KEY=… python bench/backlog.py --workspace big

Serves the app with gunicorn on a free loopback port (the app and worker class of bin/web, DEBUG off)
and drives it with wrk, with the same token, duration and connections for each of:
- trivial: GET /api/v1/workspaces/<slug>/ — token auth and a tiny JSON answer, the floor of any API call;
- first: the backlog's first page — 50 rows ordered by priority, one filter (`--filter`, status=new);
- deep: the same filter `--deep` rows down (default 2,000), reached by following `next` links.
The three alternate: `--rounds` rounds (default 3) of `--duration` seconds each, the order rotating
every round, so that a machine busy with something else for a while slows all three alike.
Prints, for each, requests/s (all requests over all rounds' time) with p50/p95 latencies (the median of
the rounds'), the deep/first ratio, and as its last line
`backlog_vs_trivial_ratio=<first page requests/s / trivial requests/s>`.

The token is created for the workspace's owner and revoked at the end; gunicorn is stopped in every
case. Needs wrk (Debian/Ubuntu: `apt-get install -y wrk`)."""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from _django import ROOT, setup

setup()

from atlas.models import Membership, Role, Workspace  # noqa: E402
from atlas.services import api_token_create  # noqa: E402

# wrk's own summary has no 95th percentile: a `done` hook prints the figures as one JSON line.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p95_us\\": %d, " ..
    "\\"p99_us\\": %d, \\"non_2xx\\": %d, \\"socket_errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for(url: str, seconds: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def start_gunicorn(port: int, workers: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "atlas.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--no-control-socket",
    ]
    # No access log (bin/web writes one): it would cost every endpoint the same and measure the terminal.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def run_wrk(url: str, token: str, args, script: Path) -> dict:
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={args.duration}s",
        "--timeout=10s",
        f"--script={script}",
        "--header",
        f"Authorization: Bearer {token}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60, check=True)
    line = next((line for line in output.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no report:\n{output.stdout}\n{output.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def deep_cursor_url(first_url: str, token: str, rows_deep: int) -> tuple[str, int]:
    """Follow `next` links until `rows_deep` rows have been passed; the page reached and its depth."""
    url, passed = first_url, 0
    while passed < rows_deep:
        page = get_json(url, token)
        if not page["next"]:
            raise SystemExit(f"the filtered backlog has fewer than {rows_deep} rows: lower --deep")
        passed += len(page["results"])
        url = page["next"]
    return url, passed


def measure(
    args, raw_token: str, base: str, api: str, first_url: str, workspace, owner, script: Path
) -> dict:
    first = get_json(first_url, raw_token)
    if len(first["results"]) != 50:
        raise SystemExit(f"the first page has {len(first['results'])} rows, not 50: pick another --filter")
    deep_url, depth = deep_cursor_url(first_url, raw_token, args.deep)
    deep = get_json(deep_url, raw_token)
    print(
        f"workspace {workspace.slug}: token of {owner.user.email}; gunicorn {args.workers} workers "
        f"on {base}; wrk {args.threads} threads, {args.connections} connections; "
        f"{args.rounds} rounds of {args.duration} s per endpoint"
    )
    print(f"first page: {first_url.removeprefix(base)}")
    cursor = parse_qs(urlparse(deep_url).query)["cursor"][0]
    print(f"deep page: {depth} rows down (rank {deep['results'][0]['rank']} first), cursor={cursor[:40]}…")
    targets = {"trivial": api, "first": first_url, "deep": deep_url}
    for url in targets.values():  # warm every worker's caches and database connection
        for _ in range(4 * args.workers):
            get_json(url, raw_token)
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    names = list(targets)
    for round_number in range(args.rounds):
        order = names[round_number % 3 :] + names[: round_number % 3]
        for name in order:
            runs[name].append(run_wrk(targets[name], raw_token, args, script))
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{name} {runs[name][-1]['rps']:.1f}/s" for name in names)
        )
    return {name: combine(figures) for name, figures in runs.items()}


def combine(runs: list[dict]) -> dict:
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["duration_us"] for run in runs) / 1e6
    return {
        "requests": requests,
        "rps": requests / seconds,
        **{key: statistics.median(run[key] for run in runs) for key in ("p50_us", "p95_us", "p99_us")},
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="slug of the workspace (e.g. built by seed_demo)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three endpoints, alternating")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--filter", default="status=new", help="the one filter of the backlog pages")
    parser.add_argument("--deep", type=int, default=2000, help="rows above the deep page")
    args = parser.parse_args()
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be between 1 and 120 seconds")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed. Debian/Ubuntu: apt-get install -y wrk")

    workspace = Workspace.objects.get(slug=args.workspace)
    owner = (
        Membership.objects.select_related("user")
        .filter(workspace=workspace, role=Role.OWNER)
        .order_by("pk")
        .first()
    )
    if owner is None:
        raise SystemExit(f"workspace {workspace.slug!r} has no owner to create a token for")
    token, raw_token = api_token_create(membership=owner, name="bench/backlog.py")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api/v1/workspaces/{workspace.slug}/"
    filter_name, _, filter_value = args.filter.partition("=")
    first_url = f"{api}backlog/?{urlencode({filter_name: filter_value, 'ordering': '-priority'})}"
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backlog-") as tmp:
            script = Path(tmp, "report.lua")
            script.write_text(WRK_REPORT)
            log_path = Path(tmp, "gunicorn.log")
            with open(log_path, "w") as log:
                server = start_gunicorn(port, args.workers, log)
                wait_for(f"{base}/healthz", 30, server)
                results = measure(args, raw_token, base, api, first_url, workspace, owner, script)
                stop(server)
            for name, figures in results.items():
                if figures["non_2xx"] or figures["socket_errors"]:
                    raise SystemExit(
                        f"{name}: {figures['non_2xx']} non-2xx answers, {figures['socket_errors']} socket "
                        f"errors; gunicorn log:\n{log_path.read_text()[-3000:]}"
                    )
    finally:
        if server is not None:
            stop(server)
        token.revoke()
    for name, figures in results.items():
        print(
            f"{name:8} {figures['rps']:8.1f} requests/s   p50 {figures['p50_us'] / 1000:6.2f} ms   "
            f"p95 {figures['p95_us'] / 1000:6.2f} ms   p99 {figures['p99_us'] / 1000:6.2f} ms   "
            f"({figures['requests']} requests)"
        )
    print(f"deep_vs_first_ratio={results['deep']['rps'] / results['first']['rps']:.2f}")
    print(f"backlog_vs_trivial_ratio={results['first']['rps'] / results['trivial']['rps']:.2f}")


if __name__ == "__main__":
    main()
