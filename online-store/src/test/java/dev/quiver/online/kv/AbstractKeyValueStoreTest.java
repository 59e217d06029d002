package dev.quiver.online.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.online.StoreClosedException;
import dev.quiver.online.kv.OnlineKeyValueStore.Access;
import dev.quiver.online.kv.OnlineKeyValueStore.Batch;
import dev.quiver.online.kv.OnlineKeyValueStore.Cursor;
import dev.quiver.online.kv.OnlineKeyValueStore.Keyspace;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What every {@link OnlineKeyValueStore} does; each implementation runs it. */
abstract class AbstractKeyValueStoreTest {
  @TempDir Path dir;
  OnlineKeyValueStore store;

  /** A fresh, empty store (in {@code dir}, when it keeps files). */
  abstract OnlineKeyValueStore open(Path dir) throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    store = open(dir);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  static byte[] b(int... bytes) {
    byte[] out = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      out[i] = (byte) bytes[i];
    }
    return out;
  }

  static String hex(byte[] bytes) {
    return bytes == null ? null : HexFormat.of().formatHex(bytes);
  }

  void put(Keyspace ks, byte[] key, byte[] value) throws Exception {
    try (Batch batch = store.newBatch()) {
      batch.put(ks, key, value);
      store.write(batch);
    }
  }

  List<String> scan(Keyspace ks, byte[] from, byte[] to) {
    List<String> keys = new ArrayList<>();
    try (Cursor c = store.cursor(ks)) {
      c.seek(from, to);
      while (c.next()) {
        keys.add(hex(c.key()) + "=" + hex(c.value()));
      }
    }
    return keys;
  }

  @Test
  void getsAndMultiGetsAnswerNullForMissingKeys() throws Exception {
    Keyspace a = store.createKeyspace("a", Access.POINT);
    Keyspace o = store.createKeyspace("o", Access.ORDERED);
    put(a, b(1, 2), b(10));
    put(o, b(1, 2), b(20));
    put(store.metadata(), b(1, 2), b(30));
    assertThat(store.get(a, b(1, 2))).containsExactly(10);
    assertThat(store.get(a, b(1))).isNull();
    assertThat(store.get(a, b(1, 2, 0))).isNull();
    assertThat(store.get(store.metadata(), b(1, 2))).containsExactly(30);
    List<byte[]> got =
        store.multiGet(
            List.of(a, o, a, o, store.metadata()), List.of(b(1, 2), b(1, 2), b(9), b(9), b(1, 2)));
    assertThat(got.stream().map(AbstractKeyValueStoreTest::hex).toList())
        .containsExactly("0a", "14", null, null, "1e");
    assertThat(store.multiGet(List.of(), List.of())).isEmpty();
    assertThatThrownBy(() -> store.multiGet(List.of(a), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @EnumSource(Access.class)
  void rangeScansFollowUnsignedByteOrderInclusively(Access access) throws Exception {
    Keyspace ks = store.createKeyspace("ks", access);
    List<byte[]> keys =
        new ArrayList<>(
            List.of(
                b(0x00),
                b(0x01),
                b(0x01, 0x00),
                b(0x01, 0x7F),
                b(0x01, 0x80),
                b(0x01, 0xFF),
                b(0x01, 0xFF, 0x00),
                b(0x7F),
                b(0x80),
                b(0x80, 0x00),
                b(0xFF),
                b(0xFF, 0xFF)));
    List<byte[]> shuffled = new ArrayList<>(keys);
    Collections.shuffle(shuffled, new java.util.Random(3));
    try (Batch batch = store.newBatch()) {
      for (byte[] k : shuffled) {
        batch.put(ks, k, k);
      }
      store.write(batch);
    }
    List<String> all = keys.stream().map(k -> hex(k) + "=" + hex(k)).toList();
    assertThat(scan(ks, b(), b(0xFF, 0xFF))).isEqualTo(all);
    // Both ends inclusive; a prefix sorts before its extensions; 0x80 and up after 0x7F.
    assertThat(scan(ks, b(0x01), b(0x01, 0xFF)))
        .containsExactly("01=01", "0100=0100", "017f=017f", "0180=0180", "01ff=01ff");
    assertThat(scan(ks, b(0x01, 0x01), b(0x80)))
        .containsExactly("017f=017f", "0180=0180", "01ff=01ff", "01ff00=01ff00", "7f=7f", "80=80");
    assertThat(scan(ks, b(0x81), b(0xFF))).containsExactly("ff=ff");
    assertThat(scan(ks, b(0x02), b(0x03))).isEmpty();
    assertThat(scan(ks, b(0x80), b(0x7F))).isEmpty();
  }

  @Test
  void aCursorIsReusedAcrossSeeks() throws Exception {
    Keyspace ks = store.createKeyspace("ks", Access.ORDERED);
    try (Batch batch = store.newBatch()) {
      for (int i = 0; i < 10; i++) {
        batch.put(ks, b(i), b(i * 2));
      }
      store.write(batch);
    }
    try (Cursor c = store.cursor(ks)) {
      c.seek(b(7), b(8));
      assertThat(c.next()).isTrue();
      assertThat(c.key()).containsExactly(7);
      assertThat(c.value()).containsExactly(14);
      c.seek(b(2), b(2));
      assertThat(c.next()).isTrue();
      assertThat(c.key()).containsExactly(2);
      assertThat(c.next()).isFalse();
      assertThat(c.next()).isFalse();
      assertThatThrownBy(c::key).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aBatchIsInvisibleUntilWrittenThenAppliedInOrder() throws Exception {
    Keyspace a = store.createKeyspace("a", Access.POINT);
    Keyspace o = store.createKeyspace("o", Access.ORDERED);
    put(a, b(5), b(5));
    try (Batch batch = store.newBatch()) {
      batch.put(a, b(1), b(1));
      batch.put(o, b(2), b(2));
      batch.delete(a, b(5));
      batch.put(a, b(3), b(3));
      batch.delete(a, b(3));
      batch.put(a, b(4), b(1));
      batch.put(a, b(4), b(2));
      assertThat(batch.size()).isEqualTo(7);
      assertThat(store.get(a, b(1))).isNull();
      assertThat(store.get(a, b(5))).isNotNull();
      store.write(batch);
    }
    assertThat(store.get(a, b(1))).containsExactly(1);
    assertThat(store.get(o, b(2))).containsExactly(2);
    assertThat(store.get(a, b(5))).isNull();
    assertThat(store.get(a, b(3))).isNull();
    assertThat(store.get(a, b(4))).containsExactly(2);
    try (Batch batch = store.newBatch()) {
      batch.delete(o, b(99));
      store.write(batch);
    }
  }

  @Test
  void aBatchThatFailsAppliesNothing() throws Exception {
    Keyspace a = store.createKeyspace("a", Access.POINT);
    Keyspace gone = store.createKeyspace("gone", Access.ORDERED);
    try (Batch batch = store.newBatch()) {
      batch.put(a, b(1), b(1));
      batch.put(store.metadata(), b(1), b(1));
      batch.put(gone, b(1), b(1));
      batch.put(a, b(2), b(2));
      store.dropKeyspace(gone);
      assertThatThrownBy(() -> store.write(batch))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("gone");
    }
    assertThat(store.get(a, b(1))).isNull();
    assertThat(store.get(a, b(2))).isNull();
    assertThat(store.get(store.metadata(), b(1))).isNull();
  }

  @Test
  void keyspacesAreCreatedOnceAndDroppedWithTheirData() throws Exception {
    Keyspace a = store.createKeyspace("view/a@1", Access.POINT);
    put(a, b(1), b(1));
    assertThat(store.createKeyspace("view/a@1", Access.POINT).name()).isEqualTo("view/a@1");
    assertThat(store.get(store.createKeyspace("view/a@1", Access.POINT), b(1))).containsExactly(1);
    assertThatThrownBy(() -> store.createKeyspace("view/a@1", Access.ORDERED))
        .isInstanceOf(IllegalArgumentException.class);
    Keyspace o = store.createKeyspace("tiles/a@1", Access.ORDERED);
    assertThat(store.keyspaces().stream().map(Keyspace::name))
        .containsExactlyInAnyOrder("view/a@1", "tiles/a@1");
    assertThat(store.keyspace("tiles/a@1").access()).isEqualTo(Access.ORDERED);
    assertThat(store.keyspace("nope")).isNull();
    store.dropKeyspace(a);
    assertThat(store.keyspace("view/a@1")).isNull();
    assertThat(store.keyspaces().stream().map(Keyspace::name)).containsExactly("tiles/a@1");
    assertThatThrownBy(() -> store.get(a, b(1))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> store.dropKeyspace(a)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> store.dropKeyspace(store.metadata()))
        .isInstanceOf(IllegalArgumentException.class);
    Keyspace again = store.createKeyspace("view/a@1", Access.POINT);
    assertThat(store.get(again, b(1))).isNull();
    assertThat(store.get(o, b(1))).isNull();
  }

  static byte[] partitioned(int partition, int... rest) {
    ByteBuffer buf = ByteBuffer.allocate(4 + rest.length).putInt(partition);
    for (int r : rest) {
      buf.put((byte) r);
    }
    return buf.array();
  }

  @Test
  void partitionsAreListedAndDroppedOneAtATime() throws Exception {
    Keyspace index = store.createKeyspace("parts/a@1", Access.ORDERED);
    Keyspace other = store.createKeyspace("parts/b@1", Access.ORDERED);
    assertThat(store.partitions(index)).isEmpty();
    int[] partitions = {0, 1, 127, 128, 255, 256, 65_536, Integer.MAX_VALUE};
    try (Batch batch = store.newBatch()) {
      for (int p : partitions) {
        batch.put(index, partitioned(p), b());
        batch.put(index, partitioned(p, 0x00), b());
        batch.put(index, partitioned(p, 0xFF, 0xFF), b());
        batch.put(other, partitioned(p, 1), b());
      }
      store.write(batch);
    }
    assertThat(store.partitions(index))
        .containsExactly(0, 1, 127, 128, 255, 256, 65_536, Integer.MAX_VALUE);
    try (Batch batch = store.newBatch()) {
      batch.deletePartition(index, 128);
      batch.deletePartition(index, Integer.MAX_VALUE);
      batch.deletePartition(index, 0);
      batch.deletePartition(index, 3);
      store.write(batch);
    }
    assertThat(store.partitions(index)).containsExactly(1, 127, 255, 256, 65_536);
    assertThat(scan(index, partitioned(127), partitioned(255, 0xFF, 0xFF)))
        .containsExactly(
            "0000007f=",
            "0000007f00=",
            "0000007fffff=",
            "000000ff=",
            "000000ff00=",
            "000000ffffff=");
    assertThat(store.partitions(other)).hasSize(partitions.length);
    assertThatThrownBy(() -> store.newBatch().deletePartition(index, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void writingWhileHoldingACursorIsRefused() throws Exception {
    Keyspace ks = store.createKeyspace("ks", Access.ORDERED);
    try (Cursor c = store.cursor(ks);
        Batch batch = store.newBatch()) {
      batch.put(ks, b(1), b(1));
      assertThatThrownBy(() -> store.write(batch)).isInstanceOf(IllegalStateException.class);
    }
    assertThat(store.get(ks, b(1))).isNull();
  }

  @Test
  void everyMethodFailsClearlyAfterClose() throws Exception {
    Keyspace ks = store.createKeyspace("ks", Access.ORDERED);
    Batch pending = store.newBatch();
    pending.put(ks, b(1), b(1));
    store.close();
    store.close();
    List<org.assertj.core.api.ThrowableAssert.ThrowingCallable> calls =
        List.of(
            () -> store.get(ks, b(1)),
            () -> store.multiGet(List.of(ks), List.of(b(1))),
            () -> store.cursor(ks),
            store::newBatch,
            () -> store.write(pending),
            () -> store.createKeyspace("other", Access.ORDERED),
            () -> store.dropKeyspace(ks),
            () -> store.keyspace("ks"),
            store::keyspaces,
            store::metadata,
            () -> store.partitions(ks));
    for (var call : calls) {
      assertThatThrownBy(call)
          .isInstanceOf(StoreClosedException.class)
          .hasMessageContaining("closed");
    }
    pending.close();
  }

  @Test
  void readersSeeEveryBatchWholeWhileItIsWritten() throws Exception {
    Keyspace a = store.createKeyspace("a", Access.POINT);
    Keyspace o = store.createKeyspace("o", Access.ORDERED);
    int keys = 16;
    List<Keyspace> spaces = new ArrayList<>();
    List<byte[]> all = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      spaces.add(a);
      all.add(b(k));
      spaces.add(o);
      all.add(b(k));
    }
    AtomicBoolean done = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Integer>> readers = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        boolean scanning = r == 1;
        readers.add(
            pool.submit(
                () -> {
                  int seen = -1;
                  int reads = 0;
                  while (!done.get() || reads < 10) {
                    List<byte[]> values;
                    if (scanning) {
                      values = new ArrayList<>();
                      try (Cursor c = store.cursor(o)) {
                        c.seek(b(), b(0xFF));
                        while (c.next()) {
                          values.add(c.value());
                        }
                      }
                    } else {
                      values = store.multiGet(spaces, all);
                    }
                    reads++;
                    if (values.isEmpty() || values.get(0) == null) {
                      assertThat(values).allMatch(v -> v == null);
                      continue;
                    }
                    int round = ByteBuffer.wrap(values.get(0)).getInt();
                    for (byte[] v : values) {
                      assertThat(v).isNotNull();
                      assertThat(ByteBuffer.wrap(v).getInt()).isEqualTo(round);
                    }
                    assertThat(round).isGreaterThanOrEqualTo(seen);
                    seen = round;
                  }
                  return reads;
                }));
      }
      for (int round = 0; round < 2000; round++) {
        try (Batch batch = store.newBatch()) {
          byte[] value = ByteBuffer.allocate(4).putInt(round).array();
          for (int k = 0; k < keys; k++) {
            batch.put(a, b(k), value);
            batch.put(o, b(k), value);
          }
          store.write(batch);
        }
      }
      done.set(true);
      for (Future<Integer> f : readers) {
        assertThat(f.get()).isPositive();
      }
    } finally {
      done.set(true);
      pool.shutdownNow();
    }
  }
}
