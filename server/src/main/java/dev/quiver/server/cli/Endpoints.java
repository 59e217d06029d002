package dev.quiver.server.cli;

import dev.quiver.server.RepoSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Where to reach Kafka and the gRPC endpoint: flags first, then a running serve, then quiver.yaml.
 */
final class Endpoints {
  private Endpoints() {}

  static String bootstrap(Path repo, String flag) throws IOException {
    if (flag != null) {
      return flag;
    }
    RepoSettings s = RepoSettings.read(repo);
    return running(s).getProperty("bootstrap", s.bootstrap());
  }

  static String grpc(Path repo, String flag) throws IOException {
    if (flag != null) {
      return flag;
    }
    RepoSettings s = RepoSettings.read(repo);
    return running(s).getProperty("grpc", "localhost:" + s.grpcPort());
  }

  /** Whether a quiver serve of {@code repo} is running on this machine. */
  static boolean serving(Path repo) throws IOException {
    return !running(RepoSettings.read(repo)).isEmpty();
  }

  private static Properties running(RepoSettings s) throws IOException {
    Properties p = new Properties();
    Path file = s.endpointsFile();
    if (Files.isRegularFile(file)) {
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      }
      String pid = p.getProperty("pid");
      if (pid != null
          && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)) {
        return p;
      }
    }
    return new Properties();
  }
}
