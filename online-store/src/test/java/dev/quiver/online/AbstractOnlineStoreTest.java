package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.online.kv.OnlineKeyValueStore;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the online store does over any key-value store: newer-wins, tiles and windows, feature ids,
 * positions in the same write, partitions. Each key-value store runs it.
 */
abstract class AbstractOnlineStoreTest {
  @TempDir Path dir;

  /** The key-value store in {@code dir}, if it keeps files there; otherwise a fresh one. */
  abstract OnlineKeyValueStore keyValueStore(Path dir) throws Exception;

  OnlineStore open(Path dir) throws Exception {
    return OnlineStore.open(keyValueStore(dir));
  }

  static byte[] key(String card) {
    return EntityKeyCodec.encode(List.of(card));
  }

  @Test
  void newestRowWinsWhateverOrderRowsArriveIn() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    Random random = new Random(42);
    for (int trial = 0; trial < 20; trial++) {
      try (OnlineStore store = open(dir.resolve("db" + trial))) {
        List<ViewRow> rows = new ArrayList<>();
        Map<String, OrderKey> newest = new HashMap<>();
        for (int i = 0; i < 300; i++) {
          String card = "c" + random.nextInt(8);
          // Few distinct event and created times: ties are common and broken by partition, offset.
          OrderKey order =
              new OrderKey(
                  1_000 * random.nextInt(5),
                  random.nextBoolean() ? OrderKey.NO_CREATED_TIME : random.nextInt(3),
                  random.nextInt(2),
                  random.nextInt(50));
          rows.add(
              new ViewRow(
                  shape,
                  List.of(card),
                  order,
                  new Object[] {(double) order.hashCode(), order.toString()},
                  new Object[] {null, null}));
          newest.merge(card, order, (a, b) -> a.compareTo(b) >= 0 ? a : b);
        }
        Collections.shuffle(rows, random);
        for (int from = 0; from < rows.size(); ) {
          int to = Math.min(rows.size(), from + 1 + random.nextInt(40));
          store.write(Fixtures.batch(rows.subList(from, to)));
          from = to;
        }
        int country = store.featureId(shape.id(), "last_country");
        for (Map.Entry<String, OrderKey> e : newest.entrySet()) {
          StoredRow row =
              store.read(List.of(shape.id()), List.of(List.of(key(e.getKey())))).get(0).get(0);
          assertThat(row.order()).as("trial %d, %s", trial, e.getKey()).isEqualTo(e.getValue());
          assertThat(row.value(country).getStringValue()).isEqualTo(e.getValue().toString());
        }
        // Every entity is indexed under each partition that sent it a row.
        assertThat(store.partitions(shape.id())).containsExactly(0, 1);
        store.dropPartition(shape.id(), 1);
        assertThat(store.partitions(shape.id())).containsExactly(0);
        for (Map.Entry<String, OrderKey> e : newest.entrySet()) {
          StoredRow row =
              store.read(List.of(shape.id()), List.of(List.of(key(e.getKey())))).get(0).get(0);
          if (e.getValue().partition() == 1) {
            assertThat(row).as("trial %d, %s", trial, e.getKey()).isNull();
          } else {
            assertThat(row.order()).isEqualTo(e.getValue());
          }
        }
      }
    }
  }

  @Test
  void positionsAreWrittenWithRows() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    SourcePartition p0 = new SourcePartition("txns", 0);
    try (OnlineStore store = open(dir.resolve("db"))) {
      assertThat(store.position(shape.id(), p0)).isZero();
      store.write(
          Fixtures.batch(List.of(Fixtures.card(shape, "a", 10, 0, 1.0, "US")), shape.id(), 1));
      store.write(
          Fixtures.batch(List.of(Fixtures.card(shape, "b", 11, 1, 2.0, "FR")), shape.id(), 2));
      assertThat(store.position(shape.id(), p0)).isEqualTo(2);
      assertThat(store.position(shape.id(), new SourcePartition("txns", 1))).isZero();
      assertThat(store.position(new ViewId("card_stats", 2), p0)).isZero();
    }
  }

  @Test
  void aFeatureAddedLaterIsAbsentFromOlderRows() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape before = Fixtures.shape(s, "card_stats");
    List<String> features = new ArrayList<>(before.features());
    features.add(1, "fresh");
    List<dev.quiver.proto.v1.ValueType> types = new ArrayList<>(before.featureTypes());
    types.add(1, dev.quiver.registry.Types.of(dev.quiver.proto.v1.ScalarType.SCALAR_TYPE_BOOL));
    ViewShape after =
        new ViewShape(before.id(), before.joinKeys(), features, types, before.aggregations());
    try (OnlineStore store = open(dir.resolve("db"))) {
      store.write(Fixtures.batch(List.of(Fixtures.card(before, "old", 10, 0, 1.0, "US"))));
      store.write(
          Fixtures.batch(
              List.of(
                  new ViewRow(
                      after,
                      List.of("new"),
                      new OrderKey(11, OrderKey.NO_CREATED_TIME, 0, 1),
                      new Object[] {2.0, true, "FR"},
                      new Object[] {2.0, null}))));
      int fresh = store.featureId(before.id(), "fresh");
      int country = store.featureId(before.id(), "last_country");
      List<StoredRow> rows =
          store.read(List.of(before.id()), List.of(List.of(key("old"), key("new")))).get(0);
      assertThat(rows.get(0).value(fresh)).isNull();
      assertThat(rows.get(0).value(country).getStringValue()).isEqualTo("US");
      assertThat(rows.get(1).value(fresh).getBoolValue()).isTrue();
      assertThat(rows.get(1).value(country).getStringValue()).isEqualTo("FR");
    }
  }

  @Test
  void aggregationTilesAgreeWithFoldingTheRowsOfEachWindow() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    Aggregation sum = shape.aggregations().get(0);
    Aggregation count = shape.aggregations().get(1);
    long hop = 10 * 60_000L;
    long window = 60 * 60_000L;
    Random random = new Random(7);
    long t0 = 1_700_000_000_000L;
    List<ViewRow> rows = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      String card = "c" + random.nextInt(5);
      long ts = t0 + random.nextInt(3 * 60 * 60_000);
      Double amount = random.nextInt(10) == 0 ? null : (double) random.nextInt(1000) / 4;
      rows.add(Fixtures.card(shape, card, ts, i, amount, "US"));
    }
    long last = rows.stream().mapToLong(r -> r.order().eventTimeMicros() / 1000).max().getAsLong();
    try (OnlineStore store = open(dir.resolve("db"))) {
      Collections.shuffle(rows, random);
      for (int from = 0; from < rows.size(); from += 250) {
        store.write(Fixtures.batch(rows.subList(from, Math.min(rows.size(), from + 250))));
      }
      for (int q = 0; q < 30; q++) {
        long t = last + random.nextInt((int) (2 * window));
        long start = Math.floorDiv(t - window, hop) * hop;
        for (int c = 0; c < 5; c++) {
          String card = "c" + c;
          List<ViewRow> inWindow =
              rows.stream()
                  .filter(r -> r.entityKey().get(0).equals(card))
                  .filter(
                      r ->
                          r.order().eventTimeMicros() / 1000 >= start
                              && r.order().eventTimeMicros() / 1000 <= t)
                  .toList();
          // The correctly rounded exact sum, whatever order the rows were folded in.
          double expectedSum =
              inWindow.stream()
                  .map(r -> (Double) r.aggregationInputs()[0])
                  .filter(x -> x != null)
                  .map(java.math.BigDecimal::new)
                  .reduce(java.math.BigDecimal.ZERO, java.math.BigDecimal::add)
                  .doubleValue();
          boolean anyAmount = inWindow.stream().anyMatch(r -> r.aggregationInputs()[0] != null);
          Value gotSum = store.aggregate(shape.id(), sum, List.of(key(card)), t * 1000).get(0);
          Value gotCount = store.aggregate(shape.id(), count, List.of(key(card)), t * 1000).get(0);
          assertThat(gotCount.getInt64Value())
              .as("count %s at %d", card, t)
              .isEqualTo(inWindow.size());
          if (anyAmount) {
            assertThat(gotSum.getDoubleValue()).as("sum %s at %d", card, t).isEqualTo(expectedSum);
          } else {
            assertThat(gotSum.getKindCase()).isEqualTo(Value.KindCase.NULL_VALUE);
          }
        }
      }
    }
  }

  @Test
  void everyMethodFailsClearlyAfterClose() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    OnlineStore store = open(dir.resolve("db"));
    store.close();
    store.close();
    assertThatThrownBy(() -> store.read(List.of(shape.id()), List.of(List.of(key("a")))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is closed");
    assertThatThrownBy(
            () -> store.write(Fixtures.batch(List.of(Fixtures.card(shape, "a", 1, 0, 1.0, "US")))))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> store.position(shape.id(), new SourcePartition("txns", 0)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void emptyBatchesOnlyMovePositions() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    try (OnlineStore store = open(dir.resolve("db"))) {
      store.write(
          new RowBatch(List.of(), Map.of(shape.id(), Map.of(new SourcePartition("txns", 3), 77L))));
      assertThat(store.position(shape.id(), new SourcePartition("txns", 3))).isEqualTo(77);
    }
  }

  @Test
  void aWriteThatFailsLeavesNeitherRowsNorTilesNorPositions() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    SourcePartition p0 = new SourcePartition("txns", 0);
    Aggregation count = shape.aggregations().get(1);
    long t = 1_700_000_000_000L;
    FaultyKeyValueStore kv = new FaultyKeyValueStore(keyValueStore(dir.resolve("db")));
    try (OnlineStore store = OnlineStore.open(kv)) {
      store.write(
          Fixtures.batch(List.of(Fixtures.card(shape, "a", t, 0, 1.0, "US")), shape.id(), 1));
      kv.failWrites(true);
      assertThatThrownBy(
              () ->
                  store.write(
                      Fixtures.batch(
                          List.of(
                              Fixtures.card(shape, "a", t + 1, 1, 2.0, "FR"),
                              Fixtures.card(shape, "b", t + 1, 2, 3.0, "FR")),
                          shape.id(),
                          3)))
          .isInstanceOf(java.io.IOException.class)
          .hasMessageContaining("injected");
      assertThat(store.position(shape.id(), p0)).isEqualTo(1);
      List<StoredRow> rows =
          store.read(List.of(shape.id()), List.of(List.of(key("a"), key("b")))).get(0);
      assertThat(rows.get(0).order().offset()).isZero();
      assertThat(rows.get(1)).isNull();
      assertThat(
              store
                  .aggregate(shape.id(), count, List.of(key("a")), (t + 1) * 1000)
                  .get(0)
                  .getInt64Value())
          .isEqualTo(1);
      // The writer retries from the recorded position: the rows land once.
      kv.failWrites(false);
      store.write(
          Fixtures.batch(
              List.of(
                  Fixtures.card(shape, "a", t + 1, 1, 2.0, "FR"),
                  Fixtures.card(shape, "b", t + 1, 2, 3.0, "FR")),
              shape.id(),
              3));
      assertThat(store.position(shape.id(), p0)).isEqualTo(3);
      assertThat(
              store
                  .aggregate(shape.id(), count, List.of(key("a")), (t + 1) * 1000)
                  .get(0)
                  .getInt64Value())
          .isEqualTo(2);
    }
  }

  static ViewRow cardFrom(
      ViewShape shape, String card, long millis, int partition, long offset, double amount) {
    return new ViewRow(
        shape,
        List.of(card),
        new OrderKey(millis * 1000, OrderKey.NO_CREATED_TIME, partition, offset),
        new Object[] {amount, "p" + partition},
        new Object[] {amount, null});
  }

  @Test
  void tilesOfEveryPartitionMergeInOneWindowAndAPartitionDropsAlone() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    ViewShape shop = Fixtures.shape(s, "shop_stats");
    Aggregation sum = card.aggregations().get(0);
    Aggregation count = card.aggregations().get(1);
    long t = 1_700_000_000_000L;
    SourcePartition p0 = new SourcePartition("txns", 0);
    SourcePartition p7 = new SourcePartition("txns", 7);
    try (OnlineStore store = open(dir.resolve("db"))) {
      store.write(
          new RowBatch(
              List.of(
                  cardFrom(card, "a", t, 0, 1, 1.0),
                  cardFrom(card, "a", t + 1, 7, 1, 10.0),
                  cardFrom(card, "a", t + 2, 0, 2, 100.0),
                  cardFrom(card, "b", t + 5, 7, 2, 1000.0),
                  Fixtures.shop(shop, 3L, t, 9, 5.0)),
              Map.of(
                  card.id(), Map.of(p0, 3L, p7, 3L),
                  shop.id(), Map.of(p0, 10L, p7, 4L))));
      assertThat(store.partitions(card.id())).containsExactly(0, 7);
      assertThat(store.aggregate(card.id(), sum, List.of(key("a"), key("b")), (t + 10) * 1000))
          .extracting(Value::getDoubleValue)
          .containsExactly(111.0, 1000.0);
      store.dropPartition(card.id(), 7);
      assertThat(store.partitions(card.id())).containsExactly(0);
      // a's newest row came from partition 0 and stays; b had only partition 7.
      List<StoredRow> rows =
          store.read(List.of(card.id()), List.of(List.of(key("a"), key("b")))).get(0);
      assertThat(rows.get(0).order().offset()).isEqualTo(2);
      assertThat(rows.get(1)).isNull();
      assertThat(store.aggregate(card.id(), sum, List.of(key("a"), key("b")), (t + 10) * 1000))
          .extracting(Value::getDoubleValue)
          .containsExactly(101.0, 0.0);
      assertThat(
              store
                  .aggregate(card.id(), count, List.of(key("a")), (t + 10) * 1000)
                  .get(0)
                  .getInt64Value())
          .isEqualTo(2);
      // Its position goes with it, so it replays if read again; other partitions and views stay.
      assertThat(store.position(card.id(), p7)).isZero();
      assertThat(store.position(card.id(), p0)).isEqualTo(3);
      assertThat(store.position(shop.id(), p7)).isEqualTo(4);
      assertThat(store.partitions(shop.id())).containsExactly(0);
      // The partition writes again from scratch.
      store.write(
          new RowBatch(
              List.of(cardFrom(card, "b", t + 5, 7, 2, 1000.0)),
              Map.of(card.id(), Map.of(p7, 3L))));
      assertThat(store.partitions(card.id())).containsExactly(0, 7);
      assertThat(
              store
                  .aggregate(card.id(), sum, List.of(key("b")), (t + 10) * 1000)
                  .get(0)
                  .getDoubleValue())
          .isEqualTo(1000.0);
    }
  }

  @Test
  void anUnknownViewHasNoPartitionsAndNothingToDrop() throws Exception {
    try (OnlineStore store = open(dir.resolve("db"))) {
      ViewId nope = new ViewId("nope", 1);
      assertThat(store.partitions(nope)).isEmpty();
      store.dropPartition(nope, 0);
      assertThatThrownBy(() -> store.dropPartition(nope, -1))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  // ---------------------------------------------------------------- rows ahead of the clock

  /** Microseconds of a fixture time in milliseconds. */
  private static long us(long millis) {
    return millis * 1000;
  }

  @Test
  void rowsAheadOfTheIngestingClockCountOnlyOnceTheLookupTimeReachesThem() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    Aggregation sum = card.aggregations().get(0);
    Aggregation count = card.aggregations().get(1);
    long clock = 1_700_000_000_000L;
    try (OnlineStore store = open(dir.resolve("db"))) {
      store.write(
          new RowBatch(
              List.of(
                  Fixtures.card(card, "a", clock - 1000, 0, 1.0, "US"),
                  Fixtures.card(card, "a", clock + 5000, 1, 10.0, "FR"),
                  Fixtures.card(card, "only_ahead", clock + 1, 2, 100.0, "DE")),
              Map.of(),
              us(clock)));
      // At the clock: the row ahead of it is not served, and an entity with nothing else is absent.
      List<StoredRow> at =
          store
              .read(List.of(card.id()), List.of(List.of(key("a"), key("only_ahead"))), us(clock))
              .get(0);
      assertThat(at.get(0).order().offset()).isZero();
      assertThat(at.get(1)).isNull();
      assertThat(store.aggregate(card.id(), sum, List.of(key("a")), us(clock)).get(0))
          .isEqualTo(Value.newBuilder().setDoubleValue(1.0).build());
      // A microsecond before it is reached, still not; at its time, it is.
      assertThat(store.aggregate(card.id(), count, List.of(key("a")), us(clock + 5000) - 1).get(0))
          .isEqualTo(Value.newBuilder().setInt64Value(1).build());
      assertThat(store.aggregate(card.id(), sum, List.of(key("a")), us(clock + 5000)).get(0))
          .isEqualTo(Value.newBuilder().setDoubleValue(11.0).build());
      List<StoredRow> later =
          store
              .read(
                  List.of(card.id()),
                  List.of(List.of(key("a"), key("only_ahead"))),
                  us(clock + 5000))
              .get(0);
      assertThat(later.get(0).order().offset()).isEqualTo(1);
      assertThat(later.get(1).order().offset()).isEqualTo(2);

      // A later batch whose clock has reached them moves them into the rows and tiles: the
      // answers stay the same, nothing counts twice.
      store.write(new RowBatch(List.of(), Map.of(), us(clock + 10_000)));
      assertThat(store.aggregate(card.id(), sum, List.of(key("a")), us(clock + 5000)).get(0))
          .isEqualTo(Value.newBuilder().setDoubleValue(11.0).build());
      assertThat(store.aggregate(card.id(), count, List.of(key("a")), us(clock + 10_000)).get(0))
          .isEqualTo(Value.newBuilder().setInt64Value(2).build());
      assertThat(
              store
                  .read(List.of(card.id()), List.of(List.of(key("a"))), us(clock + 5000))
                  .get(0)
                  .get(0)
                  .order()
                  .offset())
          .isEqualTo(1);
    }
  }

  @Test
  void lookupsWhileHeldRowsMoveNeitherMissNorDoubleCountThem() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    Aggregation count = card.aggregations().get(1);
    long clock = 1_700_000_000_000L;
    int entities = 50;
    try (OnlineStore store = open(dir.resolve("db"))) {
      List<ViewRow> rows = new ArrayList<>();
      for (int i = 0; i < entities; i++) {
        rows.add(Fixtures.card(card, "e" + i, clock + 1 + i, i, 1.0, "US"));
      }
      store.write(new RowBatch(rows, Map.of(), us(clock)));
      List<byte[]> keys = new ArrayList<>();
      for (int i = 0; i < entities; i++) {
        keys.add(key("e" + i));
      }
      long t = us(clock + 10 * 60_000);
      java.util.concurrent.atomic.AtomicReference<Throwable> failed =
          new java.util.concurrent.atomic.AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean done =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread reader =
          new Thread(
              () -> {
                try {
                  while (!done.get()) {
                    for (Value v : store.aggregate(card.id(), count, keys, t)) {
                      assertThat(v.getInt64Value()).isEqualTo(1);
                    }
                    for (StoredRow r : store.read(List.of(card.id()), List.of(keys), t).get(0)) {
                      assertThat(r).isNotNull();
                    }
                  }
                } catch (Throwable e) {
                  failed.set(e);
                }
              });
      reader.start();
      // Each write's clock reaches one more held row, which moves.
      for (int i = 0; i < entities; i++) {
        store.write(new RowBatch(List.of(), Map.of(), us(clock + 1 + i)));
        Thread.sleep(2);
      }
      done.set(true);
      reader.join();
      assertThat(failed.get()).isNull();
      for (Value v : store.aggregate(card.id(), count, keys, t)) {
        assertThat(v.getInt64Value()).isEqualTo(1);
      }
    }
  }
}
