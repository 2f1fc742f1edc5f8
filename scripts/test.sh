#!/usr/bin/env bash
# Runs every test of qvg4j: the full build with the Vector API at the machine's widest vector, then the
# property suite again with 128-bit vectors and once without the incubator module (the scalar fallback).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate" | cut -d. -f1)" -ge 25 ] 2>/dev/null; then
    export JAVA_HOME="$candidate"; break
  fi
done
if [ -z "${JAVA_HOME:-}" ] || [ "$(java_major "$JAVA_HOME" | cut -d. -f1)" -lt 25 ] 2>/dev/null; then
  echo "test: no JDK 25 found: set JAVA_HOME to a JDK 25 or newer (e.g. Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  exit 2
fi
export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
echo "test: JDK $(java_major "$JAVA_HOME") at $JAVA_HOME"

# Every run says what it tests through -Dqvg4j.require (io.qvg4j.testkit.Require): a test whose
# capability is listed fails, with one line naming it, where it would otherwise be skipped.
echo "== 1/6: all modules, default vector width (requires the Vector API and an OpenCL device)"
mvn -B verify -Dqvg4j.require=simd,opencl

# The SIMD kernels and properties again with 128-bit vectors: results must not depend on the width.
# SimdAfterC2Test runs the kernels at the preferred width, now 128, until C2 has compiled them.
# Only io.qvg4j.simd.** runs here, no OpenCL test, so requiring opencl would claim nothing.
echo "== 2/6: SIMD tests and properties with -XX:MaxVectorSize=16 (128-bit vectors)"
mvn -B -pl kernels-simd,property-tests -am verify -Dsurefire.extraArgs=-XX:MaxVectorSize=16 -Dqvg4j.require=simd \
  -Dtest='io.qvg4j.simd.**' -Dsurefire.failIfNoSpecifiedTests=false

# Without jdk.incubator.vector the provider must fall back to the reference and say why.
echo "== 3/6: without --add-modules jdk.incubator.vector (the scalar fallback)"
mvn -B -pl kernels-simd,property-tests -am verify -Dtest.vector.flag= -Dqvg4j.require=reference \
  -Dtest='io.qvg4j.simd.**' -Dsurefire.failIfNoSpecifiedTests=false

# The known-answer vectors checked by an implementation that is not qvg4j: NumPy alone, from SPEC.md.
echo "== 4/6: examples/python/check_vectors.py on vectors/ (NumPy only)"
python3 examples/python/check_vectors.py vectors

# The quality report in a real browser: every figure must load, no script error (qvg report, Chromium headless).
echo "== 5/6: qvg report rendered by headless Chromium"
"$root/scripts/report-check.sh" "$root/target/report"

# The examples as users run them: the Java one against qvg4j installed into a private Maven repository
# (never ~/.m2; needs Maven Central), the Python one with NumPy through ./qvg.
echo "== 6/6: examples/java/run.sh and examples/python/roundtrip.py"
examples/java/run.sh
python3 examples/python/roundtrip.py
