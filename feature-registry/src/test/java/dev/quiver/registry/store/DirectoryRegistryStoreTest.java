package dev.quiver.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.Project;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RegistryVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryRegistryStoreTest {

  static RegistrySnapshot snapshot(String summary) {
    return RegistrySnapshot.newBuilder()
        .setProject(Project.newBuilder().setName("test"))
        .setSummary(summary)
        .build();
  }

  @Test
  void emptyStoreHasNoVersions(@TempDir Path dir) throws IOException {
    DirectoryRegistryStore store = new DirectoryRegistryStore(dir.resolve("registry"));
    assertThat(store.latestVersion()).isZero();
    assertThat(store.latest()).isEmpty();
    assertThat(store.list()).isEmpty();
    assertThatThrownBy(() -> store.get(1))
        .isInstanceOf(VersionNotFoundException.class)
        .hasMessageContaining("nothing has been applied yet");
  }

  @Test
  void appliesNumberVersionsAndKeepHistory(@TempDir Path dir) throws Exception {
    DirectoryRegistryStore store = new DirectoryRegistryStore(dir);
    for (int i = 1; i <= 3; i++) {
      RegistrySnapshot stored = store.apply(i - 1, snapshot("change " + i));
      assertThat(stored.getVersion()).isEqualTo(i);
    }
    assertThat(store.latestVersion()).isEqualTo(3);
    assertThat(store.list())
        .extracting(RegistryVersion::getVersion, RegistryVersion::getSummary)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, "change 1"),
            org.assertj.core.groups.Tuple.tuple(2L, "change 2"),
            org.assertj.core.groups.Tuple.tuple(3L, "change 3"));
    assertThat(store.get(2).getSummary()).isEqualTo("change 2");
    assertThatThrownBy(() -> store.get(4))
        .isInstanceOf(VersionNotFoundException.class)
        .hasMessageContaining("versions are 1 to 3");
  }

  @Test
  void applyPlannedAgainstAnOldVersionIsAConflict(@TempDir Path dir) throws Exception {
    DirectoryRegistryStore store = new DirectoryRegistryStore(dir);
    store.apply(0, snapshot("first"));
    store.apply(1, snapshot("second"));
    assertThatThrownBy(() -> store.apply(1, snapshot("stale")))
        .isInstanceOf(RegistryConflictException.class)
        .hasMessageContaining("made against version 1")
        .hasMessageContaining("now at version 2");
    assertThat(store.get(2).getSummary()).isEqualTo("second");
    assertThat(store.latestVersion()).isEqualTo(2);
  }

  @Test
  void ofTwoConcurrentAppliesOnTheSameBaseExactlyOneWins(@TempDir Path dir) throws Exception {
    // Two stores on one directory stand for two engineers' processes. Repeat to exercise the race.
    DirectoryRegistryStore alice = new DirectoryRegistryStore(dir);
    DirectoryRegistryStore bob = new DirectoryRegistryStore(dir);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 50; round++) {
        long base = alice.latestVersion();
        CyclicBarrier start = new CyclicBarrier(2);
        List<Future<Object>> results = new ArrayList<>();
        for (DirectoryRegistryStore store : List.of(alice, bob)) {
          String who = store == alice ? "alice" : "bob";
          Callable<Object> apply =
              () -> {
                start.await();
                try {
                  return store.apply(base, snapshot(who + " round " + base));
                } catch (RegistryConflictException e) {
                  return e;
                }
              };
          results.add(pool.submit(apply));
        }
        Object a = results.get(0).get();
        Object b = results.get(1).get();
        long wins = Stream.of(a, b).filter(RegistrySnapshot.class::isInstance).count();
        long conflicts =
            Stream.of(a, b).filter(RegistryConflictException.class::isInstance).count();
        assertThat(wins).as("round %d winners", round).isEqualTo(1);
        assertThat(conflicts).as("round %d conflicts", round).isEqualTo(1);
        RegistrySnapshot winner =
            (RegistrySnapshot)
                Stream.of(a, b).filter(RegistrySnapshot.class::isInstance).findFirst().get();
        assertThat(alice.latestVersion()).isEqualTo(base + 1);
        assertThat(bob.get(base + 1)).isEqualTo(winner);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(tempFiles(dir)).isEmpty();
  }

  @Test
  void failureAfterWritingBeforePublishingLeavesThePreviousVersion(@TempDir Path dir)
      throws Exception {
    new DirectoryRegistryStore(dir).apply(0, snapshot("good"));
    DirectoryRegistryStore failing =
        new DirectoryRegistryStore(
            dir,
            step -> {
              if (step == DirectoryRegistryStore.Step.AFTER_TEMP_WRITE) {
                throw new IOException("disk unplugged");
              }
            });

    assertThatThrownBy(() -> failing.apply(1, snapshot("lost")))
        .isInstanceOf(IOException.class)
        .hasMessage("disk unplugged");

    DirectoryRegistryStore reopened = new DirectoryRegistryStore(dir);
    assertThat(reopened.latestVersion()).isEqualTo(1);
    assertThat(reopened.get(1).getSummary()).isEqualTo("good");
    assertThat(reopened.apply(1, snapshot("next")).getVersion()).isEqualTo(2);
  }

  @Test
  void failureAfterPublishingKeepsTheNewVersionComplete(@TempDir Path dir) throws Exception {
    DirectoryRegistryStore failing =
        new DirectoryRegistryStore(
            dir,
            step -> {
              if (step == DirectoryRegistryStore.Step.AFTER_PUBLISH) {
                throw new IOException("crashed after publish");
              }
            });
    assertThatThrownBy(() -> failing.apply(0, snapshot("published")))
        .hasMessage("crashed after publish");
    DirectoryRegistryStore reopened = new DirectoryRegistryStore(dir);
    assertThat(reopened.latestVersion()).isEqualTo(1);
    assertThat(reopened.get(1).getSummary()).isEqualTo("published");
  }

  @Test
  void partialTemporaryFileFromACrashIsIgnored(@TempDir Path dir) throws Exception {
    DirectoryRegistryStore store = new DirectoryRegistryStore(dir);
    store.apply(0, snapshot("good"));
    // What a process killed in the middle of writing leaves behind.
    byte[] whole = snapshot("half written").toBuilder().setVersion(2).build().toByteArray();
    Files.write(dir.resolve("tmp-crashed.pb"), java.util.Arrays.copyOf(whole, whole.length / 2));

    assertThat(store.latestVersion()).isEqualTo(1);
    assertThat(store.list()).hasSize(1);
    assertThat(store.apply(1, snapshot("after crash")).getVersion()).isEqualTo(2);
  }

  @Test
  void killedWhileApplyingInAChildProcessLeavesEveryVersionReadable(@TempDir Path dir)
      throws Exception {
    Path registry = dir.resolve("registry");
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                ApplyLoop.class.getName(),
                registry.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("child.log").toFile())
            .start();
    try {
      DirectoryRegistryStore store = awaitStore(registry);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (store.latestVersion() < 20 && System.nanoTime() < deadline) {
        assertThat(child.isAlive()).as("child still applying; log: %s", log(dir)).isTrue();
        Thread.sleep(5);
      }
    } finally {
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
      child.waitFor();
    }

    DirectoryRegistryStore store = new DirectoryRegistryStore(registry);
    long latest = store.latestVersion();
    assertThat(latest).isGreaterThanOrEqualTo(20);
    for (long v = 1; v <= latest; v++) {
      RegistrySnapshot s = store.get(v);
      assertThat(s.getVersion()).isEqualTo(v);
      assertThat(s.getSummary()).startsWith("applied on top of " + (v - 1) + " ");
    }
    assertThat(store.apply(latest, snapshot("after kill")).getVersion()).isEqualTo(latest + 1);
  }

  private static DirectoryRegistryStore awaitStore(Path registry) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!Files.isDirectory(registry)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("child never created " + registry);
      }
      Thread.sleep(10);
    }
    return new DirectoryRegistryStore(registry);
  }

  private static String log(Path dir) throws IOException {
    Path log = dir.resolve("child.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  private static List<Path> tempFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().startsWith("tmp-")).toList();
    }
  }
}
