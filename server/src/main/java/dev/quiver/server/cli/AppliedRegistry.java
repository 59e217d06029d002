package dev.quiver.server.cli;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.server.RepoSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Optional;

/** The registry version in effect, for the commands that read the stores. */
final class AppliedRegistry {
  private AppliedRegistry() {}

  /** The latest applied version; empty, having told {@code err} why, when nothing is applied. */
  static Optional<RegistrySnapshot> latest(RepoSettings settings, PrintWriter err)
      throws IOException {
    Optional<RegistrySnapshot> latest = new DirectoryRegistryStore(settings.registryDir()).latest();
    if (latest.isEmpty()) {
      err.println(
          "error: nothing has been applied to " + settings.registryDir() + "; run quiver apply");
      err.flush();
    }
    return latest;
  }
}
