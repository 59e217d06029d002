package dev.quiver.server;

import dev.quiver.proto.v1.Project;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.load.RepoLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process settings of a feature repo's {@code quiver.yaml}, read without validating the
 * registry files, so that a server can start and a registry can be inspected while they have
 * errors.
 *
 * @param repo the repo directory
 * @param project the project name ("" when quiver.yaml has none)
 * @param bootstrap Kafka bootstrap servers
 * @param dataDir the data directory, resolved against the repo
 * @param grpcPort the serving port
 * @param flightPort the Arrow Flight port
 * @param metricsPort the Prometheus {@code /metrics} port; 0 when there is none
 */
public record RepoSettings(
    Path repo,
    String project,
    String bootstrap,
    Path dataDir,
    int grpcPort,
    int flightPort,
    int metricsPort) {

  /**
   * The settings of {@code repo/quiver.yaml}, checked by the same rules as {@code quiver validate}
   * (a mistyped value is an error at its line and column, never a silent default); the defaults
   * when the repo has no quiver.yaml.
   *
   * @throws IOException naming every problem of quiver.yaml
   */
  public static RepoSettings read(Path repo) throws IOException {
    if (!Files.isRegularFile(repo.resolve(RepoLoader.CONFIG_FILE))) {
      return new RepoSettings(
          repo,
          "",
          RepoLoader.DEFAULT_BOOTSTRAP,
          repo.resolve(RepoLoader.DEFAULT_DATA_DIR),
          RepoLoader.DEFAULT_GRPC_PORT,
          RepoLoader.DEFAULT_FLIGHT_PORT,
          RepoLoader.DEFAULT_METRICS_PORT);
    }
    Project p;
    try {
      p = RepoLoader.loadConfig(repo);
    } catch (RegistryValidationException e) {
      throw new IOException(e.getMessage(), e);
    }
    Path data = Path.of(p.getDataDir());
    return new RepoSettings(
        repo,
        p.getName(),
        p.getKafkaBootstrap(),
        data.isAbsolute() ? data : repo.resolve(data),
        p.getGrpcPort(),
        p.getFlightPort(),
        p.getMetricsPort());
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
