package io.qvg4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.qvg4j.io.TensorFilesTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Atomic writes: nothing left after a signal, stale files of killed runs removed, errors naming the file. */
class AtomicFileTest {
    @TempDir
    Path dir;

    /** Child JVM: starts writing {@code args[0]}, says so, then blocks inside the write until killed. */
    public static final class Child {
        public static void main(String[] args) throws IOException {
            AtomicFile.write(Path.of(args[0]), out -> {
                out.write(new byte[3 << 20]);
                out.flush();
                System.out.println("writing");
                System.out.flush();
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    private void signalDuringWrite(String signal) throws Exception {
        Path target = dir.resolve("out.qkv");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Child.class.getName(), target.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            assertEquals("writing", r.readLine());
            try (var files = Files.list(dir)) {
                assertEquals(1, files.filter(f -> f.getFileName().toString().endsWith(".tmp")).count(), "temporary file exists");
            }
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child stopped");
        } finally {
            p.destroyForcibly();
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.toList(), "nothing left after SIG" + signal);
        }
    }

    @Test
    void sigtermLeavesNoTemporaryFile() throws Exception {
        signalDuringWrite("TERM");
    }

    @Test
    void sigintLeavesNoTemporaryFile() throws Exception {
        signalDuringWrite("INT");
    }

    @Test
    void staleFilesOfDeadProcessesAreRemovedOthersKept() throws IOException {
        Path target = dir.resolve("k.qkv");
        long dead = ProcessHandle.current().pid();
        while (ProcessHandle.of(++dead).isPresent()) {
            // find a pid nobody runs
        }
        Path stale = Files.writeString(dir.resolve(".k.qkv." + dead + ".1f2e.tmp"), "x");
        Path live = Files.writeString(dir.resolve(".k.qkv." + ProcessHandle.current().pid() + ".abcd.tmp"), "x");
        Path other = Files.writeString(dir.resolve(".j.qkv." + dead + ".1f2e.tmp"), "x");
        assertEquals(List.of(stale), AtomicFile.removeStale(target));
        assertFalse(Files.exists(stale));
        assertTrue(Files.exists(live), "this process's own file is not stale");
        assertTrue(Files.exists(other), "another target's file is left alone");
    }

    @Test
    void ioErrorsNameTheTargetAndTheReason() throws IOException {
        Path target = dir.resolve("full.qkv");
        // The JDK's message for a full disk names no file at all.
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(target, out -> {
            throw new IOException("No space left on device");
        }));
        assertEquals(target + ": no space left on device", e.getMessage());
        assertEquals(target + ": permission denied",
                FileErrors.named(target, new java.nio.file.AccessDeniedException(dir.resolve(".full.qkv.1.2.tmp").toString())).getMessage());
        assertEquals(target + ": no space left on device",
                FileErrors.named(target, new FileSystemException("/x", null, "No space left on device")).getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no partial output, no temporary file");
        }
        assertMessage(() -> AtomicFile.write(dir, out -> {}), "is a directory");
        assertMessage(() -> AtomicFile.write(Path.of("-"), out -> {}), "writing to standard output is not supported");
        assertMessage(() -> AtomicFile.write(dir.resolve("none/x.qkv"), out -> {}), "does not exist");
    }

    @Test
    void inputsThatAreNotRegularReadableFilesAreNamed() throws Exception {
        assertMessage(() -> TensorFiles.list(dir), dir + ": is a directory");
        assertMessage(() -> TensorFiles.list(Path.of("-")), "-: reading standard input is not supported");
        assertMessage(() -> TensorFiles.list(dir.resolve("no.npy")), "no.npy: no such file");
        assertMessage(() -> Qkv.read(dir), dir + ": is a directory");
        Path fifo = dir.resolve("f.npy");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertMessage(() -> TensorFiles.list(fifo), "f.npy: not a regular file");
    }
}
