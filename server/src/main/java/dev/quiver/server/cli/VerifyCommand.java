package dev.quiver.server.cli;

import dev.quiver.offline.export.ConsistencyCheck;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.semantics.OfflineLayout;
import dev.quiver.server.RepoSettings;
import dev.quiver.server.monitor.ConsistencyResults;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver verify}: what was served against what a training set holds, value by value. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Check logged served vectors against the offline store.",
      "Replay the vectors a feature service logged (its logging setting) through the "
          + "point-in-time engine and compare value by value with what was served. "
          + "Differences the online store's lag explains are counted apart. Exit code 1 "
          + "when a feature's mismatch ratio is over --max-mismatch-ratio."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:every feature within the threshold",
      "1:a feature over it, or a failure",
      "2:usage error"
    })
final class VerifyCommand implements Callable<Integer> {
  @Option(names = "--repo", paramLabel = "REPO", description = "The feature repo. Default: .")
  Path repo = Path.of(".");

  @Option(
      names = "--service",
      required = true,
      paramLabel = "NAME",
      description = "The feature service.")
  String service;

  @Option(
      names = "--start",
      required = true,
      paramLabel = "TIME",
      description = "First request time (RFC 3339), inclusive.")
  Instant start;

  @Option(
      names = "--end",
      required = true,
      paramLabel = "TIME",
      description =
          "Last request time (RFC 3339), exclusive. The offline store must have committed the"
              + " events up to it (a minute after them by default).")
  Instant end;

  @Option(
      names = "--max-mismatch-ratio",
      paramLabel = "R",
      description = "The share of mismatches a feature may have. Default: ${DEFAULT-VALUE}.")
  double maxRatio = 0;

  @Option(
      names = "--examples",
      paramLabel = "N",
      description = "Worst mismatches shown per feature. Default: ${DEFAULT-VALUE}.")
  int examples = 5;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (maxRatio < 0 || maxRatio > 1 || examples < 0) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--max-mismatch-ratio is a share from 0 to 1; --examples at least 0");
    }
    RepoSettings settings = RepoSettings.read(repo);
    Optional<RegistrySnapshot> registry = AppliedRegistry.latest(settings, err);
    if (registry.isEmpty()) {
      return QuiverCommand.FAILED;
    }
    String project = registry.get().getProject().getName();
    Path work = Files.createTempDirectory("quiver-verify-");
    ConsistencyCheck.Report report;
    try {
      report =
          ConsistencyCheck.run(
              registry.get(),
              OfflineLayout.projectRoot(settings.dataDir(), project),
              OfflineLayout.featureLogRoot(settings.dataDir(), project),
              service,
              start,
              end,
              work,
              examples);
    } catch (IllegalArgumentException | IOException | UncheckedIOException e) {
      err.println("error: " + e.getMessage());
      return QuiverCommand.FAILED;
    } finally {
      dev.quiver.server.WorkDirs.delete(work);
    }
    out.printf(
        "Service %s: %d logged vectors with request times in [%s, %s)%n",
        service, report.vectors(), start, end);
    out.printf(
        "%-40s %10s %10s %11s %12s %10s %8s %9s %9s%n",
        "FEATURE",
        "IDENTICAL",
        "DIFFERENT",
        "SERVED-ONLY",
        "OFFLINE-ONLY",
        "BOTH-NULL",
        "LAG",
        "MISMATCH",
        "SMAPE");
    boolean over = false;
    for (ConsistencyCheck.FeatureReport f : report.features()) {
      out.printf(
          Locale.ROOT,
          "%-40s %10d %10d %11d %12d %10d %8d %8.4f%% %9s%n",
          f.feature,
          f.identical,
          f.different,
          f.servedOnly,
          f.offlineOnly,
          f.bothNull,
          f.explainedByLag,
          100 * f.mismatchRatio(),
          Double.isNaN(f.smape()) ? "-" : String.format(Locale.ROOT, "%.6f", f.smape()));
      over |= f.mismatchRatio() > maxRatio;
    }
    for (ConsistencyCheck.FeatureReport f : report.features()) {
      if (f.worst.isEmpty()) {
        continue;
      }
      out.printf("Worst mismatches of %s:%n", f.feature);
      for (ConsistencyCheck.Example e : f.worst) {
        out.printf(
            "  key %s at %s: served %s, training set %s%n",
            e.key(), e.requestTime(), e.served(), e.offline());
      }
    }
    if (report.vectors() == 0) {
      out.println(
          "No vectors were logged in that range: check that the service has logging and that"
              + " quiver serve answered it then.");
    }
    Path file = ConsistencyResults.write(settings.dataDir(), project, report, Instant.now());
    out.printf(
        "Recorded as the latest result of %s (quiver_consistency_mismatch_ratio): %s%n",
        service, file);
    out.flush();
    return over ? QuiverCommand.FAILED : 0;
  }
}
