package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.online.EntityKeyCodec;
import dev.quiver.online.OnlineStore;
import dev.quiver.online.RocksOnlineStore;
import dev.quiver.online.StoredRow;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.server.metrics.RocksDbMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RocksDB meters over a real online store: block cache hits and misses count the reads of
 * flushed rows, memtable bytes grow with writes, and a closed store reads NaN without failing a
 * scrape.
 */
class RocksDbMetricsTest {
  static final int CARDS = 2_000;

  @TempDir Path dir;

  @Test
  void theMetersFollowTheStoreAndSurviveItsClosing() throws Exception {
    RegistrySnapshot snapshot =
        TestCluster.apply(dir.resolve("repo"), "rocks", OnlinePathTest.REGISTRY, false);
    ViewShape shape = shape(snapshot, "card");
    ViewId view = shape.id();
    Path data = dir.resolve("online");
    long millis = Instant.now().minusSeconds(60).toEpochMilli();
    try (OnlineStore store = RocksOnlineStore.open(data, 8 << 20)) {
      store.prepare(List.of(view));
      store.write(batch(shape, 0, millis));
    }
    // Reopening replays the write-ahead log into table files: reads now go through the cache.
    OnlineStore store = RocksOnlineStore.open(data, 8 << 20);
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new RocksDbMetrics(store).bindTo(meters);
    try {
      assertThat(value(meters, RocksDbMetrics.LIVE_SST)).isGreaterThan(0);
      assertThat(value(meters, RocksDbMetrics.CACHE_CAPACITY)).isEqualTo(8 << 20);
      double hitsBefore = counter(meters, RocksDbMetrics.CACHE_HITS);
      double memtableBefore = value(meters, RocksDbMetrics.MEMTABLE);

      List<byte[]> keys = new ArrayList<>();
      for (int i = 0; i < CARDS; i++) {
        keys.add(EntityKeyCodec.encode(List.of("c" + i)));
      }
      readAll(store, view, keys);
      double misses = counter(meters, RocksDbMetrics.CACHE_MISSES);
      double hits = counter(meters, RocksDbMetrics.CACHE_HITS);
      assertThat(misses).isGreaterThan(0);
      // The table is far smaller than the cache: reading it again finds every block there.
      readAll(store, view, keys);
      readAll(store, view, keys);
      assertThat(counter(meters, RocksDbMetrics.CACHE_MISSES)).isEqualTo(misses);
      assertThat(counter(meters, RocksDbMetrics.CACHE_HITS)).isGreaterThan(hits);
      assertThat(hits).isGreaterThan(hitsBefore);
      assertThat(value(meters, RocksDbMetrics.CACHE_USAGE)).isGreaterThan(0);

      store.write(batch(shape, 1, millis + 1000));
      assertThat(value(meters, RocksDbMetrics.MEMTABLE)).isGreaterThan(memtableBefore);
      assertThat(value(meters, RocksDbMetrics.PENDING_COMPACTION)).isGreaterThanOrEqualTo(0);

      String text = meters.scrape();
      assertThat(text)
          .contains("quiver_rocksdb_block_cache_hits_total ")
          .contains("quiver_rocksdb_block_cache_misses_total ")
          .contains("quiver_rocksdb_block_cache_usage_bytes ")
          .contains("quiver_rocksdb_block_cache_capacity_bytes ")
          .contains("quiver_rocksdb_memtable_bytes ")
          .contains("quiver_rocksdb_pending_compaction_bytes ")
          .contains("quiver_rocksdb_live_sst_bytes ");
    } finally {
      store.close();
    }
    double hits = counter(meters, RocksDbMetrics.CACHE_HITS);
    assertThat(store.storageStats()).isEmpty();
    assertThat(value(meters, RocksDbMetrics.MEMTABLE)).isNaN();
    assertThat(value(meters, RocksDbMetrics.CACHE_USAGE)).isNaN();
    assertThat(value(meters, RocksDbMetrics.LIVE_SST)).isNaN();
    // A counter does not go down: it keeps the last figure read while the store was open.
    assertThat(hits).isGreaterThan(0);
    assertThat(counter(meters, RocksDbMetrics.CACHE_HITS)).isEqualTo(hits);
    assertThat(meters.scrape()).contains("quiver_rocksdb_memtable_bytes NaN");
  }

  static void readAll(OnlineStore store, ViewId view, List<byte[]> keys) throws Exception {
    List<StoredRow> rows = store.read(List.of(view), List.of(keys)).get(0);
    assertThat(rows).doesNotContainNull().hasSize(CARDS);
  }

  /** One row per card, with a fresh order key each round. */
  static RowBatch batch(ViewShape shape, int round, long millis) {
    List<ViewRow> rows = new ArrayList<>();
    for (int i = 0; i < CARDS; i++) {
      rows.add(
          new ViewRow(
              shape,
              List.of("c" + i),
              new OrderKey(millis * 1000, OrderKey.NO_CREATED_TIME, 0, round * CARDS + i),
              new Object[] {i / 10.0, i % 2 == 0 ? "US" : "FR", (long) i},
              new Object[] {null}));
    }
    return new RowBatch(rows, Map.of());
  }

  static ViewShape shape(RegistrySnapshot snapshot, String name) {
    FeatureView view =
        snapshot.getFeatureViewsList().stream()
            .filter(v -> v.getName().equals(name))
            .findFirst()
            .orElseThrow();
    List<Field> keys = new ArrayList<>();
    for (Entity e : snapshot.getEntitiesList()) {
      if (view.getEntitiesList().contains(e.getName())) {
        keys.addAll(e.getJoinKeysList());
      }
    }
    return ViewShape.of(view, keys);
  }

  static double value(MeterRegistry meters, String name) {
    return meters.get(name).gauge().value();
  }

  static double counter(MeterRegistry meters, String name) {
    return meters.get(name).functionCounter().count();
  }
}
