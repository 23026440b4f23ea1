#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each on the committed corpus (fuzz/corpus/<target>),
# with its dictionary, libFuzzer's -timeout=2 (the hang criterion) and -rss_limit_mb=1024.
# Prints one summary line per target; exits non-zero when any target finds something (the
# input is then in fuzz/artifacts/<target>/).
#
#   fuzz/run-all.sh 5              # 5 seconds per target
#   TARGETS="jsonata input" fuzz/run-all.sh 30
#   FUZZ_SANITIZER=none fuzz/run-all.sh 4   # without AddressSanitizer (faster to build)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and the nightly toolchain; builds the
# targets if needed (`cargo +nightly fuzz build`). New inputs go to a temporary directory, not
# into the committed corpus.
set -u
seconds=${1:?usage: fuzz/run-all.sh SECONDS}
cd "$(dirname "$0")"
targets=${TARGETS:-$(cargo +nightly fuzz list)}
dict_of() {
    case $1 in
        jsonata) echo dict/jsonata.dict ;;
        json_reader) echo dict/json.dict ;;
        definition) cat dict/asl.dict dict/jsonata.dict >"$work/definition.dict"; echo "$work/definition.dict" ;;
        *) echo dict/asl.dict ;;
    esac
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# FUZZ_SANITIZER=none builds without AddressSanitizer: a third of the build time (CI's choice);
# campaigns keep the default, address.
sanitizer=${FUZZ_SANITIZER:-address}
cargo +nightly fuzz build --sanitizer "$sanitizer" >/dev/null 2>"$work/build.log" || { cat "$work/build.log"; exit 2; }
failed=0
for t in $targets; do
    mkdir -p "$work/$t" "corpus/$t" "artifacts/$t"
    start=$(date +%s)
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "$work/$t" "corpus/$t" -- \
        -dict="$(dict_of "$t")" -max_total_time="$seconds" -timeout=2 -rss_limit_mb=1024 \
        -print_final_stats=1 >"$work/$t.log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$t.log" | tail -1)
    if [ $status -eq 0 ]; then
        result=ok
    else
        result="FOUND SOMETHING (exit $status): $(grep -m1 -E 'panicked at|ERROR: libFuzzer' "$work/$t.log" | cut -c1-160)"
        artifact=$(grep -oE 'Test unit written to .*' "$work/$t.log" | tail -1)
        [ -n "$artifact" ] && result="$result; $artifact"
        failed=1
        tail -40 "$work/$t.log" >&2
    fi
    printf '%-15s %4ss  %9s execs  %-22s %s\n' "$t" "$elapsed" "${execs:-?}" "${cov:-cov: ?}" "$result"
done
exit $failed
