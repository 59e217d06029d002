package dev.quiver.server.cli;

import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureReference;
import dev.quiver.proto.v1.FeatureService;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RegistryVersion;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Durations;
import dev.quiver.registry.Types;
import dev.quiver.registry.logic.Aggregations;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.registry.store.RegistryStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = {
      "Inspect the applied registry.",
      "List its versions or show any version's content."
    },
    subcommands = {RegistryCommand.ListVersions.class, RegistryCommand.Show.class})
final class RegistryCommand {

  /**
   * Where the registry is: {@code --registry}, else {@code <data_dir>/registry} of {@code --repo}.
   */
  static final class Location {
    @Option(
        names = "--repo",
        paramLabel = "REPO",
        description = "The feature repo whose registry to read. Default: the current directory.")
    Path repo = Path.of(".");

    @Option(names = "--registry", paramLabel = "DIR", description = "The registry store directory.")
    Path registry;

    RegistryStore store() throws IOException {
      // quiver.yaml is read without validating the repo, so a registry stays inspectable while
      // the repo has errors.
      Path dir =
          registry != null ? registry : dev.quiver.server.RepoSettings.read(repo).registryDir();
      if (!Files.isDirectory(dir)) {
        throw new IOException("no registry at " + dir + "; run quiver apply first");
      }
      return new DirectoryRegistryStore(dir);
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List applied versions.")
  static final class ListVersions implements Callable<Integer> {
    @picocli.CommandLine.ArgGroup(exclusive = false)
    Location location = new Location();

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      List<RegistryVersion> versions = location.store().list();
      if (versions.isEmpty()) {
        out.println("No versions applied yet.");
        return 0;
      }
      // Columns as wide as their widest cell, so they line up whatever the times and names.
      List<String[]> rows = new java.util.ArrayList<>();
      rows.add(new String[] {"VERSION", "APPLIED AT", "APPLIED BY", "SUMMARY"});
      for (RegistryVersion v : versions) {
        rows.add(
            new String[] {
              String.valueOf(v.getVersion()),
              Timestamps.toString(v.getAppliedAt()),
              v.getAppliedBy(),
              v.getSummary()
            });
      }
      int[] widths = new int[3];
      for (String[] r : rows) {
        for (int c = 0; c < widths.length; c++) {
          widths[c] = Math.max(widths[c], r[c].length());
        }
      }
      for (String[] r : rows) {
        out.printf(
            "%-" + widths[0] + "s  %-" + widths[1] + "s  %-" + widths[2] + "s  %s%n",
            r[0],
            r[1],
            r[2],
            r[3]);
      }
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show one version (default: the latest).")
  static final class Show implements Callable<Integer> {
    @picocli.CommandLine.ArgGroup(exclusive = false)
    Location location = new Location();

    @Option(names = "--version", paramLabel = "N", description = "The version to show.")
    Long version;

    @Option(
        names = {"-o", "--output"},
        paramLabel = "FORMAT",
        description = "human (default) or json.")
    PlanCommand.Format output = PlanCommand.Format.human;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      RegistryStore store = location.store();
      long v = version == null ? store.latestVersion() : version;
      if (v == 0) {
        spec.commandLine().getErr().println("error: nothing has been applied yet");
        return QuiverCommand.FAILED;
      }
      RegistrySnapshot s = store.get(v);
      PrintWriter out = spec.commandLine().getOut();
      if (output == PlanCommand.Format.json) {
        out.println(JsonFormat.printer().print(s));
      } else {
        // How far each version is, as the server last recorded it (none without --repo).
        java.util.Map<dev.quiver.registry.rows.ViewId, String> status =
            location.registry != null
                ? java.util.Map.of()
                : dev.quiver.server.ServingVersions.describe(
                    dev.quiver.server.RepoSettings.read(location.repo).dataDir());
        out.print(describe(s, status));
      }
      return 0;
    }
  }

  /** A readable listing of a snapshot. */
  /**
   * A readable listing of a snapshot, each view version followed by what the server recorded of it
   * ({@code status}).
   */
  static String describe(
      RegistrySnapshot s, java.util.Map<dev.quiver.registry.rows.ViewId, String> status) {
    StringBuilder b = new StringBuilder();
    b.append("Registry version ")
        .append(s.getVersion())
        .append(" of project ")
        .append(s.getProject().getName())
        .append(", applied ")
        .append(Timestamps.toString(s.getAppliedAt()))
        .append(" by ")
        .append(s.getAppliedBy())
        .append('\n');
    b.append("\nEntities:\n");
    for (Entity e : s.getEntitiesList()) {
      b.append("  ")
          .append(e.getName())
          .append(" (")
          .append(fields(e.getJoinKeysList()))
          .append(")\n");
    }
    b.append("\nSources:\n");
    for (Source src : s.getSourcesList()) {
      b.append("  ")
          .append(src.getName())
          .append(": topic ")
          .append(src.getKafka().getTopic())
          .append(", event time ")
          .append(src.getEventTimestampField())
          .append(", dead letters to ")
          .append(src.getKafka().getDeadLetterTopic())
          .append('\n');
    }
    b.append("\nFeature views:\n");
    for (FeatureView v : s.getFeatureViewsList()) {
      b.append("  ")
          .append(v.getName())
          .append(" v")
          .append(v.getVersion())
          .append(v.getState() == ViewState.VIEW_STATE_SUPERSEDED ? " (superseded)" : "")
          .append(
              status.containsKey(dev.quiver.registry.rows.ViewId.of(v))
                  ? " [" + status.get(dev.quiver.registry.rows.ViewId.of(v)) + "]"
                  : "")
          .append(": entities ")
          .append(String.join(", ", v.getEntitiesList()))
          .append(", source ")
          .append(v.getSource())
          .append(", ttl ")
          .append(Durations.format(Durations.fromProto(v.getTtl())))
          .append(v.getFilter().isEmpty() ? "" : ", filter " + v.getFilter())
          .append('\n');
      for (Feature f : v.getFeaturesList()) {
        b.append("    ")
            .append(f.getName())
            .append(": ")
            .append(Types.format(f.getType()))
            .append(" = ")
            .append(f.getExpr())
            .append('\n');
      }
      for (Aggregation a : v.getAggregationsList()) {
        b.append("    ")
            .append(a.getName())
            .append(": ")
            .append(Types.format(a.getType()))
            .append(" = ")
            .append(Aggregations.name(a.getFunction()))
            .append('(')
            .append(a.getInput())
            .append(") over ")
            .append(Durations.format(Durations.fromProto(a.getWindow())))
            .append(" by ")
            .append(Durations.format(Durations.fromProto(a.getHop())))
            .append('\n');
      }
    }
    b.append("\nFeature services:\n");
    for (FeatureService svc : s.getFeatureServicesList()) {
      b.append("  ").append(svc.getName()).append(": ");
      b.append(
          svc.getFeaturesList().stream()
              .map(RegistryCommand::ref)
              .collect(Collectors.joining(", ")));
      b.append('\n');
    }
    return b.toString();
  }

  private static String ref(FeatureReference r) {
    return r.getView() + ":" + r.getFeature() + " (v" + r.getViewVersion() + ")";
  }

  private static String fields(List<dev.quiver.proto.v1.Field> fields) {
    return fields.stream()
        .map(f -> f.getName() + ": " + Types.format(f.getType()))
        .collect(Collectors.joining(", "));
  }
}
