package dev.quiver.online;

import dev.quiver.online.kv.OnlineKeyValueStore;
import java.io.IOException;
import java.util.List;

/** A key-value store whose writes fail on demand, before anything reaches the store under it. */
final class FaultyKeyValueStore implements OnlineKeyValueStore {
  private final OnlineKeyValueStore store;
  private volatile boolean failWrites;

  FaultyKeyValueStore(OnlineKeyValueStore store) {
    this.store = store;
  }

  void failWrites(boolean fail) {
    failWrites = fail;
  }

  @Override
  public void write(Batch batch) throws IOException {
    if (failWrites) {
      throw new IOException("injected write failure");
    }
    store.write(batch);
  }

  @Override
  public Keyspace metadata() {
    return store.metadata();
  }

  @Override
  public Keyspace keyspace(String name) {
    return store.keyspace(name);
  }

  @Override
  public List<Keyspace> keyspaces() {
    return store.keyspaces();
  }

  @Override
  public Keyspace createKeyspace(String name, Access access) throws IOException {
    return store.createKeyspace(name, access);
  }

  @Override
  public void dropKeyspace(Keyspace keyspace) throws IOException {
    store.dropKeyspace(keyspace);
  }

  @Override
  public byte[] get(Keyspace keyspace, byte[] key) throws IOException {
    return store.get(keyspace, key);
  }

  @Override
  public List<byte[]> multiGet(List<? extends Keyspace> keyspaces, List<byte[]> keys)
      throws IOException {
    return store.multiGet(keyspaces, keys);
  }

  @Override
  public Cursor cursor(Keyspace keyspace) {
    return store.cursor(keyspace);
  }

  @Override
  public Batch newBatch() {
    return store.newBatch();
  }

  @Override
  public List<Integer> partitions(Keyspace keyspace) throws IOException {
    return store.partitions(keyspace);
  }

  @Override
  public void close() {
    store.close();
  }
}
