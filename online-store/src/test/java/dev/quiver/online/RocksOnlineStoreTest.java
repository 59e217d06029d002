package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.online.kv.OnlineKeyValueStore;
import dev.quiver.online.kv.RocksKeyValueStore;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewShape;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/** The online store on RocksDB: the shared tests, and what survives reopening. */
class RocksOnlineStoreTest extends AbstractOnlineStoreTest {
  @Override
  OnlineKeyValueStore keyValueStore(Path dir) throws Exception {
    return RocksKeyValueStore.open(dir, 8 << 20, StoreLayout::access);
  }

  /** Opens the store's files with RocksDB itself, as an older version would have left them. */
  interface Surgery {
    void apply(RocksDB db, List<ColumnFamilyHandle> handles, List<String> names) throws Exception;
  }

  static void operate(Path db, Surgery surgery) throws Exception {
    try (Options o = new Options()) {
      List<byte[]> names = RocksDB.listColumnFamilies(o, db.toString());
      List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
      List<String> strings = new ArrayList<>();
      for (byte[] n : names) {
        descriptors.add(new ColumnFamilyDescriptor(n));
        strings.add(new String(n, StandardCharsets.UTF_8));
      }
      List<ColumnFamilyHandle> handles = new ArrayList<>();
      try (DBOptions options = new DBOptions();
          RocksDB raw = RocksDB.open(options, db.toString(), descriptors, handles)) {
        surgery.apply(raw, handles, strings);
        handles.forEach(ColumnFamilyHandle::close);
      }
    }
  }

  @Test
  void positionsAndRowsSurviveReopening() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape shape = Fixtures.shape(s, "card_stats");
    SourcePartition p0 = new SourcePartition("txns", 0);
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      store.write(
          Fixtures.batch(List.of(Fixtures.card(shape, "a", 10, 0, 1.0, "US")), shape.id(), 1));
      store.write(
          Fixtures.batch(List.of(Fixtures.card(shape, "b", 11, 1, 2.0, "FR")), shape.id(), 2));
    }
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      assertThat(store.position(shape.id(), p0)).isEqualTo(2);
      StoredRow b = store.read(List.of(shape.id()), List.of(List.of(key("b")))).get(0).get(0);
      assertThat(b.value(store.featureId(shape.id(), "last_amount")).getDoubleValue())
          .isEqualTo(2.0);
      assertThat(store.partitions(shape.id())).containsExactly(0);
      Aggregation count = shape.aggregations().get(1);
      assertThat(
              store.aggregate(shape.id(), count, List.of(key("a")), 10_000).get(0).getInt64Value())
          .isEqualTo(1);
    }
  }

  /** Stores of an older layout or tile format, made by removing the key that names it. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"layout", "tile_format"})
  void storesOfAnOlderFormatAreEmptiedAndTheirViewsReplayed(String formatKey) throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    ViewShape shop = Fixtures.shape(s, "shop_stats");
    SourcePartition p0 = new SourcePartition("txns", 0);
    long t = 1_700_000_000_000L;
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      store.prepare(List.of(card.id(), shop.id()));
      List<dev.quiver.registry.rows.ViewRow> rows = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        rows.add(Fixtures.shop(shop, i, t, i, 1.0));
      }
      rows.add(cardFrom(card, "a", t, 3, 0, 2.5));
      store.write(
          new RowBatch(rows, Map.of(card.id(), Map.of(p0, 2L), shop.id(), Map.of(p0, 2_000L))));
    }
    operate(
        dir.resolve("db"),
        (db, handles, names) ->
            db.delete(handles.get(0), formatKey.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Aggregation count = card.aggregations().get(1);
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      // Every view holding data replays from the start, its rows, tiles and index gone until the
      // replay rebuilds them: their times were milliseconds.
      assertThat(store.position(card.id(), p0)).isZero();
      assertThat(store.position(shop.id(), p0)).isZero();
      assertThat(store.read(List.of(card.id()), List.of(List.of(key("a")))).get(0).get(0)).isNull();
      assertThat(store.partitions(shop.id())).isEmpty();
      assertThat(
              store.aggregate(card.id(), count, List.of(key("a")), t * 1000).get(0).getInt64Value())
          .isZero();
      store.write(
          new RowBatch(
              List.of(cardFrom(card, "a", t, 3, 0, 2.5)), Map.of(card.id(), Map.of(p0, 2L))));
    }
    // Upgraded once: a later open keeps what the replay wrote.
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      assertThat(store.position(card.id(), p0)).isEqualTo(2);
      assertThat(store.partitions(card.id())).containsExactly(3);
      assertThat(
              store.aggregate(card.id(), count, List.of(key("a")), t * 1000).get(0).getInt64Value())
          .isEqualTo(1);
    }
  }

  @Test
  void rowsAheadOfTheClockSurviveARestartAndMoveOnceTheClockReachesThem() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    Aggregation count = card.aggregations().get(1);
    long clock = 1_700_000_000_000L;
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      store.write(
          new RowBatch(
              List.of(Fixtures.card(card, "a", clock + 60_000, 0, 1.0, "US")),
              Map.of(),
              clock * 1000));
    }
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      assertThat(store.read(List.of(card.id()), List.of(List.of(key("a"))), clock * 1000).get(0))
          .containsOnlyNulls();
      assertThat(
              store
                  .aggregate(card.id(), count, List.of(key("a")), (clock + 60_000) * 1000)
                  .get(0)
                  .getInt64Value())
          .isEqualTo(1);
      // A batch of the view, whose clock has passed the held row, moves it.
      store.write(
          new RowBatch(
              List.of(Fixtures.card(card, "b", clock, 1, 1.0, "US")),
              Map.of(),
              (clock + 120_000) * 1000));
    }
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      assertThat(
              store
                  .aggregate(card.id(), count, List.of(key("a")), (clock + 60_000) * 1000)
                  .get(0)
                  .getInt64Value())
          .isEqualTo(1);
      assertThat(
              store
                  .read(List.of(card.id()), List.of(List.of(key("a"))), (clock + 60_000) * 1000)
                  .get(0)
                  .get(0))
          .isNotNull();
    }
  }
}
