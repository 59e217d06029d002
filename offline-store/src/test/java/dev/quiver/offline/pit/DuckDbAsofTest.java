package dev.quiver.offline.pit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.ParquetOfflineSink;
import dev.quiver.proto.v1.Field;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine over Quiver's own Parquet files agrees with DuckDB's ASOF join over the same files.
 */
class DuckDbAsofTest {
  @TempDir Path dir;

  @Test
  void engineMatchesDuckDbAsofLeftJoinOnTheSameFiles() throws Exception {
    ViewId view = new ViewId("card", 1);
    ViewShape shape =
        new ViewShape(
            view,
            List.of(
                Field.newBuilder().setName("card_id").setType(Types.parse("string").get()).build()),
            List.of("amount"),
            List.of(Types.parse("double").get()),
            List.of());
    Random r = new Random(5);
    long base = 1_780_000_000_000L;
    List<ViewRow> rows = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      // Distinct event times per card: DuckDB's ASOF has no tie-breaking rule to compare against.
      long ts = base + i * 1000L + r.nextInt(900);
      rows.add(
          new ViewRow(
              shape,
              List.of("c" + r.nextInt(50)),
              new OrderKey(ts * 1000, OrderKey.NO_CREATED_TIME, 0, i),
              new Object[] {r.nextInt(4) == 0 ? null : r.nextInt(100_000) / 100.0},
              new Object[0]));
    }
    try (ParquetOfflineSink sink =
        new ParquetOfflineSink(
            dir.resolve("offline"),
            new ParquetOfflineSink.Limits(200_000, Duration.ofHours(1)),
            Clock.systemUTC())) {
      for (int i = 0; i < rows.size(); i += 300) {
        sink.write(
            new RowBatch(
                rows.subList(i, Math.min(rows.size(), i + 300)),
                Map.of(
                    view,
                    Map.of(new SourcePartition("t", 0), (long) Math.min(rows.size(), i + 300)))));
      }
    }
    List<Object[]> queries = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      long t = (base - 5000 + r.nextInt(2_010_000)) * 1000;
      queries.add(new Object[] {"c" + r.nextInt(55), t});
    }

    Path viewDir = dir.resolve("offline/card/v1");
    PointInTimeEngine.ViewInput input =
        new PointInTimeEngine.ViewInput(
            "card",
            List.of("card_id"),
            Duration.ZERO,
            List.of("amount"),
            new ParquetViewSource(viewDir, List.of("card_id"), List.of("amount")));
    List<Object[]> engine = new ArrayList<>();
    new PointInTimeEngine(new PointInTimeEngine.Options(500, dir.resolve("spill"), n -> {}))
        .join(
            new PointInTimeEngine.Table() {
              @Override
              public List<String> columns() {
                return List.of("card_id", "ts");
              }

              @Override
              public PointInTimeEngine.CloseableIterator<Object[]> rows() {
                return PointInTimeEngineTest.iterate(queries);
              }
            },
            "ts",
            List.of(input),
            Map.of(input, List.of("card__amount")),
            new PointInTimeEngine.Output() {
              @Override
              public void columns(List<String> names) {}

              @Override
              public void row(Object[] values) {
                engine.add(values);
              }
            });

    Map<Integer, Double> duck = new HashMap<>();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE q (row_id INTEGER, card_id VARCHAR, ts TIMESTAMPTZ)");
      try (PreparedStatement p =
          c.prepareStatement("INSERT INTO q VALUES (?, ?, make_timestamptz(?))")) {
        for (int i = 0; i < queries.size(); i++) {
          p.setInt(1, i);
          p.setString(2, (String) queries.get(i)[0]);
          p.setLong(3, (Long) queries.get(i)[1]);
          p.addBatch();
        }
        p.executeBatch();
      }
      String files = viewDir.toString().replace("'", "''") + "/**/*.parquet";
      try (ResultSet rs =
          s.executeQuery(
              "SELECT q.row_id, f.amount FROM q ASOF LEFT JOIN read_parquet('"
                  + files
                  + "') f"
                  + " ON q.card_id = f.card_id AND q.ts >= f.event_ts ORDER BY q.row_id")) {
        while (rs.next()) {
          duck.put(rs.getInt(1), (Double) rs.getObject(2));
        }
      }
    }
    assertThat(duck).hasSize(queries.size());
    int matched = 0;
    for (int i = 0; i < queries.size(); i++) {
      assertThat(engine.get(i)[2])
          .as("row %d %s", i, List.of(queries.get(i)))
          .isEqualTo(duck.get(i));
      matched += duck.get(i) == null ? 0 : 1;
    }
    assertThat(matched).as("most rows find a value").isGreaterThan(queries.size() / 2);
  }
}
