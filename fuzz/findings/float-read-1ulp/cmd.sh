#!/bin/bash
# Expected (AWS reads numbers with Jackson, correctly rounded; Java prints the shortest text):
#   {"x":-4.111376077859554E274,"y":-4.1113760778595534E274}
# quickstep at 071ac63 prints x and y swapped in their last digits: each is read one ULP off.
cd "$(dirname "$0")"
"${QUICKSTEP:-quickstep}" run definition.asl.json --input-file input.json --virtual-time
