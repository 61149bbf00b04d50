#!/usr/bin/env python3
"""Trigger throughput of two builds, each on its own database, measured the
way bench/run measures it (the Python client, 32 keep-alive connections,
fresh PENDING jobs), rounds alternated A B, B A, … so neither arm gains from
going first or from the machine's drift. For comparisons that one build
cannot make with itself, such as this round's product against the one the
observe issue was filed on.

    bench/versus.py BINARY_A,DATABASE_URL_A BINARY_B,DATABASE_URL_B [ROUNDS]

VERSUS_CONNECTIONS=1 measures on one keep-alive connection instead of 32.

Each database must already hold the jobs (seeded the same way for both arms)
and an `admin` account; a token is created with each arm's own binary. Each
round starts the arm's server, triggers 2,000 jobs to warm it, then measures
4,000. Prints each round and the median per arm.
"""
import os
import statistics
import sys

arms = {}
for label, spec in zip("AB", sys.argv[1:3]):
    binary, url = spec.split(",", 1)
    arms[label] = (binary, url)
if len(arms) != 2:
    raise SystemExit(__doc__)
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
os.environ.setdefault("REGEN_BIN", arms["A"][0])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (reads REGEN_BIN when imported)

bench.CONNECTIONS = int(os.environ.get("VERSUS_CONNECTIONS", bench.CONNECTIONS))

tokens = {label: bench.run([binary, "token", "create", "admin"], env={"DATABASE_URL": url}).stdout.strip()
          for label, (binary, url) in arms.items()}
results = {label: [] for label in arms}
for round_number in range(rounds):
    for label in ("A", "B") if round_number % 2 == 0 else ("B", "A"):
        binary, url = arms[label]
        bench.BIN = binary
        server = bench.Server(url, 18500)
        try:
            bench.trigger_throughput(server, tokens[label], label, count=2000, record=False)
            _, _, rps, p50, p99, _, _ = bench.trigger_throughput(server, tokens[label], label, count=4000,
                                                                 record=False)
        finally:
            server.stop()
        results[label].append(rps)
        print(f"round {round_number + 1} {label}: {rps:,.0f} triggers/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
              flush=True)
for label, values in results.items():
    print(f"{label} ({arms[label][0]}): median {statistics.median(values):,.0f} triggers/s "
          f"({', '.join(f'{value:,.0f}' for value in values)})")
a, b = (statistics.median(results[label]) for label in "AB")
print(f"B/A = {b / a:.0%}")
