package dev.quiver.offline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.AggregationFunction;
import dev.quiver.proto.v1.Field;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.io.InterruptedIOException;
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
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParquetOfflineSinkTest {
  static final ViewId VIEW = new ViewId("card", 1);
  static final SourcePartition P0 = new SourcePartition("txns", 0);
  static final ViewShape SHAPE =
      new ViewShape(
          VIEW,
          List.of(
              Field.newBuilder().setName("card_id").setType(Types.parse("string").get()).build()),
          List.of("amount", "country", "tags"),
          List.of(
              Types.parse("double").get(),
              Types.parse("string").get(),
              Types.parse("list<string>").get()),
          List.of(
              Aggregation.newBuilder()
                  .setName("total")
                  .setFunction(AggregationFunction.AGGREGATION_FUNCTION_SUM)
                  .setInput("amount")
                  .setInputType(Types.parse("double").get())
                  .build()));
  static final ParquetOfflineSink.Limits SLOW =
      new ParquetOfflineSink.Limits(1L << 40, Duration.ofHours(1));

  @TempDir Path dir;

  static ViewRow row(String card, Instant ts, long offset, Double amount, String country) {
    return new ViewRow(
        SHAPE,
        List.of(card),
        new OrderKey(
            Micros.of(ts),
            offset % 2 == 0 ? OrderKey.NO_CREATED_TIME : Micros.of(ts) + 5000,
            0,
            offset),
        new Object[] {
          amount, country, amount == null ? null : List.of("a", country == null ? "b" : country)
        },
        new Object[] {amount});
  }

  /** Rows for offsets [from, to), spread over two event dates. */
  static RowBatch batch(long from, long to) {
    List<ViewRow> rows = new ArrayList<>();
    for (long o = from; o < to; o++) {
      Instant ts = Instant.parse("2026-03-01T23:59:00Z").plusSeconds(30 * (o % 4));
      rows.add(row("c" + (o % 7), ts, o, o % 5 == 0 ? null : o * 1.5, o % 3 == 0 ? null : "US"));
    }
    return new RowBatch(rows, Map.of(VIEW, Map.of(P0, to)));
  }

  static List<List<Object>> query(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      List<List<Object>> out = new ArrayList<>();
      int n = r.getMetaData().getColumnCount();
      while (r.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(r.getObject(i));
        }
        out.add(row);
      }
      return out;
    }
  }

  String files() {
    return dir.resolve("card/v1").toString().replace("'", "''") + "/**/*.parquet";
  }

  @Test
  void committedFilesAreReadableByDuckDbWithTheirOrderKeys() throws Exception {
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      sink.write(batch(0, 50));
      sink.write(batch(50, 100));
    }
    List<Path> parquet;
    try (Stream<Path> walk = Files.walk(dir)) {
      parquet = walk.filter(p -> p.toString().endsWith(".parquet")).sorted().toList();
    }
    assertThat(parquet)
        .extracting(p -> p.getParent().getFileName().toString())
        .containsExactlyInAnyOrder("date=2026-03-01", "date=2026-03-02");
    assertThat(
            query(
                "SELECT count(*), count(DISTINCT _offset), min(_offset), max(_offset) FROM read_parquet('"
                    + files()
                    + "')"))
        .containsExactly(List.of(100L, 100L, 0L, 99L));
    List<List<Object>> r =
        query(
            "SELECT card_id, epoch_ms(event_ts), amount, country, tags, _agg_total, _partition, created_ts IS NULL"
                + " FROM read_parquet('"
                + files()
                + "') WHERE _offset IN (3, 10) ORDER BY _offset");
    assertThat(r.get(0).subList(0, 4))
        .containsExactly("c3", Instant.parse("2026-03-02T00:00:30Z").toEpochMilli(), 4.5, null);
    assertThat(r.get(0).get(5)).isEqualTo(4.5);
    assertThat(r.get(0).get(7)).isEqualTo(false);
    assertThat(r.get(1).get(2)).isNull();
    assertThat(r.get(1).get(7)).isEqualTo(true);
    assertThat(
            query(
                "SELECT typeof(event_ts), typeof(tags) FROM read_parquet('"
                    + files()
                    + "') LIMIT 1"))
        .containsExactly(List.of("TIMESTAMP WITH TIME ZONE", "VARCHAR[]"));
  }

  @Test
  void positionsAreCommittedWithTheFilesAndSurviveARestart() throws Exception {
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      assertThat(sink.position(VIEW, P0)).isZero();
      sink.write(batch(0, 40));
      assertThat(committed(sink)).as("not committed yet").isZero();
      sink.commitAll();
      assertThat(committed(sink)).isEqualTo(40);
      assertThat(sink.position(VIEW, P0)).isEqualTo(40);
    }
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      assertThat(sink.position(VIEW, P0)).isEqualTo(40);
    }
  }

  @Test
  void crashBeforeTheCommitRecordDiscardsTheFilesAndKeepsThePosition() throws Exception {
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      sink.write(batch(0, 30));
    }
    ParquetOfflineSink crashing =
        new ParquetOfflineSink(
            dir,
            SLOW,
            Clock.systemUTC(),
            step -> {
              if (step == ParquetOfflineSink.Step.FILES_WRITTEN) {
                throw new IOException("power cut");
              }
            });
    crashing.write(batch(30, 60));
    assertThatThrownBy(crashing::commitAll).hasMessage("power cut");

    try (ParquetOfflineSink restarted = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      assertThat(restarted.position(VIEW, P0)).isEqualTo(30);
      try (Stream<Path> walk = Files.walk(dir)) {
        assertThat(walk.filter(p -> p.toString().endsWith(".tmp")).toList()).isEmpty();
      }
      // Ingestion reads offsets 30.. again: every row ends up exactly once.
      restarted.write(batch(30, 60));
    }
    assertThat(
            query("SELECT count(*), count(DISTINCT _offset) FROM read_parquet('" + files() + "')"))
        .containsExactly(List.of(60L, 60L));
  }

  @Test
  void crashAfterTheCommitRecordIsRolledForward() throws Exception {
    ParquetOfflineSink crashing =
        new ParquetOfflineSink(
            dir,
            SLOW,
            Clock.systemUTC(),
            step -> {
              if (step == ParquetOfflineSink.Step.RECORD_WRITTEN) {
                throw new IOException("crash after the record");
              }
            });
    crashing.write(batch(0, 25));
    assertThatThrownBy(crashing::commitAll).hasMessage("crash after the record");

    try (ParquetOfflineSink restarted = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      assertThat(restarted.position(VIEW, P0)).isEqualTo(25);
      restarted.write(batch(25, 50));
    }
    assertThat(
            query("SELECT count(*), count(DISTINCT _offset) FROM read_parquet('" + files() + "')"))
        .containsExactly(List.of(50L, 50L));
  }

  @Test
  void aFeatureAddedToAViewStartsNewFilesWithTheWiderSchema() throws Exception {
    ViewShape wider =
        new ViewShape(
            VIEW,
            SHAPE.joinKeys(),
            List.of("amount", "country", "tags", "fresh"),
            List.of(
                Types.parse("double").get(),
                Types.parse("string").get(),
                Types.parse("list<string>").get(),
                Types.parse("bool").get()),
            SHAPE.aggregations());
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      sink.write(batch(0, 10));
      Instant ts = Instant.parse("2026-03-01T12:00:00Z");
      sink.write(
          new RowBatch(
              List.of(
                  new ViewRow(
                      wider,
                      List.of("c1"),
                      new OrderKey(Micros.of(ts), OrderKey.NO_CREATED_TIME, 0, 10),
                      new Object[] {1.0, "US", List.of("x"), true},
                      new Object[] {1.0})),
              Map.of(VIEW, Map.of(P0, 11L))));
      assertThat(committed(sink)).as("nothing committed in the middle").isZero();
      sink.commitAll();
      assertThat(committed(sink)).isEqualTo(11);
    }
    try (Stream<Path> walk = Files.walk(dir.resolve("card/v1/date=2026-03-01"))) {
      assertThat(walk.filter(p -> p.toString().endsWith(".parquet")).toList())
          .as("one file per schema, in the same commit")
          .hasSize(2)
          .allMatch(p -> p.getFileName().toString().startsWith("part-000000000000-"));
    }
    assertThat(
            query(
                "SELECT count(*), count(fresh) FROM read_parquet('"
                    + files()
                    + "', union_by_name = true)"))
        .containsExactly(List.of(11L, 1L));
  }

  private static long committed(ParquetOfflineSink sink) throws IOException {
    return sink.committed(VIEW).getOrDefault(P0, 0L);
  }

  @Test
  void aWriterThatReadsPositionsAgainDoesNotWriteHeldRowsTwice() throws Exception {
    try (ParquetOfflineSink sink = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      sink.write(batch(0, 25));
      // A writer restarting (a registry change, another sink's failure) seeks to the position
      // the sink reports: rows held in its open files count, or they would be written twice.
      long from = sink.position(VIEW, P0);
      assertThat(from).isEqualTo(25);
      sink.write(batch(from, 40));
      sink.commitAll();
    }
    assertThat(
            query("SELECT count(*), count(DISTINCT _offset) FROM read_parquet('" + files() + "')"))
        .containsExactly(List.of(40L, 40L));
  }

  @Test
  void closeLetsACommitInProgressFinish() throws Exception {
    CountDownLatch committing = new CountDownLatch(1);
    ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir,
            new ParquetOfflineSink.Limits(1L << 40, Duration.ofMillis(100)),
            Clock.systemUTC(),
            step -> {
              if (step == ParquetOfflineSink.Step.FILES_WRITTEN
                  && Thread.currentThread().getName().equals("quiver-offline-roller")) {
                committing.countDown();
                try {
                  Thread.sleep(300); // a slow disk
                } catch (InterruptedException e) {
                  throw new InterruptedIOException("interrupted in the middle of a commit");
                }
              }
            });
    sink.write(batch(0, 40));
    assertThat(committing.await(10, TimeUnit.SECONDS)).isTrue();
    sink.close(); // a shutdown while the background commit is between its steps

    try (ParquetOfflineSink restarted = new ParquetOfflineSink(dir, SLOW, Clock.systemUTC())) {
      assertThat(restarted.position(VIEW, P0)).isEqualTo(40);
    }
    assertThat(
            query("SELECT count(*), count(DISTINCT _offset) FROM read_parquet('" + files() + "')"))
        .containsExactly(List.of(40L, 40L));
  }

  @Test
  void afterAFailedBackgroundCommitWritesAreRefusedUntilPositionsAreReadAgain() throws Exception {
    CountDownLatch failed = new CountDownLatch(1);
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir,
            new ParquetOfflineSink.Limits(1L << 40, Duration.ofMillis(100)),
            Clock.systemUTC(),
            step -> {
              if (step == ParquetOfflineSink.Step.FILES_WRITTEN && failed.getCount() > 0) {
                failed.countDown();
                throw new IOException("disk full");
              }
            })) {
      sink.write(batch(0, 20));
      assertThat(failed.await(10, TimeUnit.SECONDS)).isTrue();
      // Rows 0..19 were dropped with the failed commit: writing 20.. now would leave a gap.
      assertThatThrownBy(() -> sink.write(batch(20, 40)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("dropped after a failed commit");
      assertThatThrownBy(() -> sink.write(batch(20, 40)))
          .as("still refused: nobody has read the committed positions yet")
          .hasMessageContaining("dropped after a failed commit");
      // What ingestion does next: read the committed positions and write again from there.
      assertThat(sink.position(VIEW, P0)).isZero();
      sink.write(batch(0, 40));
    }
    assertThat(
            query("SELECT count(*), count(DISTINCT _offset) FROM read_parquet('" + files() + "')"))
        .containsExactly(List.of(40L, 40L));
  }

  @Test
  void filesRollBySizeAndAge() throws Exception {
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir, new ParquetOfflineSink.Limits(1, Duration.ofHours(1)), Clock.systemUTC())) {
      sink.write(batch(0, 10));
      assertThat(committed(sink)).as("committed at once: the file passed its size").isEqualTo(10);
    }
    Path aged = dir.resolve("aged");
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            aged,
            new ParquetOfflineSink.Limits(1L << 40, Duration.ofMillis(200)),
            Clock.systemUTC())) {
      sink.write(batch(0, 10));
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (committed(sink) == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(committed(sink)).as("committed by age").isEqualTo(10);
    }
  }
}
