package dev.quiver.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
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

  /** The value of an instant query's first series, or -1 while there is none. */
  public static double value(URI api, String query) {
    JsonNode result =
        json(api.resolve("query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8)))
            .path("data")
            .path("result");
    return result.size() == 0 ? -1 : result.get(0).path("value").get(1).asDouble();
  }

  /**
   * The alert named {@code name} with these labels that Prometheus holds (pending or firing), or
   * null.
   */
  public static JsonNode alert(URI api, String name, Map<String, String> labels) {
    for (JsonNode a : json(api.resolve("alerts")).path("data").path("alerts")) {
      JsonNode l = a.path("labels");
      if (l.path("alertname").asText().equals(name)
          && labels.entrySet().stream()
              .allMatch(e -> l.path(e.getKey()).asText().equals(e.getValue()))) {
        return a;
      }
    }
    return null;
  }

  /** A GET of the API, parsed; an empty object while nothing answers. */
  private static JsonNode json(URI uri) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString());
      return new ObjectMapper().readTree(r.statusCode() == 200 ? r.body() : "{}");
    } catch (IOException e) {
      return new ObjectMapper().createObjectNode();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new ObjectMapper().createObjectNode();
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
