package io.qvg4j.testkit;

import org.junit.jupiter.api.Assumptions;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a test needs from the machine, and what the run demands of it, in the manner of jvector's
 * {@code Test_RequireSpecificVectorizationProvider}. A test that cannot run here is skipped (a JUnit
 * assumption) unless its capability is listed in {@code -Dqvg4j.require=<comma list>}: then it fails, with
 * one line that names the capability and how to get it. So a CI run that claims to test the SIMD kernels
 * or the OpenCL kernels cannot pass by skipping them.
 * <ul>
 *   <li>{@code simd}: this JVM reads {@code jdk.incubator.vector} and the provider picks the SIMD kernels;</li>
 *   <li>{@code opencl}: an OpenCL platform with a device is found;</li>
 *   <li>{@code reference}: this JVM runs without the Vector API, the provider falls back to the scalar
 *       reference and {@code --impl simd} is refused with a one-line reason.</li>
 * </ul>
 * {@code simd} and {@code reference} exclude each other; an unknown name fails every test that asks.
 */
public final class Require {
    private Require() {}

    public static final String PROPERTY = "qvg4j.require";
    public static final String SIMD = "simd";
    public static final String OPENCL = "opencl";
    public static final String REFERENCE = "reference";
    private static final List<String> KNOWN = List.of(SIMD, OPENCL, REFERENCE);

    static final String NO_VECTOR_API = "jdk.incubator.vector (the Vector API) is not in this JVM "
            + "(run java with --add-modules jdk.incubator.vector; the poms add it unless -Dtest.vector.flag= empties it)";
    static final String NO_OPENCL = "no OpenCL platform was found "
            + "(install pocl-opencl-icd and ocl-icd-libopencl1, or a GPU driver / check OCL_ICD_VENDORS; see 'qvg devices')";
    static final String HAS_VECTOR_API = "jdk.incubator.vector is in this JVM "
            + "(the scalar-fallback run must not add --add-modules jdk.incubator.vector: -Dtest.vector.flag=)";

    /** A requirement of {@code -Dqvg4j.require} that this machine does not meet: one line, no stack trace. */
    public static final class NotMet extends AssertionError {
        NotMet(String message) {
            super(message);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // the message says all: where the capability is missing and how to get it
        }
    }

    /** The capabilities listed in {@code -Dqvg4j.require}, checked: known names, not both simd and reference. */
    public static List<String> required() {
        String raw = System.getProperty(PROPERTY, "");
        List<String> names = Arrays.stream(raw.split(",")).map(s -> s.strip().toLowerCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).distinct().toList();
        for (String n : names) {
            if (!KNOWN.contains(n)) {
                throw new NotMet(PROPERTY + "=" + raw + ": unknown capability '" + n + "'; use " + String.join(", ", KNOWN));
            }
        }
        if (names.contains(SIMD) && names.contains(REFERENCE)) {
            throw new NotMet(PROPERTY + "=" + raw + ": simd and reference exclude each other "
                    + "(a JVM runs either the SIMD kernels or the scalar fallback)");
        }
        return names;
    }

    public static boolean isRequired(String capability) {
        return required().contains(capability);
    }

    /** Whether this JVM can read the Vector API module. */
    public static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** Skips the calling test, or fails it where {@code simd} is required, unless the Vector API is here. */
    public static void simd() {
        check(SIMD, vectorModulePresent(), NO_VECTOR_API);
    }

    /**
     * Skips the calling test, or fails it where {@code opencl} is required, unless an OpenCL device is
     * here. The caller passes {@code io.qvg4j.gpu.OpenCl.available()} (this module cannot see the gpu module).
     */
    public static void openCl(boolean available) {
        check(OPENCL, available, NO_OPENCL);
    }

    /** Skips the calling test, or fails it where {@code reference} is required, unless the Vector API is absent. */
    public static void scalarFallback() {
        check(REFERENCE, !vectorModulePresent(), HAS_VECTOR_API);
    }

    /**
     * The kernels {@code -Dqvg4j.require} pins the provider to: {@code "simd"}, {@code "reference"}, or
     * null where it names neither.
     */
    public static String pinnedKernels() {
        List<String> r = required();
        return r.contains(SIMD) ? SIMD : r.contains(REFERENCE) ? REFERENCE : null;
    }

    /** Fails (capability required) or skips (not required) unless {@code present}; {@code missing} says why and how to fix. */
    public static void check(String capability, boolean present, String missing) {
        List<String> r = required();
        if (present) {
            return;
        }
        if (r.contains(capability)) {
            throw new NotMet(PROPERTY + "=" + String.join(",", r) + " but " + missing);
        }
        Assumptions.abort(capability + " is not available, skipped (-D" + PROPERTY + "=" + capability
                + " makes this a failure): " + missing);
    }
}
