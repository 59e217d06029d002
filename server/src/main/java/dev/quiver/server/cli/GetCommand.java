package dev.quiver.server.cli;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "get",
    mixinStandardHelpOptions = true,
    description = {
      "Look up online features and print them as a table.",
      "The lookup goes through the Java client, as a serving system's would."
    })
final class GetCommand implements Callable<Integer> {
  @ArgGroup(exclusive = true, multiplicity = "1")
  FeatureSelection what;

  @Option(
      names = "--entity",
      required = true,
      paramLabel = "KEY=V1,V2",
      description =
          "A join key column, e.g. card_id=c1,c2. Repeat for composite keys. Integers are sent as int64.")
  List<String> entities;

  @Option(
      names = "--target",
      paramLabel = "HOST:PORT",
      description = "The server. Default: the running serve of --repo, else ports.grpc.")
  String target;

  @Option(names = "--repo", paramLabel = "REPO", description = "The feature repo. Default: .")
  Path repo = Path.of(".");

  @Option(names = "--full-names", description = "Name columns view__feature.")
  boolean fullNames;

  @Option(
      names = "--deadline",
      paramLabel = "MILLIS",
      description = "Call deadline. Default: ${DEFAULT-VALUE}.")
  long deadlineMillis = 5000;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    OnlineRequest request =
        what.service != null
            ? OnlineRequest.forService(what.service)
            : OnlineRequest.forFeatures(what.features);
    Map<String, List<String>> columns = new LinkedHashMap<>();
    for (String e : entities) {
      int eq = e.indexOf('=');
      if (eq <= 0) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--entity " + e + ": expected KEY=V1,V2");
      }
      List<String> values = List.of(e.substring(eq + 1).split(","));
      columns.put(e.substring(0, eq), values);
      List<Object> typed = new ArrayList<>();
      for (String v : values) {
        typed.add(v.matches("-?[0-9]{1,18}") ? (Object) Long.parseLong(v) : v);
      }
      request.entity(e.substring(0, eq), typed);
    }
    if (fullNames) {
      request.fullFeatureNames();
    }
    String server = Endpoints.grpc(repo, target);
    try (QuiverClient client =
        QuiverClient.builder()
            .target(server)
            .defaultDeadline(Duration.ofMillis(deadlineMillis))
            .build()) {
      OnlineResult r = client.getOnlineFeatures(request);
      print(spec.commandLine().getOut(), columns, r);
      return 0;
    } catch (StatusRuntimeException e) {
      spec.commandLine()
          .getErr()
          .println("error: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
      return QuiverCommand.FAILED;
    }
  }

  /** A table: one line per entity row, one column per key and feature; statuses in brackets. */
  static void print(PrintWriter out, Map<String, List<String>> keys, OnlineResult r) {
    List<String> header = new ArrayList<>(keys.keySet());
    header.addAll(r.featureNames());
    List<List<String>> cells = new ArrayList<>();
    for (int row = 0; row < r.rowCount(); row++) {
      List<String> line = new ArrayList<>();
      for (List<String> k : keys.values()) {
        line.add(k.get(row));
      }
      for (String f : r.featureNames()) {
        line.add(cell(r, f, row));
      }
      cells.add(line);
    }
    int[] width = new int[header.size()];
    for (int c = 0; c < header.size(); c++) {
      width[c] = header.get(c).length();
      for (List<String> line : cells) {
        width[c] = Math.max(width[c], line.get(c).length());
      }
    }
    out.println(row(header, width));
    StringBuilder rule = new StringBuilder();
    for (int w : width) {
      rule.append("-".repeat(w)).append("  ");
    }
    out.println(rule.toString().stripTrailing());
    for (List<String> line : cells) {
      out.println(row(line, width));
    }
    out.println("(" + r.rowCount() + " rows, registry version " + r.registryVersion() + ")");
    out.flush();
  }

  static String cell(OnlineResult r, String feature, int row) {
    return switch (r.status(feature, row)) {
      case PRESENT -> {
        Object v = r.get(feature, row);
        yield v instanceof Double d ? String.format("%.2f", d) : String.valueOf(v);
      }
      case NULL_VALUE -> "null";
      case NOT_FOUND -> "[not found]";
      case OUTSIDE_MAX_AGE -> "[expired]";
      default -> "[" + r.status(feature, row) + "]";
    };
  }

  private static String row(List<String> cells, int[] width) {
    StringBuilder b = new StringBuilder();
    for (int c = 0; c < cells.size(); c++) {
      b.append(String.format("%-" + width[c] + "s", cells.get(c))).append("  ");
    }
    return b.toString().stripTrailing();
  }
}
