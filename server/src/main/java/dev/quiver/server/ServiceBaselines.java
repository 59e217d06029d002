package dev.quiver.server;

import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.util.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where the training-set exports of one project record their feature services' drift baselines, and
 * how they are named: {@code <data_dir>/monitoring/<project>/baselines/<service>/<name>.baseline}
 * ({@link Baseline#path}), the name given by the caller or, by default, the export's time to the
 * second with {@code -} for {@code :} ({@code 2026-12-02T02-30-00Z}). Both {@code quiver export}
 * and the Arrow Flight export record baselines through it.
 *
 * <p>Thread-safe: recording through one instance is serialized (a baseline is a few kilobytes of
 * sketches), so exports that take the default name in the same second get distinct names ({@code
 * ...Z-2}, {@code ...Z-3}) and two writing one name never share its temporary file; a name given
 * twice is recorded again over the first.
 */
public final class ServiceBaselines {
  /** A baseline's name: it becomes a file name, so no separators and no leading dot. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  private final Path dataDir;
  private final String project;
  private final Clock clock;

  /**
   * @param dataDir the data directory of the feature repo ({@code data_dir} of {@code quiver.yaml})
   * @param project the project whose exports these are
   * @param clock gives the export's time, the default name
   */
  public ServiceBaselines(Path dataDir, String project, Clock clock) {
    this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    this.project = Objects.requireNonNull(project, "project");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** A recorded baseline: its name and its file. */
  public record Recorded(String name, Path file) {}

  /**
   * Refuses a name that cannot be a baseline's; the message completes a sentence starting with the
   * option or field that gave it ("--baseline must be ...").
   *
   * @return {@code name}
   * @throws IllegalArgumentException naming the rule and the name
   */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "must be letters, digits, '.', '_' or '-' (at most 100, not starting with '.', '_' or"
              + " '-'), not "
              + (name == null ? "null" : Messages.quote(name)));
    }
    return name;
  }

  /**
   * Records {@code baseline} as a baseline of its service.
   *
   * @param name the baseline's name, or null for the export's time
   * @throws IllegalArgumentException when {@code name} is not a valid name ({@link #checkName})
   */
  public synchronized Recorded record(Baseline baseline, String name) throws IOException {
    Objects.requireNonNull(baseline, "baseline");
    String stamp = name == null ? defaultName() : checkName(name);
    String chosen = stamp;
    Path file = Baseline.path(dataDir, project, baseline.service(), chosen);
    if (name == null) {
      for (int n = 2; Files.exists(file); n++) {
        chosen = stamp + "-" + n;
        file = Baseline.path(dataDir, project, baseline.service(), chosen);
      }
    }
    baseline.write(file);
    return new Recorded(chosen, file);
  }

  /** The export's time to the second, {@code :} replaced: {@code 2026-12-02T02-30-00Z}. */
  private String defaultName() {
    return clock.instant().truncatedTo(ChronoUnit.SECONDS).toString().replace(':', '-');
  }
}
