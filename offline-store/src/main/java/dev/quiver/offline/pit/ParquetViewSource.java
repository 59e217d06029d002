package dev.quiver.offline.pit;

import dev.quiver.offline.ParquetSchemas;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.offline.pit.PointInTimeEngine.ViewRows;
import dev.quiver.registry.semantics.Micros;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.apache.parquet.hadoop.ParquetReader;

/**
 * Reads a view version's committed Parquet files (as the offline sink writes them) as the rows of a
 * point-in-time join: every {@code *.parquet} under the view's directory, skipping temporaries and
 * commit records.
 */
public final class ParquetViewSource implements PointInTimeEngine.RowSource {
  private final Path dir;
  private final List<String> joinKeys;
  private final List<String> features;

  public ParquetViewSource(Path viewDir, List<String> joinKeys, List<String> features) {
    this.dir = viewDir;
    this.joinKeys = List.copyOf(joinKeys);
    this.features = List.copyOf(features);
  }

  /** Committed files, in path order. */
  public List<Path> files() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(p -> p.getFileName().toString().endsWith(".parquet"))
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .sorted()
          .toList();
    }
  }

  /**
   * The view's offline watermark ({@link dev.quiver.registry.semantics.Watermark}): the greatest
   * event time among the rows of its committed files, epoch microseconds, or {@code Watermark.NONE}
   * when it has none. Read from the files' footers.
   */
  public long watermark() throws IOException {
    long max = dev.quiver.registry.semantics.Watermark.NONE;
    for (Path f : files()) {
      max = Math.max(max, dev.quiver.offline.ParquetFiles.maxEventTime(f));
    }
    return max;
  }

  @Override
  public CloseableIterator<ViewRows> read() throws IOException {
    List<Path> files = files();
    // Only the columns a join needs are decoded: keys, the order key, the requested features.
    List<String> columns = new ArrayList<>(joinKeys);
    columns.add(ParquetSchemas.EVENT_TS);
    columns.add(ParquetSchemas.CREATED_TS);
    columns.add(ParquetSchemas.PARTITION);
    columns.add(ParquetSchemas.OFFSET);
    int first = columns.size();
    columns.addAll(features);
    int keys = joinKeys.size();
    return new CloseableIterator<>() {
      int file = -1;
      ParquetReader<Object[]> reader;
      Object[] next;

      private void advance() {
        try {
          while (true) {
            if (reader != null) {
              next = reader.read();
              if (next != null) {
                return;
              }
              reader.close();
              reader = null;
            }
            if (++file >= files.size()) {
              next = null;
              return;
            }
            reader = dev.quiver.offline.ParquetFiles.reader(files.get(file), columns);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }

      {
        advance();
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ViewRows next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        Object[] r = next;
        Object[] key = new Object[keys];
        for (int k = 0; k < keys; k++) {
          key[k] = r[k] instanceof Integer i ? (Object) i.longValue() : r[k];
        }
        Object created = r[keys + 1];
        ViewRows row =
            new ViewRows(
                List.of(key),
                Micros.of((Instant) r[keys]),
                created == null ? PointInTimeEngine.NO_CREATED : Micros.of((Instant) created),
                (Integer) r[keys + 2],
                (Long) r[keys + 3],
                java.util.Arrays.copyOfRange(r, first, r.length));
        advance();
        return row;
      }

      @Override
      public void close() throws IOException {
        if (reader != null) {
          reader.close();
        }
      }
    };
  }
}
