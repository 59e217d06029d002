package dev.quiver.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.server.RepoSettings;
import dev.quiver.server.backfill.Backfills;
import dev.quiver.server.backfill.HistoryFile;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "backfill",
    mixinStandardHelpOptions = true,
    description = {
      "Load history that never was in Kafka into a source and its views.",
      "The file (JSON lines, Parquet or Avro, a field per declared field) is checked whole first:",
      "a record that cannot be loaded is named with its line or row, and nothing is queued. The",
      "running quiver serve then writes the records into the source's archive and fills every view",
      "from it through the same logic as live events, online and offline; a restart resumes it.",
      "Running the command again on the same file resumes or confirms it, never loads it twice."
    })
final class BackfillCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "REPO",
      description =
          "The feature repo directory (holding quiver.yaml). Default: the current directory.")
  Path repo = Path.of(".");

  @Option(names = "--source", required = true, paramLabel = "NAME", description = "The source.")
  String sourceName;

  @Option(
      names = "--file",
      required = true,
      paramLabel = "FILE",
      description = "The events: .jsonl (.json, .ndjson), .parquet or .avro (a container file).")
  Path file;

  @Option(
      names = "--no-wait",
      description = "Queue the backfill and return without showing its progress.")
  boolean noWait;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description =
          "How long to show progress before returning (the backfill goes on). Default: none.")
  long timeoutSeconds;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    RepoSettings settings = RepoSettings.read(repo);
    Optional<RegistrySnapshot> applied = AppliedRegistry.latest(settings, err);
    if (applied.isEmpty()) {
      return QuiverCommand.FAILED;
    }
    Optional<Source> source =
        applied.get().getSourcesList().stream()
            .filter(s -> s.getName().equals(sourceName))
            .findFirst();
    if (source.isEmpty()) {
      err.println("error: no source '" + sourceName + "' is applied");
      return QuiverCommand.FAILED;
    }
    if (!Files.isRegularFile(file)) {
      err.println("error: no file " + file);
      return QuiverCommand.FAILED;
    }
    long records = 0;
    List<String> problems = new ArrayList<>();
    long bad = 0;
    try (HistoryFile f =
        HistoryFile.open(
            file,
            source.get(),
            dev.quiver.registry.semantics.JoinKeys.required(applied.get(), sourceName))) {
      for (HistoryFile.Entry e = f.next(); e != null; e = f.next()) {
        if (e.problem() != null) {
          bad++;
          if (problems.size() < 10) {
            problems.add(e.problem());
          }
        } else {
          records++;
        }
      }
    } catch (java.io.IOException e) {
      err.println("error: " + e.getMessage());
      return QuiverCommand.FAILED;
    }
    if (bad > 0) {
      err.println(
          "error: "
              + file
              + ": "
              + bad
              + (bad == 1 ? " record cannot" : " records cannot")
              + " be loaded; nothing was queued:");
      problems.forEach(p -> err.println("  " + p));
      if (bad > problems.size()) {
        err.println("  ... and " + (bad - problems.size()) + " more");
      }
      return QuiverCommand.FAILED;
    }
    Backfills.Request r = Backfills.submit(settings.dataDir(), sourceName, file);
    String what = "backfill " + r.id() + " of source " + sourceName + " (" + records + " records)";
    if (!Endpoints.serving(repo)) {
      out.println("queued " + what + "; quiver serve loads it when it starts");
      return 0;
    }
    if (noWait) {
      out.println("queued " + what + "; run this command again to see its progress");
      return 0;
    }
    long deadline =
        timeoutSeconds > 0 ? System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos() : 0;
    JsonNode last = null;
    try (ProgressBar bar =
        new ProgressBarBuilder()
            .setTaskName("backfill")
            .setUnit("%", 1)
            .setStyle(ProgressBarStyle.ASCII)
            .setInitialMax(100)
            .build()) {
      while (true) {
        Optional<JsonNode> s = Backfills.status(settings.dataDir(), r);
        if (s.isPresent()) {
          last = s.get();
          String state = last.path("state").asText();
          bar.setExtraMessage(state);
          bar.stepTo(percent(last, records));
          if (state.equals("done") || state.equals("failed")) {
            break;
          }
        }
        if (deadline != 0 && System.nanoTime() > deadline) {
          out.println("still running: " + what + "; run this command again to see its progress");
          return 0;
        }
        Thread.sleep(200);
      }
    }
    if (last.path("state").asText().equals("failed")) {
      err.println("error: " + what + " failed: " + last.path("error").asText());
      return QuiverCommand.FAILED;
    }
    List<String> views = new ArrayList<>();
    last.path("views").fieldNames().forEachRemaining(views::add);
    out.println(
        "backfilled "
            + last.path("records").asLong(records)
            + " records of "
            + file
            + " into source "
            + sourceName
            + "; views filled: "
            + String.join(", ", views));
    return 0;
  }

  /** Half for archiving the records, half for filling the views (the slowest one). */
  private static long percent(JsonNode status, long records) {
    String state = status.path("state").asText();
    if (state.equals("done")) {
      return 100;
    }
    if (state.equals("archiving")) {
      return records == 0 ? 0 : 50 * status.path("records").asLong() / records;
    }
    long to = status.path("archived_to").asLong(0);
    long min = to;
    for (JsonNode p : status.path("views")) {
      min = Math.min(min, p.asLong());
    }
    return to <= 0 ? 50 : 50 + 50 * min / to;
  }
}
