"""Exports against the database's own client (issue 30): the same rows,
columns and order, read by `sqlite3 -csv` or psql's `\\copy … to stdout`,
and by regen-admin's export as a client downloads it (curl, one
connection). Rounds alternate product and client so that whatever else
the machine does weighs on both; the median and the spread are reported.
The cold figure is each one's first read after the page cache is dropped
(when this machine lets us drop it)."""

import statistics
import subprocess
import time
from pathlib import Path

ORDER = "ORDER BY created_at DESC, id DESC"
COLUMNS = {
    "csv": "id, status, target_type, target_id, created_at, created_by",
    "ndjson": "id, status, target_type, target_id, instruction_json, output_ref, error_json, created_at, created_by",
}
BUDGET_RATIO = {"csv": 1.5, "ndjson": 2.0}
ROUNDS = 3


def _timed(args):
    started = time.monotonic()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return time.monotonic() - started, out


def client_args(backend, db_ref, fmt):
    """The database's own client reading what the export reads."""
    sql = f"SELECT {COLUMNS[fmt]} FROM regeneration_jobs {ORDER}"
    if backend == "sqlite":
        return ["sqlite3", "-csv", db_ref, sql]
    return ["psql", db_ref, "-qc", f"\\copy ({sql}) to stdout"]


def _client(backend, db_ref, fmt):
    started = time.monotonic()
    subprocess.run(client_args(backend, db_ref, fmt), check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def _product(base, token, fmt):
    seconds, out = _timed(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}",
                           "-H", f"Authorization: Bearer {token}",
                           f"{base}/api/admin/regeneration-jobs/export?format={fmt}"])
    return seconds, int(out)


def _drop_page_cache():
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3")
        return True
    except OSError:
        return False


def cold_pair(base, token, backend, db_ref, fmt):
    """(product s, client s), each the first read after the page cache was
    dropped; None where this machine does not let us drop it."""
    if not _drop_page_cache():
        return None
    product = _product(base, token, fmt)[0]
    _drop_page_cache()
    return product, _client(backend, db_ref, fmt)


def at_scale(base, token, backend, db_ref, jobs, log):
    """{fmt: {...}} for the scale run: the cold pair, then one warm round of
    each (the cold reads leave the file in the page cache when it fits).
    One round, not three: at 10M a round takes minutes."""
    results = {}
    for fmt in ("csv", "ndjson"):
        cold = cold_pair(base, token, backend, db_ref, fmt)
        product, size = _product(base, token, fmt)
        client = _client(backend, db_ref, fmt)
        results[fmt] = {"cold": cold, "product": product, "client": client, "bytes": size}
        cold_text = f"cold {cold[0]:.1f} s vs {cold[1]:.1f} s; " if cold else "cold: page cache not droppable; "
        log(f"export {fmt} at {jobs:,} [{backend}]: {cold_text}then {product:.1f} s vs {client:.1f} s "
            f"({product / client:.2f}x), {size / 1e6:,.0f} MB")
    return results


def scale_lines(results, database_bytes):
    """The scale run's export table for RESULTS.md."""
    lines = ["| Export | Backend | database size | cold: regen-admin / client s (ratio) | "
             "next read: regen-admin / client s (ratio) | bytes |", "|---|---|---:|---:|---:|---:|"]
    for backend, by_format in results.items():
        for fmt, r in by_format.items():
            cold = (f"{r['cold'][0]:.1f} / {r['cold'][1]:.1f} ({r['cold'][0] / r['cold'][1]:.2f}×)"
                    if r["cold"] else "–")
            lines.append(f"| {fmt.upper()} | {backend} | {database_bytes[backend] / 1e9:.1f} GB | {cold} | "
                         f"{r['product']:.1f} / {r['client']:.1f} ({r['product'] / r['client']:.2f}×) | "
                         f"{r['bytes'] / 1e6:,.0f} MB |")
    return lines


def versus_client(base, token, backend, db_ref, jobs, log):
    """{fmt: {...}} for CSV and NDJSON: seconds (product, client) per round,
    bytes, rows/s, MB/s, and the cold pair."""
    results = {}
    for fmt in ("csv", "ndjson"):
        cold = cold_pair(base, token, backend, db_ref, fmt)
        # Warm both once, unmeasured.
        _product(base, token, fmt)
        _client(backend, db_ref, fmt)
        product, client, size = [], [], 0
        for _ in range(ROUNDS):
            seconds, size = _product(base, token, fmt)
            product.append(seconds)
            client.append(_client(backend, db_ref, fmt))
        p, c = statistics.median(product), statistics.median(client)
        results[fmt] = {
            "product": product, "client": client, "bytes": size, "ratio": p / c,
            "rows_per_s": jobs / p, "mb_per_s": size / p / 1e6, "cold": cold,
        }
        cold_text = f"; cold {cold[0]:.2f} s vs {cold[1]:.2f} s" if cold else "; cold: page cache not droppable here"
        log(f"export {fmt} [{backend}]: {p:.2f} s (spread {min(product):.2f}-{max(product):.2f}) vs client "
            f"{c:.2f} s ({min(client):.2f}-{max(client):.2f}): {p / c:.2f}x, {jobs / p:,.0f} rows/s, "
            f"{size / p / 1e6:.0f} MB/s{cold_text}")
    return results


def report_lines(all_results, check):
    """The table and the budget lines for RESULTS.md."""
    lines = [
        "| Export | Backend | regen-admin s (median, range) | database client s (median, range) | ratio | rows/s | MB/s | cold: regen-admin / client s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, results in all_results.items():
        for fmt, r in results.items():
            cold = f"{r['cold'][0]:.2f} / {r['cold'][1]:.2f}" if r["cold"] else "–"
            lines.append(
                f"| {fmt.upper()} | {backend} | {statistics.median(r['product']):.2f} "
                f"({min(r['product']):.2f}–{max(r['product']):.2f}) | {statistics.median(r['client']):.2f} "
                f"({min(r['client']):.2f}–{max(r['client']):.2f}) | {r['ratio']:.2f}× | {r['rows_per_s']:,.0f} | "
                f"{r['mb_per_s']:.0f} | {cold} |")
    budget_lines = []
    for backend, results in all_results.items():
        for fmt, r in results.items():
            budget_lines.append(check(f"Export {fmt.upper()} ≤ {BUDGET_RATIO[fmt]}× the database client, warm ({backend})",
                                      r["ratio"] <= BUDGET_RATIO[fmt], f"{r['ratio']:.2f}×"))
    return lines, budget_lines
