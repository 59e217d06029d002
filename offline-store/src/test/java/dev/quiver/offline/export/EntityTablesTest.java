package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.Micros;
import dev.quiver.proto.v1.ScalarType;
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
}
