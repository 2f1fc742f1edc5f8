package io.qvg4j.properties;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs the OpenCL test classes named on the command line through the JUnit launcher, for machines
 * that have a Java runtime but no Maven (scripts/h200-run.sh). Exit status 0 only when every test ran
 * and passed: a skipped test (no OpenCL platform) counts as a failure here.
 */
public final class DeviceTestMain {
    private DeviceTestMain() {}

    public static void main(String[] args) throws ClassNotFoundException {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String name : args) {
            request.selectors(selectClass(Class.forName(name)));
        }
        LauncherDiscoveryRequest built = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(built, listener);
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printTo(out);
        summary.printFailuresTo(out, 30);
        boolean ok = summary.getTotalFailureCount() == 0 && summary.getTestsSkippedCount() == 0
                && summary.getTestsAbortedCount() == 0 && summary.getTestsSucceededCount() > 0;
        out.println(ok ? "device tests: all passed" : "device tests: NOT all passed");
        System.exit(ok ? 0 : 1);
    }
}
