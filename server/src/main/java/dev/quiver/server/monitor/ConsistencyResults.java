package dev.quiver.server.monitor;

import dev.quiver.offline.export.ConsistencyCheck;
import dev.quiver.registry.util.RepeatingFailureLog;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest {@code quiver verify} result of each feature service, kept under the data directory
 * ({@code <data_dir>/monitoring/<project>/consistency/<service>.properties}), and published by
 * {@code quiver serve} as {@code quiver_consistency_mismatch_ratio{service,feature}}: so a verify
 * run from cron feeds the consistency alert.
 *
 * <p>Threading: {@link #refresh} runs on one background thread; the gauges read atomically.
 */
public final class ConsistencyResults {
  private static final Logger LOG = LoggerFactory.getLogger(ConsistencyResults.class);
  public static final String MISMATCH_RATIO = "quiver.consistency.mismatch_ratio";

  private final Path dir;
  private final MeterRegistry meters;
  private final Map<List<String>, AtomicReference<Double>> gauges = new ConcurrentHashMap<>();
  private final RepeatingFailureLog failures =
      new RepeatingFailureLog(LOG, "consistency results", Duration.ofMinutes(1));

  public ConsistencyResults(Path dataDir, String project, MeterRegistry meters) {
    this.dir = dir(dataDir, project);
    this.meters = meters;
  }

  static Path dir(Path dataDir, String project) {
    return dataDir.resolve("monitoring").resolve(project).resolve("consistency");
  }

  /** Records a verify result as the service's latest. */
  public static Path write(Path dataDir, String project, ConsistencyCheck.Report report, Instant at)
      throws IOException {
    Path d = dir(dataDir, project);
    Files.createDirectories(d);
    Properties p = new Properties();
    p.setProperty("verified_at", at.toString());
    p.setProperty("vectors", String.valueOf(report.vectors()));
    for (ConsistencyCheck.FeatureReport f : report.features()) {
      p.setProperty("mismatch_ratio." + f.feature, String.valueOf(f.mismatchRatio()));
    }
    Path file = d.resolve(report.service() + ".properties");
    Path tmp = d.resolve("." + report.service() + ".properties.tmp");
    try (Writer w = Files.newBufferedWriter(tmp)) {
      p.store(w, "the latest quiver verify of feature service " + report.service());
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return file;
  }

  /** Reads every service's latest result into the gauges. Never throws. */
  public void refresh() {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f :
          files.filter(x -> x.getFileName().toString().endsWith(".properties")).toList()) {
        String service = f.getFileName().toString().replaceFirst("\\.properties$", "");
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
          p.load(r);
        }
        for (String name : p.stringPropertyNames()) {
          if (name.startsWith("mismatch_ratio.")) {
            set(
                service,
                name.substring("mismatch_ratio.".length()),
                Double.parseDouble(p.getProperty(name)));
          }
        }
      }
      failures.success();
    } catch (IOException | RuntimeException e) {
      failures.failure("reading the consistency results failed: " + e, e);
    }
  }

  private void set(String service, String feature, double ratio) {
    gauges
        .computeIfAbsent(
            List.of(service, feature),
            k -> {
              AtomicReference<Double> h = new AtomicReference<>(Double.NaN);
              Gauge.builder(MISMATCH_RATIO, h, AtomicReference::get)
                  .description(
                      "Share of the logged vectors whose served value the training set does not"
                          + " reproduce (lag excluded), from the latest quiver verify")
                  .tag("service", service)
                  .tag("feature", feature)
                  .register(meters);
              return h;
            })
        .set(ratio);
  }
}
