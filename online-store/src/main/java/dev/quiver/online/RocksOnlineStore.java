package dev.quiver.online;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.HashSkipListMemTableConfig;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The online store: RocksDB with one column family per feature view version ({@code
 * view/<name>@<version>}), keyed by the encoded entity key, holding the newest row of each entity.
 * The default column family holds metadata: each view's applied source positions ({@code p/...})
 * and feature ids ({@code f/...}). Column families {@code tiles/<name>@<version>} hold aggregation
 * tiles: for each entity, aggregation and hop-aligned tile start, the aggregate state of the rows
 * whose event time falls in that tile, updated in the same batch as the rows.
 *
 * <p>A write keeps a row only if its order key is greater than the stored one, and writes the
 * positions the rows bring their views to in the same {@link WriteBatch}: after a crash (the
 * write-ahead log survives a killed process) the rows and positions agree, so ingestion resumes
 * exactly after the last applied record.
 *
 * <p>Thread-safe. Writes are serialized; reads run concurrently with each other and with writes.
 * After {@link #close()} every method throws {@link IllegalStateException}.
 */
public final class RocksOnlineStore implements RowSink, AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final String VIEW_PREFIX = "view/";
  private static final String TILES_PREFIX = "tiles/";
  private static final byte[] DEFAULT_CF = RocksDB.DEFAULT_COLUMN_FAMILY;

  private final Path dir;
  private final LRUCache cache;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions otherOptions;
  private final ColumnFamilyOptions rowOptions;
  private final WriteOptions writeOptions;
  private final ReadOptions readOptions;
  private final RocksDB db;
  private final ColumnFamilyHandle meta;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final Map<ViewId, ColumnFamilyHandle> views = new ConcurrentHashMap<>();
  private final Map<ViewId, ColumnFamilyHandle> tiles = new ConcurrentHashMap<>();
  private final Map<Aggregation, Aggregator> aggregators = new ConcurrentHashMap<>();
  private final Map<ViewId, Map<String, Integer>> featureIds = new ConcurrentHashMap<>();
  private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private RocksOnlineStore(
      Path dir,
      LRUCache cache,
      DBOptions dbOptions,
      ColumnFamilyOptions otherOptions,
      ColumnFamilyOptions rowOptions,
      RocksDB db,
      List<ColumnFamilyDescriptor> descriptors,
      List<ColumnFamilyHandle> opened) {
    this.dir = dir;
    this.cache = cache;
    this.dbOptions = dbOptions;
    this.otherOptions = otherOptions;
    this.rowOptions = rowOptions;
    this.db = db;
    this.writeOptions = new WriteOptions();
    this.readOptions = new ReadOptions();
    ColumnFamilyHandle defaultHandle = null;
    for (int i = 0; i < descriptors.size(); i++) {
      String name = new String(descriptors.get(i).getName(), StandardCharsets.UTF_8);
      ColumnFamilyHandle h = opened.get(i);
      handles.add(h);
      if (name.equals("default")) {
        defaultHandle = h;
      } else if (name.startsWith(VIEW_PREFIX)) {
        views.put(parseView(name.substring(VIEW_PREFIX.length())), h);
      } else if (name.startsWith(TILES_PREFIX)) {
        tiles.put(parseView(name.substring(TILES_PREFIX.length())), h);
      }
    }
    this.meta = defaultHandle;
  }

  /** Entity keys hash on up to this many leading bytes: the whole key, for any usual key. */
  private static final int KEY_PREFIX_BYTES = 64;

  /**
   * Hash buckets of each view's memtable: 8 bytes each, 2 MB per memtable, against the memtable's
   * own 128 MB budget. Fewer made lookups of a million entities slower: a memtable holds several
   * hundred thousand rows, and longer chains per bucket cost what the hash saved.
   */
  private static final int MEMTABLE_BUCKETS = 1 << 18;

  /** Default size of the block cache. */
  public static final long DEFAULT_CACHE_BYTES = 512L * 1024 * 1024;

  /** Opens (or creates) the store in {@code dir} with the default block cache. */
  public static RocksOnlineStore open(Path dir) throws IOException {
    return open(dir, DEFAULT_CACHE_BYTES);
  }

  /**
   * Opens (or creates) the store in {@code dir}.
   *
   * @param cacheBytes size of the block cache shared by all views: lookups that hit it decode no
   *     compressed blocks; size it to the hot part of the online data
   */
  public static RocksOnlineStore open(Path dir, long cacheBytes) throws IOException {
    Files.createDirectories(dir);
    LRUCache cache = new LRUCache(cacheBytes);
    BlockBasedTableConfig table =
        new BlockBasedTableConfig()
            .setBlockCache(cache)
            .setFilterPolicy(new BloomFilter(10))
            .setCacheIndexAndFilterBlocks(true)
            .setPinL0FilterAndIndexBlocksInCache(true);
    // Metadata and aggregation tiles, which the store iterates.
    ColumnFamilyOptions otherOptions = columnFamilyOptions(table);
    // The rows of views are only ever read by key. Recent writes sit in the memtable, whose
    // default skip list costs a chain of cache misses per lookup; a hash of skip lists keyed by
    // the whole entity key finds them in one. The store never iterates these column families.
    ColumnFamilyOptions rowOptions =
        columnFamilyOptions(table)
            .useCappedPrefixExtractor(KEY_PREFIX_BYTES)
            .setMemTableConfig(new HashSkipListMemTableConfig().setBucketCount(MEMTABLE_BUCKETS));
    DBOptions dbOptions =
        new DBOptions()
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            // Hash memtables take one writer at a time; the store serializes its writes anyway.
            .setAllowConcurrentMemtableWrite(false);
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    try (Options listOptions = new Options()) {
      List<byte[]> existing =
          Files.exists(dir.resolve("CURRENT"))
              ? RocksDB.listColumnFamilies(listOptions, dir.toString())
              : List.of(DEFAULT_CF);
      for (byte[] name : existing) {
        boolean rows = new String(name, StandardCharsets.UTF_8).startsWith(VIEW_PREFIX);
        descriptors.add(new ColumnFamilyDescriptor(name, rows ? rowOptions : otherOptions));
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot list column families of " + dir + ": " + e.getMessage(), e);
    }
    List<ColumnFamilyHandle> opened = new ArrayList<>();
    try {
      RocksDB db = RocksDB.open(dbOptions, dir.toString(), descriptors, opened);
      RocksOnlineStore store =
          new RocksOnlineStore(
              dir, cache, dbOptions, otherOptions, rowOptions, db, descriptors, opened);
      try {
        store.upgradeTiles();
        store.loadFeatureIds();
      } catch (RocksDBException | RuntimeException e) {
        store.close();
        throw e;
      }
      return store;
    } catch (RocksDBException e) {
      throw new IOException("cannot open the online store in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The metadata key holding the format of the stored rows and tiles. */
  private static final byte[] TILE_FORMAT_KEY = "tile_format".getBytes(StandardCharsets.UTF_8);

  /**
   * The format of the stored rows and tiles: 3 since times are microseconds (2: sums became exact,
   * 1: the first).
   */
  static final int STORE_FORMAT = 3;

  /**
   * Rows and tiles written in an older format cannot be read: their order keys and tile starts were
   * milliseconds, and their tiles held sums rounded in arrival order. The column families of every
   * view holding any are dropped and the views' positions forgotten, so ingestion replays those
   * views from the start of their topics, rebuilding rows and tiles. Positions go first, so a crash
   * in between leaves views that replay, never stores that miss history.
   */
  private void upgradeTiles() throws RocksDBException {
    byte[] stored = db.get(meta, TILE_FORMAT_KEY);
    int format = stored == null ? 1 : ByteBuffer.wrap(stored).getInt();
    if (format == STORE_FORMAT) {
      return;
    }
    // Only views holding data replay; empty column families have nothing to misread.
    java.util.Set<ViewId> old = new java.util.HashSet<>();
    for (Map<ViewId, ColumnFamilyHandle> family : List.of(views, tiles)) {
      for (Map.Entry<ViewId, ColumnFamilyHandle> t : family.entrySet()) {
        try (RocksIterator it = db.newIterator(t.getValue())) {
          it.seekToFirst();
          if (it.isValid()) {
            old.add(t.getKey());
          }
        }
      }
    }
    if (!old.isEmpty()) {
      try (WriteBatch wb = new WriteBatch();
          RocksIterator it = db.newIterator(meta)) {
        for (ViewId view : old) {
          byte[] prefix = ("p/" + view + "/").getBytes(StandardCharsets.UTF_8);
          for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
            wb.delete(meta, it.key());
          }
        }
        db.write(writeOptions, wb);
      }
      for (ViewId view : old) {
        views.put(view, recreate(views.get(view), VIEW_PREFIX + view, rowOptions));
        tiles.put(view, recreate(tiles.get(view), TILES_PREFIX + view, otherOptions));
      }
    }
    db.put(meta, TILE_FORMAT_KEY, ByteBuffer.allocate(4).putInt(STORE_FORMAT).array());
  }

  /** Drops {@code handle} (when there is one) and creates its column family anew, empty. */
  private ColumnFamilyHandle recreate(
      ColumnFamilyHandle handle, String name, ColumnFamilyOptions options) throws RocksDBException {
    if (handle != null) {
      db.dropColumnFamily(handle);
      handles.remove(handle);
      handle.close();
    }
    ColumnFamilyHandle fresh =
        db.createColumnFamily(
            new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), options));
    handles.add(fresh);
    return fresh;
  }

  private static boolean startsWith(byte[] key, byte[] prefix) {
    return key.length >= prefix.length
        && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  /** The options every column family shares: the table format, compaction, compression. */
  private static ColumnFamilyOptions columnFamilyOptions(BlockBasedTableConfig table) {
    return new ColumnFamilyOptions()
        .setTableFormatConfig(table)
        .optimizeLevelStyleCompaction()
        // LZ4 decodes several times faster than the default Snappy on cache misses.
        .setCompressionType(org.rocksdb.CompressionType.LZ4_COMPRESSION);
  }

  @Override
  public String name() {
    return "online";
  }

  public Path directory() {
    return dir;
  }

  // ---------------------------------------------------------------- positions and ids

  @Override
  public long position(ViewId view, SourcePartition partition) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      byte[] v = db.get(meta, positionKey(view, partition));
      return v == null ? 0 : ByteBuffer.wrap(v).getLong();
    } catch (RocksDBException e) {
      throw new IOException("reading the position of " + view + " failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /** The id of a feature of a view version, or -1 when no row ever carried it. */
  public int featureId(ViewId view, String feature) {
    return featureIds.getOrDefault(view, Map.of()).getOrDefault(feature, -1);
  }

  private void loadFeatureIds() {
    try (RocksIterator it = db.newIterator(meta)) {
      byte[] prefix = "f/".getBytes(StandardCharsets.UTF_8);
      for (it.seek(prefix); it.isValid(); it.next()) {
        String key = new String(it.key(), StandardCharsets.UTF_8);
        if (!key.startsWith("f/")) {
          break;
        }
        int slash = key.indexOf('/', 2);
        ViewId view = parseView(key.substring(2, slash));
        featureIds
            .computeIfAbsent(view, v -> new ConcurrentHashMap<>())
            .put(key.substring(slash + 1), ByteBuffer.wrap(it.value()).getInt());
      }
    }
  }

  // ---------------------------------------------------------------- writes

  @Override
  public void prepare(Collection<ViewId> viewIds) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      for (ViewId v : viewIds) {
        handle(v);
      }
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  @Override
  public void write(RowBatch batch) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      synchronized (this) {
        writeLocked(batch);
      }
    } catch (RocksDBException e) {
      throw new IOException(
          "writing " + batch.rows().size() + " rows failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void writeLocked(RowBatch batch) throws RocksDBException, IOException {
    Map<ViewId, Map<String, Integer>> newIds = new HashMap<>();
    Map<ViewId, Map<ByteBuffer, OrderKey>> pending = new HashMap<>();
    Map<ViewId, Map<ByteBuffer, AggregateState>> pendingTiles = new HashMap<>();
    try (WriteBatch wb = new WriteBatch()) {
      for (ViewRow row : batch.rows()) {
        ViewShape shape = row.shape();
        ColumnFamilyHandle cf = handle(shape.id());
        byte[] key = EntityKeyCodec.encode(row.entityKey());
        for (int i = 0; i < shape.aggregations().size(); i++) {
          Aggregation spec = shape.aggregations().get(i);
          Aggregator aggregator = aggregator(spec);
          int id = idFor(shape.id(), spec.getName(), newIds, wb);
          byte[] tileKey =
              tileKey(key, id, aggregator.window().tileStart(row.order().eventTimeMicros()));
          Map<ByteBuffer, AggregateState> open =
              pendingTiles.computeIfAbsent(shape.id(), v -> new HashMap<>());
          ByteBuffer tk = ByteBuffer.wrap(tileKey);
          AggregateState state = open.get(tk);
          if (state == null) {
            byte[] stored = db.get(tiles.get(shape.id()), tileKey);
            state = stored == null ? aggregator.empty() : AggregateState.decode(stored);
            open.put(tk, state);
          }
          aggregator.add(state, row.aggregationInputs()[i], row.order());
        }
        Map<ByteBuffer, OrderKey> seen = pending.computeIfAbsent(shape.id(), v -> new HashMap<>());
        ByteBuffer k = ByteBuffer.wrap(key);
        OrderKey current = seen.get(k);
        if (current == null) {
          byte[] stored = db.get(cf, key);
          current = stored == null ? null : StoredRow.decodeOrder(stored);
        }
        if (current != null && !row.order().isNewerThan(current)) {
          continue;
        }
        seen.put(k, row.order());
        int[] ids = new int[shape.features().size()];
        Value[] values = new Value[ids.length];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = idFor(shape.id(), shape.features().get(i), newIds, wb);
          values[i] = row.valueProto(i);
        }
        wb.put(cf, key, StoredRow.encode(row.order(), ids, values));
      }
      for (Map.Entry<ViewId, Map<ByteBuffer, AggregateState>> e : pendingTiles.entrySet()) {
        ColumnFamilyHandle cf = tiles.get(e.getKey());
        for (Map.Entry<ByteBuffer, AggregateState> t : e.getValue().entrySet()) {
          wb.put(cf, t.getKey().array(), t.getValue().encode());
        }
      }
      batch
          .positions()
          .forEach(
              (view, parts) ->
                  parts.forEach(
                      (sp, next) -> {
                        try {
                          wb.put(
                              meta,
                              positionKey(view, sp),
                              ByteBuffer.allocate(8).putLong(next).array());
                        } catch (RocksDBException e) {
                          throw new IllegalStateException(e);
                        }
                      }));
      db.write(writeOptions, wb);
    }
    newIds.forEach(
        (view, ids) ->
            featureIds.computeIfAbsent(view, v -> new ConcurrentHashMap<>()).putAll(ids));
  }

  private int idFor(
      ViewId view, String feature, Map<ViewId, Map<String, Integer>> newIds, WriteBatch wb)
      throws RocksDBException {
    Map<String, Integer> known = featureIds.getOrDefault(view, Map.of());
    Integer id = known.get(feature);
    if (id != null) {
      return id;
    }
    Map<String, Integer> fresh = newIds.computeIfAbsent(view, v -> new HashMap<>());
    id = fresh.get(feature);
    if (id == null) {
      id = known.size() + fresh.size();
      fresh.put(feature, id);
      wb.put(
          meta,
          ("f/" + view + "/" + feature).getBytes(StandardCharsets.UTF_8),
          ByteBuffer.allocate(4).putInt(id).array());
    }
    return id;
  }

  private ColumnFamilyHandle handle(ViewId view) throws IOException {
    ColumnFamilyHandle h = views.get(view);
    if (h != null) {
      return h;
    }
    synchronized (views) {
      h = views.get(view);
      if (h == null) {
        try {
          if (!tiles.containsKey(view)) {
            ColumnFamilyHandle t =
                db.createColumnFamily(
                    new ColumnFamilyDescriptor(
                        (TILES_PREFIX + view).getBytes(StandardCharsets.UTF_8), otherOptions));
            handles.add(t);
            tiles.put(view, t);
          }
          h =
              db.createColumnFamily(
                  new ColumnFamilyDescriptor(
                      (VIEW_PREFIX + view).getBytes(StandardCharsets.UTF_8), rowOptions));
        } catch (RocksDBException e) {
          throw new IOException("cannot create storage for " + view + ": " + e.getMessage(), e);
        }
        handles.add(h);
        views.put(view, h);
      }
      return h;
    }
  }

  // ---------------------------------------------------------------- reads

  /** Keys read in the first multi-get of a lookup, before any row size is known. */
  static final int FIRST_READ_KEYS = 8;

  /** The most keys of one multi-get. */
  static final int MAX_READ_KEYS = 1024;

  /** About how many value bytes one multi-get may bring into memory at once. */
  static final long READ_CHUNK_BYTES = 4L << 20;

  /**
   * Reads the rows of several views at once, with no budget. See {@link #read(List, List,
   * LookupBudget)}.
   */
  public List<List<StoredRow>> read(List<ViewId> viewIds, List<List<byte[]>> keys)
      throws IOException {
    return read(viewIds, keys, LookupBudget.unlimited());
  }

  /**
   * Reads the rows of several views at once. {@code keys.get(i)} holds the encoded entity keys to
   * read from view {@code viewIds.get(i)}; the result holds, in the same shape, the stored row or
   * null.
   *
   * <p>The keys are read in multi-gets sized by the rows seen so far, so that one multi-get brings
   * about {@link #READ_CHUNK_BYTES} into native and heap memory at most: a lookup of large rows
   * spends its budget, and stops, before it has read them all. Every stored row's size is counted
   * against {@code budget}; between multi-gets the budget's checkpoint is asked whether the caller
   * still waits.
   *
   * @throws LookupBudget.ExceededException when the rows read pass the budget
   * @throws LookupBudget.CancelledException when the caller has gone
   */
  public List<List<StoredRow>> read(
      List<ViewId> viewIds, List<List<byte[]>> keys, LookupBudget budget) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      List<ColumnFamilyHandle> cfs = new ArrayList<>();
      List<byte[]> flat = new ArrayList<>();
      List<List<StoredRow>> out = new ArrayList<>(viewIds.size());
      for (int v = 0; v < viewIds.size(); v++) {
        ColumnFamilyHandle h = views.get(viewIds.get(v));
        List<byte[]> ks = keys.get(v);
        if (h == null) {
          continue;
        }
        for (byte[] k : ks) {
          cfs.add(h);
          flat.add(k);
        }
      }
      List<byte[]> values = multiGet(cfs, flat, budget);
      int i = 0;
      for (int v = 0; v < viewIds.size(); v++) {
        List<byte[]> ks = keys.get(v);
        List<StoredRow> rows = new ArrayList<>(ks.size());
        if (views.get(viewIds.get(v)) == null) {
          for (int k = 0; k < ks.size(); k++) {
            rows.add(null);
          }
        } else {
          for (int k = 0; k < ks.size(); k++) {
            byte[] stored = values.get(i++);
            rows.add(stored == null ? null : StoredRow.decode(stored));
          }
        }
        out.add(rows);
      }
      return out;
    } catch (RocksDBException e) {
      throw new IOException("reading the online store failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private List<byte[]> multiGet(
      List<ColumnFamilyHandle> cfs, List<byte[]> keys, LookupBudget budget)
      throws RocksDBException {
    int total = keys.size();
    if (total == 0) {
      return List.of();
    }
    budget.checkpoint();
    if (total <= FIRST_READ_KEYS) {
      List<byte[]> values = db.multiGetAsList(readOptions, cfs, keys);
      for (byte[] v : values) {
        if (v != null) {
          budget.spend(v.length);
        }
      }
      return values;
    }
    List<byte[]> values = new ArrayList<>(total);
    int chunk = FIRST_READ_KEYS;
    long largest = 1;
    for (int at = 0, end; at < total; at = end) {
      if (at > 0) {
        budget.checkpoint();
        chunk = (int) Math.max(1, Math.min(MAX_READ_KEYS, READ_CHUNK_BYTES / largest));
      }
      end = Math.min(total, at + chunk);
      List<byte[]> got =
          db.multiGetAsList(readOptions, cfs.subList(at, end), keys.subList(at, end));
      for (byte[] v : got) {
        if (v != null) {
          budget.spend(v.length);
          largest = Math.max(largest, v.length);
        }
      }
      values.addAll(got);
    }
    return values;
  }

  /**
   * The value of an aggregation over a sawtooth window ending at {@code nowMicros}, for each
   * encoded entity key: the merge of the tiles from the window's start to the tile holding now.
   */
  public List<Value> aggregate(ViewId view, Aggregation spec, List<byte[]> keys, long nowMicros)
      throws IOException {
    return aggregate(view, spec, keys, nowMicros, LookupBudget.unlimited());
  }

  /**
   * As {@link #aggregate(ViewId, Aggregation, List, long)}, asking {@code budget} between keys
   * whether the caller still waits, and counting each result's size against it.
   */
  public List<Value> aggregate(
      ViewId view, Aggregation spec, List<byte[]> keys, long nowMicros, LookupBudget budget)
      throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      Aggregator aggregator = aggregator(spec);
      int id = featureId(view, spec.getName());
      ColumnFamilyHandle cf = tiles.get(view);
      List<Value> out = new ArrayList<>(keys.size());
      if (cf == null || id < 0) {
        AggregateState none = aggregator.empty();
        for (int i = 0; i < keys.size(); i++) {
          out.add(aggregator.result(none));
        }
        return out;
      }
      long from = aggregator.window().start(nowMicros);
      long to = aggregator.window().tileStart(nowMicros);
      try (RocksIterator it = db.newIterator(cf, readOptions)) {
        for (int k = 0; k < keys.size(); k++) {
          if ((k & 63) == 0) {
            budget.checkpoint();
          }
          byte[] key = keys.get(k);
          byte[] last = tileKey(key, id, to);
          AggregateState state = aggregator.empty();
          for (it.seek(tileKey(key, id, from));
              it.isValid() && java.util.Arrays.compareUnsigned(it.key(), last) <= 0;
              it.next()) {
            aggregator.merge(state, AggregateState.decode(it.value()));
          }
          Value result = aggregator.result(state);
          budget.spend(result.getSerializedSize());
          out.add(result);
        }
      }
      return out;
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private Aggregator aggregator(Aggregation spec) {
    return aggregators.computeIfAbsent(spec, Aggregator::new);
  }

  /** Entity key, then the aggregation's id, then the tile start with its sign flipped. */
  private static byte[] tileKey(byte[] entityKey, int id, long tileStart) {
    return ByteBuffer.allocate(entityKey.length + 12)
        .put(entityKey)
        .putInt(id)
        .putLong(tileStart ^ Long.MIN_VALUE)
        .array();
  }

  // ---------------------------------------------------------------- helpers

  private static byte[] positionKey(ViewId view, SourcePartition sp) {
    return ("p/" + view + "/" + sp.topic() + "/" + sp.partition()).getBytes(StandardCharsets.UTF_8);
  }

  private static ViewId parseView(String s) {
    int at = s.lastIndexOf('@');
    return new ViewId(s.substring(0, at), Integer.parseInt(s.substring(at + 1)));
  }

  private void checkOpen() {
    if (closed) {
      throw new StoreClosedException("the online store in " + dir + " is closed");
    }
  }

  /** Flushes nothing extra (the WAL holds every write) and releases RocksDB. Idempotent. */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      for (ColumnFamilyHandle h : handles) {
        h.close();
      }
      db.close();
      writeOptions.close();
      readOptions.close();
      otherOptions.close();
      rowOptions.close();
      dbOptions.close();
      cache.close();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }
}
