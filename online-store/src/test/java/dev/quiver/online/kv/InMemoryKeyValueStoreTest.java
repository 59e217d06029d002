package dev.quiver.online.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class InMemoryKeyValueStoreTest extends AbstractKeyValueStoreTest {
  @Override
  OnlineKeyValueStore open(Path dir) {
    return new InMemoryKeyValueStore();
  }

  @Test
  void keepsNoEngineFigures() {
    assertThat(store.stats()).isEmpty();
  }
}
