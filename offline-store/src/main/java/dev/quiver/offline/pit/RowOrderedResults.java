package dev.quiver.offline.pit;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Join results keyed by entity row number, handed back in row order. Rows are numbered 0..n-1, so
 * no sort is needed: when n fits the memory budget the results go into an array by row; otherwise
 * into one spill file per range of a quarter of {@code maxInMemory} rows, each loaded into such an
 * array in turn. Memory holds at most that many results either way.
 */
final class RowOrderedResults implements AutoCloseable {
  private final long rows;
  private final int width;
  private final int bucketRows;
  private final List<Path> files = new ArrayList<>();
  private final List<DataOutputStream> outs = new ArrayList<>();
  private Object[][] bucket;
  private int bucketIndex = -1;
  private long next;

  RowOrderedResults(long rows, int width, int maxInMemory, Path spillDir) throws IOException {
    this.rows = rows;
    this.width = width;
    // A quarter of the budget per range: results are wide (every feature of every view), and the
    // output being written is alive beside them.
    this.bucketRows = (int) Math.min(Math.max(1, maxInMemory / 4), Math.max(1, rows));
    if (rows <= bucketRows) {
      bucket = new Object[(int) rows][];
      bucketIndex = 0;
    } else {
      Files.createDirectories(spillDir);
      long buckets = (rows + bucketRows - 1) / bucketRows;
      for (long b = 0; b < buckets; b++) {
        Path f = Files.createTempFile(spillDir, "results-", ".bin");
        files.add(f);
        outs.add(
            new DataOutputStream(new ExternalSorter.Unsynchronized.Out(Files.newOutputStream(f))));
      }
    }
  }

  /** Records the values of entity row {@code row}. */
  void put(long row, Object[] values) throws IOException {
    if (files.isEmpty()) {
      bucket[(int) row] = values;
      return;
    }
    DataOutputStream out = outs.get((int) (row / bucketRows));
    out.writeInt((int) (row % bucketRows));
    for (Object v : values) {
      Cells.write(out, v);
    }
  }

  /**
   * The values of the next row, in row order starting at 0; null for a row without a result (no
   * timestamp or a missing key).
   */
  Object[] next() throws IOException {
    if (next >= rows) {
      throw new IllegalStateException("read past row " + rows);
    }
    int b = (int) (next / bucketRows);
    if (b != bucketIndex) {
      load(b);
    }
    return bucket[(int) (next++ - (long) b * bucketRows)];
  }

  private void load(int b) throws IOException {
    if (bucketIndex < 0) {
      for (DataOutputStream out : outs) {
        out.close();
      }
    }
    bucket = null;
    Object[][] loaded = new Object[bucketRows][];
    try (DataInputStream in =
        new DataInputStream(
            new ExternalSorter.Unsynchronized.In(Files.newInputStream(files.get(b))))) {
      while (true) {
        int at;
        try {
          at = in.readInt();
        } catch (EOFException end) {
          break;
        }
        Object[] values = new Object[width];
        for (int i = 0; i < width; i++) {
          values[i] = Cells.read(in);
        }
        loaded[at] = values;
      }
    }
    Files.deleteIfExists(files.get(b));
    bucket = loaded;
    bucketIndex = b;
  }

  @Override
  public void close() throws IOException {
    if (bucketIndex < 0) {
      for (DataOutputStream out : outs) {
        out.close();
      }
    }
    for (Path f : files) {
      Files.deleteIfExists(f);
    }
  }
}
