package dev.quiver.offline.pit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.offline.pit.PointInTimeEngine.ViewInput;
import dev.quiver.offline.pit.PointInTimeEngine.ViewRows;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine against a brute-force reference on many generated data sets. */
class PointInTimeEngineTest {
  @TempDir Path dir;

  static <T> CloseableIterator<T> iterate(List<T> items) {
    Iterator<T> it = items.iterator();
    return new CloseableIterator<>() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public T next() {
        return it.next();
      }

      @Override
      public void close() {}
    };
  }

  record Data(List<Object[]> table, List<ViewRows> rows, long ttlMicros) {}

  static Data generate(Random r) {
    int keys = 1 + r.nextInt(6);
    List<ViewRows> rows = new ArrayList<>();
    long[] nextOffset = new long[2];
    int n = r.nextInt(60);
    for (int i = 0; i < n; i++) {
      int partition = r.nextInt(2);
      Object value = r.nextInt(8) == 0 ? null : "v" + i;
      rows.add(
          new ViewRows(
              List.of("k" + r.nextInt(keys)),
              10L * r.nextInt(8),
              r.nextBoolean() ? PointInTimeEngine.NO_CREATED : r.nextInt(3),
              partition,
              nextOffset[partition]++,
              new Object[] {value, (long) i}));
    }
    // Rows arrive in any order: the engine must not rely on it.
    java.util.Collections.shuffle(rows, r);
    List<Object[]> table = new ArrayList<>();
    int q = r.nextInt(40);
    for (int i = 0; i < q; i++) {
      long t = r.nextInt(10) == 0 ? -5 : 5L * r.nextInt(20); // some before every row
      Object key = r.nextInt(10) == 0 ? null : "k" + r.nextInt(keys + 2); // some unknown, some null
      table.add(new Object[] {key, t, "label" + i});
    }
    long ttl = new long[] {0, 10, 25}[r.nextInt(3)];
    return new Data(table, rows, ttl);
  }

  static Object[] reference(Data d, Object[] q) {
    Object[] out = Arrays.copyOf(q, q.length + 2);
    if (q[0] == null) {
      return out;
    }
    long t = (Long) q[1];
    ViewRows best =
        d.rows().stream()
            .filter(r -> r.key().get(0).equals(q[0]) && r.eventMicros() <= t)
            .max(PointInTimeEngine.ROW_ORDER)
            .orElse(null);
    if (best != null && (d.ttlMicros() == 0 || t - best.eventMicros() <= d.ttlMicros())) {
      out[q.length] = best.values()[0];
      out[q.length + 1] = best.values()[1];
    }
    return out;
  }

  static List<Object[]> run(Data d, int memory, Path spill) throws Exception {
    ViewInput view =
        new ViewInput(
            "v",
            List.of("id"),
            Duration.ofNanos(d.ttlMicros() * 1000),
            List.of("f", "seq"),
            () -> iterate(d.rows()));
    PointInTimeEngine.Table table =
        new PointInTimeEngine.Table() {
          @Override
          public List<String> columns() {
            return List.of("id", "ts", "label");
          }

          @Override
          public CloseableIterator<Object[]> rows() {
            return iterate(d.table());
          }
        };
    List<Object[]> out = new ArrayList<>();
    List<List<String>> header = new ArrayList<>();
    new PointInTimeEngine(new PointInTimeEngine.Options(memory, spill, n -> {}))
        .join(
            table,
            "ts",
            List.of(view),
            Map.of(view, List.of("v__f", "v__seq")),
            new PointInTimeEngine.Output() {
              @Override
              public void columns(List<String> names) {
                header.add(names);
              }

              @Override
              public void row(Object[] values) {
                out.add(values);
              }
            });
    assertThat(header).containsExactly(List.of("id", "ts", "label", "v__f", "v__seq"));
    return out;
  }

  @Test
  void agreesWithBruteForceOnManyRandomDataSets() throws Exception {
    Random random = new Random(20261122);
    for (int trial = 0; trial < 500; trial++) {
      Data d = generate(random);
      int memory = 1 + random.nextInt(10); // small: most runs spill to disk
      List<Object[]> got = run(d, memory, dir.resolve("spill" + trial));
      assertThat(got).as("trial %d: every input row once", trial).hasSameSizeAs(d.table());
      for (int i = 0; i < got.size(); i++) {
        assertThat(got.get(i))
            .as("trial %d, row %d (ttl %d, memory %d)", trial, i, d.ttlMicros(), memory)
            .containsExactly(reference(d, d.table().get(i)));
      }
    }
  }

  /** The values a view's rows give a key at t by the rules, found by looking at every row. */
  static Object[] bruteForce(List<ViewRows> rows, long ttl, List<Object> key, long t) {
    Object[] out = new Object[2];
    ViewRows best =
        rows.stream()
            .filter(r -> r.key().equals(key) && r.eventMicros() <= t)
            .max(PointInTimeEngine.ROW_ORDER)
            .orElse(null);
    if (best != null && (ttl == 0 || t - best.eventMicros() <= ttl)) {
      out[0] = best.values()[0];
      out[1] = best.values()[1];
    }
    return out;
  }

  @Test
  void severalViewsWithSharedAndDifferentKeysAgreeWithBruteForce() throws Exception {
    Random random = new Random(7);
    for (int trial = 0; trial < 300; trial++) {
      Data a = generate(random);
      Data b = generate(random);
      Data c = generate(random);
      // View c is keyed by (id, region): give its rows and the table a region.
      List<ViewRows> cRows = new ArrayList<>();
      for (ViewRows row : c.rows()) {
        cRows.add(
            new ViewRows(
                List.of(row.key().get(0), "r" + random.nextInt(2)),
                row.eventMicros(),
                row.createdMicros(),
                row.partition(),
                row.offset(),
                row.values()));
      }
      List<Object[]> table = new ArrayList<>();
      for (Object[] q : a.table()) {
        table.add(
            new Object[] {
              q[0], q[1], q[2], random.nextInt(5) == 0 ? null : "r" + random.nextInt(2)
            });
      }
      ViewInput va =
          new ViewInput(
              "a",
              List.of("id"),
              Duration.ofNanos(a.ttlMicros() * 1000),
              List.of("f", "seq"),
              () -> iterate(a.rows()));
      ViewInput vb =
          new ViewInput(
              "b",
              List.of("id"),
              Duration.ofNanos(b.ttlMicros() * 1000),
              List.of("f", "seq"),
              () -> iterate(b.rows()));
      ViewInput vc =
          new ViewInput(
              "c",
              List.of("id", "region"),
              Duration.ofNanos(c.ttlMicros() * 1000),
              List.of("f", "seq"),
              () -> iterate(cRows));
      List<Object[]> got = new ArrayList<>();
      new PointInTimeEngine(
              new PointInTimeEngine.Options(
                  1 + random.nextInt(10), dir.resolve("multi" + trial), n -> {}))
          .join(
              new PointInTimeEngine.Table() {
                @Override
                public List<String> columns() {
                  return List.of("id", "ts", "label", "region");
                }

                @Override
                public CloseableIterator<Object[]> rows() {
                  return iterate(table);
                }
              },
              "ts",
              List.of(va, vc, vb),
              Map.of(
                  va, List.of("a__f", "a__seq"),
                  vb, List.of("b__f", "b__seq"),
                  vc, List.of("c__f", "c__seq")),
              new PointInTimeEngine.Output() {
                @Override
                public void columns(List<String> names) {
                  assertThat(names)
                      .containsExactly(
                          "id", "ts", "label", "region", "a__f", "a__seq", "c__f", "c__seq", "b__f",
                          "b__seq");
                }

                @Override
                public void row(Object[] values) {
                  got.add(values);
                }
              });
      assertThat(got).hasSameSizeAs(table);
      for (int i = 0; i < table.size(); i++) {
        Object[] q = table.get(i);
        List<Object> want = new ArrayList<>(Arrays.asList(q));
        Object[] none = new Object[2];
        long t = (Long) q[1];
        want.addAll(
            Arrays.asList(
                q[0] == null ? none : bruteForce(a.rows(), a.ttlMicros(), List.of(q[0]), t)));
        want.addAll(
            Arrays.asList(
                q[0] == null || q[3] == null
                    ? none
                    : bruteForce(cRows, c.ttlMicros(), List.of(q[0], q[3]), t)));
        want.addAll(
            Arrays.asList(
                q[0] == null ? none : bruteForce(b.rows(), b.ttlMicros(), List.of(q[0]), t)));
        assertThat(got.get(i)).as("trial %d, row %d", trial, i).containsExactly(want.toArray());
      }
    }
  }

  @Test
  void inputsManyTimesTheMemoryLimitSpillAndComplete() throws Exception {
    // 200,000 feature rows and 100,000 entity rows through sorts that hold 5,000 rows each.
    Random r = new Random(1);
    List<ViewRows> rows = new ArrayList<>();
    for (int i = 0; i < 200_000; i++) {
      rows.add(
          new ViewRows(
              List.of("k" + r.nextInt(20_000)),
              r.nextInt(1_000_000),
              PointInTimeEngine.NO_CREATED,
              0,
              i,
              new Object[] {"v" + i, (long) i}));
    }
    List<Object[]> table = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      table.add(new Object[] {"k" + r.nextInt(25_000), (long) r.nextInt(1_000_000), "l" + i});
    }
    Data d = new Data(table, rows, 0);
    Path spill = dir.resolve("big");
    List<Object[]> got = run(d, 5_000, spill);
    assertThat(got).hasSize(table.size());
    for (int i = 0; i < got.size(); i += 997) {
      assertThat(got.get(i)).as("row %d", i).containsExactly(reference(d, table.get(i)));
    }
    try (var left = java.nio.file.Files.list(spill)) {
      assertThat(left.toList()).as("spill files are removed").isEmpty();
    }
  }

  @Test
  void inclusiveAtTheEventTimeAndNullJustPastTheTtl() throws Exception {
    List<ViewRows> rows =
        List.of(
            new ViewRows(
                List.of("a"), 100, PointInTimeEngine.NO_CREATED, 0, 0, new Object[] {"x", 1L}),
            new ViewRows(List.of("a"), 100, 7, 0, 1, new Object[] {"y", 2L}));
    Data d =
        new Data(
            List.of(
                new Object[] {"a", 99L, "before"},
                new Object[] {"a", 100L, "at"},
                new Object[] {"a", 150L, "ttl edge"},
                new Object[] {"a", 151L, "past ttl"}),
            rows,
            50);
    List<Object[]> got = run(d, 1, dir);
    assertThat(got.get(0)[3]).isNull();
    assertThat(got.get(1)[3]).as("event_ts <= t, ties broken by created time").isEqualTo("y");
    assertThat(got.get(2)[3]).isEqualTo("y");
    assertThat(got.get(3)[3]).isNull();
  }

  @Test
  void rowsAreSortedByTheFullOrderKey() {
    List<ViewRows> rows = new ArrayList<>();
    rows.add(new ViewRows(List.of("a"), 5, 1, 1, 3, new Object[0]));
    rows.add(new ViewRows(List.of("a"), 5, 1, 0, 9, new Object[0]));
    rows.add(new ViewRows(List.of("a"), 5, PointInTimeEngine.NO_CREATED, 1, 0, new Object[0]));
    rows.sort(PointInTimeEngine.ROW_ORDER);
    assertThat(rows).extracting(ViewRows::offset).containsExactly(0L, 9L, 3L);
    assertThat(Comparator.<Long>naturalOrder().compare(1L, 2L)).isNegative();
  }
}
