package dev.quiver.server.cli;

import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.monitor.Baseline;
import dev.quiver.registry.monitor.DriftSettings;
import dev.quiver.registry.monitor.DriftTable;
import dev.quiver.registry.util.Messages;
import dev.quiver.server.RepoSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver monitor}: how what is served compares with what models were trained on. */
@Command(
    name = "monitor",
    mixinStandardHelpOptions = true,
    description = "Compare served feature values with the training baselines.",
    subcommands = {MonitorCommand.DriftCommand.class})
final class MonitorCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        spec.commandLine(), "give a subcommand: quiver monitor drift --service S");
  }

  @Command(
      name = "drift",
      mixinStandardHelpOptions = true,
      description = {
        "Print the drift of each feature of a feature service.",
        "Each feature's baseline (recorded by quiver export --service) is compared "
            + "with the values quiver serve answered with, per rolling window. Exit code 1 "
            + "when a feature's PSI is at or over the service's alert threshold."
      },
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
        "0:no feature over the alert threshold",
        "1:a feature at or over it, or no baseline or live profile to compare",
        "2:usage error"
      })
  static final class DriftCommand implements Callable<Integer> {
    @Option(names = "--repo", paramLabel = "REPO", description = "The feature repo. Default: .")
    Path repo = Path.of(".");

    @Option(
        names = "--service",
        required = true,
        paramLabel = "NAME",
        description = "The feature service.")
    String service;

    @Option(
        names = "--baseline",
        paramLabel = "NAME",
        description =
            "The baseline to compare with. Default: the service's drift.baseline, else the newest.")
    String baseline;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      RepoSettings settings = RepoSettings.read(repo);
      Optional<RegistrySnapshot> registry = AppliedRegistry.latest(settings, err);
      if (registry.isEmpty()) {
        return QuiverCommand.FAILED;
      }
      String project = registry.get().getProject().getName();
      FeatureService s =
          dev.quiver.registry.FeatureServices.find(registry.get(), service).orElse(null);
      if (s == null) {
        err.println(
            "error: feature service "
                + Messages.quote(service)
                + " does not exist in registry version "
                + registry.get().getVersion());
        return QuiverCommand.FAILED;
      }
      DriftSettings drift = DriftSettings.of(s);
      String name = baseline != null ? baseline : drift.baseline();
      Optional<Path> file = DriftTable.baselineFile(settings.dataDir(), project, service, name);
      if (file.isEmpty()) {
        err.println(
            "error: service "
                + service
                + " has no baseline"
                + (name.isEmpty() ? "" : " named " + Messages.quote(name))
                + "; quiver export --service "
                + service
                + " records one");
        return QuiverCommand.FAILED;
      }
      Baseline base = Baseline.read(file.get());
      Map<String, Baseline> live = new LinkedHashMap<>();
      for (java.time.Duration w : drift.windows()) {
        String window = DriftSettings.windowName(w);
        Path p = DriftTable.livePath(settings.dataDir(), project, service, window);
        if (Files.isRegularFile(p)) {
          live.put(window, Baseline.read(p));
        }
      }
      if (live.isEmpty()) {
        err.println(
            "error: no profile of served values of "
                + service
                + " yet; quiver serve writes them while it answers lookups of the service");
        return QuiverCommand.FAILED;
      }
      List<DriftTable.Row> rows = DriftTable.rows(base, live, drift);
      out.printf(
          "Service %s: baseline %s (%d rows), thresholds PSI %s warn / %s alert%n",
          service,
          file.get().getFileName().toString().replaceFirst("\\.baseline$", ""),
          base.rows(),
          drift.psiWarn(),
          drift.psiAlert());
      for (Map.Entry<String, Baseline> w : live.entrySet()) {
        out.printf("Window %s: served values up to %s%n", w.getKey(), w.getValue().to());
      }
      out.printf(
          "%-40s %-6s %10s %10s %9s %9s %9s  %s%n",
          "FEATURE", "WINDOW", "BASELINE", "SERVED", "PSI", "JS", "KS", "STATUS");
      boolean alert = false;
      for (DriftTable.Row r : rows) {
        out.printf(
            "%-40s %-6s %10d %10d %9s %9s %9s  %s%n",
            r.feature(),
            r.window(),
            r.report().baselineCount(),
            r.report().liveCount(),
            format(r.report().psi()),
            format(r.report().jensenShannon()),
            format(r.report().kolmogorovSmirnov()),
            r.level() == DriftTable.Level.TOO_FEW
                ? "too few values (under " + drift.minSamples() + ")"
                : r.level().name().toLowerCase(Locale.ROOT));
        alert |= r.level() == DriftTable.Level.ALERT;
      }
      out.flush();
      return alert ? QuiverCommand.FAILED : 0;
    }

    private static String format(Optional<Double> v) {
      return v.map(d -> String.format(Locale.ROOT, "%.4f", d)).orElse("-");
    }
  }
}
