package dev.quiver.online.kv;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.HashSkipListMemTableConfig;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Statistics;
import org.rocksdb.StatsLevel;
import org.rocksdb.TickerType;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * {@link OnlineKeyValueStore} on RocksDB: one column family per keyspace, the default column family
 * for metadata, one shared LRU block cache, bloom filters, LZ4.
 *
 * <p>{@link Access#POINT} keyspaces are tuned for lookups by key: their memtable (recent writes,
 * not yet flushed) is a hash of small skip lists keyed by the whole key (up to {@link
 * #KEY_PREFIX_BYTES}) rather than one skip list of every key, so finding a key costs one hash probe
 * instead of a chain of cache misses. Scanning them needs a total-order view, which cursors ask
 * for; it is slow, and meant for maintenance. {@link Access#ORDERED} keyspaces use the default skip
 * list.
 *
 * <p>A write-ahead log holds every write, so a killed process loses nothing it wrote; batches are
 * RocksDB {@link WriteBatch}es. Thread-safety as the interface says; writers are expected to be
 * serialized by the caller (the hash memtables take one writer at a time).
 *
 * <p>RocksDB {@link Statistics} are kept at {@link StatsLevel#EXCEPT_DETAILED_TIMERS} (tickers, no
 * per-operation timers), for the block cache's hits and misses in {@link #stats()}.
 */
public final class RocksKeyValueStore implements OnlineKeyValueStore {
  static {
    RocksDB.loadLibrary();
  }

  /** Keys of point keyspaces hash on up to this many leading bytes: the whole of a usual key. */
  public static final int KEY_PREFIX_BYTES = 64;

  /**
   * Hash buckets of each point keyspace's memtable: 8 bytes each, 2 MB per memtable, against the
   * memtable's own 128 MB budget. Fewer made lookups of a million entities slower: a memtable holds
   * several hundred thousand rows, and longer chains per bucket cost what the hash saved.
   */
  private static final int MEMTABLE_BUCKETS = 1 << 18;

  private static final String DEFAULT = "default";

  private final Path dir;
  private final LRUCache cache;
  private final long cacheBytes;
  private final Statistics statistics;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions orderedOptions;
  private final ColumnFamilyOptions pointOptions;
  private final WriteOptions writeOptions = new WriteOptions();
  private final ReadOptions readOptions = new ReadOptions();
  private final ReadOptions totalOrder = new ReadOptions().setTotalOrderSeek(true);
  private final RocksDB db;
  private final RocksKeyspace metadata;
  private final Map<String, RocksKeyspace> keyspaces = new ConcurrentHashMap<>();
  private final Lifecycle lifecycle;

  private RocksKeyValueStore(
      Path dir,
      LRUCache cache,
      long cacheBytes,
      Statistics statistics,
      DBOptions dbOptions,
      ColumnFamilyOptions orderedOptions,
      ColumnFamilyOptions pointOptions,
      RocksDB db,
      List<ColumnFamilyDescriptor> descriptors,
      List<Access> accesses,
      List<ColumnFamilyHandle> opened) {
    this.dir = dir;
    this.lifecycle = new Lifecycle("the online store in " + dir + " is closed");
    this.cache = cache;
    this.cacheBytes = cacheBytes;
    this.statistics = statistics;
    this.dbOptions = dbOptions;
    this.orderedOptions = orderedOptions;
    this.pointOptions = pointOptions;
    this.db = db;
    RocksKeyspace meta = null;
    for (int i = 0; i < descriptors.size(); i++) {
      String name = new String(descriptors.get(i).getName(), StandardCharsets.UTF_8);
      RocksKeyspace ks = new RocksKeyspace(name, accesses.get(i), opened.get(i));
      if (name.equals(DEFAULT)) {
        meta = ks;
      } else {
        keyspaces.put(name, ks);
      }
    }
    this.metadata = meta;
  }

  /**
   * Opens (or creates) a store in {@code dir}.
   *
   * @param cacheBytes size of the block cache shared by all keyspaces: reads that hit it decode no
   *     compressed blocks; size it to the hot part of the data
   * @param accessOf the access of each keyspace found in {@code dir}, by name: RocksDB needs a
   *     column family's tuning to open it, and does not keep it
   */
  public static RocksKeyValueStore open(
      Path dir, long cacheBytes, Function<String, Access> accessOf) throws IOException {
    Objects.requireNonNull(accessOf, "accessOf");
    Files.createDirectories(dir);
    LRUCache cache = new LRUCache(cacheBytes);
    BlockBasedTableConfig table =
        new BlockBasedTableConfig()
            .setBlockCache(cache)
            .setFilterPolicy(new BloomFilter(10))
            .setCacheIndexAndFilterBlocks(true)
            .setPinL0FilterAndIndexBlocksInCache(true);
    ColumnFamilyOptions orderedOptions = columnFamilyOptions(table);
    ColumnFamilyOptions pointOptions =
        columnFamilyOptions(table)
            .useCappedPrefixExtractor(KEY_PREFIX_BYTES)
            .setMemTableConfig(new HashSkipListMemTableConfig().setBucketCount(MEMTABLE_BUCKETS));
    Statistics statistics = new Statistics();
    statistics.setStatsLevel(StatsLevel.EXCEPT_DETAILED_TIMERS);
    DBOptions dbOptions =
        new DBOptions()
            .setStatistics(statistics)
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            // Hash memtables take one writer at a time; the online store serializes its writes.
            .setAllowConcurrentMemtableWrite(false);
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    List<Access> accesses = new ArrayList<>();
    try (Options listOptions = new Options()) {
      List<byte[]> existing =
          Files.exists(dir.resolve("CURRENT"))
              ? RocksDB.listColumnFamilies(listOptions, dir.toString())
              : List.of(RocksDB.DEFAULT_COLUMN_FAMILY);
      for (byte[] name : existing) {
        String s = new String(name, StandardCharsets.UTF_8);
        Access access = s.equals(DEFAULT) ? Access.ORDERED : accessOf.apply(s);
        accesses.add(access);
        descriptors.add(
            new ColumnFamilyDescriptor(
                name, access == Access.POINT ? pointOptions : orderedOptions));
      }
    } catch (RocksDBException e) {
      closeAll(cache, statistics, dbOptions, orderedOptions, pointOptions);
      throw new IOException("cannot list column families of " + dir + ": " + e.getMessage(), e);
    }
    List<ColumnFamilyHandle> opened = new ArrayList<>();
    try {
      RocksDB db = RocksDB.open(dbOptions, dir.toString(), descriptors, opened);
      return new RocksKeyValueStore(
          dir,
          cache,
          cacheBytes,
          statistics,
          dbOptions,
          orderedOptions,
          pointOptions,
          db,
          descriptors,
          accesses,
          opened);
    } catch (RocksDBException e) {
      closeAll(cache, statistics, dbOptions, orderedOptions, pointOptions);
      throw new IOException("cannot open the online store in " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void closeAll(AutoCloseable... resources) {
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception e) {
        // Closing native options releases memory only; nothing to report.
      }
    }
  }

  /** The options every column family shares: the table format, compaction, compression. */
  private static ColumnFamilyOptions columnFamilyOptions(BlockBasedTableConfig table) {
    return new ColumnFamilyOptions()
        .setTableFormatConfig(table)
        .optimizeLevelStyleCompaction()
        // LZ4 decodes several times faster than the default Snappy on cache misses.
        .setCompressionType(CompressionType.LZ4_COMPRESSION);
  }

  public Path directory() {
    return dir;
  }

  private static final class RocksKeyspace extends KeyspaceBase {
    final ColumnFamilyHandle handle;

    RocksKeyspace(String name, Access access, ColumnFamilyHandle handle) {
      super(name, access);
      this.handle = handle;
    }
  }

  private static RocksKeyspace live(Keyspace keyspace) {
    return KeyspaceBase.live(keyspace, RocksKeyspace.class);
  }

  private void lockOpen() {
    lifecycle.enter();
  }

  private void unlock() {
    lifecycle.exit();
  }

  // ---------------------------------------------------------------- keyspaces

  @Override
  public Keyspace metadata() {
    lockOpen();
    unlock();
    return metadata;
  }

  @Override
  public Keyspace keyspace(String name) {
    lockOpen();
    try {
      return keyspaces.get(name);
    } finally {
      unlock();
    }
  }

  @Override
  public List<Keyspace> keyspaces() {
    lockOpen();
    try {
      return List.copyOf(keyspaces.values());
    } finally {
      unlock();
    }
  }

  @Override
  public Keyspace createKeyspace(String name, Access access) throws IOException {
    Objects.requireNonNull(access, "access");
    if (name.equals(DEFAULT)) {
      throw new IllegalArgumentException("'default' is the metadata keyspace's name");
    }
    lockOpen();
    try {
      synchronized (keyspaces) {
        RocksKeyspace ks = keyspaces.get(name);
        if (ks == null) {
          ColumnFamilyHandle h =
              db.createColumnFamily(
                  new ColumnFamilyDescriptor(
                      name.getBytes(StandardCharsets.UTF_8),
                      access == Access.POINT ? pointOptions : orderedOptions));
          ks = new RocksKeyspace(name, access, h);
          keyspaces.put(name, ks);
        } else if (ks.access != access) {
          throw new IllegalArgumentException(
              "keyspace " + name + " exists with access " + ks.access + ", not " + access);
        }
        return ks;
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot create keyspace " + name + ": " + e.getMessage(), e);
    } finally {
      unlock();
    }
  }

  @Override
  public void dropKeyspace(Keyspace keyspace) throws IOException {
    checkNoCursor("drop a keyspace");
    lifecycle.writeLock().lock();
    try {
      checkOpenLocked();
      RocksKeyspace ks = live(keyspace);
      if (ks == metadata) {
        throw new IllegalArgumentException("the metadata keyspace cannot be dropped");
      }
      db.dropColumnFamily(ks.handle);
      ks.dropped = true;
      keyspaces.remove(ks.name, ks);
      ks.handle.close();
    } catch (RocksDBException e) {
      throw new IOException("cannot drop keyspace " + keyspace + ": " + e.getMessage(), e);
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private void checkOpenLocked() {
    lifecycle.checkOpenLocked();
  }

  private void checkNoCursor(String what) {
    lifecycle.checkNoCursor(what);
  }

  // ---------------------------------------------------------------- reads

  @Override
  public byte[] get(Keyspace keyspace, byte[] key) throws IOException {
    lockOpen();
    try {
      return db.get(live(keyspace).handle, readOptions, key);
    } catch (RocksDBException e) {
      throw new IOException("reading " + keyspace + " failed: " + e.getMessage(), e);
    } finally {
      unlock();
    }
  }

  @Override
  public List<byte[]> multiGet(List<? extends Keyspace> spaces, List<byte[]> keys)
      throws IOException {
    if (spaces.size() != keys.size()) {
      throw new IllegalArgumentException(
          spaces.size() + " keyspaces for " + keys.size() + " keys; one each");
    }
    lockOpen();
    if (keys.isEmpty()) {
      unlock();
      return List.of();
    }
    try {
      for (Keyspace ks : spaces) {
        live(ks);
      }
      // A view, not a copy: RocksDB reads the handles out of it once.
      List<ColumnFamilyHandle> handles =
          new AbstractList<>() {
            @Override
            public ColumnFamilyHandle get(int i) {
              return ((RocksKeyspace) spaces.get(i)).handle;
            }

            @Override
            public int size() {
              return spaces.size();
            }
          };
      return db.multiGetAsList(readOptions, handles, keys);
    } catch (RocksDBException e) {
      throw new IOException("reading the online store failed: " + e.getMessage(), e);
    } finally {
      unlock();
    }
  }

  @Override
  public Cursor cursor(Keyspace keyspace) {
    lockOpen();
    try {
      RocksKeyspace ks = live(keyspace);
      return new RocksCursor(
          db.newIterator(ks.handle, ks.access == Access.POINT ? totalOrder : readOptions));
    } catch (RuntimeException e) {
      unlock();
      throw e;
    }
  }

  /** Holds the store's read lock from open to close, so the store closes only after it. */
  private final class RocksCursor implements Cursor {
    private final RocksIterator it;
    private byte[] to;
    private byte[] key;
    private boolean started;
    private boolean open = true;

    RocksCursor(RocksIterator it) {
      this.it = it;
    }

    @Override
    public void seek(byte[] from, byte[] toInclusive) {
      it.seek(from);
      to = toInclusive;
      started = false;
      key = null;
    }

    @Override
    public boolean next() {
      if (to == null) {
        return false;
      }
      if (started) {
        it.next();
      }
      started = true;
      if (it.isValid()) {
        key = it.key();
        if (Arrays.compareUnsigned(key, to) <= 0) {
          return true;
        }
      }
      key = null;
      to = null;
      return false;
    }

    @Override
    public byte[] key() {
      if (key == null) {
        throw new IllegalStateException("the cursor is not on an entry");
      }
      return key;
    }

    @Override
    public byte[] value() {
      if (key == null) {
        throw new IllegalStateException("the cursor is not on an entry");
      }
      return it.value();
    }

    @Override
    public void close() {
      if (open) {
        open = false;
        it.close();
        unlock();
      }
    }
  }

  @Override
  public List<Integer> partitions(Keyspace keyspace) {
    List<Integer> out = new ArrayList<>();
    lockOpen();
    try (RocksIterator it = db.newIterator(live(keyspace).handle, readOptions)) {
      for (it.seekToFirst(); it.isValid(); ) {
        int p = OnlineKeyValueStore.partitionOf(it.key());
        out.add(p);
        if (p == Integer.MAX_VALUE) {
          break;
        }
        it.seek(OnlineKeyValueStore.partitionPrefix(p + 1));
      }
      return out;
    } finally {
      unlock();
    }
  }

  // ---------------------------------------------------------------- writes

  @Override
  public Batch newBatch() {
    lockOpen();
    unlock();
    return new RocksBatch();
  }

  private final class RocksBatch implements Batch {
    final WriteBatch wb = new WriteBatch();
    final List<RocksKeyspace> touched = new ArrayList<>(4);
    int size;

    private ColumnFamilyHandle touch(Keyspace keyspace) {
      RocksKeyspace ks = live(keyspace);
      if (!touched.contains(ks)) {
        touched.add(ks);
      }
      size++;
      return ks.handle;
    }

    @Override
    public void put(Keyspace keyspace, byte[] key, byte[] value) throws IOException {
      try {
        wb.put(touch(keyspace), key, value);
      } catch (RocksDBException e) {
        throw new IOException("cannot add a put to a batch: " + e.getMessage(), e);
      }
    }

    @Override
    public void delete(Keyspace keyspace, byte[] key) throws IOException {
      try {
        wb.delete(touch(keyspace), key);
      } catch (RocksDBException e) {
        throw new IOException("cannot add a delete to a batch: " + e.getMessage(), e);
      }
    }

    @Override
    public void deletePartition(Keyspace keyspace, int partition) throws IOException {
      byte[] from = OnlineKeyValueStore.partitionPrefix(partition);
      // Past the last partition, 0x80000000 still sorts after every partition's keys.
      byte[] to =
          partition == Integer.MAX_VALUE
              ? new byte[] {(byte) 0x80, 0, 0, 0}
              : OnlineKeyValueStore.partitionPrefix(partition + 1);
      try {
        wb.deleteRange(touch(keyspace), from, to);
      } catch (RocksDBException e) {
        throw new IOException("cannot add a range delete to a batch: " + e.getMessage(), e);
      }
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public void close() {
      wb.close();
    }
  }

  @Override
  public void write(Batch batch) throws IOException {
    checkNoCursor("write");
    RocksBatch b = (RocksBatch) batch;
    lockOpen();
    try {
      for (RocksKeyspace ks : b.touched) {
        live(ks);
      }
      db.write(writeOptions, b.wb);
    } catch (RocksDBException e) {
      throw new IOException("writing a batch of " + b.size + " failed: " + e.getMessage(), e);
    } finally {
      unlock();
    }
  }

  // ---------------------------------------------------------------- monitoring

  /**
   * {@inheritDoc}
   *
   * <p>Reads the statistics' tickers, the block cache's usage and three integer properties summed
   * over the column families ({@code rocksdb.cur-size-all-mem-tables}, {@code
   * rocksdb.estimate-pending-compaction-bytes}, {@code rocksdb.live-sst-files-size}): in-memory
   * figures, no I/O. Runs concurrently with reads and writes; waits only while a keyspace is
   * dropped or the store closes.
   */
  @Override
  public Optional<StorageStats> stats() {
    if (!lifecycle.tryEnter()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new StorageStats(
              statistics.getTickerCount(TickerType.BLOCK_CACHE_HIT),
              statistics.getTickerCount(TickerType.BLOCK_CACHE_MISS),
              cache.getUsage(),
              cacheBytes,
              db.getAggregatedLongProperty("rocksdb.cur-size-all-mem-tables"),
              db.getAggregatedLongProperty("rocksdb.estimate-pending-compaction-bytes"),
              db.getAggregatedLongProperty("rocksdb.live-sst-files-size")));
    } catch (RocksDBException e) {
      // These properties exist in every RocksDB this store runs on; a failure is a bug.
      throw new IllegalStateException(
          "cannot read the statistics of the online store in " + dir + ": " + e.getMessage(), e);
    } finally {
      lifecycle.exit();
    }
  }

  /** Releases RocksDB, after the reads and cursors under way. Idempotent. */
  @Override
  public void close() {
    checkNoCursor("close the store");
    lifecycle.writeLock().lock();
    try {
      if (!lifecycle.markClosed()) {
        return;
      }
      for (RocksKeyspace ks : keyspaces.values()) {
        ks.handle.close();
      }
      metadata.handle.close();
      db.close();
      writeOptions.close();
      readOptions.close();
      totalOrder.close();
      orderedOptions.close();
      pointOptions.close();
      dbOptions.close();
      statistics.close();
      cache.close();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }
}
