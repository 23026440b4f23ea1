#!/usr/bin/env python3
"""Builds seed corpora for the fuzz targets from the repository's test data.

    python3 fuzz/seed.py [OUT]      # OUT defaults to fuzz/seeds (not committed)

Then minimise into the committed corpus with `cargo fuzz cmin` (see fuzz/README.md), or
copy a few files. Seeds per target:

- definition: every definition of tests/data/conformance (cases and invalid), the
  workloads, the robustness cases, examples; plus structured seeds (a non-text first byte).
- input: the inputs of the conformance cases, the workloads and the robustness cases.
- path_intrinsic: the paths and intrinsic calls found in those definitions.
- jsonata: the expressions of tests/data/jsonata-suite/groups and the `{% %}` bodies of the
  definitions.
- json_reader: the inputs and the case files themselves (as JSON texts).
- mock_config: examples/mocks/MockConfigFile.json.

The robustness cases (known findings) go to OUT/known/<target> instead.
"""
import hashlib
import json
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "seeds")

PATH_FIELDS = {"InputPath", "OutputPath", "ResultPath", "ItemsPath", "Variable", "SecondsPath", "TimestampPath",
               "ErrorPath", "CausePath", "MaxConcurrencyPath", "ToleratedFailurePercentagePath",
               "ToleratedFailureCountPath"}

seeds = {t: {} for t in ["definition", "input", "path_intrinsic", "jsonata", "json_reader", "mock_config"]}


def add(target, text, limit=64 * 1024):
    try:
        data = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:
        return
    if not data or len(data) > limit:
        return
    seeds[target][hashlib.sha1(data).hexdigest()] = data


def walk(v, key=None):
    """Paths, intrinsic calls and JSONata bodies in a definition."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, k)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x, key)
    elif isinstance(v, str):
        if v.startswith("{%") and v.endswith("%}"):
            yield "jsonata", v[2:-2].strip()
        elif key and (key.endswith(".$") or key in PATH_FIELDS or key.endswith("Path")):
            yield "path_intrinsic", v


def definition(d):
    add("definition", json.dumps(d, indent=2, ensure_ascii=False))
    for target, s in walk(d):
        add(target, s, 4096)


def files(*parts, ext=".json"):
    base = os.path.join(DATA, *parts) if parts[0] != "examples" else os.path.join(ROOT, *parts)
    for dirpath, _, names in os.walk(base):
        for n in sorted(names):
            if n.endswith(ext):
                yield os.path.join(dirpath, n)


for f in files("conformance", "cases"):
    case = json.load(open(f))
    definition(case.get("definition", {}))
    if "input" in case:
        text = json.dumps(case["input"], ensure_ascii=False)
        add("input", text)
        add("json_reader", text)
    add("json_reader", open(f, encoding="utf-8").read(), 16 * 1024)
for f in files("conformance", "invalid"):
    d = json.load(open(f)).get("definition")
    if isinstance(d, str):
        add("definition", d)
    elif d is not None:
        definition(d)
known = {t: {} for t in seeds}
for f in list(files("workloads")) + list(files("robustness")) + list(files("examples")):
    text = open(f, encoding="utf-8").read()
    # the robustness cases are known findings: their seeds go to OUT/known/<target>, to reach
    # them on purpose, not into a corpus that must run clean
    robust = os.sep + "robustness" + os.sep in f
    saved = seeds
    if robust:
        seeds = known
    name = os.path.basename(f)
    if name.endswith(".asl.json") or name == "definition.asl.json":
        add("definition", text)
        try:
            definition(json.loads(text))
        except ValueError:
            pass
    elif "MockConfig" in name:
        add("mock_config", text)
    elif "expected" not in name:
        add("input", text)
        add("json_reader", text)
    seeds = saved
for f in files("jsonata-suite", "groups"):
    try:
        cases = json.load(open(f))
    except ValueError:
        continue
    for c in cases if isinstance(cases, list) else [cases]:
        if isinstance(c, dict) and isinstance(c.get("expr"), str):
            add("jsonata", c["expr"], 4096)

# structured seeds: a first byte that is not text, then random bytes
rng = random.Random(16)
for target in seeds:
    first = 0xF5 if target == "json_reader" else 0x01
    for n in (8, 32, 128, 512, 2048):
        for _ in range(6):
            add(target, bytes([first]) + bytes(rng.randrange(256) for _ in range(n)))

for target, found in list(seeds.items()) + [("known/" + t, f) for t, f in known.items() if f]:
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for name, data in found.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    print(f"{target}: {len(found)} seeds in {d}")
