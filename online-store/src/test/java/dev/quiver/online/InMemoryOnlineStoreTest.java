package dev.quiver.online;

import dev.quiver.online.kv.InMemoryKeyValueStore;
import dev.quiver.online.kv.OnlineKeyValueStore;
import java.nio.file.Path;

class InMemoryOnlineStoreTest extends AbstractOnlineStoreTest {
  @Override
  OnlineKeyValueStore keyValueStore(Path dir) {
    return new InMemoryKeyValueStore();
  }
}
