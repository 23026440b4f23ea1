#!/bin/bash
# Expected: States.DataLimitExceeded at once. The output is 20,000 references to one 100 KB
# string (2 GB as text, a few hundred KB in memory); the payload check measures all 2 GB of it
# before failing (83 s in the fuzz build; linear in the number of references).
cd "$(dirname "$0")"
"${QUICKSTEP:-quickstep}" run definition.asl.json --input-file input.json --virtual-time
