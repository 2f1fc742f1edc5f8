package io.qvg4j.golden;

import io.qvg4j.tensor.InvalidInputException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The golden file {@code conformance/golden.tsv} (SPEC §13): one line per part, {@code case TAB part TAB
 * value}, the value a SHA-256 in lower-case hex or, for {@code iterations}, the counts per stage. Lines
 * starting with {@code #} are comments. Plain text so that a change of bytes shows in a diff as the very
 * parts that changed.
 */
public final class GoldenFile {
    public static final String NAME = "golden.tsv";

    private GoldenFile() {}

    /** Every case of the file with its parts, in file order. */
    public static Map<String, Map<String, String>> read(Path file) throws IOException {
        Map<String, Map<String, String>> cases = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length != 3 || f[0].isEmpty() || f[1].isEmpty() || f[2].isEmpty()) {
                throw new InvalidInputException(file + ":" + (i + 1) + ": expected 'case<TAB>part<TAB>value'");
            }
            if (cases.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[1], f[2]) != null) {
                throw new InvalidInputException(file + ":" + (i + 1) + ": part " + f[1] + " of " + f[0] + " given twice");
            }
        }
        return cases;
    }

    /** Writes all cases, replacing the file only once it is complete. */
    public static void write(Path file, Map<String, Map<String, String>> cases) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            w.write("# qvg4j golden parts (SPEC §13): case, part, SHA-256 of the part's bytes (iterations: the counts).\n");
            w.write("# Regenerate with ./qvg golden --write; a change of bytes needs an entry in CHANGES.md.\n");
            for (var c : cases.entrySet()) {
                for (var p : c.getValue().entrySet()) {
                    w.write(c.getKey() + "\t" + p.getKey() + "\t" + p.getValue() + "\n");
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * What differs between the golden parts of a case and the ones just computed, one line per part
     * (empty when every part is equal): a changed value, a part the file lacks, or one no longer produced.
     */
    public static List<String> differences(Map<String, String> golden, Map<String, String> actual) {
        List<String> out = new ArrayList<>();
        for (var e : actual.entrySet()) {
            String want = golden.get(e.getKey());
            if (want == null) {
                out.add(e.getKey() + ": not in the golden file");
            } else if (!want.equals(e.getValue())) {
                out.add(e.getKey() + ": " + shorten(e.getValue()) + " ≠ golden " + shorten(want));
            }
        }
        for (String part : golden.keySet()) {
            if (!actual.containsKey(part)) {
                out.add(part + ": in the golden file but not produced");
            }
        }
        return out;
    }

    private static String shorten(String v) {
        return v.length() == 64 ? v.substring(0, 12) + "…" : v;
    }

    /** Walks up from {@code start} to the first folder holding {@code conformance/golden.tsv}. */
    public static Path locate(Path start) {
        for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("conformance").resolve(NAME);
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException("no conformance/" + NAME + " above " + Objects.requireNonNull(start).toAbsolutePath());
    }
}
