#!/bin/bash
# Expected: one outcome (a number, or an error), not a stack overflow. The value built is 40,000
# arrays deep and tiny; the path step `.x` over it recurses once per level.
cd "$(dirname "$0")"
"${QUICKSTEP:-quickstep}" run definition.asl.json --input-file input.json --virtual-time
