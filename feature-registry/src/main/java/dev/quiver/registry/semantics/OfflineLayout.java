package dev.quiver.registry.semantics;

import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * Where the offline store's files live: {@code <data>/offline/<project>/<view>/v<version>/
 * date=YYYY-MM-DD/}, one date directory per UTC date of the rows' event times. The sink that writes
 * them, both exports and the CLI call this; any Parquet reader can glob the same paths.
 */
public final class OfflineLayout {
  private OfflineLayout() {}

  /** The offline root of a project under a data directory. */
  public static Path projectRoot(Path dataDir, String project) {
    return dataDir.resolve("offline").resolve(project);
  }

  /**
   * The root of a project's feature log under a data directory: the logged vectors of each feature
   * service, laid out as views ({@code <root>/_log_<service>/v<layout>/date=.../}).
   */
  public static Path featureLogRoot(Path dataDir, String project) {
    return dataDir.resolve("feature_log").resolve(project);
  }

  /** The directory of one view version's files under a project's offline root. */
  public static Path viewDir(Path projectRoot, String view, int version) {
    return projectRoot.resolve(view).resolve("v" + version);
  }

  /** The UTC date whose directory holds a row stamped {@code eventMicros}. */
  public static LocalDate date(long eventMicros) {
    return Micros.toInstant(eventMicros).atZone(ZoneOffset.UTC).toLocalDate();
  }

  /** The directory of one date's files of a view version. */
  public static Path dateDir(Path viewDir, LocalDate date) {
    return viewDir.resolve("date=" + date);
  }
}
