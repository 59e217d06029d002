package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.ParquetFiles;
import dev.quiver.offline.ParquetSchemas;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.schema.Type;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile entity tables through {@code quiver export}, run in-process as the script runs it. For
 * each: the exit code, a message naming the file (and line, row and column where there is one), no
 * stack trace, a message of bounded length, no temporary or partial output left, and an answer
 * within a time bound.
 */
class HostileExportTest {
  static final String FEATURES = "card_activity:last_amount";
  static final String OK_ROW = "c1,2026-03-01T00:00:00Z";

  @TempDir static Path dir;
  static Path repo;

  @BeforeAll
  static void applyTheExample() throws IOException {
    Path example = CliTest.checkoutRoot().resolve("examples/payments");
    repo = dir.resolve("payments");
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
    assertThat(CliTest.run("apply", repo.toString()).exit()).isZero();
  }

  /** How a case's entity table is made, in its own directory. */
  interface Maker {
    Path make(Path caseDir) throws Exception;
  }

  /**
   * A hostile entity table and what must come of it.
   *
   * @param parts what the error output must contain; {@code $FILE} stands for the table's path
   */
  record Case(String name, Maker table, int exit, List<String> extraArgs, String... parts) {}

  static Case csv(String name, byte[] content, int exit, String... parts) {
    return new Case(name, d -> write(d.resolve(name + ".csv"), content), exit, List.of(), parts);
  }

  static Case csv(String name, String content, int exit, String... parts) {
    return csv(name, content.getBytes(StandardCharsets.UTF_8), exit, parts);
  }

  static Path write(Path file, byte[] content) throws IOException {
    Files.write(file, content);
    return file;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  /** A real Parquet file of the given columns and rows (values in their Java forms). */
  static Maker parquet(String name, List<String> columns, List<String> types, Object[]... rows) {
    return d -> {
      Path file = d.resolve(name + ".parquet");
      var m = org.apache.parquet.schema.Types.buildMessage();
      List<ValueType> vts = new ArrayList<>();
      for (int i = 0; i < columns.size(); i++) {
        ValueType t = Types.parse(types.get(i)).get();
        vts.add(t);
        m.addField(ParquetSchemas.column(columns.get(i), t, Type.Repetition.OPTIONAL));
      }
      try (ParquetWriter<Object[]> w =
          ParquetFiles.rowWriter(file, m.named("entities"), vts, Map.of())) {
        for (Object[] r : rows) {
          w.write(r);
        }
      }
      return file;
    };
  }

  static List<Case> cases() {
    Random random = new Random(7);
    byte[] garbage = new byte[4096];
    random.nextBytes(garbage);
    garbage[0] = (byte) 0xff;
    String header = "card_id,event_timestamp";
    List<Case> c = new ArrayList<>();
    // Encodings and bytes.
    c.add(csv("binary_garbage", garbage, 1, "$FILE:1: not UTF-8 text: byte 0xff at byte offset 0"));
    c.add(
        csv(
            "garbage_on_line_3",
            concat(bytes(header + "\n" + OK_ROW + "\n"), new byte[] {(byte) 0xc3, 0x28}),
            1,
            "$FILE:3: not UTF-8 text"));
    c.add(
        csv(
            "utf16_without_bom",
            (header + "\n" + OK_ROW + "\n").getBytes(StandardCharsets.UTF_16LE),
            1,
            "$FILE:1: a NUL character",
            "UTF-16"));
    c.add(
        csv(
            "utf16_with_bom",
            concat(
                new byte[] {(byte) 0xff, (byte) 0xfe},
                (header + "\n" + OK_ROW + "\n").getBytes(StandardCharsets.UTF_16LE)),
            1,
            "$FILE:1: not UTF-8 text: byte 0xff at byte offset 0"));
    c.add(
        csv(
            "lone_surrogate_in_key",
            concat(
                bytes(header + "\nc"),
                new byte[] {(byte) 0xed, (byte) 0xb0, (byte) 0x80},
                bytes(",2026-03-01T00:00:00Z\n")),
            1,
            "$FILE:2: not UTF-8 text: byte 0xed"));
    c.add(
        csv("nul_bytes", header + "\nc\0\0,2026-03-01T00:00:00Z\n", 1, "$FILE:2: a NUL character"));
    c.add(csv("all_nul", new byte[1000], 1, "$FILE:1: a NUL character"));
    c.add(csv("utf8_bom_works", "\uFEFF" + header + "\n" + OK_ROW + "\n", 0, "Exported 1 rows"));
    // Shapes.
    c.add(csv("empty", new byte[0], 1, "$FILE: the entity table is empty"));
    c.add(csv("blank_lines_only", "\n\n\n", 1, "$FILE: the entity table is empty"));
    c.add(csv("header_only", header + "\n", 0, "Exported 0 rows"));
    c.add(
        csv(
            "ragged_short_row",
            header + ",label\n" + OK_ROW + ",1\nc2\n",
            1,
            "$FILE:3: row 2 has 1 value but the header names 3 columns"));
    c.add(
        csv(
            "ragged_long_row",
            header + "\n" + OK_ROW + ",x,y,z\n",
            1,
            "$FILE:2: row 1 has more than 2 values but the header names 2 columns"));
    c.add(
        csv(
            "quoted_newlines_work",
            header + ",note\n\"c1\",2026-03-01T00:00:00Z,\"two\nlines, \"\"quoted\"\"\"\n",
            0,
            "Exported 1 rows"));
    c.add(
        csv(
            "unterminated_quote",
            header + "\n" + OK_ROW + "\n\"c2,2026-03-01T00:00:00Z\n",
            1,
            "$FILE:",
            "malformed CSV: Missing closing quote"));
    c.add(
        csv(
            "huge_field",
            header + ",note\n" + OK_ROW + "," + "x".repeat(10_000_001) + "\n",
            1,
            "$FILE:2: a field longer than 10000000 characters"));
    c.add(
        csv(
            "million_columns_in_header",
            header + ",c".repeat(2_000_000) + "\n",
            1,
            "$FILE:1: the header has more than 10000 columns"));
    c.add(
        csv(
            "duplicate_headers",
            header + ",label,label\n" + OK_ROW + ",1,2\n",
            1,
            "$FILE: column 'label' appears twice in the header (columns 3 and 4)"));
    c.add(
        csv(
            "colliding_feature_column",
            header + ",card_activity__last_amount\n" + OK_ROW + ",1.0\n",
            1,
            "$FILE: column 'card_activity__last_amount' (column 3)",
            "rename or drop it"));
    c.add(
        csv(
            "feature_column_in_another_case",
            header + ",Card_Activity__Last_Amount\n" + OK_ROW + ",1.0\n",
            1,
            "$FILE: column 'Card_Activity__Last_Amount' (column 3) differs only in case from"
                + " 'card_activity__last_amount', the output column of feature"
                + " card_activity:last_amount",
            "rename or drop it"));
    c.add(csv("empty_header_name", header + ",,x\n" + OK_ROW + ",1,2\n", 1, "$FILE:1: column 3"));
    c.add(
        csv(
            "missing_key_column",
            "event_timestamp,label\n2026-03-01T00:00:00Z,1\n",
            1,
            "$FILE: no join key column 'card_id'"));
    c.add(
        csv(
            "missing_timestamp_column",
            "card_id,label\nc1,1\n",
            1,
            "$FILE: no timestamp column 'event_timestamp'"));
    // Timestamps.
    c.add(
        csv(
            "malformed_timestamp",
            header + "\n" + OK_ROW + "\nc2,yesterday\n",
            1,
            "$FILE:3: row 2, column 'event_timestamp': timestamp 'yesterday' is neither RFC 3339"));
    c.add(
        csv(
            "year_10000",
            header + "\nc1,+10000-01-01T00:00:00Z\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'",
            "outside the accepted range"));
    c.add(
        csv(
            "max_long_millis",
            header + "\nc1,9223372036854775807\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'",
            "outside the accepted range"));
    c.add(
        csv(
            "year_1600",
            header + "\nc1,1600-01-01T00:00:00Z\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'",
            "outside the accepted range"));
    c.add(
        csv(
            "twenty_digit_millis",
            header + "\nc1,99999999999999999999\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'"));
    c.add(
        csv(
            "megabyte_timestamp",
            header + "\nc1," + "9".repeat(1_000_000) + "\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'",
            "(1000000 characters)"));
    c.add(csv("leap_second_works", header + "\nc1,2016-12-31T23:59:60Z\n", 0, "Exported 1 rows"));
    c.add(
        csv(
            "second_60_not_at_midnight",
            header + "\nc1,2016-12-31T12:00:60Z\n",
            1,
            "$FILE:2: row 1, column 'event_timestamp'",
            "leap second"));
    // Parquet.
    c.add(
        new Case(
            "text_named_parquet",
            d -> write(d.resolve("t.parquet"), bytes(header + "\n" + OK_ROW + "\n")),
            1,
            List.of(),
            "$FILE: not a Parquet file"));
    c.add(
        new Case(
            "truncated_parquet",
            d -> {
              Path full =
                  parquet(
                          "full",
                          List.of("card_id", "event_timestamp"),
                          List.of("string", "timestamp"),
                          new Object[] {"c1", Instant.parse("2026-03-01T00:00:00Z")})
                      .make(d);
              byte[] b = Files.readAllBytes(full);
              Files.delete(full);
              return write(d.resolve("cut.parquet"), Arrays.copyOf(b, b.length / 2));
            },
            1,
            List.of(),
            "$FILE: not a Parquet file"));
    c.add(
        new Case(
            "damaged_parquet_footer",
            d -> write(d.resolve("d.parquet"), concat(bytes("PAR1"), garbage, bytes("PAR1"))),
            1,
            List.of(),
            "$FILE: a damaged Parquet file"));
    c.add(
        new Case(
            "parquet_integer_key",
            parquet(
                "intkey",
                List.of("card_id", "event_timestamp"),
                List.of("int64", "timestamp"),
                new Object[] {7L, Instant.parse("2026-03-01T00:00:00Z")}),
            1,
            List.of(),
            "$FILE: column 'card_id' is int64 but the join key card_id is string"));
    c.add(
        new Case(
            "parquet_bool_timestamp",
            parquet(
                "booltime",
                List.of("card_id", "event_timestamp"),
                List.of("string", "bool"),
                new Object[] {"c1", true}),
            1,
            List.of(),
            "$FILE: column 'event_timestamp' is bool"));
    c.add(
        new Case(
            "parquet_time_out_of_range",
            parquet(
                "late",
                List.of("card_id", "event_timestamp"),
                List.of("string", "timestamp"),
                new Object[] {"c1", Instant.parse("2026-03-01T00:00:00Z")},
                new Object[] {"c2", Instant.parse("3000-01-01T00:00:00Z")}),
            1,
            List.of(),
            "$FILE: row 2, column 'event_timestamp'",
            "outside the accepted range"));
    c.add(
        new Case(
            "parquet_millis_overflow",
            parquet(
                "millis",
                List.of("card_id", "event_timestamp"),
                List.of("string", "int64"),
                new Object[] {"c1", Long.MIN_VALUE}),
            1,
            List.of(),
            "$FILE: row 1, column 'event_timestamp'",
            "outside the accepted range"));
    c.add(
        new Case(
            "parquet_colliding_column",
            parquet(
                "collide",
                List.of("card_id", "event_timestamp", "card_activity__last_amount"),
                List.of("string", "timestamp", "double"),
                new Object[] {"c1", Instant.parse("2026-03-01T00:00:00Z"), 1.0}),
            1,
            List.of(),
            "$FILE: column 'card_activity__last_amount' (column 3)"));
    c.add(
        new Case(
            "parquet_empty_works",
            parquet("none", List.of("card_id", "event_timestamp"), List.of("string", "timestamp")),
            0,
            List.of(),
            "Exported 0 rows"));
    // Files that are not tables.
    c.add(
        new Case("missing_file", d -> d.resolve("nope.csv"), 1, List.of(), "$FILE: no such file"));
    c.add(
        new Case(
            "directory",
            d -> Files.createDirectory(d.resolve("dir.csv")),
            1,
            List.of(),
            "$FILE: is a directory"));
    c.add(
        new Case(
            "fifo",
            d -> {
              Path fifo = d.resolve("pipe.csv");
              Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
              assertThat(p.waitFor()).isZero();
              return fifo;
            },
            1,
            List.of(),
            "$FILE: not a regular file"));
    c.add(
        new Case(
            "unknown_extension",
            d -> write(d.resolve("t.txt"), bytes(header + "\n")),
            1,
            List.of(),
            "$FILE: unknown entity table format"));
    return c;
  }

  @TestFactory
  Stream<DynamicTest> everyHostileTableGetsAClearAnswer() {
    List<Case> cases = cases();
    assertThat(cases.size()).isGreaterThanOrEqualTo(25);
    return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
  }

  private static void check(Case c) throws Exception {
    Path caseDir = Files.createDirectories(dir.resolve("cases").resolve(c.name()));
    Path table = c.table().make(caseDir);
    Path outDir = caseDir.resolve("out");
    Files.createDirectories(outDir);
    Path out = outDir.resolve("training.parquet");
    List<String> args =
        new ArrayList<>(
            List.of(
                "export",
                "--repo",
                repo.toString(),
                "--entities",
                table.toString(),
                "--features",
                FEATURES,
                "--out",
                out.toString()));
    args.addAll(c.extraArgs());
    List<Path> spillsBefore = spills();
    CliTest.Result r =
        Assertions.assertTimeoutPreemptively(
            Duration.ofSeconds(60), () -> CliTest.run(args.toArray(new String[0])));
    String said = c.exit() == 0 ? r.out() : r.err();
    assertThat(r.exit()).as("%s: exit (stderr: %s)", c.name(), clip(r.err())).isEqualTo(c.exit());
    for (String part : c.parts()) {
      assertThat(said).as(c.name()).contains(part.replace("$FILE", table.toString()));
    }
    assertThat(r.err()).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    assertThat(r.err().length()).as("bounded message: %s", clip(r.err())).isLessThan(1000);
    if (c.exit() != 0) {
      assertThat(out).doesNotExist();
    } else {
      assertThat(out).exists();
    }
    try (Stream<Path> left = Files.list(outDir)) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .as("temporaries")
          .noneMatch(n -> n.endsWith(".tmp"));
    }
    assertThat(spills()).as("spill directories").isEqualTo(spillsBefore);
  }

  private static CliTest.Result export(Path entities, String out, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "export",
                "--repo",
                repo.toString(),
                "--entities",
                entities.toString(),
                "--features",
                FEATURES,
                "--out",
                out));
    args.addAll(List.of(more));
    return Assertions.assertTimeoutPreemptively(
        Duration.ofSeconds(60), () -> CliTest.run(args.toArray(new String[0])));
  }

  @org.junit.jupiter.api.Test
  void theOutputMayNotBeTheEntityTableByAnyName() throws IOException {
    Path caseDir = Files.createDirectories(dir.resolve("same"));
    Path table =
        write(caseDir.resolve("entities.csv"), bytes("card_id,event_timestamp\n" + OK_ROW));
    Path link = caseDir.resolve("link.csv");
    Files.createSymbolicLink(link, table);
    Files.createDirectories(caseDir.resolve("sub"));
    byte[] before = Files.readAllBytes(table);
    for (String out :
        List.of(
            table.toString(),
            link.toString(),
            caseDir.resolve("sub/../entities.csv").toString(),
            Path.of("").toAbsolutePath().relativize(table).toString())) {
      CliTest.Result r = export(table, out);
      assertThat(r.exit()).as(out).isEqualTo(2);
      assertThat(r.err()).contains("is the entity table itself").contains(out);
    }
    assertThat(export(link, table.toString()).exit()).isEqualTo(2);
    assertThat(Files.readAllBytes(table)).isEqualTo(before);
  }

  @org.junit.jupiter.api.Test
  void numericOptionsOutOfRangeAreUsageErrorsAtOnce() throws IOException {
    Path table =
        write(
            Files.createDirectories(dir.resolve("numbers")).resolve("e.csv"),
            bytes("card_id,event_timestamp\n" + OK_ROW + "\n"));
    for (String n : List.of("0", "-5", "1", "9999", "2000000000")) {
      long started = System.nanoTime();
      CliTest.Result r = export(table, dir.resolve("numbers/o.csv").toString(), "--memory-rows", n);
      assertThat(r.exit()).as(n).isEqualTo(2);
      assertThat(r.err()).contains("--memory-rows must be from 10000 to 100000000, not " + n);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    }
    assertThat(
            export(table, dir.resolve("numbers/o.csv").toString(), "--memory-rows", "10000").exit())
        .isZero();
  }

  @org.junit.jupiter.api.Test
  void anOutputThatCannotBeWrittenNamesTheFileAndTheReason() throws IOException {
    Path caseDir = Files.createDirectories(dir.resolve("unwritable"));
    Path table =
        write(caseDir.resolve("e.csv"), bytes("card_id,event_timestamp\n" + OK_ROW + "\n"));
    CliTest.Result proc = export(table, "/proc/x.csv");
    assertThat(proc.exit()).isEqualTo(1);
    assertThat(proc.err())
        .contains("/proc/x.csv: cannot write the training set: ")
        .contains("does not allow creating");
    Path file = write(caseDir.resolve("plain-file"), bytes("x"));
    CliTest.Result underFile = export(table, file.resolve("o.csv").toString());
    assertThat(underFile.exit()).isEqualTo(1);
    assertThat(underFile.err())
        .contains(file.resolve("o.csv") + ": cannot write the training set: ");
    CliTest.Result format = export(table, caseDir.resolve("o.xlsx").toString());
    assertThat(format.exit()).isEqualTo(2);
    assertThat(format.err()).contains("unknown output format");
    Path directory = Files.createDirectories(caseDir.resolve("d.csv"));
    CliTest.Result dirOut = export(table, directory.toString());
    assertThat(dirOut.exit()).isEqualTo(2);
    assertThat(dirOut.err()).contains(directory + ": is a directory");
  }

  private static List<Path> spills() throws IOException {
    try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return s.filter(p -> p.getFileName().toString().startsWith("quiver-export-"))
          .sorted()
          .toList();
    }
  }

  private static String clip(String s) {
    return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
  }
}
