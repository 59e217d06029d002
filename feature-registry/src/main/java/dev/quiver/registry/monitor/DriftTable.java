package dev.quiver.registry.monitor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Drift of a feature service: every feature of its baseline against each window of live values,
 * judged by the service's thresholds. {@code quiver serve}'s gauges and {@code quiver monitor
 * drift} both compute it here.
 */
public final class DriftTable {
  private DriftTable() {}

  /** How a feature stands against the thresholds. */
  public enum Level {
    /** Fewer values than the minimum sample size in the baseline or the window. */
    TOO_FEW,
    OK,
    /** PSI at or over the warning threshold. */
    WARN,
    /** PSI at or over the alert threshold. */
    ALERT
  }

  /**
   * One feature in one window.
   *
   * @param feature the column name ({@code view__feature})
   * @param window the window's name ({@code 1h})
   */
  public record Row(String feature, String window, Drift.Report report, Level level) {}

  /**
   * Each feature of {@code baseline} against {@code live}, window by window (live profiles by
   * window name, in window order); a feature the live profile lacks counts as no values.
   */
  public static List<Row> rows(
      Baseline baseline, Map<String, Baseline> live, DriftSettings settings) {
    List<Row> out = new ArrayList<>();
    for (Map.Entry<String, FeatureProfile> f : baseline.features().entrySet()) {
      for (Map.Entry<String, Baseline> w : live.entrySet()) {
        FeatureProfile l = w.getValue().features().get(f.getKey());
        if (l == null || l.numeric() != f.getValue().numeric()) {
          l = FeatureProfile.empty(f.getValue().numeric());
        }
        Drift.Report r = Drift.compare(f.getValue(), l, settings.minSamples());
        out.add(new Row(f.getKey(), w.getKey(), r, level(r, settings)));
      }
    }
    return out;
  }

  static Level level(Drift.Report r, DriftSettings settings) {
    if (r.psi().isEmpty()) {
      return Level.TOO_FEW;
    }
    double psi = r.psi().get();
    return psi >= settings.psiAlert()
        ? Level.ALERT
        : psi >= settings.psiWarn() ? Level.WARN : Level.OK;
  }

  /**
   * The baseline of {@code service} to compare with: the one {@code name} names, or with an empty
   * name the one written last; empty when there is none.
   */
  public static Optional<Path> baselineFile(
      Path dataDir, String project, String service, String name) throws IOException {
    if (!name.isEmpty()) {
      Path p = Baseline.path(dataDir, project, service, name);
      return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }
    Path dir = Baseline.path(dataDir, project, service, "x").getParent();
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(".baseline"))
          .max(Comparator.comparing(DriftTable::modified).thenComparing(Path::toString));
    }
  }

  private static FileTime modified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  /** Where {@code quiver serve} keeps the live profile of a service's window. */
  public static Path livePath(Path dataDir, String project, String service, String window) {
    return dataDir
        .resolve("monitoring")
        .resolve(project)
        .resolve("live")
        .resolve(service)
        .resolve(window + ".profile");
  }
}
