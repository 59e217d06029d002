package dev.quiver.offline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The archive read back in offset order across commits and date files, and its retention. */
class SourceArchiveReaderTest {
  static final Instant DAY1 = Instant.parse("2026-03-01T12:00:00Z");

  static final Source SOURCE =
      Source.newBuilder()
          .setName("txns")
          .addSchema(field("card_id", ScalarType.SCALAR_TYPE_STRING))
          .addSchema(field("n", ScalarType.SCALAR_TYPE_INT32))
          .addSchema(field("event_ts", ScalarType.SCALAR_TYPE_TIMESTAMP))
          .setEventTimestampField("event_ts")
          .build();

  @TempDir Path dir;

  @Test
  void recordsComeBackInOffsetOrderAndRetentionDropsWholeDays() throws Exception {
    ViewShape shape = SourceArchive.shape(SOURCE);
    SourcePartition p0 = new SourcePartition("t", 0);
    SourcePartition p1 = new SourcePartition("t", 1);
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir, new ParquetOfflineSink.Limits(1L << 40, Duration.ofHours(1)), Clock.systemUTC())) {
      // Two commits; in each, records of both partitions with event days going back and forth.
      long offset = 0;
      for (int commit = 0; commit < 2; commit++) {
        List<ViewRow> rows = new ArrayList<>();
        for (int i = 0; i < 30; i++, offset++) {
          Instant t = DAY1.plus(Duration.ofDays((offset * 7) % 3));
          for (SourcePartition p : List.of(p0, p1)) {
            Map<String, Object> fields = new HashMap<>();
            fields.put("card_id", "c" + offset);
            fields.put("n", (int) offset * 10 + p.partition());
            fields.put("event_ts", t);
            rows.add(
                SourceArchive.row(
                    SOURCE,
                    shape,
                    fields,
                    new OrderKey(Micros.of(t), OrderKey.NO_CREATED_TIME, p.partition(), offset)));
          }
        }
        sink.write(
            new RowBatch(rows, Map.of(SourceArchive.id("txns"), Map.of(p0, offset, p1, offset))));
        sink.commitAll();
      }
      SourceArchiveReader reader = new SourceArchiveReader(sink);
      assertThat(reader.committed("txns")).containsEntry(p0, 60L).containsEntry(p1, 60L);
      // The source field named like an order-key column is kept apart from it.
      assertThat(SourceArchive.column("event_ts")).isEqualTo("_field_event_ts");

      List<SourceArchive.Record> all = SourceArchive.Records.drain(reader.read(SOURCE, p1, 5, 50));
      assertThat(all).extracting(r -> r.order().offset()).isEqualTo(range(5, 50));
      assertThat(all).allSatisfy(r -> assertThat(r.order().partition()).isEqualTo(1));
      SourceArchive.Record first = all.get(0);
      assertThat(first.fields())
          .containsEntry("card_id", "c5")
          .containsEntry("n", 51)
          .containsEntry("event_ts", DAY1.plus(Duration.ofDays(35 % 3)));
      assertThat(first.order().eventTimeMicros())
          .isEqualTo(Micros.of(DAY1.plus(Duration.ofDays(35 % 3))));

      // Any Parquet reader reads the archive as it is.
      String glob = sink.directory(SourceArchive.id("txns")) + "/*/*.parquet";
      try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:");
          java.sql.Statement st = c.createStatement();
          java.sql.ResultSet r =
              st.executeQuery(
                  "SELECT count(*), count(DISTINCT (_partition, _offset)), max(n),"
                      + " min(_field_event_ts) = min(event_ts) FROM read_parquet('"
                      + glob
                      + "')")) {
        assertThat(r.next()).isTrue();
        assertThat(r.getLong(1)).isEqualTo(120);
        assertThat(r.getLong(2)).isEqualTo(120);
        assertThat(r.getInt(3)).isEqualTo(591);
        assertThat(r.getBoolean(4)).isTrue();
      }

      // Retention: the first day's files go, the positions stay.
      int deleted = sink.deleteDatesBefore(SourceArchive.id("txns"), LocalDate.parse("2026-03-02"));
      assertThat(deleted).isEqualTo(2); // one file of that day per commit
      assertThat(reader.committed("txns")).containsEntry(p0, 60L);
      List<SourceArchive.Record> kept = SourceArchive.Records.drain(reader.read(SOURCE, p0, 0, 60));
      assertThat(kept)
          .extracting(r -> r.order().offset())
          .isEqualTo(range(0, 60).stream().filter(o -> (o * 7) % 3 != 0).toList());
    }
  }

  private static List<Long> range(long from, long to) {
    List<Long> out = new ArrayList<>();
    for (long o = from; o < to; o++) {
      out.add(o);
    }
    return out;
  }

  private static Field field(String name, ScalarType t) {
    return Field.newBuilder().setName(name).setType(ValueType.newBuilder().setScalar(t)).build();
  }
}
