package io.qvg4j.conformance;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One line of a corpus's {@code cases.jsonl}: the configuration the official kernels ran with and what
 * they reported.
 *
 * @param input       the {@code .npy} holding the input when the case's {@code .npz} has no {@code x}, else null
 * @param officialRelL2 ‖deq − x‖ / ‖x‖ of the official output
 */
public record ConformanceCase(String name, long[] shape, int bits, int groupSize, int stages, int maxIters, int centroids,
                              boolean asymmetric, int[] officialIters, double officialRelL2, String deqSha256,
                              String input) {

    public QuantConfig config() {
        return new QuantConfig(bits, groupSize, stages, centroids, asymmetric, ScaleFormat.FP8_E4M3, maxIters, 1e-4f);
    }

    /** Reads every case of a {@code cases.jsonl}; blank lines are skipped, anything malformed is an error naming the line. */
    public static List<ConformanceCase> readAll(Path file) throws IOException {
        List<ConformanceCase> cases = new ArrayList<>();
        JsonFactory json = new JsonFactory();
        try (BufferedReader in = Files.newBufferedReader(file)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try (JsonParser p = json.createParser(line)) {
                    cases.add(parse(p));
                } catch (IOException | RuntimeException e) {
                    throw new InvalidInputException(file + ":" + number + ": not a valid case (" + e.getMessage() + ")");
                }
            }
        }
        return cases;
    }

    private static ConformanceCase parse(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        String name = null, sha = null, input = null;
        long[] shape = null;
        int[] iters = null;
        Integer bits = null, g = null, stages = null, maxIters = null, kc = null;
        Boolean asym = null;
        Double relL2 = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "case" -> name = p.getText();
                case "shape" -> shape = readLongs(p);
                case "bits" -> bits = p.getIntValue();
                case "G" -> g = p.getIntValue();
                case "stages" -> stages = p.getIntValue();
                case "kmeans_max_iters" -> maxIters = p.getIntValue();
                case "kc" -> kc = p.getIntValue();
                case "asymmetric" -> asym = p.getBooleanValue();
                case "iters" -> iters = java.util.Arrays.stream(readLongs(p)).mapToInt(Math::toIntExact).toArray();
                case "rel_l2" -> relL2 = p.getDoubleValue();
                case "deq_sha256" -> sha = p.getText();
                case "input" -> input = p.getText();
                default -> {
                    if (value == JsonToken.START_ARRAY || value == JsonToken.START_OBJECT) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (name == null || shape == null || bits == null || g == null || stages == null || maxIters == null
                || kc == null || asym == null || relL2 == null || sha == null) {
            throw new IllegalArgumentException("missing one of case, shape, bits, G, stages, kmeans_max_iters, kc, asymmetric, rel_l2, deq_sha256");
        }
        if (shape.length != 4) {
            throw new IllegalArgumentException("shape must be [B,H,S,D]");
        }
        return new ConformanceCase(name, shape, bits, g, stages, maxIters, kc, asym, iters, relL2, sha, input);
    }

    private static long[] readLongs(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new IllegalArgumentException("expected an array for '" + p.currentName() + "'");
        }
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(p.getLongValue());
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }
}
