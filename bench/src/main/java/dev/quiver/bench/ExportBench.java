package dev.quiver.bench;

import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.offline.export.ExportWriter;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.Types;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Planner;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.registry.store.DirectoryRegistryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Point-in-time export: generates an entity table and 3 views x 10 features of history as Quiver's
 * offline Parquet files, then runs {@code quiver export} and DuckDB's {@code ASOF LEFT JOIN} over
 * the same files, each in a child JVM whose peak resident memory is read from /proc, and checks
 * that both produce the same values.
 */
@Command(name = "export-bench", mixinStandardHelpOptions = true)
public final class ExportBench implements Callable<Integer> {
  static final int VIEWS = 3;
  static final int FEATURES = 10;

  @Option(names = "--work", required = true)
  Path work;

  @Option(names = "--entity-rows", description = "Default: ${DEFAULT-VALUE}.")
  int entityRows = 5_000_000;

  @Option(names = "--entities", description = "Distinct entities. Default: ${DEFAULT-VALUE}.")
  int entities = 200_000;

  @Option(names = "--history", description = "Rows per view. Default: ${DEFAULT-VALUE}.")
  int history = 2_000_000;

  @Option(names = "--quiver-jar", description = "Default: ${DEFAULT-VALUE}.")
  Path quiverJar = Path.of("server/target/quiver.jar");

  @Option(names = "--heap", description = "Heap of each child JVM. Default: ${DEFAULT-VALUE}.")
  String heap = "2g";

  @Option(
      names = "--quiver-jvm-arg",
      description = "Extra JVM option of the quiver export child, e.g. a JFR recording.")
  List<String> quiverJvmArgs = new ArrayList<>();

  @Option(
      names = "--keep",
      description = "Reuse the data generated in --work by an earlier run of the same size.")
  boolean keep;

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("duckdb")) {
      System.exit(duckdb(Path.of(args[1]), Path.of(args[2])));
    }
    System.exit(new CommandLine(new ExportBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    Path repo = work.resolve("repo");
    Path table = work.resolve("entities.parquet");
    if (!keep || !Files.exists(table)) {
      RegistrySnapshot registry = writeRepo(repo);
      long t0 = System.nanoTime();
      generateHistory(registry, repo.resolve(".quiver/offline/exportbench"));
      generateEntities(table);
      log(
          "generated %d entity rows and %d x %d history rows in %.1f s",
          entityRows, VIEWS, history, (System.nanoTime() - t0) / 1e9);
    }

    List<String> features = new ArrayList<>();
    for (int v = 0; v < VIEWS; v++) {
      for (int f = 0; f < FEATURES; f++) {
        features.add("v" + v + ":f" + f);
      }
    }
    Path quiverOut = work.resolve("quiver.parquet");
    List<String> quiverCommand = new ArrayList<>(List.of(javaBin(), "-Xmx" + heap));
    quiverCommand.addAll(quiverJvmArgs);
    quiverCommand.addAll(
        List.of(
            "-jar",
            quiverJar.toString(),
            "export",
            "--repo",
            repo.toString(),
            "--entities",
            table.toString(),
            "--features",
            String.join(",", features),
            "--out",
            quiverOut.toString(),
            "--memory-rows",
            "1000000"));
    Files.deleteIfExists(quiverOut);
    Run quiver = runChild(quiverCommand, "quiver-export");
    Path duckOut = work.resolve("duckdb.parquet");
    Files.deleteIfExists(duckOut);
    Run duck =
        runChild(
            List.of(
                javaBin(),
                "-Xmx" + heap,
                "-cp",
                System.getProperty("java.class.path"),
                ExportBench.class.getName(),
                "duckdb",
                repo.resolve(".quiver/offline/exportbench").toString() + "|" + table,
                duckOut.toString()),
            "duckdb-asof");

    long mismatches = compare(quiverOut, duckOut);
    System.out.println();
    System.out.println("| engine | wall time (s) | peak RSS (MB) |");
    System.out.println("|---|---|---|");
    System.out.printf(
        Locale.ROOT, "| quiver export | %.1f | %d |%n", quiver.seconds(), quiver.peakMb());
    System.out.printf(
        Locale.ROOT,
        "| DuckDB ASOF LEFT JOIN (JDBC) | %.1f | %d |%n",
        duck.seconds(),
        duck.peakMb());
    System.out.printf(
        Locale.ROOT,
        "%nratio quiver / DuckDB: time %.2f, peak memory %.2f; rows whose values differ: %d of %d%n",
        quiver.seconds() / duck.seconds(),
        (double) quiver.peakMb() / duck.peakMb(),
        mismatches,
        entityRows);
    return mismatches == 0 ? 0 : 1;
  }

  record Run(double seconds, long peakMb) {}

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  Run runChild(List<String> command, String name) throws Exception {
    log("running %s", name);
    long start = System.nanoTime();
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve(name + ".log").toFile())
            .start();
    long peakKb = 0;
    Path status = Path.of("/proc", String.valueOf(p.pid()), "status");
    while (p.isAlive()) {
      try {
        for (String line : Files.readAllLines(status)) {
          if (line.startsWith("VmHWM:")) {
            peakKb = Math.max(peakKb, Long.parseLong(line.replaceAll("[^0-9]", "")));
          }
        }
      } catch (java.io.IOException e) {
        // the process ended between the check and the read
      }
      p.waitFor(100, TimeUnit.MILLISECONDS);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (p.exitValue() != 0) {
      throw new IllegalStateException(name + " failed; see " + work.resolve(name + ".log"));
    }
    log("%s: %.1f s, peak RSS %d MB", name, seconds, peakKb / 1024);
    return new Run(seconds, peakKb / 1024);
  }

  RegistrySnapshot writeRepo(Path repo) throws Exception {
    Files.createDirectories(repo);
    Files.writeString(repo.resolve("quiver.yaml"), "project: exportbench\n");
    StringBuilder y = new StringBuilder("entities:\n  user: {join_keys: {user_id: string}}\n");
    y.append(
        "sources:\n  events:\n    kafka: {topic: events}\n    event_timestamp: ts\n    schema: {user_id: string, ts: int64, x: double}\n");
    y.append("feature_views:\n");
    for (int v = 0; v < VIEWS; v++) {
      y.append("  v")
          .append(v)
          .append(":\n    entities: [user]\n    source: events\n    features:\n");
      for (int f = 0; f < FEATURES; f++) {
        y.append("      f")
            .append(f)
            .append(": {type: double, expr: x * ")
            .append(f + 1)
            .append(".0}\n");
      }
    }
    Files.writeString(repo.resolve("features.yaml"), y.toString());
    DirectoryRegistryStore store = new DirectoryRegistryStore(repo.resolve(".quiver/registry"));
    RegistrySnapshot applied = store.latest().orElse(RegistrySnapshot.getDefaultInstance());
    var plan = Planner.plan(applied, RepoLoader.load(repo), false);
    return plan.isEmpty() ? applied : store.apply(applied.getVersion(), plan.next());
  }

  static String user(int i) {
    return String.format(Locale.ROOT, "u%07d", i);
  }

  static final long BASE = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
  static final long SPAN = Duration.ofDays(90).toMillis();

  void generateHistory(RegistrySnapshot registry, Path root) throws Exception {
    Field key = Field.newBuilder().setName("user_id").setType(Types.parse("string").get()).build();
    Random r = new Random(1);
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            root,
            new ParquetOfflineSink.Limits(256L << 20, Duration.ofHours(1)),
            Clock.systemUTC())) {
      for (int v = 0; v < VIEWS; v++) {
        List<String> names = new ArrayList<>();
        List<dev.quiver.proto.v1.ValueType> types = new ArrayList<>();
        for (int f = 0; f < FEATURES; f++) {
          names.add("f" + f);
          types.add(Types.parse("double").get());
        }
        ViewShape shape =
            new ViewShape(new ViewId("v" + v, 1), List.of(key), names, types, List.of());
        List<ViewRow> batch = new ArrayList<>();
        for (int i = 0; i < history; i++) {
          long ts = BASE + (long) (r.nextDouble() * SPAN);
          Object[] values = new Object[FEATURES];
          double x = r.nextInt(1_000_000) / 100.0;
          for (int f = 0; f < FEATURES; f++) {
            values[f] = x * (f + 1);
          }
          batch.add(
              new ViewRow(
                  shape,
                  List.of(user(r.nextInt(entities))),
                  new OrderKey(ts * 1000, OrderKey.NO_CREATED_TIME, 0, i),
                  values,
                  new Object[0]));
          if (batch.size() == 100_000 || i == history - 1) {
            sink.write(
                new RowBatch(
                    batch,
                    Map.of(shape.id(), Map.of(new SourcePartition("events", 0), (long) i + 1))));
            batch = new ArrayList<>();
          }
        }
      }
    }
  }

  void generateEntities(Path table) throws Exception {
    Random r = new Random(2);
    try (ExportWriter w =
        ExportWriter.open(
            table,
            List.of(
                new ExportWriter.Column("row_id", Types.parse("int64").get()),
                new ExportWriter.Column("user_id", Types.parse("string").get()),
                new ExportWriter.Column("event_timestamp", Types.parse("timestamp").get()),
                new ExportWriter.Column("label", Types.parse("int32").get())))) {
      for (int i = 0; i < entityRows; i++) {
        long ts = BASE + (long) (r.nextDouble() * SPAN * 1.05);
        w.row(
            new Object[] {
              (long) i,
              user(r.nextInt(entities + entities / 10)),
              Instant.ofEpochMilli(ts).plusNanos(500_000),
              r.nextInt(2)
            });
      }
      w.commit();
    }
  }

  /** The same training set with DuckDB: one ASOF LEFT JOIN per view, in entity-table order. */
  static int duckdb(Path inputs, Path out) throws Exception {
    String[] parts = inputs.toString().split("\\|");
    String root = parts[0].replace("'", "''");
    String table = parts[1].replace("'", "''");
    StringBuilder select = new StringBuilder("SELECT e.*");
    StringBuilder from = new StringBuilder(" FROM read_parquet('" + table + "') e");
    for (int v = 0; v < VIEWS; v++) {
      for (int f = 0; f < FEATURES; f++) {
        select
            .append(", v")
            .append(v)
            .append(".f")
            .append(f)
            .append(" AS v")
            .append(v)
            .append("__f")
            .append(f);
      }
      from.append(" ASOF LEFT JOIN read_parquet('")
          .append(root)
          .append("/v")
          .append(v)
          .append("/v1/**/*.parquet') v")
          .append(v)
          .append(" ON e.user_id = v")
          .append(v)
          .append(".user_id AND e.event_timestamp >= v")
          .append(v)
          .append(".event_ts");
    }
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement()) {
      s.execute("SET preserve_insertion_order = true");
      s.execute(
          "COPY ("
              + select
              + from
              + " ORDER BY e.row_id) TO '"
              + out.toString().replace("'", "''")
              + "' (FORMAT parquet)");
    }
    return 0;
  }

  static long compare(Path quiver, Path duck) throws Exception {
    StringBuilder differs = new StringBuilder("false");
    for (int v = 0; v < VIEWS; v++) {
      for (int f = 0; f < FEATURES; f++) {
        String c = "v" + v + "__f" + f;
        differs.append(" OR q.").append(c).append(" IS DISTINCT FROM d.").append(c);
      }
    }
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                "SELECT count(*) FROM read_parquet('"
                    + quiver
                    + "') q JOIN read_parquet('"
                    + duck
                    + "') d USING (row_id) WHERE "
                    + differs)) {
      r.next();
      long n = r.getLong(1);
      try (ResultSet rows =
          s.executeQuery(
              "SELECT (SELECT count(*) FROM read_parquet('"
                  + quiver
                  + "')), (SELECT count(*) FROM read_parquet('"
                  + duck
                  + "'))")) {
        rows.next();
        log("rows: quiver %d, duckdb %d", rows.getLong(1), rows.getLong(2));
      }
      return n;
    }
  }

  static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "[bench] " + format + "%n", args);
    System.out.flush();
  }
}
