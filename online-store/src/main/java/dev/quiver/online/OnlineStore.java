package dev.quiver.online;

import static dev.quiver.online.StoreLayout.AHEAD;
import static dev.quiver.online.StoreLayout.INDEX;
import static dev.quiver.online.StoreLayout.NOTHING;
import static dev.quiver.online.StoreLayout.ROWS;
import static dev.quiver.online.StoreLayout.TILES;

import dev.quiver.online.kv.OnlineKeyValueStore;
import dev.quiver.online.kv.OnlineKeyValueStore.Access;
import dev.quiver.online.kv.OnlineKeyValueStore.Batch;
import dev.quiver.online.kv.OnlineKeyValueStore.Cursor;
import dev.quiver.online.kv.OnlineKeyValueStore.Keyspace;
import dev.quiver.proto.JavaValues;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.aggregate.AggregateState;
import dev.quiver.registry.aggregate.Aggregator;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.AsOf;
import dev.quiver.registry.semantics.FutureEvents;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The online store, over any {@link OnlineKeyValueStore} (layout: {@link StoreLayout}): the newest
 * row of each entity per view version, aggregation tiles, the applied source positions, and the
 * index of which source partition each entity's data came from.
 *
 * <p>A write keeps a row only if its order key is greater than the stored one, adds each row to its
 * tile of every aggregation, and writes the positions the rows bring their views to, all in one
 * atomic {@link Batch}: after a crash the rows, tiles and positions agree, so ingestion resumes
 * exactly after the last applied record. Lookups read a view's rows in one batched multi-get and
 * merge a window's tiles with one range scan per entity.
 *
 * <p>Thread-safe. Writes are serialized; reads run concurrently with each other and with writes.
 * Owns its key-value store: {@link #close()} closes it, and every method but {@link #featureId} and
 * {@link #storageStats} throws {@link StoreClosedException} after.
 */
public final class OnlineStore implements RowSink, OnlineReader, AutoCloseable {

  /** The keyspaces of one view version. A new kind of per-view data is one more component. */
  private record ViewSpaces(Keyspace rows, Keyspace tiles, Keyspace index, Keyspace ahead) {}

  private final OnlineKeyValueStore kv;
  private final Keyspace meta;
  private final Map<ViewId, ViewSpaces> views = new ConcurrentHashMap<>();
  private final Map<Aggregation, Aggregator> aggregators = new ConcurrentHashMap<>();
  private final Map<ViewId, Map<String, Integer>> featureIds = new ConcurrentHashMap<>();

  /** Each view's newest shape seen since opening: the aggregations its held rows join. */
  private final Map<ViewId, ViewShape> shapes = new ConcurrentHashMap<>();

  /**
   * Odd while a write moves held rows into rows and tiles, bumped again after: a lookup that saw it
   * change read some held rows both ways, or neither, and reads again (a seqlock; one writer).
   */
  private volatile long heldVersion;

  /** Rows held apart until the clock reaches them, by view and entity key; lists immutable. */
  private final Map<ViewId, Map<ByteBuffer, List<Held>>> held = new ConcurrentHashMap<>();

  private final Object writes = new Object();
  private volatile boolean closed;

  private OnlineStore(OnlineKeyValueStore kv) {
    this.kv = kv;
    this.meta = kv.metadata();
  }

  /**
   * Opens the online store kept in {@code kv}, upgrading what older versions wrote, and takes
   * ownership of {@code kv}: it is closed with the store, or at once if opening fails.
   */
  public static OnlineStore open(OnlineKeyValueStore kv) throws IOException {
    try {
      OnlineStore store = new OnlineStore(kv);
      store.upgrade();
      for (Keyspace ks : kv.keyspaces()) {
        ViewId view = StoreLayout.viewOf(ks.name(), ROWS);
        if (view != null) {
          store.spaces(view);
        }
      }
      store.loadFeatureIds();
      store.loadHeld();
      return store;
    } catch (IOException | RuntimeException e) {
      kv.close();
      throw e;
    }
  }

  @Override
  public String name() {
    return "online";
  }

  // ---------------------------------------------------------------- upgrades

  /**
   * Brings data of an older format or layout up to date. Rows and tiles written before layout 3
   * cannot be read: their order keys and tile starts were milliseconds, tiles of layout 1 mixed
   * source partitions, and tile states before format 3 held sums rounded in arrival order. The
   * keyspaces of every view holding any data are emptied and the view's positions forgotten, so
   * ingestion replays it from the start of its topics, rebuilding rows, tiles and the partition
   * index exactly as live ingestion writes them. Positions go first, so a crash in between leaves
   * views that replay, never stores that miss history.
   */
  private void upgrade() throws IOException {
    int format = readInt(StoreLayout.TILE_FORMAT_KEY, 1);
    int layout = readInt(StoreLayout.LAYOUT_KEY, 1);
    if (format == AggregateState.FORMAT && layout == StoreLayout.LAYOUT) {
      return;
    }
    // Only views holding data replay; empty keyspaces have nothing to misread.
    Map<ViewId, List<Keyspace>> old = new HashMap<>();
    for (Keyspace ks : kv.keyspaces()) {
      for (String kind : List.of(ROWS, TILES, INDEX, AHEAD)) {
        ViewId view = StoreLayout.viewOf(ks.name(), kind);
        if (view != null) {
          old.computeIfAbsent(view, v -> new ArrayList<>()).add(ks);
        }
      }
    }
    old.values().removeIf(spaces -> spaces.stream().allMatch(this::isEmpty));
    if (!old.isEmpty()) {
      try (Batch batch = kv.newBatch()) {
        for (ViewId view : old.keySet()) {
          byte[] prefix = StoreLayout.positionPrefix(view);
          try (Cursor c = kv.cursor(meta)) {
            c.seek(prefix, StoreLayout.prefixEnd(prefix));
            while (c.next()) {
              byte[] key = c.key();
              if (StoreLayout.startsWith(key, prefix)) {
                batch.delete(meta, key);
              }
            }
          }
        }
        kv.write(batch);
      }
      for (List<Keyspace> spaces : old.values()) {
        for (Keyspace ks : spaces) {
          kv.dropKeyspace(ks);
          kv.createKeyspace(ks.name(), StoreLayout.access(ks.name()));
        }
      }
    }
    try (Batch batch = kv.newBatch()) {
      batch.put(meta, StoreLayout.TILE_FORMAT_KEY, StoreLayout.int32(AggregateState.FORMAT));
      batch.put(meta, StoreLayout.LAYOUT_KEY, StoreLayout.int32(StoreLayout.LAYOUT));
      kv.write(batch);
    }
  }

  private boolean isEmpty(Keyspace ks) {
    try (Cursor c = kv.cursor(ks)) {
      c.seek(new byte[0], StoreLayout.LAST_ENTITY_KEY);
      return !c.next();
    }
  }

  private int readInt(byte[] key, int absent) throws IOException {
    byte[] v = kv.get(meta, key);
    return v == null ? absent : ByteBuffer.wrap(v).getInt();
  }

  // ---------------------------------------------------------------- positions and ids

  @Override
  public long position(ViewId view, SourcePartition partition) throws IOException {
    checkOpen();
    byte[] v = kv.get(meta, StoreLayout.positionKey(view, partition));
    return v == null ? 0 : ByteBuffer.wrap(v).getLong();
  }

  @Override
  public int featureId(ViewId view, String feature) {
    return featureIds.getOrDefault(view, Map.of()).getOrDefault(feature, -1);
  }

  private void loadFeatureIds() throws IOException {
    byte[] prefix = StoreLayout.FEATURE_IDS;
    try (Cursor c = kv.cursor(meta)) {
      c.seek(prefix, StoreLayout.prefixEnd(prefix));
      while (c.next()) {
        String key = new String(c.key(), StandardCharsets.UTF_8);
        if (!key.startsWith("f/")) {
          continue;
        }
        int slash = key.indexOf('/', 2);
        String v = key.substring(2, slash);
        int at = v.lastIndexOf('@');
        ViewId view = new ViewId(v.substring(0, at), Integer.parseInt(v.substring(at + 1)));
        featureIds
            .computeIfAbsent(view, x -> new ConcurrentHashMap<>())
            .put(key.substring(slash + 1), ByteBuffer.wrap(c.value()).getInt());
      }
    }
  }

  // ---------------------------------------------------------------- writes

  @Override
  public void prepare(Collection<ViewId> viewIds) throws IOException {
    checkOpen();
    for (ViewId v : viewIds) {
      spaces(v);
    }
  }

  @Override
  public void write(RowBatch batch) throws IOException {
    checkOpen();
    synchronized (writes) {
      try {
        writeLocked(batch);
      } catch (IOException e) {
        throw new IOException(
            "writing " + batch.rows().size() + " rows failed: " + e.getMessage(), e);
      }
    }
  }

  /**
   * A row held apart because it was stamped after the clock that ingested it: {@code row} holds its
   * features and, under each aggregation's id, that aggregation's input.
   */
  private record Held(byte[] key, OrderKey order, StoredRow row) {}

  /** What one write batch changes: rows and tiles read once and written once. */
  private final class Pending {
    final Batch wb;
    final Map<ViewId, Map<String, Integer>> newIds = new HashMap<>();
    final Map<ViewId, Map<ByteBuffer, OrderKey>> rows = new HashMap<>();
    final Map<ViewId, Map<ByteBuffer, AggregateState>> tiles = new HashMap<>();
    final Map<ViewId, List<Held>> heldAdded = new HashMap<>();
    final Map<ViewId, List<Held>> heldApplied = new HashMap<>();

    Pending(Batch wb) {
      this.wb = wb;
    }

    int id(ViewId view, String name) throws IOException {
      return idFor(view, name, newIds, wb);
    }

    /** Folds a row's aggregation inputs into its tiles. */
    void addToTiles(
        ViewSpaces spaces, ViewId view, Aggregation spec, byte[] key, OrderKey order, Object input)
        throws IOException {
      Aggregator aggregator = aggregator(spec);
      int id = id(view, spec.getName());
      byte[] tileKey =
          StoreLayout.tileKey(
              key, id, aggregator.window().tileStart(order.eventTimeMicros()), order.partition());
      Map<ByteBuffer, AggregateState> open = tiles.computeIfAbsent(view, v -> new HashMap<>());
      ByteBuffer tk = ByteBuffer.wrap(tileKey);
      AggregateState state = open.get(tk);
      if (state == null) {
        byte[] stored = kv.get(spaces.tiles(), tileKey);
        state = stored == null ? aggregator.empty() : AggregateState.decode(stored);
        open.put(tk, state);
      }
      aggregator.add(state, input, order);
    }

    /**
     * Whether a row with {@code order} is newer than the entity's stored one (and so replaces it);
     * indexes the partition it came from.
     */
    boolean newer(ViewSpaces spaces, ViewId view, byte[] key, OrderKey order) throws IOException {
      Map<ByteBuffer, OrderKey> seen = rows.computeIfAbsent(view, v -> new HashMap<>());
      ByteBuffer k = ByteBuffer.wrap(key);
      OrderKey current = seen.get(k);
      if (current == null) {
        byte[] stored = kv.get(spaces.rows(), key);
        current = stored == null ? null : StoredRow.decodeOrder(stored);
      }
      // The partition of the entity's newest row is indexed already: only data from another
      // partition (a new entity, or a view not keyed like its topic) adds to the index.
      if (current == null || current.partition() != order.partition()) {
        wb.put(spaces.index(), StoreLayout.indexKey(order.partition(), key), NOTHING);
      }
      if (current != null && !order.isNewerThan(current)) {
        return false;
      }
      seen.put(k, order);
      return true;
    }
  }

  private void writeLocked(RowBatch batch) throws IOException {
    long clock = batch.clockMicros();
    try (Batch wb = kv.newBatch()) {
      Pending p = new Pending(wb);
      applyHeld(p, clock);
      for (ViewRow row : batch.rows()) {
        ViewShape shape = row.shape();
        ViewId view = shape.id();
        ViewSpaces spaces = spaces(view);
        shapes.put(view, shape);
        byte[] key = EntityKeyCodec.encode(row.entityKey());
        if (FutureEvents.ahead(row.order().eventTimeMicros(), clock)) {
          hold(p, spaces, row, key);
          continue;
        }
        for (int i = 0; i < shape.aggregations().size(); i++) {
          p.addToTiles(
              spaces,
              view,
              shape.aggregations().get(i),
              key,
              row.order(),
              row.aggregationInputs()[i]);
        }
        if (!p.newer(spaces, view, key, row.order())) {
          continue;
        }
        int[] ids = new int[shape.features().size()];
        Value[] values = new Value[ids.length];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = p.id(view, shape.features().get(i));
          values[i] = row.valueProto(i);
        }
        wb.put(spaces.rows(), key, StoredRow.encode(row.order(), ids, values));
      }
      for (Map.Entry<ViewId, Map<ByteBuffer, AggregateState>> e : p.tiles.entrySet()) {
        Keyspace tiles = views.get(e.getKey()).tiles();
        for (Map.Entry<ByteBuffer, AggregateState> t : e.getValue().entrySet()) {
          wb.put(tiles, t.getKey().array(), t.getValue().encode());
        }
      }
      for (Map.Entry<ViewId, Map<SourcePartition, Long>> view : batch.positions().entrySet()) {
        for (Map.Entry<SourcePartition, Long> pos : view.getValue().entrySet()) {
          wb.put(
              meta,
              StoreLayout.positionKey(view.getKey(), pos.getKey()),
              StoreLayout.int64(pos.getValue()));
        }
      }
      boolean moving = !p.heldApplied.isEmpty();
      if (moving) {
        heldVersion = heldVersion + 1;
      }
      try {
        kv.write(wb);
        p.newIds.forEach(
            (view, ids) ->
                featureIds.computeIfAbsent(view, v -> new ConcurrentHashMap<>()).putAll(ids));
        p.heldApplied.forEach((view, applied) -> forget(view, applied));
      } finally {
        if (moving) {
          heldVersion = heldVersion + 1;
        }
      }
      p.heldAdded.forEach((view, added) -> added.forEach(h -> remember(view, h)));
    }
  }

  /**
   * Holds a row stamped after the ingesting clock apart from the served rows and tiles, with its
   * features and aggregation inputs, until a later clock reaches it ({@link #applyHeld}); lookups
   * before then count it only when their time has reached it.
   */
  private void hold(Pending p, ViewSpaces spaces, ViewRow row, byte[] key) throws IOException {
    ViewShape shape = row.shape();
    ViewId view = shape.id();
    int features = shape.features().size();
    int[] ids = new int[features + shape.aggregations().size()];
    Value[] values = new Value[ids.length];
    for (int i = 0; i < features; i++) {
      ids[i] = p.id(view, shape.features().get(i));
      values[i] = row.valueProto(i);
    }
    for (int i = 0; i < shape.aggregations().size(); i++) {
      Aggregation spec = shape.aggregations().get(i);
      ids[features + i] = p.id(view, spec.getName());
      Object input = row.aggregationInputs()[i];
      values[features + i] =
          input == null ? Values.nullValue() : Values.toProto(input, spec.getInputType());
    }
    byte[] stored = StoredRow.encode(row.order(), ids, values);
    byte[] aheadKey = StoreLayout.aheadKey(row.order(), key);
    p.wb.put(spaces.ahead(), aheadKey, stored);
    p.wb.put(spaces.index(), StoreLayout.indexKey(row.order().partition(), key), NOTHING);
    p.heldAdded
        .computeIfAbsent(view, v -> new ArrayList<>())
        .add(new Held(aheadKey, row.order(), StoredRow.decode(stored)));
  }

  /**
   * Applies the held rows the clock has reached, as rows of this batch: each replaces the stored
   * row if newer and joins its tiles, and leaves the held rows, in the same atomic write. A view's
   * held rows wait while the store has not seen its shape since opening (its aggregations are
   * needed); lookups count them meanwhile.
   */
  private void applyHeld(Pending p, long clock) throws IOException {
    for (Map.Entry<ViewId, Map<ByteBuffer, List<Held>>> e : held.entrySet()) {
      ViewId view = e.getKey();
      ViewShape shape = shapes.get(view);
      if (shape == null || e.getValue().isEmpty()) {
        continue;
      }
      ViewSpaces spaces = spaces(view);
      List<Held> due = new ArrayList<>();
      for (List<Held> rows : e.getValue().values()) {
        for (Held h : rows) {
          if (AsOf.visible(h.order().eventTimeMicros(), clock)) {
            due.add(h);
          }
        }
      }
      for (Held h : due) {
        byte[] key = StoreLayout.entityOfAheadKey(h.key());
        for (Aggregation spec : shape.aggregations()) {
          int id = featureId(view, spec.getName());
          int at = id < 0 ? -1 : h.row().indexOf(id);
          Object input = at < 0 ? null : JavaValues.toJava(h.row().value(id));
          p.addToTiles(spaces, view, spec, key, h.order(), input);
        }
        if (p.newer(spaces, view, key, h.order())) {
          int[] ids = new int[shape.features().size()];
          Value[] values = new Value[ids.length];
          for (int i = 0; i < ids.length; i++) {
            ids[i] = p.id(view, shape.features().get(i));
            Value v = h.row().value(ids[i]);
            values[i] = v == null ? Values.nullValue() : v;
          }
          p.wb.put(spaces.rows(), key, StoredRow.encode(h.order(), ids, values));
        }
        p.wb.delete(spaces.ahead(), h.key());
      }
      if (!due.isEmpty()) {
        p.heldApplied.put(view, due);
      }
    }
  }

  private void remember(ViewId view, Held h) {
    held.computeIfAbsent(view, v -> new ConcurrentHashMap<>())
        .compute(
            ByteBuffer.wrap(StoreLayout.entityOfAheadKey(h.key())),
            (k, rows) -> {
              List<Held> next = rows == null ? new ArrayList<>() : new ArrayList<>(rows);
              next.add(h);
              return List.copyOf(next);
            });
  }

  private void forget(ViewId view, List<Held> applied) {
    Map<ByteBuffer, List<Held>> byEntity = held.get(view);
    for (Held h : applied) {
      byEntity.computeIfPresent(
          ByteBuffer.wrap(StoreLayout.entityOfAheadKey(h.key())),
          (k, rows) -> {
            List<Held> next = new ArrayList<>(rows);
            next.removeIf(x -> x.order().equals(h.order()));
            return next.isEmpty() ? null : List.copyOf(next);
          });
    }
  }

  /** Loads the held rows of every view, which lookups consult from memory. */
  private void loadHeld() throws IOException {
    for (Map.Entry<ViewId, ViewSpaces> v : views.entrySet()) {
      try (Cursor c = kv.cursor(v.getValue().ahead())) {
        c.seek(new byte[0], StoreLayout.lastAheadKey(Long.MAX_VALUE));
        while (c.next()) {
          StoredRow row = StoredRow.decode(c.value());
          remember(v.getKey(), new Held(c.key(), row.order(), row));
        }
      }
    }
  }

  /** The id of a feature, assigned in {@code wb} if it has none: ids are never reused. */
  private int idFor(ViewId view, String feature, Map<ViewId, Map<String, Integer>> newIds, Batch wb)
      throws IOException {
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
      wb.put(meta, StoreLayout.featureIdKey(view, feature), StoreLayout.int32(id));
    }
    return id;
  }

  private ViewSpaces spaces(ViewId view) throws IOException {
    ViewSpaces s = views.get(view);
    if (s != null) {
      return s;
    }
    synchronized (views) {
      s = views.get(view);
      if (s == null) {
        // Rows last: a view exists once its rows do, and then so do its other keyspaces.
        Keyspace tiles = kv.createKeyspace(TILES + view, Access.ORDERED);
        Keyspace index = kv.createKeyspace(INDEX + view, Access.ORDERED);
        Keyspace ahead = kv.createKeyspace(AHEAD + view, Access.ORDERED);
        Keyspace rows = kv.createKeyspace(ROWS + view, Access.POINT);
        s = new ViewSpaces(rows, tiles, index, ahead);
        views.put(view, s);
      }
      return s;
    }
  }

  // ---------------------------------------------------------------- partitions

  /** The source partitions the view holds rows or tiles from, in increasing order. */
  public List<Integer> partitions(ViewId view) throws IOException {
    checkOpen();
    ViewSpaces s = views.get(view);
    return s == null ? List.of() : kv.partitions(s.index());
  }

  /**
   * Removes, in one atomic write, what the view holds from a source partition: the rows whose
   * newest version came from it, its tiles, its index entries and its recorded position, so the
   * partition replays from its start if it is read again. Rows it overwrote that came from other
   * partitions are not brought back (see {@code docs/online.md}, "Storage"). The write holds the
   * whole partition's deletes.
   */
  public void dropPartition(ViewId view, int partition) throws IOException {
    checkOpen();
    OnlineKeyValueStore.checkPartition(partition);
    synchronized (writes) {
      ViewSpaces s = views.get(view);
      List<Held> dropped = new ArrayList<>();
      try (Batch batch = kv.newBatch()) {
        if (s != null) {
          byte[] prefix = OnlineKeyValueStore.partitionPrefix(partition);
          List<byte[]> entities = new ArrayList<>();
          try (Cursor c = kv.cursor(s.index())) {
            c.seek(prefix, StoreLayout.prefixEnd(prefix));
            while (c.next()) {
              byte[] key = c.key();
              if (StoreLayout.startsWith(key, prefix)) {
                entities.add(StoreLayout.entityOfIndexKey(key));
              }
            }
          }
          List<byte[]> rows = kv.multiGet(Collections.nCopies(entities.size(), s.rows()), entities);
          for (int i = 0; i < rows.size(); i++) {
            byte[] row = rows.get(i);
            if (row != null && StoredRow.decodeOrder(row).partition() == partition) {
              batch.delete(s.rows(), entities.get(i));
            }
          }
          try (Cursor c = kv.cursor(s.tiles())) {
            for (byte[] entity : entities) {
              c.seek(entity, StoreLayout.lastTileKey(entity));
              while (c.next()) {
                byte[] key = c.key();
                if (StoreLayout.tilePartition(key) == partition) {
                  batch.delete(s.tiles(), key);
                }
              }
            }
          }
          batch.deletePartition(s.index(), partition);
          try (Cursor c = kv.cursor(s.ahead())) {
            c.seek(new byte[0], StoreLayout.lastAheadKey(Long.MAX_VALUE));
            while (c.next()) {
              StoredRow row = StoredRow.decode(c.value());
              if (row.order().partition() == partition) {
                batch.delete(s.ahead(), c.key());
                dropped.add(new Held(c.key(), row.order(), row));
              }
            }
          }
        }
        byte[] positions = StoreLayout.positionPrefix(view);
        String suffix = "/" + partition;
        try (Cursor c = kv.cursor(meta)) {
          c.seek(positions, StoreLayout.prefixEnd(positions));
          while (c.next()) {
            byte[] key = c.key();
            if (StoreLayout.startsWith(key, positions)
                && new String(key, StandardCharsets.UTF_8).endsWith(suffix)) {
              batch.delete(meta, key);
            }
          }
        }
        kv.write(batch);
        if (!dropped.isEmpty()) {
          forget(view, dropped);
        }
      }
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
   * Reads the newest rows of several views, held rows included whatever their time, with no budget:
   * what the store holds, for tests and tools rather than lookups.
   */
  public List<List<StoredRow>> read(List<ViewId> viewIds, List<List<byte[]>> keys)
      throws IOException {
    return read(viewIds, keys, Long.MAX_VALUE);
  }

  /** Reads the rows of several views at once as of {@code asOfMicros}, with no budget. */
  public List<List<StoredRow>> read(List<ViewId> viewIds, List<List<byte[]>> keys, long asOfMicros)
      throws IOException {
    return read(viewIds, keys, asOfMicros, LookupBudget.unlimited());
  }

  /**
   * {@inheritDoc}
   *
   * <p>The keys of all views are read in multi-gets sized by the rows seen so far, so that one
   * multi-get brings about {@link #READ_CHUNK_BYTES} into native and heap memory at most: a lookup
   * of large rows spends its budget, and stops, before it has read them all.
   */
  @Override
  public List<List<StoredRow>> read(
      List<ViewId> viewIds, List<List<byte[]>> keys, long asOfMicros, LookupBudget budget)
      throws IOException {
    while (true) {
      long version = stableHeldVersion();
      List<List<StoredRow>> rows = readOnce(viewIds, keys, asOfMicros, budget);
      if (heldVersion == version) {
        return rows;
      }
    }
  }

  private List<List<StoredRow>> readOnce(
      List<ViewId> viewIds, List<List<byte[]>> keys, long asOfMicros, LookupBudget budget)
      throws IOException {
    checkOpen();
    List<Keyspace> spaces = new ArrayList<>();
    List<byte[]> flat = new ArrayList<>();
    Keyspace[] byView = new Keyspace[viewIds.size()];
    for (int v = 0; v < viewIds.size(); v++) {
      ViewSpaces s = views.get(viewIds.get(v));
      if (s == null) {
        continue;
      }
      byView[v] = s.rows();
      for (byte[] k : keys.get(v)) {
        spaces.add(s.rows());
        flat.add(k);
      }
    }
    List<byte[]> values = multiGet(spaces, flat, budget);
    List<List<StoredRow>> out = new ArrayList<>(viewIds.size());
    int i = 0;
    for (int v = 0; v < viewIds.size(); v++) {
      List<byte[]> ks = keys.get(v);
      List<StoredRow> rows = new ArrayList<>(ks.size());
      if (byView[v] == null) {
        for (int k = 0; k < ks.size(); k++) {
          rows.add(null);
        }
      } else {
        Map<ByteBuffer, List<Held>> ahead = held.get(viewIds.get(v));
        boolean anyHeld = ahead != null && !ahead.isEmpty();
        for (int k = 0; k < ks.size(); k++) {
          byte[] stored = values.get(i++);
          StoredRow row = stored == null ? null : StoredRow.decode(stored);
          rows.add(
              anyHeld
                  ? newestVisible(row, ahead.get(ByteBuffer.wrap(ks.get(k))), asOfMicros)
                  : row);
        }
      }
      out.add(rows);
    }
    return out;
  }

  /** The held rows' version once no write is moving them. */
  private long stableHeldVersion() {
    long v;
    while (((v = heldVersion) & 1) != 0) {
      Thread.onSpinWait();
    }
    return v;
  }

  /**
   * The entity's row as of t: its stored row (stamped at or before the clock that wrote it, so
   * visible at any later t), or a held row visible at t with a greater order key.
   */
  private static StoredRow newestVisible(StoredRow stored, List<Held> ahead, long tMicros) {
    StoredRow best = stored;
    if (ahead != null) {
      for (Held h : ahead) {
        if (AsOf.visible(h.order().eventTimeMicros(), tMicros)
            && (best == null || h.order().isNewerThan(best.order()))) {
          best = h.row();
        }
      }
    }
    return best;
  }

  private List<byte[]> multiGet(List<Keyspace> spaces, List<byte[]> keys, LookupBudget budget)
      throws IOException {
    int total = keys.size();
    if (total == 0) {
      return List.of();
    }
    budget.checkpoint();
    if (total <= FIRST_READ_KEYS) {
      List<byte[]> values = kv.multiGet(spaces, keys);
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
      List<byte[]> got = kv.multiGet(spaces.subList(at, end), keys.subList(at, end));
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

  /** {@link #aggregate(ViewId, Aggregation, List, long, LookupBudget)} with no budget. */
  public List<Value> aggregate(ViewId view, Aggregation spec, List<byte[]> keys, long nowMicros)
      throws IOException {
    return aggregate(view, spec, keys, nowMicros, LookupBudget.unlimited());
  }

  /**
   * {@inheritDoc}
   *
   * <p>Merges, per key, the tiles from the window's start to the tile holding now, of every source
   * partition, in one range scan; asks {@code budget} between keys whether the caller still waits.
   */
  @Override
  public List<Value> aggregate(
      ViewId view, Aggregation spec, List<byte[]> keys, long nowMicros, LookupBudget budget)
      throws IOException {
    checkOpen();
    Aggregator aggregator = aggregator(spec);
    int id = featureId(view, spec.getName());
    ViewSpaces s = views.get(view);
    List<Value> out = new ArrayList<>(keys.size());
    if (s == null || id < 0) {
      AggregateState none = aggregator.empty();
      for (int i = 0; i < keys.size(); i++) {
        out.add(aggregator.result(none));
      }
      return out;
    }
    long from = aggregator.window().start(nowMicros);
    long to = aggregator.window().tileStart(nowMicros);
    Map<ByteBuffer, List<Held>> ahead = held.getOrDefault(view, Map.of());
    // A cursor reads the tiles as they were when it opened: it and the held rows agree while no
    // write has moved held rows since.
    long cursorVersion = stableHeldVersion();
    Cursor c = kv.cursor(s.tiles());
    try {
      for (int k = 0; k < keys.size(); k++) {
        if ((k & 63) == 0) {
          budget.checkpoint();
        }
        byte[] key = keys.get(k);
        AggregateState state;
        while (true) {
          if (heldVersion == cursorVersion) {
            state = aggregator.empty();
            // Partition 0 is the first of a tile, 0xFFFFFFFF past the last (unsigned order).
            c.seek(StoreLayout.tileKey(key, id, from, 0), StoreLayout.tileKey(key, id, to, -1));
            while (c.next()) {
              aggregator.merge(state, AggregateState.decode(c.value()));
            }
            if (!ahead.isEmpty()) {
              addHeld(aggregator, id, state, ahead.get(ByteBuffer.wrap(key)), nowMicros);
            }
            if (heldVersion == cursorVersion) {
              break;
            }
          }
          // A write moved held rows into tiles: let it finish, without holding a cursor (which
          // may keep it waiting), and merge this key again from a cursor opened after it.
          c.close();
          c = null;
          cursorVersion = stableHeldVersion();
          c = kv.cursor(s.tiles());
        }
        Value result = aggregator.result(state);
        budget.spend(result.getSerializedSize());
        out.add(result);
      }
    } finally {
      if (c != null) {
        c.close();
      }
    }
    return out;
  }

  /**
   * Adds the held rows in the window at t to a state merged from tiles. Tiles hold only rows
   * stamped at or before the clock that wrote them, hence at or before t; held rows count when the
   * window at t holds them, exactly as an export at t counts them.
   */
  private static void addHeld(
      Aggregator aggregator, int id, AggregateState state, List<Held> ahead, long tMicros) {
    if (ahead == null) {
      return;
    }
    for (Held h : ahead) {
      if (aggregator.window().contains(h.order().eventTimeMicros(), tMicros)) {
        Value input = h.row().value(id);
        aggregator.add(state, input == null ? null : JavaValues.toJava(input), h.order());
      }
    }
  }

  private Aggregator aggregator(Aggregation spec) {
    return aggregators.computeIfAbsent(spec, Aggregator::new);
  }

  // ---------------------------------------------------------------- lifecycle

  private void checkOpen() {
    if (closed) {
      throw new StoreClosedException("the online store is closed");
    }
  }

  /**
   * The figures of the storage engine under this store at this moment, for monitoring ({@link
   * OnlineKeyValueStore#stats()}): empty for an in-memory store and once the store is closed. Never
   * throws {@link StoreClosedException}. Thread-safe.
   */
  public Optional<dev.quiver.online.kv.StorageStats> storageStats() {
    return closed ? Optional.empty() : kv.stats();
  }

  /** Closes the key-value store, after the reads under way. Idempotent. */
  @Override
  public void close() {
    closed = true;
    kv.close();
  }
}
