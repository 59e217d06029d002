package dev.quiver.online.kv;

import dev.quiver.online.StoreClosedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * {@link OnlineKeyValueStore} in memory: a sorted map per keyspace, keys in unsigned byte order.
 * Nothing survives {@link #close()}. For tests and embedded use without a data directory.
 *
 * <p>One read-write lock makes batches atomic: reads and open cursors share it, a batch is applied
 * under it exclusively. So a cursor sees one state of the store from open to close, and writers
 * wait for it; keep cursors short.
 */
public final class InMemoryKeyValueStore implements OnlineKeyValueStore {
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Space metadata = new Space("metadata", Access.ORDERED);
  private final Map<String, Space> spaces = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private static final class Space implements Keyspace {
    final String name;
    final Access access;
    final ConcurrentSkipListMap<byte[], byte[]> map =
        new ConcurrentSkipListMap<>(Arrays::compareUnsigned);
    volatile boolean dropped;

    Space(String name, Access access) {
      this.name = name;
      this.access = access;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Access access() {
      return access;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private Space live(Keyspace keyspace) {
    Space s = (Space) Objects.requireNonNull(keyspace, "keyspace");
    if (s.dropped) {
      throw new IllegalStateException("keyspace " + s.name + " was dropped");
    }
    return s;
  }

  private void lockOpen() {
    lock.readLock().lock();
    if (closed) {
      lock.readLock().unlock();
      throw closedException();
    }
  }

  private static StoreClosedException closedException() {
    return new StoreClosedException("the in-memory online store is closed");
  }

  private void checkNoCursor(String what) {
    if (lock.getReadHoldCount() > 0) {
      throw new IllegalStateException("cannot " + what + " while this thread holds an open cursor");
    }
  }

  /** Runs {@code task} holding the lock exclusively, the store open. */
  private void exclusively(Runnable task) {
    lock.writeLock().lock();
    try {
      if (closed) {
        throw closedException();
      }
      task.run();
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public Keyspace metadata() {
    lockOpen();
    lock.readLock().unlock();
    return metadata;
  }

  @Override
  public Keyspace keyspace(String name) {
    lockOpen();
    try {
      return spaces.get(name);
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public List<Keyspace> keyspaces() {
    lockOpen();
    try {
      return List.copyOf(spaces.values());
    } finally {
      lock.readLock().unlock();
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
      lock.readLock().unlock();
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
      lock.readLock().unlock();
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
      lock.readLock().unlock();
    }
  }

  @Override
  public Cursor cursor(Keyspace keyspace) {
    lockOpen();
    try {
      return new MapCursor(live(keyspace));
    } catch (RuntimeException e) {
      lock.readLock().unlock();
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
        lock.readLock().unlock();
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
      lock.readLock().unlock();
    }
  }

  @Override
  public Batch newBatch() {
    lockOpen();
    lock.readLock().unlock();
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
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      spaces.clear();
      metadata.map.clear();
    } finally {
      lock.writeLock().unlock();
    }
  }
}
