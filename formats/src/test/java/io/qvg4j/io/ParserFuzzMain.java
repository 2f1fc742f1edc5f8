package io.qvg4j.io;

import java.io.IOException;

/**
 * Entry point for Jazzer's standalone driver ({@code formats/fuzz-parsers.sh}): the same targets as
 * {@link ParserFuzzTest}, chosen by the system property {@code qvg4j.fuzz.target}.
 */
public final class ParserFuzzMain {
    private ParserFuzzMain() {}

    private static final ParserFuzzTest TESTS = new ParserFuzzTest();
    private static final String TARGET = System.getProperty("qvg4j.fuzz.target", "npy");

    public static void fuzzerTestOneInput(byte[] data) throws IOException {
        switch (TARGET) {
            case "npy" -> TESTS.npy(data);
            case "npz" -> TESTS.npz(data);
            case "safetensorsHeader" -> TESTS.safetensorsHeader(data);
            case "safetensors" -> TESTS.safetensors(data);
            case "qkv" -> TESTS.qkv(data);
            default -> throw new IllegalArgumentException("unknown target " + TARGET);
        }
    }
}
