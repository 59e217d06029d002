package dev.quiver.server;

import dev.quiver.registry.load.RepoLoader;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/**
 * The process settings of a feature repo's {@code quiver.yaml}, read without validating the repo,
 * so that a server can start and a registry can be inspected while registry files have errors.
 *
 * @param repo the repo directory
 * @param project the project name ("" when quiver.yaml has none)
 * @param bootstrap Kafka bootstrap servers
 * @param dataDir the data directory, resolved against the repo
 * @param grpcPort the serving port
 * @param flightPort the Arrow Flight port
 */
public record RepoSettings(
    Path repo, String project, String bootstrap, Path dataDir, int grpcPort, int flightPort) {

  public static RepoSettings read(Path repo) throws IOException {
    Map<?, ?> doc = Map.of();
    Path config = repo.resolve(RepoLoader.CONFIG_FILE);
    if (Files.isRegularFile(config)) {
      try (Reader r = Files.newBufferedReader(config)) {
        Object loaded = new Yaml().load(r);
        if (loaded instanceof Map<?, ?> m) {
          doc = m;
        }
      } catch (org.yaml.snakeyaml.error.YAMLException e) {
        throw new IOException(
            config + " is not valid YAML; run quiver validate: " + e.getMessage(), e);
      }
    }
    String project = doc.get("project") instanceof String s ? s : "";
    String bootstrap = RepoLoader.DEFAULT_BOOTSTRAP;
    if (doc.get("kafka") instanceof Map<?, ?> k && k.get("bootstrap") instanceof String b) {
      bootstrap = b;
    }
    String dataDir = doc.get("data_dir") instanceof String d ? d : RepoLoader.DEFAULT_DATA_DIR;
    int grpc = RepoLoader.DEFAULT_GRPC_PORT;
    int flight = RepoLoader.DEFAULT_FLIGHT_PORT;
    if (doc.get("ports") instanceof Map<?, ?> p) {
      if (p.get("grpc") instanceof Integer g) {
        grpc = g;
      }
      if (p.get("flight") instanceof Integer f) {
        flight = f;
      }
    }
    Path data = Path.of(dataDir);
    return new RepoSettings(
        repo, project, bootstrap, data.isAbsolute() ? data : repo.resolve(data), grpc, flight);
  }

  /** The embedded registry store: {@code <data_dir>/registry}. */
  public Path registryDir() {
    return dataDir.resolve("registry");
  }

  /** Where a running server records its endpoints for other commands. */
  public Path endpointsFile() {
    return dataDir.resolve("serve.properties");
  }
}
