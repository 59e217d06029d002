package dev.quiver.server;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (Debian's {@code prometheus}, which {@code .ci/run} installs) on
 * loopback, scraping one target every second and evaluating rules every second. Closing stops it.
 */
public final class PrometheusProcess implements AutoCloseable {
  private final Process process;
  private final URI api;

  private PrometheusProcess(Process process, URI api) {
    this.process = process;
    this.api = api;
  }

  /** Starts Prometheus in {@code dir}, scraping {@code 127.0.0.1:targetPort}, with rule files. */
  public static PrometheusProcess start(Path dir, int targetPort, Path... ruleFiles)
      throws IOException {
    Path config = dir.resolve("prometheus.yml");
    StringBuilder rules = new StringBuilder();
    for (Path r : ruleFiles) {
      rules.append(rules.length() == 0 ? "" : ", ").append('\'').append(r).append('\'');
    }
    Files.writeString(
        config,
        String.join(
            "\n",
            "global: {scrape_interval: 1s, evaluation_interval: 1s}",
            "rule_files: [" + rules + "]",
            "scrape_configs:",
            "  - job_name: quiver",
            "    static_configs: [{targets: ['127.0.0.1:" + targetPort + "']}]",
            ""));
    int webPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      webPort = s.getLocalPort();
    }
    Process p =
        new ProcessBuilder(
                "prometheus",
                "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + webPort)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("prometheus.log").toFile())
            .start();
    return new PrometheusProcess(p, URI.create("http://127.0.0.1:" + webPort + "/api/v1/"));
  }

  /** The HTTP API's base, {@code .../api/v1/}. */
  public URI api() {
    return api;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
