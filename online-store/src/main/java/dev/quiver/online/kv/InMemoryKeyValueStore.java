package dev.quiver.online.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * {@link OnlineKeyValueStore} in memory: a sorted map per keyspace, keys in unsigned byte order.
 * Nothing survives {@link #close()}. For tests and embedded use without a data directory.
 *
 * <p>One read-write lock makes batches atomic: reads and open cursors share it, a batch is applied
 * under it exclusively. So a cursor sees one state of the store from open to close, and writers
 * wait for it; keep cursors short.
 */
public final class InMemoryKeyValueStore implements OnlineKeyValueStore {
  private final Lifecycle lifecycle = new Lifecycle("the in-memory online store is closed");
  private final Space metadata = new Space("metadata", Access.ORDERED);
  private final Map<String, Space> spaces = new ConcurrentHashMap<>();

  private static final class Space extends KeyspaceBase {
    final ConcurrentSkipListMap<byte[], byte[]> map =
        new ConcurrentSkipListMap<>(Arrays::compareUnsigned);

    Space(String name, Access access) {
      super(name, access);
    }
  }

  private static Space live(Keyspace keyspace) {
    return KeyspaceBase.live(keyspace, Space.class);
  }

  private void lockOpen() {
    lifecycle.enter();
  }

  private void checkNoCursor(String what) {
    lifecycle.checkNoCursor(what);
  }

  /** Runs {@code task} holding the lock exclusively, the store open. */
  private void exclusively(Runnable task) {
    lifecycle.writeLock().lock();
    try {
      lifecycle.checkOpenLocked();
      task.run();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  @Override
  public Keyspace metadata() {
    lockOpen();
    lifecycle.exit();
    return metadata;
  }

  @Override
  public Keyspace keyspace(String name) {
    lockOpen();
    try {
      return spaces.get(name);
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public List<Keyspace> keyspaces() {
    lockOpen();
    try {
      return List.copyOf(spaces.values());
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public Keyspace createKeyspace(String name, Access access) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(access, "access");
    lockOpen();
    try {
      Space s = spaces.computeIfAbsent(name, n -> new Space(n, access));
      if (s.access != access) {
        throw new IllegalArgumentException(
            "keyspace " + name + " exists with access " + s.access + ", not " + access);
      }
      return s;
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public void dropKeyspace(Keyspace keyspace) {
    checkNoCursor("drop a keyspace");
    exclusively(
        () -> {
          Space s = live(keyspace);
          if (s == metadata) {
            throw new IllegalArgumentException("the metadata keyspace cannot be dropped");
          }
          s.dropped = true;
          spaces.remove(s.name, s);
          s.map.clear();
        });
  }

  @Override
  public byte[] get(Keyspace keyspace, byte[] key) {
    lockOpen();
    try {
      return live(keyspace).map.get(key);
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public List<byte[]> multiGet(List<? extends Keyspace> keyspaces, List<byte[]> keys) {
    if (keyspaces.size() != keys.size()) {
      throw new IllegalArgumentException(
          keyspaces.size() + " keyspaces for " + keys.size() + " keys; one each");
    }
    lockOpen();
    try {
      List<byte[]> out = new ArrayList<>(keys.size());
      for (int i = 0; i < keys.size(); i++) {
        out.add(live(keyspaces.get(i)).map.get(keys.get(i)));
      }
      return out;
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public Cursor cursor(Keyspace keyspace) {
    lockOpen();
    try {
      return new MapCursor(live(keyspace));
    } catch (RuntimeException e) {
      lifecycle.exit();
      throw e;
    }
  }

  /** Holds the read lock from open to close: no batch lands while it is open. */
  private final class MapCursor implements Cursor {
    private final Space space;
    private Iterator<Map.Entry<byte[], byte[]>> it;
    private Map.Entry<byte[], byte[]> current;
    private boolean open = true;

    MapCursor(Space space) {
      this.space = space;
    }

    @Override
    public void seek(byte[] from, byte[] toInclusive) {
      current = null;
      it =
          Arrays.compareUnsigned(from, toInclusive) > 0
              ? null
              : space.map.subMap(from, true, toInclusive, true).entrySet().iterator();
    }

    @Override
    public boolean next() {
      if (it != null && it.hasNext()) {
        current = it.next();
        return true;
      }
      current = null;
      it = null;
      return false;
    }

    @Override
    public byte[] key() {
      return entry().getKey().clone();
    }

    @Override
    public byte[] value() {
      return entry().getValue().clone();
    }

    private Map.Entry<byte[], byte[]> entry() {
      if (current == null) {
        throw new IllegalStateException("the cursor is not on an entry");
      }
      return current;
    }

    @Override
    public void close() {
      if (open) {
        open = false;
        lifecycle.exit();
      }
    }
  }

  @Override
  public List<Integer> partitions(Keyspace keyspace) {
    lockOpen();
    try {
      NavigableMap<byte[], byte[]> map = live(keyspace).map;
      List<Integer> out = new ArrayList<>();
      for (byte[] k = map.isEmpty() ? null : map.firstKey(); k != null; ) {
        int p = OnlineKeyValueStore.partitionOf(k);
        out.add(p);
        k =
            p == Integer.MAX_VALUE
                ? null
                : map.ceilingKey(OnlineKeyValueStore.partitionPrefix(p + 1));
      }
      return out;
    } finally {
      lifecycle.exit();
    }
  }

  @Override
  public Batch newBatch() {
    lockOpen();
    lifecycle.exit();
    return new ListBatch();
  }

  private record Op(Space space, byte[] key, byte[] value, int partition) {}

  private final class ListBatch implements Batch {
    final List<Op> ops = new ArrayList<>();

    @Override
    public void put(Keyspace keyspace, byte[] key, byte[] value) {
      // Copied: the caller may reuse its arrays, and the map must not change under readers.
      ops.add(
          new Op(
              live(keyspace),
              Objects.requireNonNull(key, "key").clone(),
              Objects.requireNonNull(value, "value").clone(),
              -1));
    }

    @Override
    public void delete(Keyspace keyspace, byte[] key) {
      ops.add(new Op(live(keyspace), Objects.requireNonNull(key, "key").clone(), null, -1));
    }

    @Override
    public void deletePartition(Keyspace keyspace, int partition) {
      OnlineKeyValueStore.checkPartition(partition);
      ops.add(new Op(live(keyspace), null, null, partition));
    }

    @Override
    public int size() {
      return ops.size();
    }

    @Override
    public void close() {
      ops.clear();
    }
  }

  @Override
  public void write(Batch batch) {
    checkNoCursor("write");
    List<Op> ops = ((ListBatch) batch).ops;
    exclusively(
        () -> {
          // Checked before anything is applied: a batch lands whole or not at all.
          for (Op op : ops) {
            live(op.space);
          }
          for (Op op : ops) {
            if (op.key == null) {
              byte[] from = OnlineKeyValueStore.partitionPrefix(op.partition);
              // Past the last partition, 0x80000000 still sorts after every partition's keys.
              byte[] to =
                  op.partition == Integer.MAX_VALUE
                      ? new byte[] {(byte) 0x80, 0, 0, 0}
                      : OnlineKeyValueStore.partitionPrefix(op.partition + 1);
              op.space.map.subMap(from, true, to, false).clear();
            } else if (op.value == null) {
              op.space.map.remove(op.key);
            } else {
              op.space.map.put(op.key, op.value);
            }
          }
        });
  }

  /** Drops everything. Idempotent; waits for reads and open cursors. */
  @Override
  public void close() {
    checkNoCursor("close the store");
    lifecycle.writeLock().lock();
    try {
      if (lifecycle.markClosed()) {
        spaces.clear();
        metadata.map.clear();
      }
    } finally {
      lifecycle.writeLock().unlock();
    }
  }
}
