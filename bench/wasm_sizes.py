#!/usr/bin/env python3
"""Where the WASM's bytes go: code size per function, summed per crate.

Usage: bench/wasm_sizes.py FILE.wasm [--top N]

Reads the module's `name` section, so give it a build that still has one
(cargo-leptos' input to wasm-bindgen under target/front/…, not the shipped,
stripped file). Prints the section sizes, then the crates and functions with
the most code. Raw bytes, not gzip: a guide to where to cut, not a budget.
"""
import re
import shutil
import subprocess
import sys
from collections import defaultdict


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sections(data):
    pos = 8
    while pos < len(data):
        kind = data[pos]
        size, pos = leb(data, pos + 1)
        yield kind, data[pos:pos + size]
        pos += size


def imported_functions(body):
    count, pos = leb(body, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            n, pos = leb(body, pos)
            pos += n
        kind = body[pos]
        pos += 1
        if kind == 0:
            functions += 1
            _, pos = leb(body, pos)
        elif kind == 1:  # table: reftype + limits
            pos += 1
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 3:  # global: type + mutability
            pos += 2
    return functions


def function_names(body):
    names = {}
    n, pos = leb(body, 0)
    pos += n  # the section's own name, "name"
    while pos < len(body):
        sub = body[pos]
        size, pos = leb(body, pos + 1)
        end = pos + size
        if sub == 1:
            count, p = leb(body, pos)
            for _ in range(count):
                index, p = leb(body, p)
                length, p = leb(body, p)
                names[index] = body[p:p + length].decode("utf-8", "replace")
                p += length
        pos = end
    return names


CRATE = re.compile(r"^(?:&(?:mut )?)?(?:dyn )?(?:\[)?([A-Za-z_][A-Za-z0-9_]*)")


def crate_of(name):
    # `<a::B as c::D>::f` counts for the implementing type's crate.
    match = CRATE.match(name.lstrip("<"))
    return match.group(1) if match else "?"


def demangled(names):
    """Rust symbol names as paths, through binutils' c++filt (which reads
    both of rustc's manglings); unchanged where it is missing."""
    if not names or not shutil.which("c++filt"):
        return names
    keys = list(names)
    text = "\n".join(names[k].replace("\n", " ") for k in keys)
    out = subprocess.run(["c++filt"], input=text, capture_output=True, text=True).stdout
    lines = out.split("\n")
    if len(lines) < len(keys):
        return names
    # Drop the legacy mangling's trailing hash (::h0123456789abcdef).
    return {k: re.sub(r"::h[0-9a-f]{16}$", "", line) for k, line in zip(keys, lines)}


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 40
    data = open(path, "rb").read()
    section_names = {0: "custom", 1: "type", 2: "import", 3: "function", 5: "memory",
                     6: "global", 7: "export", 9: "element", 10: "code", 11: "data"}
    imports = 0
    code_sizes = []
    names = {}
    print(f"{path}: {len(data):,} bytes")
    for kind, body in sections(data):
        label = section_names.get(kind, str(kind))
        if kind == 0:
            n, p = leb(body, 0)
            label = "custom " + body[p:p + n].decode()
            if label == "custom name":
                names = demangled(function_names(body))
        print(f"  section {label:<24} {len(body):>10,}")
        if kind == 2:
            imports = imported_functions(body)
        elif kind == 10:
            count, pos = leb(body, 0)
            for _ in range(count):
                size, pos = leb(body, pos)
                code_sizes.append(size)
                pos += size
    per_crate = defaultdict(int)
    per_function = []
    for i, size in enumerate(code_sizes):
        name = names.get(imports + i, f"function[{imports + i}]")
        per_crate[crate_of(name)] += size
        per_function.append((size, name))
    total = sum(code_sizes)
    print(f"\ncode: {total:,} bytes in {len(code_sizes):,} functions; by crate:")
    for crate, size in sorted(per_crate.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {size:>9,}  {100 * size / total:5.1f} %  {crate}")
    print(f"\nlargest functions:")
    for size, name in sorted(per_function, reverse=True)[:top]:
        print(f"  {size:>9,}  {name[:150]}")


if __name__ == "__main__":
    main()
