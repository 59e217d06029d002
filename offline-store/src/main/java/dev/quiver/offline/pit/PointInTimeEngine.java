package dev.quiver.offline.pit;

import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.semantics.AsOf;
import dev.quiver.registry.semantics.OrderKey;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
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
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(PointInTimeEngine.class);

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
      Object[] values,
      int keyHash) {
    public ViewRows(
        List<Object> key,
        long eventMicros,
        long createdMicros,
        int partition,
        long offset,
        Object[] values) {
      this(key, eventMicros, createdMicros, partition, offset, values, key.hashCode());
    }
  }

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

  /** An entity row to join: its key (and the key's hash, which sorts first), time and number. */
  private record Query(List<Object> key, int keyHash, long t, long row) {
    Query(List<Object> key, long t, long row) {
      this(key, key.hashCode(), t, row);
    }
  }

  /**
   * The order both sides of a merge share: by the key's hash, then by the key. Any total order of
   * keys would do, as long as both sides use it; comparing hashes first keeps the sorts from
   * reading the keys themselves most of the time.
   */
  static int compareKeys(int hashA, List<Object> a, int hashB, List<Object> b) {
    int c = Integer.compare(hashA, hashB);
    return c != 0 ? c : Cells.compareKeys(a, b);
  }

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
    // Views with the same join keys share one sort of the entity rows, one merge and one sort of
    // the results: the entity table is read once for all of them, and once more for the output.
    Map<List<String>, KeyGroup> byKeys = new LinkedHashMap<>();
    // Where each view's values sit in its group's results, for the output pass.
    KeyGroup[] groupOf = new KeyGroup[views.size()];
    int[] offsetOf = new int[views.size()];
    for (int vi = 0; vi < views.size(); vi++) {
      ViewInput view = views.get(vi);
      KeyGroup g = byKeys.get(view.joinKeys());
      if (g == null) {
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
        g = new KeyGroup(keyIndex);
        byKeys.put(view.joinKeys(), g);
      }
      groupOf[vi] = g;
      offsetOf[vi] = g.add(view);
    }
    List<KeyGroup> groups = List.copyOf(byKeys.values());
    List<ExternalSorter<?>> sorters = new ArrayList<>();
    // The views' rows are read and sorted on other cores while this thread reads the entity table.
    ExecutorService readers =
        Executors.newFixedThreadPool(
            Math.max(1, Math.min(views.size(), Runtime.getRuntime().availableProcessors() - 1)),
            r -> {
              Thread t = new Thread(r, "quiver-pit-read");
              t.setDaemon(true);
              return t;
            });
    Map<ViewInput, FutureTask<ExternalSorter<ViewRows>>> stored = new LinkedHashMap<>();
    try {
      for (ViewInput view : views) {
        ExternalSorter<ViewRows> rows = sorter(ROW_ORDER, rowCodec(view.width()));
        sorters.add(rows);
        FutureTask<ExternalSorter<ViewRows>> read =
            new FutureTask<>(
                () -> {
                  try (CloseableIterator<ViewRows> it = view.rows().read()) {
                    while (it.hasNext()) {
                      rows.add(it.next());
                    }
                  }
                  return rows;
                });
        stored.put(view, read);
        readers.execute(read);
      }
      for (KeyGroup g : groups) {
        g.queries = sorter(QUERY_ORDER, QUERY_CODEC);
        sorters.add(g.queries);
      }
      long total = 0;
      try (CloseableIterator<Object[]> rows = Prefetch.of(table.rows(), "quiver-pit-table")) {
        long i = 0;
        while (rows.hasNext()) {
          Object[] r = rows.next();
          if (r[tsIndex] instanceof Long ts) {
            for (KeyGroup g : groups) {
              List<Object> key = g.key(r);
              if (key != null) {
                g.queries.add(new Query(key, ts, i));
              }
            }
          }
          i++;
        }
        total = i;
      }
      long started = System.nanoTime();
      LOG.debug("entity rows read and keyed");
      // Done with the entity table: read the views no other thread has started yet here (a task
      // runs once, whichever thread gets to it first).
      for (FutureTask<ExternalSorter<ViewRows>> read : stored.values()) {
        read.run();
      }
      for (KeyGroup g : groups) {
        List<Cursor> cursors = new ArrayList<>();
        for (ViewInput view : g.views) {
          cursors.add(new Cursor(view, await(stored.get(view)).sorted()));
        }
        LOG.debug("feature rows read ({} ms waited)", (System.nanoTime() - started) / 1_000_000);
        g.results =
            new RowOrderedResults(total, g.width, options.maxRowsInMemory(), options.spillDir());
        merge(g, cursors, g.queries.sorted(), g.results);
        LOG.debug("merged");
      }

      List<String> header = new ArrayList<>(columns);
      for (ViewInput v : views) {
        header.addAll(columnNames.get(v));
      }
      out.columns(header);
      long n = 0;
      try (CloseableIterator<Object[]> rows = Prefetch.of(table.rows(), "quiver-pit-table")) {
        while (rows.hasNext()) {
          Object[] r = rows.next();
          Object[] row = new Object[header.size()];
          System.arraycopy(r, 0, row, 0, r.length);
          for (KeyGroup g : groups) {
            g.current = g.results.next();
          }
          int at = r.length;
          for (int vi = 0; vi < groupOf.length; vi++) {
            int width = views.get(vi).width();
            if (groupOf[vi].current != null) {
              System.arraycopy(groupOf[vi].current, offsetOf[vi], row, at, width);
            }
            at += width;
          }
          out.row(row);
          n++;
          if (n % 100_000 == 0) {
            options.progress().accept(n);
          }
        }
      }
      options.progress().accept(n);
      LOG.debug("written");
      return n;
    } finally {
      // No reader may still write a run file when the sorters delete theirs.
      readers.shutdownNow();
      try {
        readers.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (ExternalSorter<?> s : sorters) {
        s.close();
      }
      for (KeyGroup g : groups) {
        if (g.results != null) {
          g.results.close();
        }
      }
    }
  }

  private static <T> T await(Future<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while reading feature rows");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IOException(cause);
    }
  }

  /** Views sharing join keys, joined in one pass over the entity rows sorted by those keys. */
  private static final class KeyGroup {
    final int[] keyIndex;
    final List<ViewInput> views = new ArrayList<>();
    int width;
    ExternalSorter<Query> queries;
    RowOrderedResults results;
    Object[] current;

    KeyGroup(int[] keyIndex) {
      this.keyIndex = keyIndex;
    }

    /** Adds a view; returns where its values start in the group's results. */
    int add(ViewInput view) {
      views.add(view);
      int offset = width;
      width += view.width();
      return offset;
    }

    /** The entity row's key for these views, or null when a part of it is missing. */
    List<Object> key(Object[] row) {
      if (keyIndex.length == 1) {
        Object v = normalize(row[keyIndex[0]]);
        return v == null ? null : List.of(v);
      }
      Object[] key = new Object[keyIndex.length];
      for (int k = 0; k < keyIndex.length; k++) {
        key[k] = normalize(row[keyIndex[k]]);
        if (key[k] == null) {
          return null;
        }
      }
      return List.of(key);
    }
  }

  /** One view's position in its sorted rows during a merge. */
  private static final class Cursor {
    final ViewInput view;
    final Iterator<ViewRows> rows;
    final long ttlMicros;
    final int features;
    final List<Aggregator> aggregators;
    // Rows of the current key with event_ts <= t, oldest first, kept for the aggregation windows.
    final ArrayDeque<ViewRows> window = new ArrayDeque<>();
    ViewRows next;
    ViewRows latest;

    Cursor(ViewInput view, Iterator<ViewRows> rows) {
      this.view = view;
      this.rows = rows;
      this.ttlMicros = AsOf.ttlMicros(view.ttl());
      this.features = view.features().size();
      this.aggregators = view.aggregations().stream().map(Aggregator::new).toList();
      this.next = rows.hasNext() ? rows.next() : null;
    }

    /** A new entity key: forget the last one's rows and skip to this one's. */
    void startKey(Query q) {
      latest = null;
      window.clear();
      while (next != null && compareKeys(next.keyHash(), next.key(), q.keyHash(), q.key()) < 0) {
        next = rows.hasNext() ? rows.next() : null;
      }
    }

    /**
     * Takes in the key's rows with {@code event_ts <= t} and writes the values as of t into {@code
     * values} from {@code at}; returns false (writing nothing) when the key has no row yet.
     */
    boolean valuesAt(Query q, Object[] values, int at) {
      while (next != null
          && AsOf.visible(next.eventMicros(), q.t())
          && next.keyHash() == q.keyHash()
          && Cells.compareKeys(next.key(), q.key()) == 0) {
        latest = next;
        if (!aggregators.isEmpty()) {
          window.addLast(next);
        }
        next = rows.hasNext() ? rows.next() : null;
      }
      if (latest == null) {
        return false;
      }
      if (AsOf.usable(latest.eventMicros(), q.t(), ttlMicros)) {
        System.arraycopy(latest.values(), 0, values, at, features);
      }
      if (!aggregators.isEmpty()) {
        long oldest = Long.MAX_VALUE;
        for (int a = 0; a < aggregators.size(); a++) {
          Aggregator agg = aggregators.get(a);
          long start = agg.window().start(q.t());
          oldest = Math.min(oldest, start);
          AggregateState state = agg.empty();
          for (Iterator<ViewRows> it = window.descendingIterator(); it.hasNext(); ) {
            ViewRows r = it.next();
            if (!agg.window().contains(r.eventMicros(), q.t())) {
              break;
            }
            agg.add(
                state,
                r.values()[features + a],
                new OrderKey(r.eventMicros(), r.createdMicros(), r.partition(), r.offset()));
          }
          values[at + features + a] = JavaValues.toJava(agg.result(state));
        }
        // Windows only move forward with t: rows older than every window start are done.
        while (!window.isEmpty() && window.peekFirst().eventMicros() < oldest) {
          window.pollFirst();
        }
      }
      return true;
    }
  }

  /**
   * Walks the entity rows and every view's rows, all in key then time order, keeping each key's
   * latest usable row per view.
   */
  private static void merge(
      KeyGroup group, List<Cursor> cursors, Iterator<Query> queries, RowOrderedResults out)
      throws IOException {
    Object[] nulls = new Object[group.width];
    List<Object> currentKey = null;
    while (queries.hasNext()) {
      Query q = queries.next();
      if (currentKey == null || Cells.compareKeys(currentKey, q.key()) != 0) {
        currentKey = q.key();
        for (Cursor c : cursors) {
          c.startKey(q);
        }
      }
      Object[] values = new Object[group.width];
      boolean any = false;
      int at = 0;
      for (Cursor c : cursors) {
        any |= c.valuesAt(q, values, at);
        at += c.view.width();
      }
      out.put(q.row(), any ? values : nulls);
    }
  }

  private <T> ExternalSorter<T> sorter(Comparator<T> order, ExternalSorter.Codec<T> codec) {
    return new ExternalSorter<>(order, codec, options.maxRowsInMemory(), options.spillDir());
  }

  private static Object normalize(Object v) {
    return v instanceof Integer i ? (Object) i.longValue() : v;
  }

  private static final Comparator<Query> QUERY_ORDER =
      (a, b) -> {
        int c = compareKeys(a.keyHash(), a.key(), b.keyHash(), b.key());
        if (c != 0) {
          return c;
        }
        c = Long.compare(a.t(), b.t());
        return c != 0 ? c : Long.compare(a.row(), b.row());
      };

  static final Comparator<ViewRows> ROW_ORDER =
      (a, b) -> {
        int c = compareKeys(a.keyHash(), a.key(), b.keyHash(), b.key());
        return c != 0
            ? c
            : OrderKey.compare(
                a.eventMicros(),
                a.createdMicros(),
                a.partition(),
                a.offset(),
                b.eventMicros(),
                b.createdMicros(),
                b.partition(),
                b.offset());
      };

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
