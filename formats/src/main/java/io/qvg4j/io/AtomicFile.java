package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a file so that it either appears complete or not at all: the bytes go to a temporary file
 * {@code .NAME.PID.RANDOM.tmp} in the same directory, which is renamed over the target once closed; on any
 * failure it is deleted, and a shutdown hook deletes it when the JVM is stopped by SIGINT or SIGTERM mid-write.
 * Only SIGKILL (or a power cut) can leave one behind; {@link #removeStale} finds those by the process id
 * in their name.
 */
public final class AtomicFile {
    private AtomicFile() {}

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long PID = ProcessHandle.current().pid();
    /** Temporary files being written now, deleted by the shutdown hook if the JVM stops first. */
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : LIVE) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // Nothing more can be done on the way out; removeStale finds it next time.
                }
            }
        }, "qvg4j-atomic-file-cleanup"));
    }

    /** What writes the content. */
    @FunctionalInterface
    public interface Writer {
        void writeTo(OutputStream out) throws IOException;
    }

    public static void write(Path target, Writer writer) throws IOException {
        FileErrors.requireWritable(target);
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(target + ": directory " + dir + " does not exist");
        }
        // Not Files.createTempFile: that creates mode 0600; a new file here gets the usual umask permissions.
        Path tmp = dir.resolve("." + abs.getFileName() + "." + PID + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
        LIVE.add(tmp);
        boolean done = false;
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), 1 << 16)) {
                writer.writeTo(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } catch (InvalidInputException e) {
            throw e;
        } catch (IOException e) {
            // The JDK names the temporary file, or nothing at all ("No space left on device").
            throw FileErrors.named(target, e);
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
            LIVE.remove(tmp);
        }
    }

    private static final Pattern TEMP = Pattern.compile("\\.(.+)\\.(\\d{1,18})\\.[0-9a-f]{1,16}\\.tmp");

    /**
     * Deletes temporary files of {@code target} left by a run that was killed outright: those whose process
     * id no longer runs. Returns them, so the caller can say what it removed.
     */
    public static List<Path> removeStale(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(abs.getParent())) {
            return removed;
        }
        String glob = "." + abs.getFileName().toString().replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1") + ".*.tmp";
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(abs.getParent(), glob)) {
            for (Path p : ds) {
                Matcher m = TEMP.matcher(p.getFileName().toString());
                if (!m.matches() || !m.group(1).equals(abs.getFileName().toString())) {
                    continue;
                }
                long pid = Long.parseLong(m.group(2));
                if (pid != PID && ProcessHandle.of(pid).isEmpty() && Files.isRegularFile(p)) {
                    Files.deleteIfExists(p);
                    removed.add(p);
                }
            }
        }
        return removed;
    }
}
