package dev.quiver.server.metrics;

import dev.quiver.online.OnlineStore;
import dev.quiver.online.kv.StorageStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * The RocksDB figures of the online store ({@code quiver.rocksdb.*}): block cache hits, misses,
 * usage and capacity, memtable bytes, pending compaction bytes and live table-file bytes. Every
 * meter reads {@link OnlineStore#storageStats()} when it is scraped; nothing runs in between.
 *
 * <p>Once the store is closed (or for a store that keeps no figures) the gauges read NaN and the
 * counters keep the last value they read, since a counter never goes down.
 *
 * <p>Thread-safe: scrapes may run concurrently, with each other and with the store's reads and
 * writes.
 */
public final class RocksDbMetrics implements MeterBinder {
  public static final String CACHE_HITS = "quiver.rocksdb.block.cache.hits";
  public static final String CACHE_MISSES = "quiver.rocksdb.block.cache.misses";
  public static final String CACHE_USAGE = "quiver.rocksdb.block.cache.usage";
  public static final String CACHE_CAPACITY = "quiver.rocksdb.block.cache.capacity";
  public static final String MEMTABLE = "quiver.rocksdb.memtable";
  public static final String PENDING_COMPACTION = "quiver.rocksdb.pending.compaction";
  public static final String LIVE_SST = "quiver.rocksdb.live.sst";

  private final OnlineStore store;

  /**
   * Meters of {@code store}. They refer to it weakly, as Micrometer's function meters do: the
   * server keeps the store.
   */
  public RocksDbMetrics(OnlineStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    counter(
        registry,
        CACHE_HITS,
        "Block reads (data, index, filter) found in the online store's block cache",
        StorageStats::blockCacheHits);
    counter(
        registry,
        CACHE_MISSES,
        "Block reads (data, index, filter) the online store's block cache missed",
        StorageStats::blockCacheMisses);
    gauge(
        registry,
        CACHE_USAGE,
        "Bytes held in the online store's block cache",
        StorageStats::blockCacheUsageBytes);
    gauge(
        registry,
        CACHE_CAPACITY,
        "Most bytes the online store's block cache may hold",
        StorageStats::blockCacheCapacityBytes);
    gauge(
        registry,
        MEMTABLE,
        "Bytes of the online store's memtables, over every column family",
        StorageStats::memtableBytes);
    gauge(
        registry,
        PENDING_COMPACTION,
        "Estimated bytes compaction has to rewrite in the online store, over every column family",
        StorageStats::pendingCompactionBytes);
    gauge(
        registry,
        LIVE_SST,
        "Bytes of the online store's live table files, over every column family",
        StorageStats::liveSstBytes);
  }

  private void gauge(
      MeterRegistry registry, String name, String description, ToLongFunction<StorageStats> read) {
    Gauge.builder(
            name,
            store,
            s -> s.storageStats().map(x -> (double) read.applyAsLong(x)).orElse(Double.NaN))
        .description(description)
        .baseUnit("bytes")
        .register(registry);
  }

  private void counter(
      MeterRegistry registry, String name, String description, ToLongFunction<StorageStats> read) {
    // The last value read, so that the counter stays where it was once the store is closed.
    AtomicLong last = new AtomicLong();
    FunctionCounter.builder(
            name,
            store,
            s -> {
              Optional<StorageStats> now = s.storageStats();
              return now.isEmpty()
                  ? last.get()
                  : last.accumulateAndGet(read.applyAsLong(now.get()), Math::max);
            })
        .description(description)
        .register(registry);
  }
}
