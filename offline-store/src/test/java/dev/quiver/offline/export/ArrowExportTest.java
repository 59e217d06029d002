package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.registry.Types;
import java.io.FileInputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowExportTest {
  @TempDir Path dir;

  @Test
  void writesAnArrowIpcFileInRecordBatches() throws Exception {
    Path out = dir.resolve("training.arrow");
    int n = 70_000; // more than one record batch
    try (ExportWriter w =
        ExportWriter.open(
            out,
            List.of(
                new ExportWriter.Column("card_id", Types.parse("string").get()),
                new ExportWriter.Column("event_timestamp", Types.parse("timestamp").get()),
                new ExportWriter.Column("v__amount", Types.parse("double").get()),
                new ExportWriter.Column("v__n", Types.parse("int64").get()),
                new ExportWriter.Column("v__embedding", Types.parse("list<float>").get())))) {
      for (int i = 0; i < n; i++) {
        w.row(
            new Object[] {
              "c" + i,
              Instant.ofEpochSecond(1_780_000_000L + i, 250_000),
              i % 3 == 0 ? null : i * 0.5,
              (long) i,
              i % 5 == 0 ? null : List.of(0.5f, (float) i)
            });
      }
      w.commit();
    }
    List<String> seen = new ArrayList<>();
    long rows = 0;
    try (RootAllocator allocator = new RootAllocator();
        FileInputStream in = new FileInputStream(out.toFile());
        ArrowFileReader reader = new ArrowFileReader(in.getChannel(), allocator)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      assertThat(root.getSchema().getFields())
          .extracting(f -> f.getName())
          .containsExactly("card_id", "event_timestamp", "v__amount", "v__n", "v__embedding");
      assertThat(reader.getRecordBlocks()).hasSizeGreaterThan(1);
      while (reader.loadNextBatch()) {
        for (int r = 0; r < root.getRowCount(); r++, rows++) {
          if (rows == 3 || rows == 10) {
            seen.add(
                root.getVector(0).getObject(r)
                    + " "
                    + root.getVector(1).getObject(r)
                    + " "
                    + root.getVector(2).getObject(r)
                    + " "
                    + root.getVector(3).getObject(r)
                    + " "
                    + root.getVector(4).getObject(r));
          }
        }
      }
    }
    assertThat(rows).isEqualTo(n);
    assertThat(seen.get(0)).isEqualTo("c3 1780000003000250 null 3 [0.5,3.0]");
    assertThat(seen.get(1)).startsWith("c10 ").endsWith(" 5.0 10 null");
  }
}
