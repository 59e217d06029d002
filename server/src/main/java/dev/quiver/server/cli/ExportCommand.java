package dev.quiver.server.cli;

import dev.quiver.offline.export.ExportFiles;
import dev.quiver.offline.export.ExportWriter;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.server.RepoSettings;
import dev.quiver.server.ServiceBaselines;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Export a point-in-time-correct training set.",
      "Every row of the entity table comes back, in order, with the value each "
          + "feature had at the row's timestamp, from the offline store's Parquet files. Entity rows later than the offline "
          + "store's watermark of a view they read (its newest committed event) are counted and "
          + "reported on stderr, or refused with --refuse-past-watermark."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:bad input or data, or a failure",
      "2:usage error",
      "3:refused: entity rows later than the offline watermark (--refuse-past-watermark)"
    })
final class ExportCommand implements Callable<Integer> {
  @ArgGroup(exclusive = true, multiplicity = "0..1")
  FeatureSelection what;

  @Option(
      names = "--entities",
      paramLabel = "FILE",
      description = "Entity table, .csv or .parquet.")
  Path entities;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Output: .parquet, .csv, or .arrow / .feather (Arrow IPC).")
  Path out;

  @Option(
      names = "--baseline",
      paramLabel = "NAME",
      description =
          "With --service: the name the training set's profile is recorded under as the"
              + " service's drift baseline. Default: the export's time, e.g."
              + " 2026-12-02T02-30-00Z.")
  String baseline;

  @Option(
      names = "--no-baseline",
      description = "With --service: do not record the training set's profile as a baseline.")
  boolean noBaseline;

  @Option(
      names = "--view",
      paramLabel = "VIEW",
      description = "Export a view's rows between --start and --end instead (no entity table).")
  String view;

  @Option(
      names = "--logged",
      paramLabel = "SERVICE",
      description =
          "Export the vectors served for a feature service with logging, as the feature log"
              + " recorded them, with request times between --start and --end (no entity table).")
  String logged;

  @Option(
      names = "--start",
      paramLabel = "TIME",
      description =
          "With --view: first event time (RFC 3339), inclusive; with --logged: first request time.")
  java.time.Instant start;

  @Option(
      names = "--end",
      paramLabel = "TIME",
      description =
          "With --view: last event time (RFC 3339), exclusive; with --logged: last request time.")
  java.time.Instant end;

  @Option(
      names = "--timestamp-column",
      paramLabel = "NAME",
      description = "The entity table's timestamp column. Default: ${DEFAULT-VALUE}.")
  String timestampColumn = "event_timestamp";

  @Option(
      names = "--refuse-past-watermark",
      description =
          "Write nothing and exit "
              + PAST_WATERMARK
              + " when an entity row is later than the offline store's watermark of a view it"
              + " reads, instead of warning on stderr.")
  boolean refusePastWatermark;

  /** Exit code of an export refused because entity rows are past the offline watermark. */
  static final int PAST_WATERMARK = 3;

  @Option(names = "--repo", paramLabel = "REPO", description = "The feature repo. Default: .")
  Path repo = Path.of(".");

  @Option(
      names = "--memory-rows",
      paramLabel = "N",
      description =
          "Rows a sort keeps in memory before spilling to disk, from "
              + MIN_MEMORY_ROWS
              + " to "
              + MAX_MEMORY_ROWS
              + ". Default: ${DEFAULT-VALUE}.")
  int memoryRows = 1_000_000;

  /**
   * Fewest rows a sort may hold: each spill is a file the merge keeps open, so tiny sorts run out
   * of file handles on any large table.
   */
  static final int MIN_MEMORY_ROWS = 10_000;

  /** Most rows a sort may hold: more would not fit the heap of a command-line JVM. */
  static final int MAX_MEMORY_ROWS = 100_000_000;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    checkArguments();
    RepoSettings settings = RepoSettings.read(repo);
    RegistrySnapshot registry = AppliedRegistry.latest(settings, err).orElse(null);
    if (registry == null) {
      return QuiverCommand.FAILED;
    }
    if (logged != null || view != null) {
      if (start == null
          || end == null
          || entities != null
          || what != null
          || (logged != null && view != null)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(),
            (logged != null ? "--logged" : "--view")
                + " takes --start and --end, and no --entities, --service, --features"
                + (logged != null ? " or --view" : " or --logged"));
      }
      String project = registry.getProject().getName();
      try {
        TrainingSetExport.Summary s =
            logged != null
                ? dev.quiver.offline.export.LoggedExport.run(
                    registry,
                    OfflineLayout.featureLogRoot(settings.dataDir(), project),
                    logged,
                    start,
                    end,
                    out)
                : dev.quiver.offline.export.TimeRangeExport.run(
                    registry,
                    OfflineLayout.projectRoot(settings.dataDir(), project),
                    view,
                    start,
                    end,
                    out);
        printSummary(s, registry);
        return 0;
      } catch (IllegalArgumentException | IOException | UncheckedIOException e) {
        err.println("error: " + e.getMessage());
        return QuiverCommand.FAILED;
      }
    }
    if (entities == null || what == null) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(),
          "give --entities with --service or --features (or --view or --logged with --start and"
              + " --end)");
    }
    String project = registry.getProject().getName();
    Path spill = Files.createTempDirectory("quiver-export-");
    TrainingSetExport.Summary summary;
    try (ProgressBar bar =
        new ProgressBarBuilder()
            .setTaskName("export")
            .setUnit(" rows", 1)
            .setStyle(ProgressBarStyle.ASCII)
            .setInitialMax(-1)
            .build()) {
      summary =
          TrainingSetExport.run(
              registry,
              OfflineLayout.projectRoot(settings.dataDir(), project),
              new TrainingSetExport.Request(
                  entities,
                  timestampColumn,
                  what.service,
                  what.features,
                  out,
                  memoryRows,
                  spill,
                  refusePastWatermark),
              bar::stepTo);
    } catch (TrainingSetExport.PastWatermarkException e) {
      err.println("error: " + e.getMessage());
      return PAST_WATERMARK;
    } catch (IllegalArgumentException | IOException | UncheckedIOException e) {
      err.println("error: " + e.getMessage());
      return QuiverCommand.FAILED;
    } finally {
      dev.quiver.server.WorkDirs.delete(spill);
    }
    printSummary(summary, registry);
    if (!summary.pastWatermark().isEmpty()) {
      err.println(
          "warning: "
              + summary.pastWatermark().describe()
              + "\nExport again once ingestion has committed them (quiver serve commits a row"
              + " within --offline-commit-seconds, 60 by default), or pass"
              + " --refuse-past-watermark to fail instead.");
      err.flush();
    }
    if (summary.baseline() != null && !noBaseline) {
      ServiceBaselines.Recorded recorded =
          new ServiceBaselines(settings.dataDir(), project, java.time.Clock.systemUTC())
              .record(summary.baseline(), baseline);
      spec.commandLine()
          .getOut()
          .printf(
              "Recorded the profile of its %d features as baseline %s of service %s: %s%n",
              summary.baseline().features().size(),
              recorded.name(),
              summary.baseline().service(),
              recorded.file());
      spec.commandLine().getOut().flush();
    }
    return 0;
  }

  /** Usage errors (exit 2), found before anything is read. */
  private void checkArguments() {
    if (memoryRows < MIN_MEMORY_ROWS || memoryRows > MAX_MEMORY_ROWS) {
      throw usage(
          "--memory-rows must be from "
              + MIN_MEMORY_ROWS
              + " to "
              + MAX_MEMORY_ROWS
              + ", not "
              + memoryRows);
    }
    if (baseline != null) {
      try {
        ServiceBaselines.checkName(baseline);
      } catch (IllegalArgumentException e) {
        throw usage("--baseline " + e.getMessage());
      }
    }
    if (entities != null && ExportFiles.sameFile(entities, out)) {
      throw usage(
          "--out "
              + out
              + " is the entity table itself (--entities "
              + entities
              + "); the export would overwrite its input");
    }
    try {
      ExportWriter.checkOutput(out);
    } catch (IllegalArgumentException e) {
      throw usage("--out " + e.getMessage());
    }
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private void printSummary(TrainingSetExport.Summary summary, RegistrySnapshot registry) {
    PrintWriter o = spec.commandLine().getOut();
    o.printf(
        "Exported %d rows to %s in %.1f s (registry version %d).%n",
        summary.rows(), out, summary.took().toMillis() / 1000.0, registry.getVersion());
    o.println("Nulls per feature (no value at the row's time, outside the TTL, or a null value):");
    for (Map.Entry<String, Long> e : summary.nulls().entrySet()) {
      o.printf(
          "  %-40s %d (%.1f%%)%n",
          e.getKey(),
          e.getValue(),
          summary.rows() == 0 ? 0.0 : 100.0 * e.getValue() / summary.rows());
    }
    o.flush();
  }
}
