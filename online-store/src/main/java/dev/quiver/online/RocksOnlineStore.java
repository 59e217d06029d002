package dev.quiver.online;

import dev.quiver.online.kv.RocksKeyValueStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The online store on RocksDB: an {@link OnlineStore} over a {@link RocksKeyValueStore}, one column
 * family per keyspace (a view version's rows, tiles and partition index), metadata in the default
 * column family.
 */
public final class RocksOnlineStore {
  private RocksOnlineStore() {}

  /** Default size of the block cache. */
  public static final long DEFAULT_CACHE_BYTES = 512L * 1024 * 1024;

  /** Opens (or creates) the store in {@code dir} with the default block cache. */
  public static OnlineStore open(Path dir) throws IOException {
    return open(dir, DEFAULT_CACHE_BYTES);
  }

  /**
   * Opens (or creates) the store in {@code dir}.
   *
   * @param cacheBytes size of the block cache shared by all views: lookups that hit it decode no
   *     compressed blocks; size it to the hot part of the online data
   */
  public static OnlineStore open(Path dir, long cacheBytes) throws IOException {
    return OnlineStore.open(RocksKeyValueStore.open(dir, cacheBytes, StoreLayout::access));
  }
}
