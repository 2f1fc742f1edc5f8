#!/usr/bin/env bash
# Builds and runs the Java example against qvg4j as a Maven user gets it: qvg4j's reference and formats
# modules are installed (with their sources and javadoc jars, -Ppublish) into a private local repository,
# never into ~/.m2, and the example resolves them from there. Needs JDK 25+, Maven 3.8+ and Maven Central
# for the plugins and jackson-core. EXAMPLE_REPO overrides the repository; EXAMPLE_MAVEN_FLAGS adds Maven
# flags (e.g. "-s settings.xml" with a mirror).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
repo="${EXAMPLE_REPO:-$(mktemp -d)}"
export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
# shellcheck disable=SC2086
mvn() { command mvn -B -q -Dmaven.repo.local="$repo" ${EXAMPLE_MAVEN_FLAGS:-} "$@"; }

mvn -f "$root/pom.xml" -pl reference,formats -am -Ppublish install -DskipTests
for a in reference formats; do
  for kind in "" -sources -javadoc; do
    test -f "$repo/io/qvg4j/qvg4j-$a/0.1.0/qvg4j-$a-0.1.0$kind.jar" || { echo "example: qvg4j-$a$kind jar not installed" >&2; exit 1; }
  done
done
mvn -f "$here/pom.xml" compile org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
  -Dmdep.outputFile="$here/target/classpath.txt"
exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" \
  io.qvg4j.examples.QuantizeSafetensors "$@"
