package dev.quiver.online.kv;

import java.util.Objects;

/** What every implementation's keyspaces share: a name, an access hint, and whether dropped. */
abstract class KeyspaceBase implements OnlineKeyValueStore.Keyspace {
  final String name;
  final OnlineKeyValueStore.Access access;
  volatile boolean dropped;

  KeyspaceBase(String name, OnlineKeyValueStore.Access access) {
    this.name = name;
    this.access = access;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public OnlineKeyValueStore.Access access() {
    return access;
  }

  @Override
  public String toString() {
    return name;
  }

  /** {@code keyspace} as the implementation's own type, refusing one that was dropped. */
  static <K extends KeyspaceBase> K live(OnlineKeyValueStore.Keyspace keyspace, Class<K> type) {
    K k = type.cast(Objects.requireNonNull(keyspace, "keyspace"));
    if (k.dropped) {
      throw new IllegalStateException("keyspace " + k.name + " was dropped");
    }
    return k;
  }
}
