package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * One-line file errors that name the file and the reason: the JDK's own messages name only a path
 * ({@code AccessDeniedException: /x}) or only the reason ({@code No space left on device}).
 */
public final class FileErrors {
    private FileErrors() {}

    /** Throws unless {@code file} is an existing, readable regular file; {@code -} (standard input) is refused. */
    public static void requireReadable(Path file) {
        if (file.toString().equals("-")) {
            throw new InvalidInputException("-: reading standard input is not supported; give a file name");
        }
        if (Files.isDirectory(file)) {
            throw new InvalidInputException(file + ": is a directory");
        }
        if (!Files.exists(file)) {
            throw new InvalidInputException(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": not a regular file (a FIFO, socket or device cannot be read)");
        }
        if (!Files.isReadable(file)) {
            throw new InvalidInputException(file + ": permission denied");
        }
    }

    /** Throws unless {@code file} can be an output: not {@code -}, not a directory. */
    public static void requireWritable(Path file) {
        if (file.toString().equals("-")) {
            throw new InvalidInputException("-: writing to standard output is not supported; give a file name");
        }
        if (Files.isDirectory(file)) {
            throw new InvalidInputException(file + ": is a directory");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": not a regular file");
        }
    }

    /** The same failure as one line that names {@code file} (the file the user gave, not a temporary one) and why. */
    public static IOException named(Path file, IOException e) {
        String reason;
        if (e instanceof AccessDeniedException) {
            reason = "permission denied";
        } else if (e instanceof NoSuchFileException) {
            reason = "no such file or directory";
        } else if (e instanceof FileSystemException fse && fse.getReason() != null) {
            reason = fse.getReason();
        } else {
            reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        String lower = reason.toLowerCase(Locale.ROOT);
        if (lower.contains("no space left")) {
            reason = "no space left on device";
        } else if (lower.contains("is a directory")) {
            reason = "is a directory";
        }
        IOException out = new IOException(file + ": " + reason, e);
        return out;
    }
}
