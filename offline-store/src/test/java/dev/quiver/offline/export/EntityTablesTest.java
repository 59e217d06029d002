package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.ScalarType;
import dev.quiver.registry.semantics.Micros;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EntityTablesTest {
  @TempDir Path dir;

  /** pandas writes nanoseconds, Spark microseconds, others milliseconds: all mean the same time. */
  @Test
  void parquetTimestampsOfEveryUnitAreReadAsTheSameInstant() throws Exception {
    Instant t = Instant.parse("2026-03-01T12:34:56.123456Z");
    for (String type : List.of("TIMESTAMP_NS", "TIMESTAMP", "TIMESTAMP_MS")) {
      Path file = dir.resolve(type + ".parquet");
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
          Statement s = c.createStatement()) {
        s.execute(
            "COPY (SELECT 7::INTEGER AS user_id, CAST(TIMESTAMP '2026-03-01 12:34:56.123456' AS "
                + type
                + ") AS ts, 'x' AS label) TO '"
                + file
                + "' (FORMAT parquet)");
      }
      EntityTables.Opened opened =
          EntityTables.open(file, "ts", Map.of("user_id", ScalarType.SCALAR_TYPE_INT64));
      List<Object[]> rows = new ArrayList<>();
      try (var it = opened.table().rows()) {
        it.forEachRemaining(rows::add);
      }
      long want = type.equals("TIMESTAMP_MS") ? Micros.of(t) - 456 : Micros.of(t);
      assertThat(rows).hasSize(1);
      assertThat(rows.get(0)).as(type).containsExactly(7L, want, "x");
    }
  }

  private List<Object[]> read(String name, byte[] content) throws Exception {
    Path file = dir.resolve(name);
    java.nio.file.Files.write(file, content);
    EntityTables.Opened opened =
        EntityTables.open(file, "ts", Map.of("card_id", ScalarType.SCALAR_TYPE_STRING));
    List<Object[]> rows = new ArrayList<>();
    try (var it = opened.table().rows()) {
      it.forEachRemaining(rows::add);
    }
    return rows;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void aByteOrderMarkIsSkippedAndQuotedNewlinesKeepLineNumbersRight() throws Exception {
    List<Object[]> rows =
        read("bom.csv", utf8("\uFEFFcard_id,ts,note\nc1,2026-01-01T00:00:00Z,\"a\nb\"\n"));
    assertThat(rows).hasSize(1);
    assertThat(rows.get(0)[0]).isEqualTo("c1");
    assertThat(rows.get(0)[2]).isEqualTo("a\nb");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                read(
                    "lines.csv",
                    utf8("card_id,ts,note\nc1,2026-01-01T00:00:00Z,\"a\n\nb\"\nc2,nope,x\n")))
        .hasMessageContaining(
            "lines.csv:5: row 2, column 'ts': timestamp 'nope' is neither RFC 3339");
  }

  @Test
  void textThatIsNotUtf8IsRefusedWithItsLine() {
    byte[] bad = utf8("card_id,ts\nc1,2026-01-01T00:00:00Z\nc\u00e9,x\n");
    bad[bad.length - 5] = (byte) 0xff;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> read("latin.csv", bad))
        .hasMessageContaining("latin.csv:3: not UTF-8 text: byte 0xff at byte offset");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> read("nul.csv", utf8("card_id,ts\nc\u00001,2026-01-01T00:00:00Z\n")))
        .hasMessageContaining("nul.csv:2: a NUL character");
    // An encoded lone surrogate (CESU-8) is not UTF-8.
    byte[] surrogate = utf8("card_id,ts\ncXXX,2026-01-01T00:00:00Z\n");
    surrogate[12] = (byte) 0xed;
    surrogate[13] = (byte) 0xa0;
    surrogate[14] = (byte) 0x80;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> read("sur.csv", surrogate))
        .hasMessageContaining("sur.csv:2: not UTF-8 text: byte 0xed");
  }

  @Test
  void timesOutsideTheAcceptedRangeAreRefusedNamingRowAndColumn() throws Exception {
    for (String t :
        List.of(
            "+10000-01-01T00:00:00Z",
            "1600-01-01T00:00:00Z",
            "9223372036854775807",
            "-9223372036854775808",
            "2262-01-01T00:00:00Z")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> read("range.csv", utf8("card_id,ts\nc1,2026-01-01T00:00:00Z\nc2," + t + "\n")))
          .as(t)
          .hasMessageContaining("range.csv:3: row 2, column 'ts': timestamp")
          .hasMessageContaining("outside the accepted range, from 1678-01-01T00:00:00Z");
    }
    assertThat(read("ok.csv", utf8("card_id,ts\nc1,1678-01-01T00:00:00Z\n")).get(0)[1])
        .isEqualTo(dev.quiver.registry.semantics.TimeRange.MIN_MICROS);
  }

  @Test
  void aLeapSecondIsTheLastMicrosecondOfItsMinute() throws Exception {
    List<Object[]> rows =
        read(
            "leap.csv",
            utf8("card_id,ts\nc1,2016-12-31T23:59:60Z\nc1,2017-01-01T00:59:60.5+01:00\n"));
    long want = Micros.of(Instant.parse("2016-12-31T23:59:59.999999Z"));
    assertThat(rows.get(0)[1]).isEqualTo(want);
    assertThat(rows.get(1)[1]).isEqualTo(want);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> read("noleap.csv", utf8("card_id,ts\nc1,2016-12-31T12:00:60Z\n")))
        .hasMessageContaining("noleap.csv:2: row 1, column 'ts'")
        .hasMessageContaining("only a leap second at 23:59:60 UTC has");
  }

  @Test
  void aFileThatIsNotParquetSaysSo() throws Exception {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> read("text.parquet", utf8("card_id,ts\nc1,2026-01-01T00:00:00Z\n")))
        .hasMessage(
            dir.resolve("text.parquet")
                + ": not a Parquet file (it does not start and end with the bytes PAR1)");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> read("damaged.parquet", utf8("PAR1 this is not a footer at all PAR1")))
        .hasMessageStartingWith(dir.resolve("damaged.parquet") + ": a damaged Parquet file")
        .hasMessageNotContaining("@");
  }
}
