package dev.quiver.server.cli;

import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.store.DirectoryRegistryStore;
import dev.quiver.registry.store.RegistryStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The feature repo and registry location shared by commands that read a repo. */
final class RepoOptions {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "REPO",
      description =
          "The feature repo directory (holding quiver.yaml). Default: the current directory.")
  Path repo = Path.of(".");

  @Option(
      names = "--registry",
      paramLabel = "DIR",
      description = "The registry store directory. Default: <data_dir>/registry of the repo.")
  Path registry;

  /** Loads and validates the repo, printing every problem to {@code err} when it is invalid. */
  FeatureRepo load(PrintWriter err) throws ValidationFailed {
    try {
      return RepoLoader.load(repo);
    } catch (RegistryValidationException e) {
      e.diagnostics().forEach(d -> err.println(d));
      int n = e.diagnostics().size();
      err.println(n + (n == 1 ? " error" : " errors") + " in " + repo);
      err.flush();
      throw new ValidationFailed();
    }
  }

  RegistryStore store(FeatureRepo loaded) throws IOException {
    return new DirectoryRegistryStore(registryDir(loaded.definition().getProject().getDataDir()));
  }

  Path registryDir(String dataDir) {
    return registry != null ? registry : registryDir(repo, dataDir);
  }

  /**
   * The embedded registry store of a repo: {@code <data_dir>/registry}, data_dir relative to it.
   */
  static Path registryDir(Path repo, String dataDir) {
    Path data = Path.of(dataDir);
    return (data.isAbsolute() ? data : repo.resolve(data)).resolve("registry");
  }

  /** Validation failed; the problems were already printed. */
  static final class ValidationFailed extends Exception {
    ValidationFailed() {
      super(null, null, false, false);
    }
  }
}
