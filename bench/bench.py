#!/usr/bin/env python3
"""The load benchmark behind bench/run: seeds, serves, measures, writes RESULTS.md.

Every figure is measured on the machine the script runs on, with the load
generator on the same machine (loopback only), and is recorded next to that
machine's core count. Budgets fail the benchmark run, never the test suite.
"""

import gzip
import http.client
import json
import urllib.parse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import exports

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ["REGEN_BIN"]
WORK = ROOT / "bench" / "work"
CORES = os.cpu_count()
PASSWORD = "bench-admin-password"
PG_ADMIN = os.environ.get("REGEN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_URL = PG_ADMIN.rsplit("/", 1)[0] + "/regen_bench"
CONNECTIONS = 32
DURATION = os.environ.get("BENCH_DURATION", "10s")

BUDGETS = {
    "list_rps": 5000,
    "list_p99_ms": 20,
    "ssr_list_rps": 2000,
    "deep_ratio": 1.2,
    "detail_wasm_gzip_kb": 80,
    "big_interactive_ms": 1000,
    "idle_rss_mb": 50,
    "stats_p50_one_connection_ms": 2,
}

rows = []  # (scenario, backend, rps, p50, p99, rss, note)
machine_during = {}  # index in rows: what else the machine did meanwhile (MachineWatch)
facts = {}
missed = []


def log(message):
    print(f"==> {message}", flush=True)


def run(args, env=None, **kwargs):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(args, env=full_env, check=True, capture_output=True, text=True, **kwargs)


def cli(db_url, *args):
    return run([BIN, *args], env={"DATABASE_URL": db_url}).stdout.strip()


def rss_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid):
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class Server:
    def __init__(self, db_url, port):
        self.port = port
        env = dict(os.environ, DATABASE_URL=db_url, LEPTOS_SITE_ADDR=f"127.0.0.1:{port}", RUST_LOG="warn")
        started = time.monotonic()
        self.proc = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit("the server exited during start-up")
                time.sleep(0.005)
        self.startup = time.monotonic() - started

    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _cpu_times():
    # user nice system idle iowait irq softirq steal (/proc/stat's first line)
    return [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def _sectors_written():
    disks = {path.name for path in Path("/sys/block").iterdir() if not path.name.startswith(("loop", "ram"))}
    return sum(int(parts[9]) for parts in map(str.split, Path("/proc/diskstats").read_text().splitlines())
               if parts[2] in disks)


def _dirty_kb():
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(fields["Dirty"].split()[0]) + int(fields["Writeback"].split()[0])


class MachineWatch:
    """What else the machine did while a scenario ran: CPU time the
    hypervisor stole, time the CPUs waited on the disk, what was written to
    disk, and the most dirty page cache at once. A scenario's outlier can
    then be told apart from the machine's (the stall that issue 29's run
    once saw right after seeding was never attributable)."""

    def __init__(self):
        self.cpu, self.sectors, self.peak_dirty = _cpu_times(), _sectors_written(), _dirty_kb()
        self.done = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()

    def _sample(self):
        while not self.done.wait(0.2):
            self.peak_dirty = max(self.peak_dirty, _dirty_kb())

    def stop(self):
        self.done.set()
        self.sampler.join()
        spent = [after - before for after, before in zip(_cpu_times(), self.cpu)]
        total = max(1, sum(spent))
        written_mb = (_sectors_written() - self.sectors) * 512 / 1e6
        return (f"steal {100 * spent[7] / total:.0f}%, iowait {100 * spent[4] / total:.0f}%, "
                f"{written_mb:,.0f} MB written, ≤ {self.peak_dirty / 1024:,.0f} MB dirty")


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(server, path, token, scenario, backend, connections=CONNECTIONS, headers=()):
    reset_peak(server.proc.pid)
    threads = min(2, connections)
    extra = [arg for header in headers for arg in ("-H", header)]
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    watch = MachineWatch()
    out = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--latency",
               *auth, *extra, server.base() + path]).stdout
    machine = watch.stop()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = parse_latency(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = parse_latency(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{scenario}: {non2xx.group(1)} error responses\n{out}")
    peak = rss_kb(server.proc.pid, "VmHWM") / 1024
    note = "one keep-alive connection" if connections == 1 else ""
    rows.append((scenario, backend, rps, p50, p99, peak, note))
    machine_during[len(rows) - 1] = machine
    slowest = parse_latency(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1))
    log(f"{scenario} [{backend}]: {rps:.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {slowest:.0f} ms, "
        f"peak RSS {peak:.0f} MB; machine: {machine}")
    return rps, p50, p99


def get(server, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body, link = response.read(), response.getheader("Link") or ""
    conn.close()
    return json.loads(body), link


def pending_ids(server, token, count, query=""):
    """PENDING job ids (that `query` also selects), following the API's own next links."""
    ids, path = [], f"/api/admin/regeneration-jobs?status=PENDING&limit=500{query}"
    while len(ids) < count and path:
        page, link = get(server, path, token)
        ids += [job["id"] for job in page]
        match = re.search(r'<([^>]+)>; rel="next"', link)
        path = match.group(1) if match else None
    return ids[:count]


def trigger_throughput(server, token, backend, count=2000, label="Trigger, fresh PENDING jobs", record=True):
    ids = pending_ids(server, token, count)
    latencies, statuses, lock = [], [], threading.Lock()
    queue = list(ids)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                job = queue.pop()
            started = time.perf_counter()
            conn.request("POST", f"/api/admin/regeneration-jobs/{job}/trigger",
                         headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                statuses.append(response.status)
        conn.close()

    reset_peak(server.proc.pid)
    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise SystemExit(f"trigger throughput [{backend}]: unexpected statuses {sorted(set(statuses))}")
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    peak = rss_kb(server.proc.pid, "VmHWM") / 1024
    rps = len(ids) / elapsed
    row = (label, backend, rps, p50, p99, peak, f"{len(ids)} jobs, Python client")
    if record:
        rows.append(row)
    log(f"{label} [{backend}]: {rps:.0f}/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return row


# The triggers that keep the counts and the activity counters current on a
# trigger (the status change and its REGEN_JOB_TRIGGERED audit row).
COUNTER_TRIGGERS = {
    "sqlite": ["regeneration_jobs_count_status", "regeneration_jobs_activity_status", "audit_events_activity"],
    "postgres": [("regeneration_jobs_figures", "regeneration_jobs"),
                 ("audit_events_activity", "audit_events")],
}


def sql_script(backend, db_ref, script):
    """Runs SQL past the application, the way an operator's own tools would."""
    if backend == "sqlite":
        connection = sqlite3.connect(db_ref, isolation_level=None, timeout=30)
        try:
            if script.lstrip().upper().startswith("SELECT"):
                return connection.execute(script).fetchall()
            connection.executescript(script)
            return []
        finally:
            connection.close()
    out = run(["psql", db_ref, "-qtA", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", script]).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def trigger_cost_of_counters(server, token, backend, db_ref, db_url, rounds=5, count=4000):
    """Trigger throughput A/B on the same server and database: rounds with
    the counter triggers and with them dropped, alternating in ABBA order
    (with/without, then without/with), so neither the machine's drift nor
    going first favours an arm; the median round of each is recorded. The
    triggers are restored from their own definitions after each round
    without them, and the counts recounted at the end."""
    if backend == "sqlite":
        names = ", ".join(f"'{name}'" for name in COUNTER_TRIGGERS[backend])
        definitions = [row[0] for row in sql_script(
            backend, db_ref, f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})")]
        drop = "".join(f"DROP TRIGGER {name};" for name in COUNTER_TRIGGERS[backend])
        restore = "".join(definition + ";" for definition in definitions)
    else:
        names = ", ".join(f"'{name}'" for name, _ in COUNTER_TRIGGERS[backend])
        definitions = [row[0] for row in sql_script(
            backend, db_ref, f"SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname IN ({names})")]
        drop = "".join(f"DROP TRIGGER {name} ON {table};" for name, table in COUNTER_TRIGGERS[backend])
        restore = "".join(definition + ";" for definition in definitions)
    if len(definitions) != len(COUNTER_TRIGGERS[backend]):
        raise SystemExit(f"trigger A/B [{backend}]: found {len(definitions)} counter triggers")
    arms = {"with": [], "without": []}
    try:
        def with_counters():
            arms["with"].append(trigger_throughput(server, token, backend, count=count, record=False))

        def without_counters():
            sql_script(backend, db_ref, drop)
            try:
                arms["without"].append(trigger_throughput(
                    server, token, backend, count=count,
                    label="Trigger, counter triggers dropped (A/B)", record=False))
            finally:
                sql_script(backend, db_ref, restore)

        # One unrecorded round first: the A/B starts on a warm file and a
        # warm buffer cache (at ten million jobs both arms used to rise
        # through the rounds as the first ones warmed them).
        trigger_throughput(server, token, backend, count=count, record=False)
        for round_number in range(rounds):
            order = (with_counters, without_counters)
            for arm in order if round_number % 2 == 0 else reversed(order):
                arm()
    finally:
        cli(db_url, "stats", "rebuild")
    medians = []
    for arm in arms.values():
        label, backend_name, rps, p50, p99, peak, note = sorted(arm, key=lambda row: row[2])[len(arm) // 2]
        rows.append((label, backend_name, rps, p50, p99, peak, f"{note}; median of {rounds} rounds in ABBA order"))
        medians.append(rps)
    facts[f"trigger_ab_{backend}"] = tuple(medians)


def race(server, token, backend, rounds=5):
    walls = []
    for _ in range(rounds):
        job = pending_ids(server, token, 1)[0]
        barrier = threading.Barrier(64)
        statuses, lock = [], threading.Lock()

        def racer():
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.connect()
            barrier.wait()
            conn.request("POST", f"/api/admin/regeneration-jobs/{job}/trigger",
                         headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=racer) for _ in range(64)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        walls.append((time.perf_counter() - started) * 1000)
        if sorted(statuses).count(200) != 1 or statuses.count(409) != 63:
            raise SystemExit(f"race [{backend}]: {statuses}")
    walls.sort()
    rows.append(("64-way race on one job (whole race)", backend, None, walls[len(walls) // 2], walls[-1], None,
                 f"{rounds} races, 1×200 + 63×409 each; p50/max of race wall time"))
    log(f"race [{backend}]: median {walls[len(walls) // 2]:.1f} ms")


def bulk_trigger(server, token, backend, rounds=3, size=1000):
    """Issue 32: one bulk trigger of `size` PENDING jobs (by ids, then by a
    filter whose exact count was asked for first), timed end to end from
    one client; every job of each bulk must come back triggered."""
    seconds = []
    for n in range(rounds):
        ids = pending_ids(server, token, size)
        body = {"ids": ids}
        if n % 2 == 1:
            # By filter: the PENDING jobs created in [oldest, newest) of these,
            # counted as a client would (following the list's links).
            oldest, _ = get(server, f"/api/admin/regeneration-jobs/{ids[-1]}", token)
            newest, _ = get(server, f"/api/admin/regeneration-jobs/{ids[0]}", token)
            window = {"createdFrom": oldest["createdAt"], "createdTo": newest["createdAt"]}
            query = "".join(f"&{k}={urllib.parse.quote(v)}" for k, v in window.items())
            count = len(pending_ids(server, token, size + 1, query))
            if 0 < count <= size:
                body = {"filter": window, "expectedCount": count}
        expected = len(body["ids"]) if "ids" in body else body["expectedCount"]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        payload = json.dumps(body)
        started = time.perf_counter()
        conn.request("POST", "/api/admin/regeneration-jobs/bulk-trigger", body=payload,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        seconds.append(time.perf_counter() - started)
        conn.close()
        if response.status != 200:
            raise SystemExit(f"bulk trigger [{backend}]: {response.status} {answer[:300]!r}")
        triggered = len(json.loads(answer)["triggered"])
        if triggered != expected:
            raise SystemExit(f"bulk trigger [{backend}]: {triggered} of {expected} jobs triggered")
    seconds.sort()
    worst = seconds[-1]
    rows.append((f"Bulk trigger of {size:,} PENDING jobs (one request)", backend, None,
                 seconds[len(seconds) // 2] * 1000, worst * 1000, None,
                 f"{rounds} bulks, by ids and by filter; p50/max of the request"))
    facts[f"bulk_trigger_{backend}"] = worst
    log(f"bulk trigger [{backend}]: worst {worst * 1000:.0f} ms for {size} jobs")


def deep_cursor(backend, db_path_or_url, offset):
    sql = ("SELECT created_at, id FROM regeneration_jobs ORDER BY created_at DESC, id DESC "
           f"LIMIT 1 OFFSET {offset}")
    if backend == "sqlite":
        created_at, job_id = sqlite3.connect(db_path_or_url).execute(sql).fetchone()
    else:
        out = run(["psql", db_path_or_url, "-tA", "-F", "|", "-c", sql]).stdout.strip()
        created_at, job_id = out.split("|")
    from datetime import datetime, timezone
    millis = int(datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000)
    return f"o{millis:x}.{job_id.replace('-', '')}"


def settle(backend, db_ref):
    started = time.monotonic()
    sql_script(backend, db_ref, "PRAGMA wal_checkpoint(TRUNCATE)" if backend == "sqlite" else "VACUUM (ANALYZE)")
    log(f"[{backend}] settled after seeding in {time.monotonic() - started:.1f} s")


def seed(db_url, jobs):
    started = time.monotonic()
    cli(db_url, "demo", "--jobs", str(jobs), "--admin-password", PASSWORD)
    seconds = time.monotonic() - started
    with tempfile.TemporaryDirectory() as tmp:
        def doc(size):
            item = '{"prompt":"Rewrite paragraph for a general audience; keep figures exact.","tokens":512}'
            count = max(1, size // (len(item) + 1))
            path = Path(tmp) / f"{size}.json"
            path.write_text('{"steps":[' + ",".join([item] * count) + "]}")
            return "@" + str(path)
        big100k = cli(db_url, "job", "create", "--target-type", "insight", "--target-id", "bench-100k",
                      "--instruction", doc(100 * 1024))
        big5m = cli(db_url, "job", "create", "--target-type", "insight", "--target-id", "bench-5m",
                    "--instruction", doc(5 * 1024 * 1024))
        small = cli(db_url, "job", "create", "--target-type", "insight", "--target-id", "bench-small",
                    "--instruction", '{"prompt":"rewrite","steps":[{"n":1},{"n":2}]}')
    token = cli(db_url, "token", "create", "admin")
    return seconds, token, big100k, big5m, small


def bench_backend(backend, jobs, port):
    if backend == "sqlite":
        db_file = WORK / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_file) + suffix).unlink(missing_ok=True)
        db_url, db_ref = f"sqlite://{db_file}", str(db_file)
    else:
        run(["psql", PG_ADMIN, "-qc", "DROP DATABASE IF EXISTS regen_bench WITH (FORCE)"])
        run(["psql", PG_ADMIN, "-qc", "CREATE DATABASE regen_bench"])
        db_url, db_ref = PG_URL, PG_URL

    log(f"[{backend}] empty-database start-up")
    empty = Server(db_url, port)
    time.sleep(1)
    facts[f"startup_empty_{backend}"] = empty.startup
    facts[f"idle_rss_empty_{backend}"] = rss_kb(empty.proc.pid, "VmRSS") / 1024
    empty.stop()

    log(f"[{backend}] seeding {jobs:,} jobs")
    seconds, token, big100k, big5m, small = seed(db_url, jobs)
    facts[f"seed_seconds_{backend}"] = seconds
    # What an operator does after a bulk import (README): SQLite's log
    # checkpointed, PostgreSQL's tables vacuumed and analysed. Otherwise the
    # first figures pay for the checkpoint or for autovacuum working through
    # the import, and the later ones do not. The seed also leaves gigabytes
    # of dirty pages, whose write-back would compete with the measurements.
    settle(backend, db_ref)
    run(["sync"])
    server = Server(db_url, port)
    facts[f"startup_full_{backend}"] = server.startup
    time.sleep(1)
    facts[f"idle_rss_full_{backend}"] = rss_kb(server.proc.pid, "VmRSS") / 1024
    try:
        # Warm-up, not measured: the first seconds after seeding pay for the
        # write-ahead log checkpoint and a cold page cache.
        run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "-H", f"Authorization: Bearer {token}",
             server.base() + "/api/admin/regeneration-jobs?limit=50"])
        first = wrk(server, "/api/admin/regeneration-jobs?limit=50", token, "API list, first page (50)", backend)
        # Page 10,000 of 50 (or the last full page of a smaller seed).
        cursor = deep_cursor(backend, db_ref, min(10_000 * 50, jobs - 50) - 1)
        deep = wrk(server, f"/api/admin/regeneration-jobs?limit=50&cursor={cursor}", token,
                   "API list, page 10,000 (cursor)", backend)
        facts[f"deep_ratio_{backend}"] = deep[2] / first[2]
        facts[f"first_list_{backend}"] = first
        wrk(server, "/api/admin/regeneration-jobs?status=FAILED", token, "API list, status=FAILED", backend)
        wrk(server, "/api/admin/regeneration-jobs?targetType=article", token, "API list, targetType=article", backend)
        facts[f"stats_{backend}"] = wrk(server, "/api/admin/regeneration-jobs/stats", token,
                                        "API stats (exact counts)", backend, connections=1)
        wrk(server, "/api/admin/regeneration-jobs/stats", token, "API stats (exact counts)", backend)
        wrk(server, "/api/admin/regeneration-jobs/stats?targetType=article", token,
            "API stats, targetType=article", backend, connections=1)
        day_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
        # The filter combinations that an index serves least well.
        for query, scenario in [
            (f"createdBy=editor-bot&createdFrom={day_ago}", "API list, createdBy + last 24 h"),
            ("status=FAILED&status=RUNNING&targetType=article", "API list, 2 statuses + targetType (bounded scan)"),
            ("targetType=article&createdBy=insight-service", "API list, targetType + createdBy (bounded scan)"),
            (f"status=PENDING&createdFrom={day_ago}", "API list, PENDING in the last 24 h"),
        ]:
            wrk(server, f"/api/admin/regeneration-jobs?{query}", token, scenario, backend, connections=1)
        wrk(server, f"/api/admin/regeneration-jobs/{big100k}", token, "API detail, 100 KB instructionJson", backend)
        ssr = wrk(server, "/admin/regeneration-jobs", token, "SSR list page", backend)
        facts[f"ssr_list_{backend}"] = ssr
        wrk(server, f"/admin/regeneration-jobs/{small}", token, "SSR detail page", backend)
        round_two(server, token, backend, small)
        facts[f"exports_{backend}"] = exports.versus_client(server.base(), token, backend, db_ref, jobs, log)
        trigger_cost_of_counters(server, token, backend, db_ref, db_url)
        race(server, token, backend)
        bulk_trigger(server, token, backend)
        # Time to first byte of the 5 MB detail page.
        out = run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{size_download}",
                   "-H", f"Authorization: Bearer {token}",
                   f"{server.base()}/admin/regeneration-jobs/{big5m}"]).stdout.split()
        facts[f"big_ttfb_ms_{backend}"] = float(out[0]) * 1000
        facts[f"big_html_bytes_{backend}"] = int(out[1])
        if backend == "sqlite":
            browser = json.loads(run(["node", str(ROOT / "bench" / "browser.mjs"), server.base(), PASSWORD,
                                      "/admin/regeneration-jobs", f"/admin/regeneration-jobs/{small}",
                                      f"/admin/regeneration-jobs/{big5m}"]).stdout)
            facts["browser"] = browser
    finally:
        server.stop()


def page_text(server, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    body = conn.getresponse().read().decode()
    conn.close()
    return body


def export(server, token, backend, fmt_name):
    """Seconds and peak RSS growth of exporting every job, read as a client does."""
    pid = server.proc.pid
    before = rss_kb(pid, "VmRSS")
    reset_peak(pid)
    started = time.monotonic()
    out = run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "-H", f"Authorization: Bearer {token}",
               f"{server.base()}/api/admin/regeneration-jobs/export?format={fmt_name}"]).stdout
    seconds = time.monotonic() - started
    growth = (rss_kb(pid, "VmHWM") - before) / 1024
    facts[f"export_{fmt_name}_{backend}"] = (seconds, growth, int(out))
    log(f"export {fmt_name} [{backend}]: {int(out):,} bytes in {seconds:.1f} s, peak RSS +{growth:.1f} MB")


def one_connection(server, token, backend, small, with_files=True):
    """Per-request cost on one keep-alive connection, as a browser or a
    script sees it: the API list, /healthz and, with_files, the static files
    by name and encoding and the two SSR pages. Returns the API list's
    figures and the static files' (scenario, p50) pairs."""
    api_list = wrk(server, "/api/admin/regeneration-jobs?limit=50", token, "API list, first page (50)", backend,
                   connections=1)
    wrk(server, "/healthz", token, "/healthz", backend, connections=1)
    statics = []
    if with_files:
        login = page_text(server, "/login", "")
        detail = page_text(server, f"/admin/regeneration-jobs/{small}", token)
        names = {ext: re.search(rf'/pkg/regen-admin\.[0-9a-f]{{16}}\.{ext}', text).group(0)
                 for ext, text in (("css", login), ("js", detail), ("wasm", detail))}
        for ext, path in names.items():
            for encoding in ("identity", "gzip", "br"):
                scenario = f"static {ext} ({encoding})"
                statics.append((scenario, wrk(server, path, "", scenario, backend, connections=1,
                                              headers=[f"Accept-Encoding: {encoding}"])[1]))
        wrk(server, "/admin/regeneration-jobs", token, "SSR list page", backend, connections=1)
        wrk(server, f"/admin/regeneration-jobs/{small}", token, "SSR detail page", backend, connections=1)
    return api_list, statics


def round_two(server, token, backend, small):
    """What round 2 added: one-connection API cost, static files by name and
    encoding, the audit log, the activity chart, and exports."""
    one_connection(server, token, backend, small, with_files=backend == "sqlite")
    first = wrk(server, "/api/admin/audit-events?limit=50", token, "Audit API, first page (50)", backend)
    twenty_days = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20 * 86400))
    deep = wrk(server, f"/api/admin/audit-events?limit=50&occurredTo={twenty_days}", token,
               "Audit API, 20 days deep (50)", backend)
    facts[f"audit_{backend}"] = (first, deep)
    wrk(server, "/api/admin/audit-events?limit=50&eventType=REGEN_JOB_FAILED&actorName=executor", token,
        "Audit API, FAILED by executor", backend)
    facts[f"audit_page_{backend}"] = wrk(server, "/admin/audit", token, "SSR audit page", backend)
    facts[f"activity_{backend}"] = wrk(server, "/api/admin/regeneration-jobs/activity?bucket=day", token,
                                       "Activity API, 30 daily buckets", backend, connections=1)
    wrk(server, "/api/admin/regeneration-jobs/activity?bucket=day", token, "Activity API, 30 daily buckets", backend)
    # The chart's cost: the three variants of the page back to back, so that
    # what the machine is doing at that moment weighs on all three alike.
    facts[f"ssr_chart_24h_{backend}"] = wrk(server, "/admin/regeneration-jobs", token,
                                            "SSR list page, 24-hour chart (default)", backend)
    facts[f"ssr_chart_30d_{backend}"] = wrk(server, "/admin/regeneration-jobs?chart=30d", token,
                                            "SSR list page, 30-day chart", backend)
    facts[f"ssr_no_chart_{backend}"] = wrk(server, "/admin/regeneration-jobs?chart=off", token,
                                           "SSR list page, chart hidden", backend)
    export(server, token, backend, "csv")
    export(server, token, backend, "ndjson")


def wasm_sizes():
    wasm = (ROOT / "target" / "site" / "pkg" / "regen-admin.wasm").read_bytes()
    js = (ROOT / "target" / "site" / "pkg" / "regen-admin.js").read_bytes()
    facts["wasm_raw"] = len(wasm)
    facts["wasm_gzip"] = len(gzip.compress(wasm, 9))
    facts["js_gzip"] = len(gzip.compress(js, 9))


def check(name, ok, detail):
    status = "met" if ok else "MISSED"
    if not ok:
        missed.append(f"{name}: {detail}")
    return f"| {name} | {detail} | {status} |"


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def write_report(jobs):
    lines = [
        "# Benchmark results",
        "",
        f"Written by `bench/run {jobs}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Machine: **{CORES} cores**, {os.uname().machine}; the load generator (wrk, {CONNECTIONS} connections, "
        f"{DURATION}, 2 threads) runs on the same cores as the server.",
        "",
        f"| Scenario | Backend | req/s | p50 ms | p99 ms | peak RSS MB | cores | note | the machine meanwhile |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for index, (scenario, backend, rps, p50, p99, rss, note) in enumerate(rows):
        lines.append(f"| {scenario} | {backend} | {fmt(rps)} | {fmt(p50, 2)} | {fmt(p99, 2)} | {fmt(rss)} | {CORES} "
                     f"| {note} | {machine_during.get(index, '–')} |")
    b = facts.get("browser", {})
    lines += [
        "",
        "| Measurement | Value | cores |",
        "|---|---|---:|",
        f"| Seeding {jobs:,} jobs, SQLite / PostgreSQL | {fmt(facts.get('seed_seconds_sqlite'), 1)} s / {fmt(facts.get('seed_seconds_postgres'), 1)} s | {CORES} |",
        f"| Deep/first p99 ratio, SQLite / PostgreSQL | {fmt(facts.get('deep_ratio_sqlite'), 2)} / {fmt(facts.get('deep_ratio_postgres'), 2)} | {CORES} |",
        f"| Release WASM, raw / gzip | {facts['wasm_raw']:,} B / {facts['wasm_gzip']:,} B (JS glue gzip {facts['js_gzip']:,} B) | – |",
        f"| Bytes downloaded, list page (first visit) | {b.get('list', {}).get('total', 0):,} B in {b.get('list', {}).get('requests', 0)} requests, WASM {b.get('list', {}).get('wasm', 0):,} B | – |",
        f"| Bytes downloaded, detail page (first visit) | {b.get('detail', {}).get('total', 0):,} B in {b.get('detail', {}).get('requests', 0)} requests, WASM {b.get('detail', {}).get('wasm', 0):,} B | – |",
        f"| 5 MB detail page: time to first byte, SQLite / PostgreSQL | {fmt(facts.get('big_ttfb_ms_sqlite'), 1)} ms / {fmt(facts.get('big_ttfb_ms_postgres'), 1)} ms | {CORES} |",
        f"| 5 MB detail page: interactive in headless Chromium (from navigation start) | {fmt(b.get('bigInteractiveMs'), 0)} ms | {CORES} |",
        f"| Start-up, empty database: SQLite / PostgreSQL | {fmt(facts['startup_empty_sqlite'] * 1000)} ms / {fmt(facts['startup_empty_postgres'] * 1000)} ms | {CORES} |",
        f"| Start-up, {jobs:,} jobs: SQLite / PostgreSQL | {fmt(facts['startup_full_sqlite'] * 1000)} ms / {fmt(facts['startup_full_postgres'] * 1000)} ms | {CORES} |",
        *[f"| Export of every job as {f.upper()}, {b}: seconds / peak RSS growth / bytes | "
          f"{fmt(facts.get(f'export_{f}_{b}', (None,))[0], 1)} s / {fmt(facts.get(f'export_{f}_{b}', (0, None))[1], 1)} MB / "
          f"{fmt(facts.get(f'export_{f}_{b}', (0, 0, None))[2])} B | {CORES} |"
          for b in ("sqlite", "postgres") for f in ("csv", "ndjson")],
        f"| Idle RSS after start-up, empty / seeded (SQLite) | {fmt(facts['idle_rss_empty_sqlite'], 1)} MB / {fmt(facts['idle_rss_full_sqlite'], 1)} MB | – |",
        "",
    ]
    export_rows, export_budgets = exports.report_lines(
        {b: facts[f"exports_{b}"] for b in ("sqlite", "postgres") if f"exports_{b}" in facts}, check)
    lines += ["", "Exports against the database's own client (same rows, columns and order; warm; "
              f"{exports.ROUNDS} alternated rounds):", "", *export_rows]
    lines += [
        "",
        "## Budgets",
        "",
        "| Budget | Measured | Status |",
        "|---|---|---|",
        *export_budgets,
    ]
    rps, _, p99 = facts["first_list_sqlite"]
    lines.append(check("List API ≥ 5,000 req/s, p99 ≤ 20 ms (SQLite, 32 connections)",
                       rps >= BUDGETS["list_rps"] and p99 <= BUDGETS["list_p99_ms"], f"{rps:,.0f} req/s, p99 {p99:.2f} ms"))
    ssr_rps = facts["ssr_list_sqlite"][0]
    lines.append(check("SSR list page ≥ 2,000 req/s", ssr_rps >= BUDGETS["ssr_list_rps"], f"{ssr_rps:,.0f} req/s"))
    for backend in ("sqlite", "postgres"):
        ratio = facts[f"deep_ratio_{backend}"]
        lines.append(check(f"Deep/first p99 ≤ 1.2 ({backend})", ratio <= BUDGETS["deep_ratio"], f"{ratio:.2f}"))
    lines.append(check("Detail page WASM ≤ 80 KB gzip", facts["wasm_gzip"] <= BUDGETS["detail_wasm_gzip_kb"] * 1024,
                       f"{facts['wasm_gzip'] / 1024:.1f} KB"))
    list_wasm = b.get("list", {}).get("wasm", -1)
    lines.append(check("List page loads no WASM", list_wasm == 0, f"{list_wasm} B"))
    big = b.get("bigInteractiveMs", 1e9)
    lines.append(check("5 MB detail page interactive ≤ 1 s", big <= BUDGETS["big_interactive_ms"], f"{big:,.0f} ms"))
    for backend in ("sqlite", "postgres"):
        p50 = facts[f"stats_{backend}"][1]
        lines.append(check(f"Stats p50 ≤ 2 ms on one connection ({backend})",
                           p50 <= BUDGETS["stats_p50_one_connection_ms"], f"{p50:.2f} ms"))
    for backend in ("sqlite", "postgres"):
        p99 = facts[f"activity_{backend}"][2]
        lines.append(check(f"Activity API p99 ≤ 10 ms, 30 daily buckets, one connection ({backend}, {jobs:,} jobs)",
                           p99 <= 10, f"{p99:.2f} ms"))
        for f in ("csv", "ndjson"):
            growth = facts[f"export_{f}_{backend}"][1]
            lines.append(check(f"Export {f.upper()} of {jobs:,} jobs grows RSS ≤ 20 MB ({backend})",
                               growth <= 20, f"{growth:.1f} MB"))
        plain = facts[f"ssr_no_chart_{backend}"][0]
        for name, key in (("24-hour", "ssr_chart_24h"), ("30-day", "ssr_chart_30d")):
            chart = facts[f"{key}_{backend}"][0]
            lines.append(check(f"List page with the {name} chart ≥ 80% of its req/s without ({backend})",
                               chart >= 0.8 * plain, f"{chart:,.0f} vs {plain:,.0f} req/s"))
    for backend in ("sqlite", "postgres"):
        with_counters, without = facts[f"trigger_ab_{backend}"]
        lines.append(check(f"Trigger throughput with the counters ≥ 90% of it without them ({backend})",
                           with_counters >= 0.9 * without, f"{with_counters:,.0f} vs {without:,.0f} triggers/s"))
    # Issue 29 (one plain path to the database): what must hold without the
    # hand-built driver layers, on both backends.
    for backend in ("sqlite", "postgres"):
        listings = [(scenario, p99, machine_during.get(index, "–"))
                    for index, (scenario, b_name, _, _, p99, _, note) in enumerate(rows)
                    if b_name == backend and note == "" and p99 is not None
                    and scenario.startswith(("API list", "SSR list page", "Audit API", "SSR audit page"))]
        worst = max(listings, key=lambda row: row[1])
        lines.append(check(f"Every listing page p99 ≤ 25 ms at {CONNECTIONS} connections ({backend}, {len(listings)} pages)",
                           worst[1] <= 25, f"worst {worst[1]:.2f} ms ({worst[0]}; machine: {worst[2]})"))
        triggers = [p99 for scenario, b_name, _, _, p99, _, _ in rows
                    if b_name == backend and scenario == "Trigger, fresh PENDING jobs"]
        lines.append(check(f"Trigger p99 ≤ 150 ms at {CONNECTIONS} concurrent triggers ({backend})",
                           max(triggers) <= 150, f"worst {max(triggers):.2f} ms"))
    for backend in ("sqlite", "postgres"):
        worst = facts[f"bulk_trigger_{backend}"]
        lines.append(check(f"A bulk trigger of 1,000 jobs ≤ 2 s ({backend})", worst <= 2.0,
                           f"worst {worst * 1000:.0f} ms"))
    idle = facts["idle_rss_full_sqlite"]
    lines.append(check("Idle RSS ≤ 50 MB", idle <= BUDGETS["idle_rss_mb"], f"{idle:.1f} MB"))
    for kept in (kept_section(DELIVERY_BEGIN, DELIVERY_END), kept_section(SCALE_BEGIN, SCALE_END),
                 kept_section(EXPORTS_BEGIN, EXPORTS_END)):
        if kept:
            lines += ["", kept]
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


# ---------------------------------------------------------------------------
# bench/run --scale N: the figures that must not grow with the number of jobs.

SCALE_BEGIN = "<!-- scale: written by bench/run --scale; kept by the full run -->"
SCALE_END = "<!-- end of scale -->"
SCALE_BUDGETS = {"stats_p50_ms": 2, "filter_p99_ms": 50, "activity_p99_ms": 10}
# The demo's mix: statuses by n % 7, four target types, two producers.
SQLITE_JOBS = """
WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {end}),
t(i, ms, tt) AS (SELECT i, {start_ms} + i * {spacing},
                 CASE i % 4 WHEN 0 THEN 'insight' WHEN 1 THEN 'article' WHEN 2 THEN 'summary' ELSE 'headline' END FROM n)
INSERT INTO regeneration_jobs (id, status, target_type, target_id, created_at, created_by, output_ref, error_json, instruction_json)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', ms / 65536, ms % 65536, i % 4096, 32768 + (i / 4096) % 16384, i),
       CASE i % 7 WHEN 3 THEN 'RUNNING' WHEN 4 THEN 'COMPLETED' WHEN 5 THEN 'COMPLETED' WHEN 6 THEN 'FAILED' ELSE 'PENDING' END,
       tt, substr(tt, 1, 3) || '-' || printf('%07d', i / 3),
       strftime('%Y-%m-%dT%H:%M:%S', ms / 1000, 'unixepoch') || printf('.%03dZ', ms % 1000),
       CASE WHEN i % 4 = 0 THEN 'insight-service' ELSE 'editor-bot' END,
       CASE WHEN i % 7 IN (4, 5) THEN '{{"uri":"s3://regen-output/' || i || '.json","bytes":' || (1000 + i) || '}}' END,
       CASE WHEN i % 7 = 6 THEN '{{"code":"GENERATOR_TIMEOUT","message":"generator did not answer within 30s"}}' END,
       '{{"insightId":"ins-' || i || '","reason":"source data revised","steps":[{{"step":0,"prompt":"Rewrite for a general audience.","maxTokens":512}}]}}'
FROM t;
WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {end}),
t(i, ms) AS (SELECT i, {start_ms} + i * {spacing} FROM n WHERE i % 7 = 3)
INSERT INTO audit_events (id, event_type, job_id, actor, occurred_at)
SELECT printf('%08x-%04x-7%03x-%04x-%012x', ms / 65536, ms % 65536, i % 4096, 49152 + (i / 4096) % 16384, i),
       'REGEN_JOB_TRIGGERED',
       printf('%08x-%04x-7%03x-%04x-%012x', ms / 65536, ms % 65536, i % 4096, 32768 + (i / 4096) % 16384, i),
       'bench-admin',
       strftime('%Y-%m-%dT%H:%M:%S', (ms + 180000) / 1000, 'unixepoch') || printf('.%03dZ', ms % 1000)
FROM t;
"""
POSTGRES_JOBS = """
INSERT INTO regeneration_jobs (id, status, target_type, target_id, created_at, created_by, output_ref, error_json, instruction_json)
SELECT lpad(to_hex(ms >> 16), 8, '0') || '-' || lpad(to_hex(ms & 65535), 4, '0') || '-7' || lpad(to_hex(i % 4096), 3, '0')
         || '-' || to_hex(32768 + (i / 4096) % 16384) || '-' || lpad(to_hex(i), 12, '0'),
       CASE i % 7 WHEN 3 THEN 'RUNNING' WHEN 4 THEN 'COMPLETED' WHEN 5 THEN 'COMPLETED' WHEN 6 THEN 'FAILED' ELSE 'PENDING' END,
       tt, substr(tt, 1, 3) || '-' || lpad((i / 3)::text, 7, '0'),
       to_char(to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       CASE WHEN i % 4 = 0 THEN 'insight-service' ELSE 'editor-bot' END,
       CASE WHEN i % 7 IN (4, 5) THEN '{{"uri":"s3://regen-output/' || i || '.json","bytes":' || (1000 + i) || '}}' END,
       CASE WHEN i % 7 = 6 THEN '{{"code":"GENERATOR_TIMEOUT","message":"generator did not answer within 30s"}}' END,
       '{{"insightId":"ins-' || i || '","reason":"source data revised","steps":[{{"step":0,"prompt":"Rewrite for a general audience.","maxTokens":512}}]}}'
FROM (SELECT i, {start_ms}::bigint + i * {spacing} AS ms,
             (ARRAY['insight', 'article', 'summary', 'headline'])[i % 4 + 1] AS tt
      FROM generate_series({first}::bigint, {end}::bigint - 1) AS i) AS t;
INSERT INTO audit_events (id, event_type, job_id, actor, occurred_at)
SELECT lpad(to_hex(ms >> 16), 8, '0') || '-' || lpad(to_hex(ms & 65535), 4, '0') || '-7' || lpad(to_hex(i % 4096), 3, '0')
         || '-' || to_hex(49152 + (i / 4096) % 16384) || '-' || lpad(to_hex(i), 12, '0'),
       'REGEN_JOB_TRIGGERED',
       lpad(to_hex(ms >> 16), 8, '0') || '-' || lpad(to_hex(ms & 65535), 4, '0') || '-7' || lpad(to_hex(i % 4096), 3, '0')
         || '-' || to_hex(32768 + (i / 4096) % 16384) || '-' || lpad(to_hex(i), 12, '0'),
       'bench-admin',
       to_char(to_timestamp((ms + 180000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM (SELECT i, {start_ms}::bigint + i * {spacing} AS ms
      FROM generate_series({first}::bigint, {end}::bigint - 1) AS i WHERE i % 7 = 3) AS t;
"""


def octet_length(value):
    return None if value is None else len(value.encode() if isinstance(value, str) else value)


def database_bytes(backend, db_ref):
    if backend == "sqlite":
        return sum(Path(db_ref + suffix).stat().st_size for suffix in ("", "-wal") if Path(db_ref + suffix).exists())
    return int(run(["psql", db_ref, "-tAc", "SELECT pg_database_size(current_database())"]).stdout)


def bulk_seed(backend, db_ref, db_url, jobs):
    """Inserts `jobs` jobs (and a REGEN_JOB_TRIGGERED event for each RUNNING
    one) with the database's own SQL, in batches of one transaction each, as
    a producer with its own tools would: the counters are kept by the
    triggers, which `stats check` then verifies against COUNT(*)."""
    cli(db_url, "migrate")
    spacing = max(1, 30 * 24 * 3600 * 1000 // jobs)
    start_ms = int(time.time() * 1000) - jobs * spacing
    batch = 100_000 if backend == "sqlite" else 10_000
    started = time.monotonic()
    if backend == "sqlite":
        connection = sqlite3.connect(db_ref, isolation_level=None)
        if sqlite3.sqlite_version_info < (3, 43):
            # The time index holds octet_length() (migration 0014), which
            # SQLite has since 3.43 and Python's module may link an older
            # one without. The same value: a text's UTF-8 bytes.
            connection.create_function("octet_length", 1, octet_length, deterministic=True)
        for first in range(0, jobs, batch):
            sql = SQLITE_JOBS.format(first=first, end=min(jobs, first + batch), start_ms=start_ms, spacing=spacing)
            connection.executescript("BEGIN;" + sql + "COMMIT;")
            if first // batch % 10 == 9:
                log(f"[{backend}] {first + batch:,} jobs")
        connection.close()
    else:
        # Two producers at once, one per core: each transaction's counter
        # updates land on its own shard.
        scripts = [Path(tempfile.mkstemp(suffix=".sql")[1]) for _ in range(2)]
        outs = [script.open("w") for script in scripts]
        for number, first in enumerate(range(0, jobs, batch)):
            sql = POSTGRES_JOBS.format(first=first, end=min(jobs, first + batch), start_ms=start_ms, spacing=spacing)
            outs[number % 2].write("BEGIN;" + sql + "COMMIT;\n")
        for out in outs:
            out.close()
        producers = [subprocess.Popen(["psql", db_ref, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)])
                     for script in scripts]
        if any(producer.wait() != 0 for producer in producers):
            raise SystemExit(f"[{backend}] seeding failed")
        for script in scripts:
            script.unlink()
    # Settled as after the demo seed, and as the README tells operators to
    # after a bulk import.
    settle(backend, db_ref)
    seconds = time.monotonic() - started
    check_started = time.monotonic()
    out = cli(db_url, "stats", "check")
    check_seconds = time.monotonic() - check_started
    cli(db_url, "demo", "--jobs", "0", "--admin-password", PASSWORD)
    token = cli(db_url, "token", "create", "admin")
    log(f"[{backend}] seeded {jobs:,} jobs in {seconds:.0f} s; stats check in {check_seconds:.0f} s: {out}")
    return seconds, check_seconds, token


def reuse_scale_database(backend, db_url, jobs, seeded_file):
    """BENCH_REUSE=1 (every backend) or BENCH_REUSE="sqlite" (the named
    ones): the last scale run's database, brought to the current schema by
    `migrate` (timed: what an operator's upgrade costs at this size)."""
    previous = json.loads(seeded_file.read_text()) if seeded_file.exists() else {}
    if previous.get("jobs") != jobs:
        raise SystemExit(f"[{backend}] BENCH_REUSE: no {jobs:,}-job database from an earlier scale run")
    started = time.monotonic()
    cli(db_url, "migrate")
    previous["migrate"] = time.monotonic() - started
    log(f"[{backend}] reusing {jobs:,} jobs; migrate took {previous['migrate']:.0f} s")
    return previous["seed"], previous["check"], cli(db_url, "token", "create", "admin"), previous["migrate"]


def scale_backend(backend, jobs, port, results):
    seeded_file = WORK / f"scale-{backend}.json"
    reuse_setting = os.environ.get("BENCH_REUSE", "")
    reuse = reuse_setting == "1" or backend in reuse_setting.split()
    if backend == "sqlite":
        db_file = WORK / "scale.db"
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_file) + suffix).unlink(missing_ok=True)
        db_url, db_ref = f"sqlite://{db_file}", str(db_file)
    else:
        if not reuse:
            run(["psql", PG_ADMIN, "-qc", "DROP DATABASE IF EXISTS regen_scale WITH (FORCE)"])
            run(["psql", PG_ADMIN, "-qc", "CREATE DATABASE regen_scale"])
        db_url = db_ref = PG_ADMIN.rsplit("/", 1)[0] + "/regen_scale"
    migrate_seconds = None
    if reuse:
        seconds, check_seconds, token, migrate_seconds = reuse_scale_database(backend, db_url, jobs, seeded_file)
    else:
        log(f"[{backend}] seeding {jobs:,} jobs with SQL")
        seconds, check_seconds, token = bulk_seed(backend, db_ref, db_url, jobs)
        seeded_file.write_text(json.dumps({"jobs": jobs, "seed": seconds, "check": check_seconds}))
    run(["sync"])
    plans = run([os.environ["REGEN_EXPLAIN_BIN"], db_url]).stdout
    server = Server(db_url, port)
    day_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    figures = {"seed": seconds, "check": check_seconds, "startup": server.startup, "migrate": migrate_seconds}
    try:
        run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "-H", f"Authorization: Bearer {token}",
             server.base() + "/api/admin/regeneration-jobs?limit=50"])
        figures["stats"] = wrk(server, "/api/admin/regeneration-jobs/stats", token, "API stats (exact counts)",
                               backend, connections=1)
        wrk(server, "/api/admin/regeneration-jobs/stats?targetType=article", token,
            "API stats, targetType=article", backend, connections=1)
        wrk(server, "/api/admin/regeneration-jobs/stats", token, "API stats (exact counts)", backend)
        figures["activity"] = wrk(server, "/api/admin/regeneration-jobs/activity?bucket=day", token,
                                  "Activity API, 30 daily buckets", backend, connections=1)
        figures["filters"] = []
        for query, scenario in [
            ("limit=50", "API list, first page (50)"),
            (f"createdBy=editor-bot&createdFrom={day_ago}", "API list, createdBy + last 24 h"),
            ("status=FAILED&status=RUNNING&targetType=article", "API list, 2 statuses + targetType (bounded scan)"),
            ("targetType=article&createdBy=insight-service", "API list, targetType + createdBy (bounded scan)"),
            (f"status=PENDING&createdFrom={day_ago}", "API list, PENDING in the last 24 h"),
        ]:
            figures["filters"].append((scenario, wrk(server, f"/api/admin/regeneration-jobs?{query}", token,
                                                     scenario, backend, connections=1)))
        figures["ssr"] = wrk(server, "/admin/regeneration-jobs", token, "SSR list page (counts, 24-hour chart)",
                             backend)
        figures["ssr_30d"] = wrk(server, "/admin/regeneration-jobs?chart=30d", token,
                                 "SSR list page, 30-day chart", backend)
        figures["ssr_no_chart"] = wrk(server, "/admin/regeneration-jobs?chart=off", token,
                                      "SSR list page, chart hidden", backend)
        trigger_cost_of_counters(server, token, backend, db_ref, db_url)
        figures["triggers"] = facts[f"trigger_ab_{backend}"]
        # Last: the cold reads drop the page cache that the figures above
        # were taken with.
        figures["database_bytes"] = database_bytes(backend, db_ref)
        figures["exports"] = exports.at_scale(server.base(), token, backend, db_ref, jobs, log)
    finally:
        server.stop()
    figures["plans"] = plans
    results[backend] = figures


def write_scale_report(jobs, results):
    lines = [
        SCALE_BEGIN,
        f"## At {jobs:,} jobs",
        "",
        f"Written by `bench/run --scale {jobs}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{CORES} cores. Jobs inserted with each database's own SQL in batches (the demo's mix of statuses, "
        "target types and producers over 30 days; a REGEN_JOB_TRIGGERED event per RUNNING job), the counters "
        "kept by the triggers and verified by `stats check`. One keep-alive connection unless 32 are named.",
        "",
        "| Scenario | Backend | req/s | p50 ms | p99 ms | connections |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario, backend, rps, p50, p99, _rss, note in rows:
        connections = 1 if note == "one keep-alive connection" else CONNECTIONS
        lines.append(f"| {scenario} | {backend} | {fmt(rps)} | {fmt(p50, 2)} | {fmt(p99, 2)} | {connections} |")
    lines += ["", "| Measurement | SQLite | PostgreSQL |", "|---|---:|---:|"]
    for key, name in (("seed", "Seeding (s)"), ("check", "`stats check`, a full recount (s)"),
                      ("migrate", "`migrate` of the seeded database to this schema (s; BENCH_REUSE runs)"),
                      ("startup", "Server start-up (s)")):
        lines.append(f"| {name} | {fmt(results.get('sqlite', {}).get(key), 1)} | "
                     f"{fmt(results.get('postgres', {}).get(key), 1)} |")
    lines += ["", f"Exports of all {jobs:,} jobs against the database's own client (the same rows, columns and "
              "order): the cold pair is each one's first read after the page cache was dropped, the next read "
              "follows at once. The jobs were inserted in time order, the order the export reads.", "",
              *exports.scale_lines({b: f["exports"] for b, f in results.items()},
                                   {b: f["database_bytes"] for b, f in results.items()})]
    lines += ["", "| Budget | Measured | Status |", "|---|---|---|"]
    for backend, figures in results.items():
        p50 = figures["stats"][1]
        lines.append(check(f"Stats p50 ≤ 2 ms at {jobs:,} jobs ({backend})", p50 <= SCALE_BUDGETS["stats_p50_ms"],
                           f"{p50:.2f} ms"))
        worst_name, worst = max(figures["filters"], key=lambda item: item[1][2])
        lines.append(check(f"Every filter combination p99 ≤ 50 ms at {jobs:,} jobs ({backend})",
                           worst[2] <= SCALE_BUDGETS["filter_p99_ms"], f"worst: {worst_name}, {worst[2]:.2f} ms"))
        p99 = figures["activity"][2]
        lines.append(check(f"Activity API p99 ≤ 10 ms, 30 daily buckets, at {jobs:,} jobs ({backend})",
                           p99 <= SCALE_BUDGETS["activity_p99_ms"], f"{p99:.2f} ms"))
        for name, key in (("24-hour", "ssr"), ("30-day", "ssr_30d")):
            chart, plain = figures[key][0], figures["ssr_no_chart"][0]
            lines.append(check(f"List page with the {name} chart ≥ 80% of its req/s without, at {jobs:,} jobs "
                               f"({backend})", chart >= 0.8 * plain, f"{chart:,.0f} vs {plain:,.0f} req/s"))
        with_counters, without = figures["triggers"]
        lines.append(check(f"Trigger throughput with the counters ≥ 90% of it without them, at {jobs:,} jobs ({backend})",
                           with_counters >= 0.9 * without, f"{with_counters:,.0f} vs {without:,.0f} triggers/s"))
    for backend, figures in results.items():
        lines += ["", f"<details><summary>Plans of every documented filter combination ({backend}, "
                      f"{jobs:,} jobs)</summary>", "", figures["plans"].strip(), "", "</details>"]
    lines.append(SCALE_END)
    write_section(SCALE_BEGIN, SCALE_END, "\n".join(lines))


def write_section(begin, end, section):
    """Puts a partial run's section (marked by begin/end) into RESULTS.md,
    replacing the previous one."""
    results_file = ROOT / "bench" / "RESULTS.md"
    text = results_file.read_text() if results_file.exists() else "# Benchmark results\n"
    if begin in text:
        before, rest = text.split(begin, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    results_file.write_text(text)
    print(section)


def kept_section(begin, end):
    """A partial run's last section of RESULTS.md, for the full run to keep."""
    results_file = ROOT / "bench" / "RESULTS.md"
    text = results_file.read_text() if results_file.exists() else ""
    if begin not in text:
        return ""
    return begin + text.split(begin, 1)[1].split(end, 1)[0] + end


def scale_main(jobs):
    results = {}
    backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
    for port, backend in enumerate(backends, start=3211):
        scale_backend(backend, jobs, port, results)
    write_scale_report(jobs, results)


# ---------------------------------------------------------------------------
# bench/run --delivery N: what a page and a request cost on one connection.

DELIVERY_BEGIN = "<!-- delivery: written by bench/run --delivery; kept by the full run -->"
DELIVERY_END = "<!-- end of delivery -->"
DELIVERY_BUDGETS = {"static_p50_ms": 1, "api_list_p50_ms": 0.21, "first_visit_interactive_ms": 150}


def delivery_main(jobs):
    """SQLite seeded with SQL (minutes, not the demo's hour), then the
    one-connection table, the WASM's size and a real browser's first and
    repeat visit of a PENDING job's detail page (both islands)."""
    wasm_sizes()
    db_file = WORK / "delivery.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_file) + suffix).unlink(missing_ok=True)
    db_url, db_ref = f"sqlite://{db_file}", str(db_file)
    log(f"[sqlite] seeding {jobs:,} jobs with SQL")
    _, _, token = bulk_seed("sqlite", db_ref, db_url, jobs)
    small = cli(db_url, "job", "create", "--target-type", "insight", "--target-id", "bench-small",
                "--instruction", '{"prompt":"rewrite","steps":[{"n":1},{"n":2}]}')
    run(["sync"])
    server = Server(db_url, 3221)
    try:
        run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "-H", f"Authorization: Bearer {token}",
             server.base() + "/api/admin/regeneration-jobs?limit=50"])
        api_list, statics = one_connection(server, token, "sqlite", small)
        visits = json.loads(run(["node", str(ROOT / "bench" / "delivery.mjs"), server.base(), PASSWORD,
                                 f"/admin/regeneration-jobs/{small}"]).stdout)
    finally:
        server.stop()
    write_delivery_report(jobs, api_list, statics, visits)


def write_delivery_report(jobs, api_list, statics, visits):
    first, repeat = visits["first"], visits["repeat"]
    lines = [
        DELIVERY_BEGIN,
        f"## Delivery: one keep-alive connection, {jobs:,} jobs (SQLite)",
        "",
        f"Written by `bench/run --delivery {jobs}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{CORES} cores; wrk with one connection for {DURATION} per row, on the same cores as the server.",
        "",
        "| Scenario | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for scenario, _, rps, p50, p99, _, _ in rows:
        lines.append(f"| {scenario} | {fmt(rps)} | {fmt(p50, 2)} | {fmt(p99, 2)} |")
    lines += [
        "",
        f"| Detail page in headless Chromium (median of {first['rounds']}) | Requests | Bytes over the wire "
        "| Asset bytes (/pkg/) | Both islands hydrated (range) |",
        "|---|---:|---:|---:|---:|",
        *[f"| {name} | {v['requests']} | {v['bytes']:,} B | {v['assetBytes']:,} B | {v['interactiveMs']:,.0f} ms "
          f"({v['interactiveMsRange'][0]:,.0f}–{v['interactiveMsRange'][1]:,.0f}) |"
          for name, v in (("First visit (empty cache)", first), ("Repeat visit", repeat))],
        "",
        f"Release WASM: {facts['wasm_raw']:,} B raw, {facts['wasm_gzip']:,} B gzip -9 "
        f"(JS glue {facts['js_gzip']:,} B gzip).",
        "",
        "| Budget | Measured | Status |",
        "|---|---|---|",
    ]
    slowest = max(statics, key=lambda s: s[1])
    lines.append(check("Static asset p50 ≤ 1 ms on one connection", slowest[1] <= DELIVERY_BUDGETS["static_p50_ms"],
                       f"slowest: {slowest[0]}, {slowest[1]:.2f} ms"))
    lines.append(check("Repeat visit downloads 0 asset bytes (every round)", repeat["assetBytesMax"] == 0,
                       f"at most {repeat['assetBytesMax']:,} B"))
    lines.append(check("Detail page WASM ≤ 80 KB gzip", facts["wasm_gzip"] <= BUDGETS["detail_wasm_gzip_kb"] * 1024,
                       f"{facts['wasm_gzip'] / 1024:.1f} KB"))
    lines.append(check(f"API list ≤ 0.21 ms per request on one connection, {jobs:,} jobs (p50)",
                       api_list[1] <= DELIVERY_BUDGETS["api_list_p50_ms"], f"{api_list[1]:.2f} ms"))
    lines.append(check("First-visit detail page interactive ≤ 150 ms on loopback (median)",
                       first["interactiveMs"] <= DELIVERY_BUDGETS["first_visit_interactive_ms"],
                       f"{first['interactiveMs']:,.0f} ms"))
    lines.append(DELIVERY_END)
    write_section(DELIVERY_BEGIN, DELIVERY_END, "\n".join(lines))


# ---------------------------------------------------------------------------
# bench/run --exports N: exports against the database's own client, alone.

EXPORTS_BEGIN = "<!-- exports: written by bench/run --exports; kept by the full run -->"
EXPORTS_END = "<!-- end of exports -->"


def exports_main(jobs):
    all_results = {}
    backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
    for port, backend in enumerate(backends, start=3221):
        if backend == "sqlite":
            db_file = WORK / "exports.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_file) + suffix).unlink(missing_ok=True)
            db_url, db_ref = f"sqlite://{db_file}", str(db_file)
        else:
            run(["psql", PG_ADMIN, "-qc", "DROP DATABASE IF EXISTS regen_exports WITH (FORCE)"])
            run(["psql", PG_ADMIN, "-qc", "CREATE DATABASE regen_exports"])
            db_url = db_ref = PG_ADMIN.rsplit("/", 1)[0] + "/regen_exports"
        log(f"[{backend}] seeding {jobs:,} jobs")
        token = seed(db_url, jobs)[1]
        settle(backend, db_ref)
        server = Server(db_url, port)
        try:
            all_results[backend] = exports.versus_client(server.base(), token, backend, db_ref, jobs, log)
        finally:
            server.stop()
    table, budgets = exports.report_lines(all_results, check)
    lines = [EXPORTS_BEGIN, "", f"## Exports against the database's own client ({jobs:,} jobs)", "",
             f"Written by `bench/run --exports {jobs}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"the same rows, columns and order; {exports.ROUNDS} alternated rounds, warm; the cold pair is each "
             "one's first read after the page cache was dropped.", "", *table, "",
             "| Budget | Measured | Status |", "|---|---|---|", *budgets, EXPORTS_END]
    write_section(EXPORTS_BEGIN, EXPORTS_END, "\n".join(lines))


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    mode = sys.argv[1] if sys.argv[1:2] in (["--delivery"], ["--scale"], ["--exports"]) else None
    args = sys.argv[2:] if mode else sys.argv[1:]
    if mode == "--delivery":
        delivery_main(int(args[0]) if args else 1_000_000)
    elif mode == "--scale":
        scale_main(int(args[0]) if args else 10_000_000)
    elif mode == "--exports":
        exports_main(int(args[0]) if args else 1_000_000)
    else:
        jobs = int(args[0]) if args else 1_000_000
        wasm_sizes()
        backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
        if "sqlite" in backends:
            bench_backend("sqlite", jobs, 3201)
        if "postgres" in backends:
            bench_backend("postgres", jobs, 3202)
        write_report(jobs)
    if missed:
        print("\nbudgets missed:\n  " + "\n  ".join(missed), file=sys.stderr)
        sys.exit(1)

if __name__ == "__main__":
    main()
