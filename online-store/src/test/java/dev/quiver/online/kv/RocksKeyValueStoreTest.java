package dev.quiver.online.kv;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.online.kv.OnlineKeyValueStore.Access;
import dev.quiver.online.kv.OnlineKeyValueStore.Batch;
import dev.quiver.online.kv.OnlineKeyValueStore.Keyspace;
import java.nio.file.Path;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class RocksKeyValueStoreTest extends AbstractKeyValueStoreTest {
  static final Function<String, Access> ACCESS =
      name -> name.startsWith("view/") || name.equals("a") ? Access.POINT : Access.ORDERED;

  @Override
  OnlineKeyValueStore open(Path dir) throws Exception {
    return RocksKeyValueStore.open(dir.resolve("db"), 8 << 20, ACCESS);
  }

  @Test
  void reopeningKeepsKeyspacesTheirAccessAndEveryBatchWritten() throws Exception {
    Keyspace rows = store.createKeyspace("view/a@1", Access.POINT);
    Keyspace tiles = store.createKeyspace("tiles/a@1", Access.ORDERED);
    Keyspace dropped = store.createKeyspace("tiles/b@1", Access.ORDERED);
    try (Batch batch = store.newBatch()) {
      batch.put(rows, b(1), b(1));
      batch.put(tiles, partitioned(2, 1), b(2));
      batch.put(store.metadata(), b(3), b(3));
      store.write(batch);
    }
    store.dropKeyspace(dropped);
    store.close();
    store = open(dir);
    assertThat(store.keyspaces().stream().map(Keyspace::name))
        .containsExactlyInAnyOrder("view/a@1", "tiles/a@1");
    assertThat(store.keyspace("view/a@1").access()).isEqualTo(Access.POINT);
    assertThat(store.get(store.keyspace("view/a@1"), b(1))).containsExactly(1);
    assertThat(store.get(store.metadata(), b(3))).containsExactly(3);
    assertThat(store.partitions(store.keyspace("tiles/a@1"))).containsExactly(2);
    assertThat(scan(store.keyspace("view/a@1"), b(), b(0xFF))).containsExactly("01=01");
  }

  @Test
  void statsCountWhatIsWrittenAndAreEmptyOnceClosed() throws Exception {
    Keyspace rows = store.createKeyspace("view/a@1", Access.POINT);
    StorageStats empty = store.stats().orElseThrow();
    assertThat(empty.blockCacheCapacityBytes()).isEqualTo(8 << 20);
    try (Batch batch = store.newBatch()) {
      for (int i = 0; i < 1000; i++) {
        batch.put(rows, b(i >> 8, i & 0xFF), new byte[100]);
      }
      store.write(batch);
    }
    assertThat(store.stats().orElseThrow().memtableBytes())
        .isGreaterThan(empty.memtableBytes() + 100_000);
    store.close();
    assertThat(store.stats()).isEmpty();
  }
}
