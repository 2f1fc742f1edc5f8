#!/usr/bin/env bash
# Coverage-guided fuzzing of the file parsers with Jazzer's standalone driver.
#
# Why not JAZZER_FUZZ=1 mvn test: Jazzer 0.24.0 instruments classes with a bundled ASM/JaCoCo that
# rejects class file version 69 (Java 25), so in the Maven build it fuzzes without coverage feedback.
# This script compiles the reference and io sources for Java 22 (class version 66, which Jazzer can
# instrument) into a scratch directory and runs each target for SECONDS (default 120).
# Usage: formats/fuzz-parsers.sh [SECONDS] [TARGET...]   (targets: npy npz safetensorsHeader safetensors qkv)
# Needs the Maven dependencies downloaded (run the build once) and a JDK 25 in JAVA_HOME.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-120}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(npy npz safetensorsHeader safetensors qkv)
m2="${M2_REPO:-$HOME/.m2/repository}"
jz="$m2/com/code-intelligence"
cp="$m2/com/fasterxml/jackson/core/jackson-core/2.20.1/jackson-core-2.20.1.jar:$jz/jazzer-api/0.24.0/jazzer-api-0.24.0.jar:$jz/jazzer-junit/0.24.0/jazzer-junit-0.24.0.jar"
work="${FUZZ_WORK:-$root/formats/target/fuzz}"
mkdir -p "$work/classes"
"$JAVA_HOME/bin/javac" --release 22 -nowarn -d "$work/classes" -cp "$cp" \
  $(find "$root/reference/src/main/java" -name '*.java') "$root"/formats/src/main/java/io/qvg4j/io/*.java \
  "$root/formats/src/test/java/io/qvg4j/io/ParserFuzzTest.java" "$root/formats/src/test/java/io/qvg4j/io/ParserFuzzMain.java"
seeds="$root/formats/src/test/resources/io/qvg4j/io/ParserFuzzTestInputs"
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/findings/$t"
  echo "=== $t: ${seconds}s"
  "$JAVA_HOME/bin/java" -Xmx1g -cp "$jz/jazzer/0.24.0/jazzer-0.24.0.jar:$cp:$work/classes" \
    -Dqvg4j.fuzz.target="$t" com.code_intelligence.jazzer.Jazzer \
    --target_class=io.qvg4j.io.ParserFuzzMain --instrumentation_includes='io.qvg4j.**' \
    --reproducer_path="$work/findings/$t" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$work/findings/$t/" \
    "$work/corpus/$t" "$seeds/$t"
done
