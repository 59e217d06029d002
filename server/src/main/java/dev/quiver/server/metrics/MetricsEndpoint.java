package dev.quiver.server.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code GET /metrics}: the registry in the Prometheus text format, over the JDK's HTTP server on
 * one thread of its own (scrapes are rare and small). Other paths answer 404, other methods 405.
 *
 * <p>Created by {@link #start}; whoever starts it closes it. {@link #close()} is idempotent.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService thread;
  private boolean closed;

  private MetricsEndpoint(HttpServer server, ExecutorService thread) {
    this.server = server;
    this.thread = thread;
  }

  /**
   * Listens on {@code host:port} (0: any free port).
   *
   * @throws IOException if the address cannot be bound
   */
  public static MetricsEndpoint start(String host, int port, PrometheusMeterRegistry registry)
      throws IOException {
    Objects.requireNonNull(registry, "registry");
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
    ExecutorService thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "quiver-metrics");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(thread);
    server.createContext("/metrics", exchange -> scrape(exchange, registry));
    server.createContext(
        "/", exchange -> respond(exchange, 404, "not found; metrics are at /metrics\n"));
    server.start();
    return new MetricsEndpoint(server, thread);
  }

  private static void scrape(HttpExchange exchange, PrometheusMeterRegistry registry)
      throws IOException {
    if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "only GET\n");
      return;
    }
    if (!"/metrics".equals(exchange.getRequestURI().getPath())) {
      respond(exchange, 404, "not found; metrics are at /metrics\n");
      return;
    }
    byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
    boolean head = "HEAD".equals(exchange.getRequestMethod());
    exchange.sendResponseHeaders(200, head ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      if (!head) {
        out.write(body);
      }
    }
  }

  private static void respond(HttpExchange exchange, int code, String text) throws IOException {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(code, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** The port listened on. */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.stop(0);
    thread.shutdownNow();
  }
}
