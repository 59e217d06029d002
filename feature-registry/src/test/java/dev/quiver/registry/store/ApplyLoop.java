package dev.quiver.registry.store;

import dev.quiver.proto.v1.Project;
import dev.quiver.proto.v1.RegistrySnapshot;
import java.nio.file.Path;

/**
 * A child process for crash tests: applies snapshots to the store in {@code args[0]} as fast as it
 * can, each with a summary large enough that writing it takes a while, until it is killed.
 */
public final class ApplyLoop {
  private ApplyLoop() {}

  public static void main(String[] args) throws Exception {
    DirectoryRegistryStore store = new DirectoryRegistryStore(Path.of(args[0]));
    String padding = "x".repeat(256 * 1024);
    while (true) {
      long base = store.latestVersion();
      RegistrySnapshot next =
          RegistrySnapshot.newBuilder()
              .setProject(Project.newBuilder().setName("crash"))
              .setSummary("applied on top of " + base + " " + padding)
              .build();
      store.apply(base, next);
    }
  }
}
