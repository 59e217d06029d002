package dev.quiver.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) running in this JVM, with
 * its data in a directory of its own. Restarting on the same directory keeps topics and records:
 * the ports chosen on first start are kept in {@code ports.properties} beside the logs.
 *
 * <p>Not for production: one node, replication factor one. {@link #close()} stops the broker and is
 * idempotent. Thread-safe.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final Path dir;
  private final int brokerPort;
  private final KafkaRaftServer server;
  private boolean closed;

  private EmbeddedKafka(Path dir, int brokerPort, KafkaRaftServer server) {
    this.dir = dir;
    this.brokerPort = brokerPort;
    this.server = server;
  }

  /**
   * Starts a broker on {@code dir} (created and formatted on first use), on free loopback ports, or
   * the ports it used before when {@code dir} was used before.
   */
  public static EmbeddedKafka start(Path dir) throws IOException {
    return start(dir, 0);
  }

  /**
   * Starts a broker listening for clients on {@code preferredPort} (0: any free port) unless {@code
   * dir} was used before, in which case it keeps its earlier ports.
   */
  public static EmbeddedKafka start(Path dir, int preferredPort) throws IOException {
    Files.createDirectories(dir);
    Path portsFile = dir.resolve("ports.properties");
    Properties ports = new Properties();
    if (Files.exists(portsFile)) {
      try (Reader r = Files.newBufferedReader(portsFile)) {
        ports.load(r);
      }
    } else {
      // Both chosen while both sockets are held, so they differ: two ports asked for one after
      // the other can be the same one, which the broker refuses.
      int[] free = freePorts(2);
      int broker = preferredPort == 0 ? free[0] : preferredPort;
      ports.setProperty("broker", String.valueOf(broker));
      ports.setProperty("controller", String.valueOf(free[1] != broker ? free[1] : free[0]));
      try (Writer w = Files.newBufferedWriter(portsFile)) {
        ports.store(w, "ports of this embedded Kafka broker, kept across restarts");
      }
    }
    int broker = Integer.parseInt(ports.getProperty("broker"));
    int controller = Integer.parseInt(ports.getProperty("controller"));

    Properties config = new Properties();
    config.put("process.roles", "broker,controller");
    config.put("node.id", "1");
    config.put("controller.quorum.bootstrap.servers", "127.0.0.1:" + controller);
    config.put(
        "listeners", "PLAINTEXT://127.0.0.1:" + broker + ",CONTROLLER://127.0.0.1:" + controller);
    config.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + broker);
    config.put("controller.listener.names", "CONTROLLER");
    config.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    config.put("inter.broker.listener.name", "PLAINTEXT");
    config.put("log.dirs", dir.resolve("logs").toString());
    config.put("metadata.log.dir", dir.resolve("metadata").toString());
    config.put("offsets.topic.replication.factor", "1");
    config.put("offsets.topic.num.partitions", "3");
    config.put("transaction.state.log.replication.factor", "1");
    config.put("transaction.state.log.min.isr", "1");
    config.put("share.coordinator.state.topic.replication.factor", "1");
    config.put("share.coordinator.state.topic.min.isr", "1");
    config.put("group.initial.rebalance.delay.ms", "0");
    config.put("auto.create.topics.enable", "true");
    config.put("num.partitions", "1");
    config.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));

    checkNotInUse(dir.resolve("metadata"));
    checkNotInUse(dir.resolve("logs"));
    if (!Files.exists(dir.resolve("metadata").resolve("meta.properties"))) {
      format(dir, config);
    }
    KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(config, false), Time.SYSTEM);
    server.startup();
    EmbeddedKafka kafka = new EmbeddedKafka(dir, broker, server);
    try {
      kafka.awaitReady();
    } catch (IOException | RuntimeException e) {
      kafka.close();
      throw e;
    }
    return kafka;
  }

  /**
   * Fails with a clear message when another broker holds the directory's lock. Kafka itself would
   * halt the whole JVM on that fault.
   */
  private static void checkNotInUse(Path logDir) throws IOException {
    Path lock = logDir.resolve(".lock");
    if (!Files.exists(lock)) {
      return;
    }
    try (java.nio.channels.FileChannel ch =
            java.nio.channels.FileChannel.open(lock, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock held = ch.tryLock()) {
      if (held == null) {
        throw new IOException(
            "another process is running a Kafka broker in "
                + logDir.getParent()
                + " (stop it first, e.g. the quickstart or quiver serve --embedded-kafka)");
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      throw new IOException("a Kafka broker in this process already uses " + logDir.getParent(), e);
    }
  }

  private static void format(Path dir, Properties config) throws IOException {
    Path file = dir.resolve("server.properties");
    try (Writer w = Files.newBufferedWriter(file)) {
      config.store(w, "embedded Kafka broker");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code;
    try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8)) {
      code =
          StorageTool.execute(
              new String[] {
                "format",
                "--cluster-id",
                Uuid.randomUuid().toString(),
                "--config",
                file.toString(),
                "--standalone",
                "--ignore-formatted"
              },
              ps);
    }
    if (code != 0) {
      throw new IOException(
          "formatting Kafka storage in "
              + dir
              + " failed: "
              + out.toString(StandardCharsets.UTF_8));
    }
  }

  private void awaitReady() throws IOException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000))) {
      Exception last = null;
      while (System.nanoTime() < deadline) {
        try {
          if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
          // Answered, but with no broker registered yet: ask again shortly.
          Thread.sleep(50);
        } catch (ExecutionException | TimeoutException e) {
          last = e;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for the Kafka broker", e);
        }
      }
      throw new IOException(
          "Kafka broker in " + dir + " did not become ready in " + START_TIMEOUT, last);
    }
  }

  /** {@code 127.0.0.1:port}, for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + brokerPort;
  }

  public Path directory() {
    return dir;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.shutdown();
    server.awaitShutdown();
  }

  /** {@code n} distinct free loopback ports. */
  private static int[] freePorts(int n) throws IOException {
    ServerSocket[] sockets = new ServerSocket[n];
    try {
      int[] out = new int[n];
      for (int i = 0; i < n; i++) {
        sockets[i] = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        out[i] = sockets[i].getLocalPort();
      }
      return out;
    } finally {
      for (ServerSocket s : sockets) {
        if (s != null) {
          s.close();
        }
      }
    }
  }
}
