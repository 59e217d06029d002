package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The quiver command run in-process against a copy of the payments example. */
class CliTest {
  @TempDir Path dir;
  Path repo;

  record Result(int exit, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = QuiverCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    cl.getOut().flush();
    cl.getErr().flush();
    return new Result(exit, out.toString(), err.toString());
  }

  @BeforeEach
  void copyExample() throws IOException {
    repo = copyPayments(dir);
  }

  /** A copy of examples/payments, without its data directory, at {@code dir/payments}. */
  static Path copyPayments(Path dir) throws IOException {
    Path example = checkoutRoot().resolve("examples/payments");
    Path repo = dir.resolve("payments");
    try (Stream<Path> files = Files.walk(example)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        if (p.toString().contains("/.quiver/")) {
          continue;
        }
        Path target = repo.resolve(example.relativize(p).toString());
        Files.createDirectories(target.getParent());
        Files.copy(p, target);
      }
    }
    return repo;
  }

  static Path checkoutRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (!Files.isDirectory(p.resolve("examples"))) {
      p = p.getParent();
    }
    return p;
  }

  private void replace(String file, String from, String to) throws IOException {
    Path p = repo.resolve(file);
    String text = Files.readString(p);
    assertThat(text).contains(from);
    Files.writeString(p, text.replace(from, to));
  }

  @Test
  void validateExitsZeroOnTheExample() {
    Result r = run("validate", repo.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .contains(
            "valid: project payments, 2 entities, 2 sources, 3 feature views, 1 feature services");
  }

  @Test
  void validateExitsOneWithEveryErrorLocated() throws IOException {
    replace("features.yaml", "entities: [card]", "entities: [crad]");
    replace("features.yaml", "ttl: 30d", "ttl: thirty days");
    Result r = run("validate", repo.toString());
    assertThat(r.exit()).isEqualTo(1);
    String file = repo.resolve("features.yaml").toString();
    assertThat(r.err())
        .contains(
            file
                + ":4:16: feature view 'card_activity' uses unknown entity 'crad' (did you mean 'card'?)")
        .contains(file + ":6:10: invalid ttl 'thirty days'")
        .contains("2 errors in " + repo);
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(run("validate", "--no-such-flag").exit()).isEqualTo(2);
    assertThat(run("frobnicate").exit()).isEqualTo(2);
    assertThat(run().exit()).isEqualTo(2);
    assertThat(run("plan", repo.toString(), "--output", "yaml").exit()).isEqualTo(2);
  }

  @Test
  void serveRefusesLimitsThatCannotWorkBeforeStartingAndNamesTheFlag() {
    String[][] cases = {
      {"--max-entities", "10", "--max-inflight-entities", "5", "--max-inflight-entities"},
      {"--max-entities", "0", "--max-entities", "0", "--max-entities"},
      {"--max-value-bytes", "2", "--max-row-bytes", "1", "--max-row-bytes"},
      {"--max-lag-records", "-1", "--max-lag-records", "-1", "--max-lag-records"},
      {"--export-idle-seconds", "0", "--export-idle-seconds", "0", "--export-idle-seconds"},
      {"--export-max-seconds", "-3", "--export-max-seconds", "-3", "--export-max-seconds"},
      {"--max-response-mb", "0", "--max-response-mb", "0", "--max-response-mb"},
      {"--max-exports", "0", "--max-exports", "0", "export"},
      {"--max-future", "5 minutes", "--max-future", "5 minutes", "--max-future"},
      {"--max-future", "-5m", "--max-future", "-5m", "--max-future"},
      {"--metrics-port", "-1", "--metrics-port", "-1", "--metrics-port"},
      {"--metrics-port", "65536", "--metrics-port", "65536", "--metrics-port"},
    };
    for (String[] c : cases) {
      Result r = run("serve", repo.toString(), c[0], c[1], c[2], c[3]);
      assertThat(r.exit()).as(String.join(" ", c)).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", c)).contains(c[4]);
    }
  }

  @Test
  void planApplyListAndShow() throws IOException {
    Result plan = run("plan", repo.toString(), "--output", "json");
    assertThat(plan.exit()).isZero();
    JsonNode json = new ObjectMapper().readTree(plan.out());
    assertThat(json.get("can_apply").asBoolean()).isTrue();
    assertThat(json.get("base_version").asLong()).isZero();
    assertThat(json.get("changes")).hasSize(8);

    Result apply = run("apply", repo.toString(), "--applied-by", "alice");
    assertThat(apply.exit()).isZero();
    assertThat(apply.out()).contains("Applied registry version 1.");
    assertThat(repo.resolve(".quiver/registry/v000000000001.pb")).exists();

    Result again = run("apply", repo.toString());
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("No changes.").contains("stays at version 1");

    Result list = run("registry", "list", "--repo", repo.toString());
    assertThat(list.exit()).isZero();
    assertThat(list.out()).contains("alice").contains("8 added");
    String[] listed = list.out().split("\n");
    int by = listed[0].indexOf("APPLIED BY");
    assertThat(listed[1].substring(by)).as("columns line up").startsWith("alice");
    assertThat(listed[1].substring(listed[0].indexOf("SUMMARY"))).contains("8 added");

    Result show = run("registry", "show", "--repo", repo.toString());
    assertThat(show.exit()).isZero();
    assertThat(show.out())
        .contains("Registry version 1 of project payments")
        .contains(
            "card_activity v1: entities card, source transactions, ttl 30d, filter amount > 0.0")
        .contains("amount_sum_24h: double = sum(amount) over 1d by 1h");

    Result showJson =
        run("registry", "show", "--repo", repo.toString(), "--version", "1", "-o", "json");
    assertThat(new ObjectMapper().readTree(showJson.out()).get("version").asText()).isEqualTo("1");

    Result missing = run("registry", "show", "--repo", repo.toString(), "--version", "7");
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("registry version 7 does not exist; versions are 1 to 1");
  }

  @Test
  void breakingChangeIsRefusedUntilTheVersionIsRaised() throws IOException {
    assertThat(run("apply", repo.toString()).exit()).isZero();
    replace(
        "features.yaml",
        "last_amount:      {type: double, expr: amount}",
        "last_amount:      {type: double, expr: amount * 1.1}");

    Result plan = run("plan", repo.toString());
    assertThat(plan.exit()).isEqualTo(1);
    assertThat(plan.out())
        .contains("~ features.last_amount.expr: amount -> \"amount * 1.1\"   [BREAKING]")
        .contains("set version: 2");
    Result refused = run("apply", repo.toString());
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("Nothing was applied.");
    assertThat(run("registry", "list", "--repo", repo.toString()).out()).doesNotContain("\n2 ");

    replace("features.yaml", "    ttl: 30d", "    version: 2\n    ttl: 30d");
    Result applied = run("apply", repo.toString());
    assertThat(applied.exit()).isZero();
    assertThat(applied.out())
        .contains("feature view card_activity: v1 -> v2")
        .contains("Applied registry version 2.");
    assertThat(run("registry", "show", "--repo", repo.toString()).out())
        .contains("card_activity v1 (superseded)")
        .contains("card_activity v2: entities card");
  }

  @Test
  void quickstartStreamsEventsThroughARealBrokerAndPrintsServedValues() throws IOException {
    Result r =
        run("quickstart", "--repo", repo.toString(), "--events", "3000", "--port", "0", "--exit");
    assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
    assertThat(r.out())
        .contains("1. Applied " + repo + " as registry version 1")
        .contains("3. Produced 3000 transactions to payments.transactions and 60 chargebacks")
        .contains("GetOnlineFeatures(fraud_model_v1):")
        .contains("(5 rows, registry version 1)");
    // Every looked-up card and merchant had transactions: those features are values, not statuses
    // (a merchant may have had no chargeback, so the last column may say [not found]).
    String table = r.out().substring(r.out().indexOf("card_id    merchant_id"));
    for (String line : table.split("\n")) {
      if (line.startsWith("card_0")) {
        String[] cells = line.split("\\s+");
        assertThat(cells[2]).matches("[0-9]+\\.[0-9]{2}");
        assertThat(cells[3]).isIn("true", "false");
        assertThat(cells[4]).matches("[0-9]+");
        assertThat(cells[6]).matches("[0-9]+\\.[0-9]{2}");
      }
    }

    // The quickstart's events were also written to Parquet: export a training set from them.
    Path entities = dir.resolve("entities.csv");
    String now = java.time.Instant.now().toString();
    writeLines(
        entities,
        "card_id,merchant_id,event_timestamp,label",
        "card_0001,m_001," + now + ",1",
        "card_0001,m_001,2020-01-01T00:00:00Z,0");
    Path out = dir.resolve("training.csv");
    Result export =
        run(
            "export",
            "--repo",
            repo.toString(),
            "--entities",
            entities.toString(),
            "--features",
            "card_activity:last_amount,merchant_activity:last_channel",
            "--out",
            out.toString());
    assertThat(export.exit()).as("stderr: %s", export.err()).isZero();
    assertThat(export.out())
        .contains("Exported 2 rows to " + out)
        .contains("card_activity__last_amount");
    List<String> lines = java.nio.file.Files.readAllLines(out);
    assertThat(lines.get(0))
        .isEqualTo(
            "card_id,merchant_id,event_timestamp,label,card_activity__last_amount,merchant_activity__last_channel");
    assertThat(lines.get(1)).matches("card_0001,m_001,[^,]+,1,[0-9.]+,(pos|ecommerce|atm)");
    assertThat(lines.get(2)).isEqualTo("card_0001,m_001,2020-01-01T00:00:00Z,0,,");

    // A feature service's training set is profiled and recorded as the service's baseline.
    Path training = dir.resolve("service.parquet");
    Result service =
        run(
            "export",
            "--repo",
            repo.toString(),
            "--entities",
            entities.toString(),
            "--service",
            "fraud_model_v1",
            "--baseline",
            "training-1",
            "--out",
            training.toString());
    assertThat(service.exit()).as("stderr: %s", service.err()).isZero();
    Path recorded =
        dev.quiver.registry.monitor.Baseline.path(
            repo.resolve(".quiver"), "payments", "fraud_model_v1", "training-1");
    assertThat(service.out()).contains("as baseline training-1 of service fraud_model_v1");
    dev.quiver.registry.monitor.Baseline b = dev.quiver.registry.monitor.Baseline.read(recorded);
    assertThat(b.service()).isEqualTo("fraud_model_v1");
    assertThat(b.rows()).isEqualTo(2);
    assertThat(b.from()).isEqualTo(java.time.Instant.parse("2020-01-01T00:00:00Z"));
    assertThat(b.to())
        .isEqualTo(dev.quiver.registry.semantics.Micros.truncate(java.time.Instant.parse(now)));
    assertThat(b.features()).containsKey("card_activity__last_amount");
    assertThat(b.features().values()).allSatisfy(f -> assertThat(f.count()).isEqualTo(2));
    // The row from 2020 has no values: one null of two in every feature.
    assertThat(b.features().get("card_activity__last_amount").nulls()).isEqualTo(1);

    Result skipped =
        run(
            "export",
            "--repo",
            repo.toString(),
            "--entities",
            entities.toString(),
            "--service",
            "fraud_model_v1",
            "--no-baseline",
            "--out",
            dir.resolve("again.parquet").toString());
    assertThat(skipped.exit()).isZero();
    assertThat(skipped.out()).doesNotContain("baseline");
  }

  private static void writeLines(Path file, String... lines) {
    try {
      java.nio.file.Files.write(file, List.of(lines));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void applyAgainstAStaleBaseVersionIsAConflict() {
    assertThat(run("apply", repo.toString(), "--base-version", "0").exit()).isZero();
    Result stale = run("apply", repo.toString(), "--base-version", "0");
    assertThat(stale.exit()).isEqualTo(1);
    assertThat(stale.err())
        .contains(
            "registry conflict: the plan was made against version 0 but the registry is now at version 1");
  }
}
