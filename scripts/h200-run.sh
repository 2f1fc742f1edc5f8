#!/usr/bin/env bash
# Reproduces the OpenCL run on an NVIDIA GPU machine that has no Java (the H200 of docs/gpu.md).
#
#   scripts/h200-run.sh prepare [DIR]   here (JDK 25 + Maven): builds qvg.jar, the OpenCL tests and their
#                                       jars and a jlink'ed JDK 25 runtime (jdk.tar.gz) into DIR (default
#                                       .devrun, ignored by git), with this script
#   bash DIR/h200-run.sh device         there, DIR inside the checkout (the corpus is ../conformance): prints nvidia-smi -L, qvg devices, the
#                                       corpus with --impl opencl, the OpenCL tests (JUnit summary) and
#                                       the encode/decode timings of GpuBenchmark, then one more run of
#                                       each configuration checked against the reference codec on the host
#                                       (bit-identical or not). Exit status 1 if any step fails.
#   bash DIR/h200-run.sh simd           there too: the Vector API paths at that machine's own width (512 bits on
#                                       its AVX-512 host CPU, which CI lacks): qvg golden --impl simd and the
#                                       SIMD tests that need no JFR (the jlink'ed runtime has none).
# Variables: DEVICE (index from 'qvg devices', default 0), EXAMPLES (examples of every property instead of
# each property's own count, which is the CI budget; default unset),
# BENCH_ARGS (extra GpuBenchmark options, e.g. "--heads 2 --tokens 1000" for a quick try).
set -euo pipefail

prepare() {
  local root dir jdk
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$(mkdir -p "${1:-$root/.devrun}" && cd "${1:-$root/.devrun}" && pwd)"
  jdk="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  export JAVA_HOME="$jdk" MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
  cd "$root"
  mvn -B ${MVN_FLAGS:-} -pl cli,property-tests -am install -DskipTests
  rm -rf "$dir/lib" "$dir/gpu-tests" "$dir/property-tests" "$dir/jdk"
  mvn -B ${MVN_FLAGS:-} -pl property-tests dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$dir/lib"
  cp -r gpu/target/test-classes "$dir/gpu-tests"
  cp -r property-tests/target/test-classes "$dir/property-tests"
  cp cli/target/qvg.jar scripts/h200-run.sh "$dir/"
  # JOCL needs java.base and java.logging (jdeps); the launcher loads the Vector API module.
  "$jdk/bin/jlink" --add-modules java.base,java.logging,jdk.incubator.vector,jdk.unsupported \
    --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$dir/jdk"
  tar -C "$dir" -czf "$dir/jdk.tar.gz" jdk
  rm -rf "$dir/jdk"
  du -sh "$dir"
}

# Unpacks the jlink'ed runtime of DIR and sets java to its launcher with the options qvg needs.
runtime() {
  mkdir -p /tmp/qvg-runtime && tar -C /tmp/qvg-runtime -xzf "$1/jdk.tar.gz"
  java=(/tmp/qvg-runtime/jdk/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector)
}

simd() {
  local dir java status=0
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  runtime "$dir"
  echo "== cpu"; lscpu | grep -E "Model name|^CPU\(s\)"; { grep -o 'avx512[a-z_]*' /proc/cpuinfo || true; } | sort -u | tr '\n' ' '; echo
  echo "== qvg quantize --impl simd (the width it picks)"
  "${java[@]}" -jar "$dir/qvg.jar" quantize "$dir/../conformance/city_a_k.npy" -o /tmp/qvg-simd.qkv --impl simd 2>&1 | grep "impl" || status=1
  echo "== qvg golden --impl simd"
  "${java[@]}" -jar "$dir/qvg.jar" golden "$dir/../conformance" --impl simd | tail -1 || status=1
  # One JVM per class where the class says so (SimdExpSweepTest: C2 folds the one width it runs).
  for classes in io.qvg4j.simd.SimdExpSweepTest io.qvg4j.simd.SimdExpTest \
      "io.qvg4j.simd.SimdKernelsTest io.qvg4j.simd.SimdAttentionTest io.qvg4j.simd.KernelProviderTest"; do
    echo "== $classes"
    # shellcheck disable=SC2086
    "${java[@]}" -Dqvg4j.require=simd -cp "$dir/property-tests:$dir/lib/*" io.qvg4j.properties.DeviceTestMain $classes \
      | grep -E "tests (found|successful|failed)|device tests|=>" || status=1
  done
  return $status
}

device() {
  local dir java status=0
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  runtime "$dir"
  # NVIDIA's OpenCL: without these the ICD loader there finds no NVIDIA platform. libjsig chains the
  # JVM's signal handlers with the driver's; without it the JVM died of SIGSEGV under load there.
  if [ -e /usr/local/nvidia/lib64/libnvidia-opencl.so.1 ]; then
    export LD_PRELOAD=/tmp/qvg-runtime/jdk/lib/libjsig.so:/usr/local/cuda/targets/x86_64-linux/lib/libOpenCL.so.1
    export OCL_ICD_FILENAMES=/usr/local/nvidia/lib64/libnvidia-opencl.so.1
  fi
  echo "== nvidia-smi -L"; nvidia-smi -L || true
  echo "== qvg devices"; "${java[@]}" -jar "$dir/qvg.jar" devices || status=1
  echo "== qvg conformance --impl opencl"
  "${java[@]}" -jar "$dir/qvg.jar" conformance "$dir/../conformance" --impl opencl --device "${DEVICE:-0}" || status=1
  echo "== OpenCL tests (JUnit)"
  "${java[@]}" -Dqvg4j.device="${DEVICE:-0}" -Dqvg4j.require=opencl ${EXAMPLES:+-Dqvg4j.examples="$EXAMPLES"} \
    -cp "$dir/gpu-tests:$dir/property-tests:$dir/lib/*" io.qvg4j.properties.DeviceTestMain \
    io.qvg4j.gpu.OpenClKernelsTest io.qvg4j.gpu.OpenClCodecTest io.qvg4j.gpu.OpenClGoldenTest \
    io.qvg4j.gpu.OpenClCorpusTest io.qvg4j.gpu.ClRuntimeTest io.qvg4j.gpu.OpenClRelatedOptionsTest io.qvg4j.gpu.OpenClFilteredAssignTest \
    io.qvg4j.properties.OpenClPropertiesTest || status=1
  echo "== timings"
  "${java[@]}" -Xmx32g -cp "$dir/qvg.jar" io.qvg4j.gpu.GpuBenchmark --device "${DEVICE:-0}" ${BENCH_ARGS:-} || status=1
  echo "== one more run of each configuration, compared with the reference codec on every host thread"
  "${java[@]}" -Xmx32g -cp "$dir/qvg.jar" io.qvg4j.gpu.GpuBenchmark --device "${DEVICE:-0}" --warmup 0 --reps 1 --check \
    ${BENCH_ARGS:-} || status=1
  return $status
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  device) device ;;
  simd) simd ;;
  *) echo "usage: $0 prepare [DIR] | device | simd" >&2; exit 2 ;;
esac
