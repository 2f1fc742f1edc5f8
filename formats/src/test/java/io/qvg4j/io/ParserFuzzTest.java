package io.qvg4j.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.qvg4j.tensor.InvalidInputException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every file parser on arbitrary bytes: the only acceptable failure is the documented one
 * ({@link InvalidInputException}, or an {@link IOException} from the file system). Any other exception,
 * a hang or an out-of-memory is a finding. In a normal build these run once over the committed seeds
 * ({@code src/test/resources/io/qvg4j/io/ParserFuzzTestInputs/<method>/}); with {@code JAZZER_FUZZ=1}
 * Jazzer mutates them for {@code maxDuration}.
 */
class ParserFuzzTest {

    @FuzzTest(maxDuration = "2m")
    void npy(byte[] data) throws IOException {
        try {
            NpyArray a = Npy.parse(ByteBuffer.wrap(data), "fuzz.npy");
            touch(a);
        } catch (InvalidInputException expected) {
            // the documented rejection
        }
        try {
            touch(Npy.read(new ByteArrayInputStream(data), "fuzz.npy", data.length));
        } catch (InvalidInputException expected) {
            // the documented rejection
        }
    }

    @FuzzTest(maxDuration = "2m")
    void npz(byte[] data) throws IOException {
        Path file = Files.createTempFile("fuzz", ".npz");
        try {
            Files.write(file, data);
            for (NpyArray a : Npy.readNpz(file).values()) {
                touch(a);
            }
        } catch (InvalidInputException expected) {
            // the documented rejection
        } finally {
            Files.delete(file);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void safetensorsHeader(byte[] json) {
        try {
            Safetensors.parseHeader(json, "fuzz.safetensors");
        } catch (InvalidInputException expected) {
            // the documented rejection
        }
    }

    @FuzzTest(maxDuration = "2m")
    void safetensors(byte[] data) {
        try {
            for (NpyArray a : Safetensors.parse(ByteBuffer.wrap(data), "fuzz.safetensors").values()) {
                touch(a);
            }
        } catch (InvalidInputException expected) {
            // the documented rejection
        }
    }

    @FuzzTest(maxDuration = "2m")
    void qkv(byte[] data) {
        try {
            Qkv.Contents c = Qkv.parse(ByteBuffer.wrap(data), "fuzz.qkv");
            // What parses must also be usable: describe it and write it back identically.
            c.span().footprint();
            if (!java.util.Arrays.equals(Qkv.encode(c), data)) {
                throw new AssertionError("a parsed container does not re-encode to the same bytes");
            }
        } catch (InvalidInputException expected) {
            // the documented rejection
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Reads every element, as the callers do. */
    private static void touch(NpyArray a) {
        ByteBuffer d = a.data();
        long sum = 0;
        for (int i = 0; i < d.remaining(); i++) {
            sum += d.get(d.position() + i);
        }
        if (a.elementCount() * a.dtype().size() != d.remaining() || sum == Long.MIN_VALUE) {
            throw new AssertionError("data size does not match shape " + a.shapeString());
        }
    }
}
