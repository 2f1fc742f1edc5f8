package io.qvg4j.spi;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.tensor.InvalidInputException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Chooses the implementation, once, in the manner of Lucene's {@code VectorizationProvider}: the
 * reference is always there; the others are found with {@link ServiceLoader} and each says whether it
 * can run here. {@code auto} is the fastest one that can; {@code -Dqvg4j.impl=NAME} forces one, and
 * forcing one that cannot run is an error, never a silent fallback. The choice is logged in one line.
 */
public final class Implementations {
    /** The system property that forces {@link #auto()}. */
    public static final String PROPERTY = "qvg4j.impl";

    private static final System.Logger LOG = System.getLogger(Implementations.class.getName());

    private Implementations() {}

    /** The scalar reference: the algorithm's plain functions on {@link CpuCodec} threads. */
    public static final Implementation REFERENCE = new Implementation() {
        @Override
        public String name() {
            return "reference";
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public String unavailable() {
            return null;
        }

        @Override
        public String describe() {
            return "scalar Java";
        }

        @Override
        public QvgCodec open(int threads, int device) {
            return new CpuCodec(ScalarKernels.INSTANCE, threads);
        }

        @Override
        public QvgKernels kernels() {
            return ScalarKernels.INSTANCE;
        }

        @Override
        public AttentionKernels attention() {
            return ScalarAttention.INSTANCE;
        }
    };

    private static final class Found {
        static final List<Implementation> ALL = load();
    }

    /** The choice of {@link #auto()}, made once; a forced choice that cannot run is not kept, so it fails each time. */
    private static Implementation chosen;

    /** Every implementation on the class path, by rank (the reference, rank 0, first). */
    public static List<Implementation> all() {
        return Found.ALL;
    }

    private static List<Implementation> load() {
        List<Implementation> found = new ArrayList<>();
        found.add(REFERENCE);
        try {
            for (Implementation i : ServiceLoader.load(Implementation.class)) {
                found.add(i);
            }
        } catch (ServiceConfigurationError e) {
            LOG.log(System.Logger.Level.WARNING, "qvg4j: an implementation could not be loaded: " + e.getMessage());
        }
        found.sort(Comparator.comparingInt(Implementation::rank));
        return List.copyOf(found);
    }

    /**
     * The implementation named {@code auto} (the fastest available) or by its name. Throws
     * {@link InvalidInputException} with one line when the name is unknown or the implementation cannot
     * run here, saying why.
     */
    public static Implementation byName(String name) {
        if (name.equals("auto")) {
            return auto();
        }
        for (Implementation i : all()) {
            if (i.name().equals(name)) {
                String why = i.unavailable();
                if (why != null) {
                    throw new InvalidInputException("--impl " + name + ": " + why);
                }
                return i;
            }
        }
        throw new InvalidInputException("--impl " + name + ": unknown implementation; use auto, "
                + all().stream().map(Implementation::name).collect(Collectors.joining(", ")));
    }

    /** The implementation this JVM uses unless told otherwise; chosen, and logged, once. */
    public static synchronized Implementation auto() {
        if (chosen == null) {
            chosen = chooseAuto();
        }
        return chosen;
    }

    static Implementation chooseAuto() {
        String forced = System.getProperty(PROPERTY);
        if (forced != null && !forced.equals("auto")) {
            Implementation i;
            try {
                i = byName(forced);
            } catch (InvalidInputException e) {
                // The same one line, naming the property instead of the option.
                throw new InvalidInputException("-D" + PROPERTY + "=" + forced
                        + e.getMessage().substring(("--impl " + forced).length()));
            }
            LOG.log(System.Logger.Level.INFO, "qvg4j: implementation " + i.name() + " (" + i.describe()
                    + "), forced by -D" + PROPERTY);
            return i;
        }
        Implementation best = REFERENCE;
        List<String> passed = new ArrayList<>();
        for (Implementation i : all()) {
            String why = i.unavailable();
            if (why != null) {
                passed.add(i.name() + ": " + why);
            } else if (i.automatic() && i.rank() > best.rank()) {
                best = i;
            }
        }
        LOG.log(System.Logger.Level.INFO, "qvg4j: implementation " + best.name() + " (" + best.describe() + ")"
                + (passed.isEmpty() ? "" : "; not available: " + String.join("; ", passed)));
        return best;
    }

    /**
     * The attention kernels of the named implementation; for {@code auto}, those of the fastest available
     * implementation that has attention kernels (OpenCL has none; the cache attends on the CPU).
     */
    public static AttentionKernels attention(String name) {
        if (!name.equals("auto")) {
            AttentionKernels k = byName(name).attention();
            if (k == null) {
                throw new InvalidInputException("--attention " + name + ": this implementation has no attention kernels; "
                        + "use reference or simd");
            }
            return k;
        }
        Implementation best = REFERENCE;
        for (Implementation i : all()) {
            if (i.attention() != null && i.unavailable() == null && i.rank() > best.rank()) {
                best = i;
            }
        }
        return best.attention();
    }

    /** {@code impl} opened on {@code threads} threads (0: every core), the way every command does it. */
    public static QvgCodec open(String impl, int threads, int device) {
        return byName(impl).open(threads(threads), device);
    }

    /** The thread count a command uses: the one given, or every core for 0. */
    public static int threads(int requested) {
        if (requested < 0) {
            throw new InvalidInputException("--threads " + requested + ": must be at least 1 (0 = every core)");
        }
        return requested == 0 ? Runtime.getRuntime().availableProcessors() : requested;
    }
}
