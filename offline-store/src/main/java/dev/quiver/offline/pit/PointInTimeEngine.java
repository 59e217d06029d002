package dev.quiver.offline.pit;

import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.rows.OrderKey;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * Point-in-time joins: for every row of an entity table (keys and a timestamp t), the values of the
 * requested features as they were at t — from the row with the greatest order key {@code (event_ts,
 * created_ts, partition, offset)} among the entity's rows with {@code event_ts <= t} (inclusive),
 * null when there is none or when {@code t - event_ts > ttl}. Every entity row comes back exactly
 * once, in input order, its columns unchanged.
 *
 * <p>Both sides are sorted with spilling sorters (keys then time) and merged, so neither the entity
 * table nor the feature rows need to fit in memory: {@link Options#maxRowsInMemory()} bounds what
 * one sorter holds. Not thread-safe; one run at a time.
 */
public final class PointInTimeEngine {

  /** A source of rows that can be read more than once. */
  public interface Table {
    /** Column names, in order. */
    List<String> columns();

    /** Rows as arrays in column order; the iterator may need closing. */
    CloseableIterator<Object[]> rows() throws IOException;
  }

  /** An iterator over a resource. */
  public interface CloseableIterator<T> extends Iterator<T>, AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /**
   * One feature view version's stored rows, as needed by a join.
   *
   * @param name a label for progress and errors
   * @param joinKeys the view's join key columns, in key order
   * @param ttl the view's TTL; zero for none
   * @param features the feature columns to return, in the order of {@link ViewRows#values}
   * @param aggregations windowed aggregations to compute; a row's values hold, after the features,
   *     each aggregation's input (null for {@code count} without input)
   * @param rows its rows
   */
  public record ViewInput(
      String name,
      List<String> joinKeys,
      Duration ttl,
      List<String> features,
      List<Aggregation> aggregations,
      RowSource rows) {
    public ViewInput {
      joinKeys = List.copyOf(joinKeys);
      features = List.copyOf(features);
      aggregations = List.copyOf(aggregations);
      Objects.requireNonNull(ttl, "ttl");
      Objects.requireNonNull(rows, "rows");
    }

    /** A view input of row-level features only. */
    public ViewInput(
        String name, List<String> joinKeys, Duration ttl, List<String> features, RowSource rows) {
      this(name, joinKeys, ttl, features, List.of(), rows);
    }

    /** Values per row and per result: the features, then one per aggregation. */
    int width() {
      return features.size() + aggregations.size();
    }
  }

  /** Reads a view's rows. */
  public interface RowSource {
    CloseableIterator<ViewRows> read() throws IOException;
  }

  /**
   * One stored row: entity key (Long for integers, String, ByteString), order key with times in
   * microseconds, and the requested feature values.
   */
  public record ViewRows(
      List<Object> key,
      long eventMicros,
      long createdMicros,
      int partition,
      long offset,
      Object[] values) {}

  /**
   * Limits of a run.
   *
   * @param maxRowsInMemory rows one sorter keeps before spilling a run to disk
   * @param spillDir where run files go
   * @param progress called with the number of entity rows joined so far, now and then
   */
  public record Options(int maxRowsInMemory, Path spillDir, LongConsumer progress) {}

  /** Receives the joined rows, in input order. */
  public interface Output {
    void columns(List<String> names) throws IOException;

    void row(Object[] values) throws IOException;
  }

  private record Query(List<Object> key, long t, long row) {}

  private record Result(long row, Object[] values) {}

  private final Options options;

  public PointInTimeEngine(Options options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Joins {@code views} onto {@code table} as of the table's {@code timestampColumn} (its values:
   * epoch microseconds, as Long).
   *
   * @param columnNames output column name of each view's features, e.g. {@code view__feature}
   * @return how many rows were joined
   */
  public long join(
      Table table,
      String timestampColumn,
      List<ViewInput> views,
      Map<ViewInput, List<String>> columnNames,
      Output out)
      throws IOException {
    List<String> columns = table.columns();
    int tsIndex = columns.indexOf(timestampColumn);
    if (tsIndex < 0) {
      throw new IllegalArgumentException(
          "the entity table has no timestamp column '"
              + timestampColumn
              + "'; columns: "
              + columns);
    }
    Map<ViewInput, Iterator<Result>> results = new LinkedHashMap<>();
    List<ExternalSorter<?>> sorters = new ArrayList<>();
    try {
      for (ViewInput view : views) {
        int[] keyIndex = new int[view.joinKeys().size()];
        for (int k = 0; k < keyIndex.length; k++) {
          keyIndex[k] = columns.indexOf(view.joinKeys().get(k));
          if (keyIndex[k] < 0) {
            throw new IllegalArgumentException(
                "the entity table has no column '"
                    + view.joinKeys().get(k)
                    + "', a join key of "
                    + view.name()
                    + "; columns: "
                    + columns);
          }
        }
        ExternalSorter<Query> queries =
            sorter(
                Comparator.<Query, List<Object>>comparing(Query::key, Cells::compareKeys)
                    .thenComparingLong(Query::t)
                    .thenComparingLong(Query::row),
                QUERY_CODEC);
        sorters.add(queries);
        try (CloseableIterator<Object[]> rows = table.rows()) {
          long i = 0;
          while (rows.hasNext()) {
            Object[] r = rows.next();
            Object ts = r[tsIndex];
            if (ts != null) {
              List<Object> key = new ArrayList<>(keyIndex.length);
              boolean complete = true;
              for (int k : keyIndex) {
                Object v = normalize(r[k]);
                complete &= v != null;
                key.add(v);
              }
              if (complete) {
                queries.add(new Query(List.copyOf(key), (Long) ts, i));
              }
            }
            i++;
          }
        }
        ExternalSorter<ViewRows> stored = sorter(ROW_ORDER, rowCodec(view.width()));
        sorters.add(stored);
        try (CloseableIterator<ViewRows> rows = view.rows().read()) {
          while (rows.hasNext()) {
            stored.add(rows.next());
          }
        }
        ExternalSorter<Result> joined =
            sorter(Comparator.comparingLong(Result::row), resultCodec(view.width()));
        sorters.add(joined);
        merge(view, queries.sorted(), stored.sorted(), joined);
        results.put(view, joined.sorted());
      }

      List<String> header = new ArrayList<>(columns);
      for (ViewInput v : views) {
        header.addAll(columnNames.get(v));
      }
      out.columns(header);
      long n = 0;
      try (CloseableIterator<Object[]> rows = table.rows()) {
        Map<ViewInput, Result> pending = new LinkedHashMap<>();
        while (rows.hasNext()) {
          Object[] r = rows.next();
          Object[] row = new Object[header.size()];
          System.arraycopy(r, 0, row, 0, r.length);
          int at = r.length;
          for (ViewInput v : views) {
            Result res = pending.get(v);
            Iterator<Result> it = results.get(v);
            if (res == null && it.hasNext()) {
              res = it.next();
            }
            if (res != null && res.row() == n) {
              System.arraycopy(res.values(), 0, row, at, res.values().length);
              pending.remove(v);
            } else {
              pending.put(v, res);
            }
            at += v.width();
          }
          out.row(row);
          n++;
          if (n % 100_000 == 0) {
            options.progress().accept(n);
          }
        }
      }
      options.progress().accept(n);
      return n;
    } finally {
      for (ExternalSorter<?> s : sorters) {
        s.close();
      }
    }
  }

  /** Walks queries and rows, both in key then time order, keeping each key's latest usable row. */
  private static void merge(
      ViewInput view, Iterator<Query> queries, Iterator<ViewRows> rows, ExternalSorter<Result> out)
      throws IOException {
    long ttlMicros = view.ttl().toNanos() / 1000;
    int features = view.features().size();
    List<Aggregator> aggregators = view.aggregations().stream().map(Aggregator::new).toList();
    Object[] nulls = new Object[view.width()];
    ViewRows next = rows.hasNext() ? rows.next() : null;
    ViewRows latest = null;
    // Rows of the current key with event_ts <= t, oldest first, kept for the aggregation windows.
    ArrayDeque<ViewRows> window = new ArrayDeque<>();
    List<Object> currentKey = null;
    while (queries.hasNext()) {
      Query q = queries.next();
      if (currentKey == null || Cells.compareKeys(currentKey, q.key()) != 0) {
        currentKey = q.key();
        latest = null;
        window.clear();
        while (next != null && Cells.compareKeys(next.key(), q.key()) < 0) {
          next = rows.hasNext() ? rows.next() : null;
        }
      }
      while (next != null
          && Cells.compareKeys(next.key(), q.key()) == 0
          && next.eventMicros() <= q.t()) {
        latest = next;
        if (!aggregators.isEmpty()) {
          window.addLast(next);
        }
        next = rows.hasNext() ? rows.next() : null;
      }
      if (latest == null) {
        out.add(new Result(q.row(), nulls));
        continue;
      }
      Object[] values = new Object[view.width()];
      if (ttlMicros == 0 || q.t() - latest.eventMicros() <= ttlMicros) {
        System.arraycopy(latest.values(), 0, values, 0, features);
      }
      if (!aggregators.isEmpty()) {
        long tMillis = Math.floorDiv(q.t(), 1000L);
        long oldest = Long.MAX_VALUE;
        for (int a = 0; a < aggregators.size(); a++) {
          Aggregator agg = aggregators.get(a);
          long start = agg.windowStart(tMillis) * 1000;
          oldest = Math.min(oldest, start);
          AggregateState state = agg.empty();
          for (Iterator<ViewRows> it = window.descendingIterator(); it.hasNext(); ) {
            ViewRows r = it.next();
            if (r.eventMicros() < start) {
              break;
            }
            agg.add(
                state,
                r.values()[features + a],
                new OrderKey(
                    Math.floorDiv(r.eventMicros(), 1000L),
                    r.createdMicros() == NO_CREATED
                        ? NO_CREATED
                        : Math.floorDiv(r.createdMicros(), 1000L),
                    r.partition(),
                    r.offset()));
          }
          values[features + a] = JavaValues.toJava(agg.result(state));
        }
        // Windows only move forward with t: rows older than every window start are done.
        while (!window.isEmpty() && window.peekFirst().eventMicros() < oldest) {
          window.pollFirst();
        }
      }
      out.add(new Result(q.row(), values));
    }
  }

  private <T> ExternalSorter<T> sorter(Comparator<T> order, ExternalSorter.Codec<T> codec) {
    return new ExternalSorter<>(order, codec, options.maxRowsInMemory(), options.spillDir());
  }

  private static Object normalize(Object v) {
    return v instanceof Integer i ? (Object) i.longValue() : v;
  }

  static final Comparator<ViewRows> ROW_ORDER =
      Comparator.<ViewRows, List<Object>>comparing(ViewRows::key, Cells::compareKeys)
          .thenComparingLong(ViewRows::eventMicros)
          .thenComparingLong(ViewRows::createdMicros)
          .thenComparingInt(ViewRows::partition)
          .thenComparingLong(ViewRows::offset);

  /** The created time of a row without one; sorts before any value, as online. */
  public static final long NO_CREATED = OrderKey.NO_CREATED_TIME;

  private static final ExternalSorter.Codec<Query> QUERY_CODEC =
      new ExternalSorter.Codec<>() {
        @Override
        public void write(DataOutputStream out, Query q) throws IOException {
          writeKey(out, q.key());
          out.writeLong(q.t());
          out.writeLong(q.row());
        }

        @Override
        public Query read(DataInputStream in) throws IOException {
          return new Query(readKey(in), in.readLong(), in.readLong());
        }
      };

  private static ExternalSorter.Codec<ViewRows> rowCodec(int width) {
    return new ExternalSorter.Codec<>() {
      @Override
      public void write(DataOutputStream out, ViewRows r) throws IOException {
        writeKey(out, r.key());
        out.writeLong(r.eventMicros());
        out.writeLong(r.createdMicros());
        out.writeInt(r.partition());
        out.writeLong(r.offset());
        for (Object v : r.values()) {
          Cells.write(out, v);
        }
      }

      @Override
      public ViewRows read(DataInputStream in) throws IOException {
        List<Object> key = readKey(in);
        long e = in.readLong();
        long c = in.readLong();
        int p = in.readInt();
        long o = in.readLong();
        Object[] values = new Object[width];
        for (int i = 0; i < width; i++) {
          values[i] = Cells.read(in);
        }
        return new ViewRows(key, e, c, p, o, values);
      }
    };
  }

  private static ExternalSorter.Codec<Result> resultCodec(int width) {
    return new ExternalSorter.Codec<>() {
      @Override
      public void write(DataOutputStream out, Result r) throws IOException {
        out.writeLong(r.row());
        for (Object v : r.values()) {
          Cells.write(out, v);
        }
      }

      @Override
      public Result read(DataInputStream in) throws IOException {
        long row = in.readLong();
        Object[] values = new Object[width];
        for (int i = 0; i < width; i++) {
          values[i] = Cells.read(in);
        }
        return new Result(row, values);
      }
    };
  }

  private static void writeKey(DataOutputStream out, List<Object> key) throws IOException {
    out.writeByte(key.size());
    for (Object k : key) {
      Cells.write(out, k);
    }
  }

  private static List<Object> readKey(DataInputStream in) throws IOException {
    int n = in.readByte();
    List<Object> key = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      key.add(Cells.read(in));
    }
    return List.copyOf(key);
  }
}
