#!/bin/bash
# Expected: one outcome (jsonata-js: D3137 or a string), not a stack overflow.
cd "$(dirname "$0")"
"${QUICKSTEP:-quickstep}" run definition.asl.json --input-file input.json --virtual-time
