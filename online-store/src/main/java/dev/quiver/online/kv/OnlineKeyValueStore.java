package dev.quiver.online.kv;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The storage under the online store: named keyspaces of byte keys and values, read by key, by
 * batched multi-get or by ordered range scan, and written by atomic batches that may span
 * keyspaces. Keys compare as unsigned bytes, lexicographically (a proper prefix sorts first).
 *
 * <p>Partition-aware: a keyspace whose keys begin with a Kafka source partition ({@link
 * #partitionPrefix}, four big-endian bytes) can list the partitions it holds ({@link #partitions})
 * and have one partition's keys removed in a batch ({@link Batch#deletePartition}), which is how a
 * partition's data is handed off. Which keyspaces are laid out that way is the caller's choice; the
 * online store keeps one such index per view (see {@code docs/online.md}, "Storage").
 *
 * <p>Thread-safe: reads run concurrently with each other and with writes; a reader sees a batch
 * whole or not at all. A {@link Cursor} belongs to the thread that opened it, which closes it
 * before it writes. After {@link #close()} every method throws {@link
 * dev.quiver.online.StoreClosedException}. Implementations: {@link RocksKeyValueStore}, {@link
 * InMemoryKeyValueStore}.
 */
public interface OnlineKeyValueStore extends AutoCloseable {

  /** How a keyspace is read, which an implementation may tune it for. */
  enum Access {
    /** Read by key only (a view's rows); range scans still work, more slowly. */
    POINT,
    /** Scanned in key order (tiles, metadata, partition indexes). */
    ORDERED
  }

  /** A keyspace of this store; valid until it is dropped or the store closed. */
  interface Keyspace {
    String name();

    Access access();
  }

  /**
   * Puts and deletes applied together by {@link #write}, in the order given: all of them, or none
   * if the write fails. Not thread-safe; closed by whoever created it.
   */
  interface Batch extends AutoCloseable {
    void put(Keyspace keyspace, byte[] key, byte[] value) throws IOException;

    void delete(Keyspace keyspace, byte[] key) throws IOException;

    /**
     * Deletes every key of {@code keyspace} that starts with {@code partitionPrefix(partition)}.
     */
    void deletePartition(Keyspace keyspace, int partition) throws IOException;

    /** The operations added so far. */
    int size();

    @Override
    void close();
  }

  /**
   * An ordered range reader over one keyspace, reused across {@link #seek}s. Sees the keyspace as
   * of each seek at the latest. Not thread-safe: used and closed by the thread that opened it.
   */
  interface Cursor extends AutoCloseable {
    /**
     * Positions the cursor before the first key {@code >= from}; {@link #next} then yields the keys
     * up to and including {@code toInclusive}.
     */
    void seek(byte[] from, byte[] toInclusive);

    /** Moves to the next entry of the range; false once past its end. */
    boolean next();

    /** The current entry's key; a fresh array. */
    byte[] key();

    /** The current entry's value; a fresh array. */
    byte[] value();

    @Override
    void close();
  }

  /** The keyspace that always exists, for the store's metadata. */
  Keyspace metadata();

  /** The keyspace of that name, or null. */
  Keyspace keyspace(String name);

  /** Every keyspace but {@link #metadata()}. */
  List<Keyspace> keyspaces();

  /**
   * The keyspace of that name, created empty if there is none.
   *
   * @throws IllegalArgumentException when one of that name exists with another access
   */
  Keyspace createKeyspace(String name, Access access) throws IOException;

  /** Drops a keyspace and all it holds; waits for reads under way. */
  void dropKeyspace(Keyspace keyspace) throws IOException;

  /** The value of {@code key}, or null. */
  byte[] get(Keyspace keyspace, byte[] key) throws IOException;

  /**
   * The values of many keys, each in its own keyspace, in one read: {@code keys.get(i)} is read
   * from {@code keyspaces.get(i)}, and the result holds its value or null at {@code i}. All values
   * come from one consistent state of the store.
   */
  List<byte[]> multiGet(List<? extends Keyspace> keyspaces, List<byte[]> keys) throws IOException;

  /** Opens a cursor over {@code keyspace}; close it on the same thread. */
  Cursor cursor(Keyspace keyspace);

  Batch newBatch();

  /**
   * Applies a batch atomically.
   *
   * @throws IllegalStateException when the batch touches a dropped keyspace (nothing is applied) or
   *     the calling thread holds an open cursor
   */
  void write(Batch batch) throws IOException;

  /** The partitions a partition-keyed keyspace holds keys of, in increasing order. */
  List<Integer> partitions(Keyspace keyspace) throws IOException;

  /**
   * The engine's figures at this moment, for monitoring; empty for a store that keeps none (the
   * in-memory one) and once the store is closed. Never throws {@link
   * dev.quiver.online.StoreClosedException}: a scrape may come at any time.
   */
  default Optional<StorageStats> stats() {
    return Optional.empty();
  }

  /** Releases the store; waits for reads and open cursors. Idempotent. */
  @Override
  void close();

  /** The four bytes a key of a partition-keyed keyspace starts with: the partition, big-endian. */
  static byte[] partitionPrefix(int partition) {
    checkPartition(partition);
    return new byte[] {
      (byte) (partition >>> 24),
      (byte) (partition >>> 16),
      (byte) (partition >>> 8),
      (byte) partition
    };
  }

  /** The partition a key of a partition-keyed keyspace belongs to. */
  static int partitionOf(byte[] key) {
    if (key.length < 4) {
      throw new IllegalStateException(
          "a key of " + key.length + " bytes holds no partition (4 bytes, big-endian)");
    }
    return (key[0] & 0xFF) << 24 | (key[1] & 0xFF) << 16 | (key[2] & 0xFF) << 8 | key[3] & 0xFF;
  }

  /** Kafka partitions are numbered from 0. */
  static void checkPartition(int partition) {
    if (partition < 0) {
      throw new IllegalArgumentException("a partition is not negative: " + partition);
    }
  }
}
