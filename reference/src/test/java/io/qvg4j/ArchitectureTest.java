package io.qvg4j;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The structure ARCHITECTURE.md promises, read from the main sources of every module: no cycle between
 * packages, the reference depending on nothing outside the JDK, no implementation named by a string in
 * the reference, and the formats module free of the command line, OpenCL and JMH.
 */
class ArchitectureTest {
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)\\s*;", Pattern.MULTILINE);
    /** A use of another qvg4j package by its full name, in code or javadoc ({@code io.qvg4j.x.Type}). */
    private static final Pattern QUALIFIED = Pattern.compile("\\b(io\\.qvg4j(?:\\.[a-z]\\w*)+)\\.[A-Z]");

    record Source(String module, Path file, String pkg, String text) {}

    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("ARCHITECTURE.md"))) {
                return p;
            }
        }
        throw new IllegalStateException("no ARCHITECTURE.md above " + Path.of("").toAbsolutePath());
    }

    static List<Source> sources() throws IOException {
        Path root = root();
        List<Source> out = new ArrayList<>();
        try (Stream<Path> modules = Files.list(root)) {
            for (Path module : modules.filter(m -> Files.isDirectory(m.resolve("src/main/java"))).toList()) {
                try (Stream<Path> files = Files.walk(module.resolve("src/main/java"))) {
                    for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                        String text = Files.readString(f);
                        Matcher m = PACKAGE.matcher(text);
                        assertTrue(m.find(), f + " has no package line");
                        out.add(new Source(module.getFileName().toString(), f, m.group(1), text));
                    }
                }
            }
        }
        assertTrue(out.size() > 50, "only " + out.size() + " main sources found under " + root);
        return out;
    }

    /** Package → the qvg4j packages its main code uses. */
    static Map<String, Set<String>> packageGraph(List<Source> sources) {
        Map<String, Set<String>> edges = new TreeMap<>();
        for (Source s : sources) {
            Set<String> to = edges.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
            Matcher i = IMPORT.matcher(s.text());
            while (i.find()) {
                String name = i.group(1);
                if (name.startsWith("io.qvg4j.")) {
                    to.add(packageOf(name));
                }
            }
            Matcher q = QUALIFIED.matcher(s.text());
            while (q.find()) {
                to.add(q.group(1));
            }
            to.remove(s.pkg());
        }
        return edges;
    }

    /** The package part of a qualified name: the segments before the first capitalized one. */
    static String packageOf(String name) {
        List<String> parts = new ArrayList<>();
        for (String p : name.split("\\.")) {
            if (Character.isUpperCase(p.charAt(0))) {
                break;
            }
            parts.add(p);
        }
        return String.join(".", parts);
    }

    @Test
    void noPackageCycle() throws IOException {
        Map<String, Set<String>> edges = packageGraph(sources());
        List<String> cycles = new ArrayList<>();
        for (String start : edges.keySet()) {
            // A path from a package back to itself, found depth first; reported once per package.
            List<String> path = cycleFrom(start, start, edges, new HashSet<>(), new ArrayList<>());
            if (path != null) {
                cycles.add(String.join(" -> ", path));
            }
        }
        assertTrue(cycles.isEmpty(), "package cycles:\n  " + String.join("\n  ", cycles));
    }

    private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> edges, Set<String> seen,
                                          List<String> path) {
        path.add(at);
        for (String next : edges.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                return cycle;
            }
            if (seen.add(next)) {
                List<String> found = cycleFrom(start, next, edges, seen, path);
                if (found != null) {
                    return found;
                }
            }
        }
        path.remove(path.size() - 1);
        return null;
    }

    @Test
    void referenceUsesOnlyTheJdkAndNamesNoImplementationByString() throws IOException {
        Pattern implementationString = Pattern.compile("\"io\\.qvg4j\\.(simd|gpu|cli|bench|io|conformance)\\b");
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            if (!s.module().equals("reference")) {
                continue;
            }
            Matcher i = IMPORT.matcher(s.text());
            while (i.find()) {
                String name = i.group(1);
                boolean allowed = name.startsWith("java.") || name.startsWith("io.qvg4j.");
                if (!allowed) {
                    bad.add(s.file() + ": imports " + name);
                }
            }
            if (implementationString.matcher(s.text()).find()) {
                bad.add(s.file() + ": names an implementation class by string (use ServiceLoader, io.qvg4j.spi)");
            }
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void formatsDependOnTheReferenceAndJacksonOnly() throws IOException {
        Set<String> referencePackages = new HashSet<>();
        List<Source> all = sources();
        for (Source s : all) {
            if (s.module().equals("reference")) {
                referencePackages.add(s.pkg());
            }
        }
        Map<String, List<String>> bad = new HashMap<>();
        for (Source s : all) {
            if (!s.module().equals("formats")) {
                continue;
            }
            Matcher i = IMPORT.matcher(s.text());
            while (i.find()) {
                String name = i.group(1);
                boolean allowed = name.startsWith("java.") || name.startsWith("com.fasterxml.jackson.core.")
                        || name.startsWith("io.qvg4j.io.") || referencePackages.contains(packageOf(name));
                if (!allowed) {
                    bad.computeIfAbsent(s.file().toString(), k -> new ArrayList<>()).add(name);
                }
            }
        }
        assertEquals(Map.of(), bad);
    }
}
