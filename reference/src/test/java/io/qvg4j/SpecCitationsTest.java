package io.qvg4j;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every citation of a SPEC.md section anywhere in the repository names a heading that SPEC.md has.
 * <p>
 * Sections are the numbered headings of SPEC.md: {@code ## 3. k-means …} is section 3,
 * {@code ### 3.4 Iteration control} is section 3.4. Scanned: every {@code *.java}, {@code *.cl},
 * {@code *.md} and {@code *.sh} file under the repository root (the directory holding SPEC.md, found by
 * walking up from the working directory), skipping {@code target} and hidden directories
 * ({@code .git}, {@code .devrun}, …). Nothing outside the root is read.
 * <p>
 * What counts as a citation of SPEC (a {@code §} alone is ambiguous: docs also cite the paper's and the
 * design notes' sections):
 * <ul>
 *   <li>inside SPEC.md, every {@code §N} or {@code §N.M}: SPEC cites no other document's sections;</li>
 *   <li>elsewhere, a {@code §N} that follows the word {@code SPEC} or {@code SPEC.md} with nothing but
 *       whitespace, comment markers ({@code //}, {@code *}, {@code #}) or an opening parenthesis
 *       between, also across a line break ({@code SPEC §3.2}, {@code SPEC.md §3}, {@code [SPEC.md §3](SPEC.md)},
 *       {@code [SPEC.md](SPEC.md) §3}); and every further {@code §N} of a list it starts, joined by a
 *       comma, semicolon, dash, "and" or "or" ({@code SPEC §3.2, §3.3}, {@code SPEC §2.3 and §3.3}).</li>
 * </ul>
 * Any other {@code §} (the paper's §4.3, FORMAT.md's sections, …) is not checked: cite SPEC as
 * "SPEC §N" to have it checked. A failure lists each bad citation as {@code file:line: SPEC §N}.
 */
class SpecCitationsTest {

    private static final String NUMBER = "\\d+(?:\\.\\d+)*";
    private static final Pattern SECTION_SIGN = Pattern.compile("\u00a7\\s?(" + NUMBER + ")");
    private static final Pattern SPEC_CITATION = Pattern.compile(
            "(?<![\\w.])SPEC(?:\\.md)?(?!\\w)[\\])]*(?:\\([^)\\s]*\\))?(?:\\s|//|\\*|#|\\()*"
                    + "\u00a7\\s?" + NUMBER + "(?:\\s*(?:,|;|-|\u2013|\u2014|and|or)\\s*\u00a7\\s?" + NUMBER + ")*");
    private static final Pattern HEADING = Pattern.compile("(?m)^#{1,6}\\s+(" + NUMBER + ")\\.?\\s+\\S");
    private static final Set<String> EXTENSIONS = Set.of(".java", ".cl", ".md", ".sh");

    /** A cited section and the 1-based line of its {@code §}. */
    record Citation(int line, String section) {}

    /** The section numbers SPEC.md's headings define. */
    static Set<String> headings(String spec) {
        Set<String> sections = new TreeSet<>();
        Matcher m = HEADING.matcher(spec);
        while (m.find()) {
            sections.add(m.group(1));
        }
        return sections;
    }

    /** The SPEC citations in one file's text, by the rule of the class comment. */
    static List<Citation> citations(String text, boolean isSpec) {
        List<Citation> found = new ArrayList<>();
        if (isSpec) {
            addSections(text, 0, text.length(), found);
            return found;
        }
        Matcher m = SPEC_CITATION.matcher(text);
        while (m.find()) {
            addSections(text, m.start(), m.end(), found);
        }
        return found;
    }

    private static void addSections(String text, int from, int to, List<Citation> found) {
        Matcher s = SECTION_SIGN.matcher(text).region(from, to);
        while (s.find()) {
            found.add(new Citation(lineOf(text, s.start()), s.group(1)));
        }
    }

    private static int lineOf(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /** "file:line: SPEC §N …" for every citation under root whose section SPEC.md lacks; counts into total[0]. */
    static List<String> badCitations(Path root, Set<String> sections, int[] total) throws IOException {
        List<String> bad = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                boolean skip = !dir.equals(root) && (name.equals("target") || name.startsWith("."));
                return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                String name = file.getFileName().toString();
                int dot = name.lastIndexOf('.');
                if (!attrs.isRegularFile() || dot < 0 || !EXTENSIONS.contains(name.substring(dot))) {
                    return FileVisitResult.CONTINUE;
                }
                String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
                boolean isSpec = file.equals(root.resolve("SPEC.md"));
                for (Citation c : citations(text, isSpec)) {
                    total[0]++;
                    if (!sections.contains(c.section())) {
                        bad.add(root.relativize(file) + ":" + c.line() + ": SPEC \u00a7" + c.section()
                                + " (SPEC.md has no heading " + c.section() + ")");
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        bad.sort(null);
        return bad;
    }

    static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("SPEC.md"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            fail("no SPEC.md in " + Path.of("").toAbsolutePath() + " or any directory above it");
        }
        return dir;
    }

    @Test
    void everySpecCitationNamesAHeadingOfSpec() throws IOException {
        Path root = repositoryRoot();
        Set<String> sections = headings(Files.readString(root.resolve("SPEC.md")));
        assertTrue(sections.containsAll(List.of("1", "2.1", "3.2", "6.2", "7", "12")), "headings parsed: " + sections);
        int[] total = new int[1];
        List<String> bad = badCitations(root, sections, total);
        System.out.println("SpecCitationsTest: " + total[0] + " SPEC section citations under " + root + ", "
                + bad.size() + " bad");
        bad.forEach(System.out::println);
        assertTrue(bad.isEmpty(), bad.size() + " citation(s) of SPEC sections that do not exist:\n" + String.join("\n", bad));
        assertTrue(total[0] > 100, "only " + total[0] + " citations found: is the scan broken?");
    }

    /** The rule on small texts. Written with \u00a7 escapes so that the scan of this file does not see them. */
    @Test
    void whatCountsAsACitation() {
        assertEquals(List.of(new Citation(1, "3.2"), new Citation(1, "3.3")),
                citations("k-means (SPEC \u00a73.2, \u00a73.3) and", false));
        assertEquals(List.of(new Citation(1, "2.3"), new Citation(1, "3.3")),
                citations("(SPEC \u00a72.3 and \u00a73.3 rely on them)", false));
        assertEquals(List.of(new Citation(2, "6.2")), citations("// the decoded value (SPEC\n// \u00a76.2) or", false));
        assertEquals(List.of(new Citation(1, "3")), citations("[SPEC.md \u00a73](SPEC.md) defines", false));
        assertEquals(List.of(new Citation(1, "9")), citations("see [SPEC.md](../SPEC.md) \u00a79.", false));
        assertEquals(List.of(new Citation(1, "2.4")), citations("SPEC \u00a72.4. Evaluated", false));
        assertEquals(List.of(), citations("The paper (\u00a74.3), design notes \u00a716.1, FORMAT.md \u00a72", false));
        assertEquals(List.of(), citations("SPECIES \u00a73; SPEC.md, and the paper's \u00a75.2", false));
        assertEquals(List.of(new Citation(1, "6.5")), citations("SPEC \u00a76.5, 2 bytes, \u00a799 of the paper", false));
        assertEquals(List.of(new Citation(1, "3"), new Citation(2, "7")),
                citations("one (\u00a73).\nexactly \u00a77's row", true));
        assertEquals(Set.of("3", "3.4"), headings("## 3. k-means (x)\n### 3.4 Iteration control\n#### not numbered\n"));
    }

    /** A citation of a missing section is reported with its file and line. */
    @Test
    void aMissingSectionIsReported(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("SPEC.md"), "## 1. One\n### 1.1 Sub\nsee \u00a71.1 and \u00a71.2\n");
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("docs/a.md"), "fine (SPEC \u00a71)\nbad (SPEC \u00a72, \u00a71.1)\n");
        Files.createDirectories(dir.resolve("target"));
        Files.writeString(dir.resolve("target/skipped.md"), "SPEC \u00a79\n");
        int[] total = new int[1];
        List<String> bad = badCitations(dir, headings(Files.readString(dir.resolve("SPEC.md"))), total);
        assertEquals(List.of("SPEC.md:3: SPEC \u00a71.2 (SPEC.md has no heading 1.2)",
                "docs" + dir.getFileSystem().getSeparator() + "a.md:2: SPEC \u00a72 (SPEC.md has no heading 2)"), bad);
        assertEquals(5, total[0]);
    }
}
