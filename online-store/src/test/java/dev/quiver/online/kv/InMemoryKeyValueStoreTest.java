package dev.quiver.online.kv;

import java.nio.file.Path;

class InMemoryKeyValueStoreTest extends AbstractKeyValueStoreTest {
  @Override
  OnlineKeyValueStore open(Path dir) {
    return new InMemoryKeyValueStore();
  }
}
