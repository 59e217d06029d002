package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.online.OnlineStore;
import dev.quiver.online.RocksOnlineStore;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureList;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.OrderKey;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile lookups against a real {@code quiver serve} (real broker, RocksDB, gRPC over loopback):
 * generated malformed and abusive requests, requests that would amplify a stored megabyte into
 * gigabytes, and far more concurrent work than the server admits. None may get {@code UNKNOWN} or
 * {@code INTERNAL}, take long, or grow the process's memory; a good request succeeds after each.
 */
class HostileRequestsTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "  shop: {join_keys: {shop_id: int64}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: hostile.txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, shop_id: int64, amount: double, note: string, ts:"
              + " timestamp}",
          "feature_views:",
          "  cards:",
          "    entities: [card]",
          "    source: txns",
          "    features:",
          "      last_amount: {type: double, expr: amount}",
          "      last_note: {type: string, expr: note}",
          "    aggregations:",
          "      txn_count_1h: {function: count, window: 1h}",
          "  shops:",
          "    entities: [shop]",
          "    source: txns",
          "    features:",
          "      last_amount: {type: double, expr: amount}",
          "feature_services:",
          "  scoring:",
          "    features: [cards:last_amount, cards:last_note, cards:txn_count_1h,"
              + " shops:last_amount]",
          "");

  static final int MAX_ENTITIES = 10_000;

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static Process serve;
  static ManagedChannel channel;
  static OnlineServingGrpc.OnlineServingBlockingStub stub;
  static long residentAtStart;

  /**
   * Starts {@code quiver serve} in a JVM of its own with a 512 MB heap, so that its resident memory
   * is measured apart from this test's, on-heap and off.
   */
  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    Path repo = dir.resolve("repo");
    RegistrySnapshot snapshot = TestCluster.apply(repo, "hostile", REGISTRY, false);
    RepoSettings settings = RepoSettings.read(repo);
    Instant now = Instant.now();
    // Rows with values of 1 MB and 5 MB, as a source that allows such values would store them.
    FeatureView cards =
        snapshot.getFeatureViewsList().stream()
            .filter(v -> v.getName().equals("cards"))
            .findFirst()
            .orElseThrow();
    List<Field> keys = new ArrayList<>();
    for (Entity e : snapshot.getEntitiesList()) {
      if (e.getName().equals("card")) {
        keys.addAll(e.getJoinKeysList());
      }
    }
    ViewShape shape = ViewShape.of(cards, keys);
    long millis = now.minusSeconds(30).toEpochMilli();
    try (OnlineStore store = RocksOnlineStore.open(settings.dataDir().resolve("online"))) {
      store.prepare(snapshot.getFeatureViewsList().stream().map(ViewId::of).toList());
      store.write(
          new RowBatch(
              List.of(
                  row(shape, "big_1m", millis, 1, "m".repeat(1_000_000)),
                  row(shape, "big_5m", millis, 2, "f".repeat(5_000_000))),
              Map.of()));
    }
    try (var producer = TestCluster.producer(kafka)) {
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        lines.add(
            "{\"card_id\":\"card_"
                + i
                + "\",\"shop_id\":"
                + i
                + ",\"amount\":"
                + (i + 0.5)
                + ",\"note\":\"n"
                + i
                + "\",\"ts\":\""
                + now.minusSeconds(60)
                + "\"}");
      }
      TestCluster.send(producer, "hostile.txns", lines);
    }
    serve =
        TestCluster.serveProcess(
            repo,
            kafka.bootstrapServers(),
            dir.resolve("serve.log"),
            "--max-entities",
            String.valueOf(MAX_ENTITIES),
            "--max-inflight-entities",
            String.valueOf(2 * MAX_ENTITIES));
    int port = awaitPort(settings.endpointsFile());
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(256 << 20)
            .build();
    stub = OnlineServingGrpc.newBlockingStub(channel);
    TestCluster.await(
        () -> {
          GetOnlineFeaturesResponse r =
              stub.withDeadlineAfter(5, TimeUnit.SECONDS).getOnlineFeatures(good());
          return r.getFeatures(0).getStatuses(0) == FeatureStatus.PRESENT;
        },
        "the good records to be served");
    residentAtStart = residentBytes();
  }

  static int awaitPort(Path endpoints) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!serve.isAlive()) {
        throw new AssertionError(
            "quiver serve exited:\n" + Files.readString(dir.resolve("serve.log")));
      }
      if (Files.exists(endpoints)) {
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newBufferedReader(endpoints)) {
          p.load(in);
        } catch (IOException e) {
          Thread.sleep(50);
          continue;
        }
        String grpc = p.getProperty("grpc");
        if (grpc != null) {
          return Integer.parseInt(grpc.substring(grpc.lastIndexOf(':') + 1));
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError(
        "quiver serve did not start:\n" + Files.readString(dir.resolve("serve.log")));
  }

  static ViewRow row(ViewShape shape, String card, long millis, long offset, String note) {
    return new ViewRow(
        shape,
        List.of(card),
        new OrderKey(millis * 1000, OrderKey.NO_CREATED_TIME, 9, offset),
        new Object[] {1.0, note},
        new Object[] {null});
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (serve != null) {
      serve.destroy();
      if (!serve.waitFor(30, TimeUnit.SECONDS)) {
        serve.destroyForcibly();
      }
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  // ------------------------------------------------------------------ the fuzz suite

  @Test
  void generatedHostileRequestsGetWellFormedAnswersQuickly() throws Exception {
    Random random = new Random(20261201);
    List<byte[]> bodies = new ArrayList<>();
    byte[] good = good().toByteArray();
    for (int i = 0; i < 60; i++) {
      byte[] b = new byte[1 + random.nextInt(300)];
      random.nextBytes(b);
      bodies.add(b);
    }
    for (int i = 0; i < 40; i++) {
      bodies.add(java.util.Arrays.copyOf(good, random.nextInt(good.length)));
    }
    for (int i = 0; i < 40; i++) {
      byte[] b = good.clone();
      for (int flips = 0; flips < 1 + random.nextInt(4); flips++) {
        b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
      }
      bodies.add(b);
    }
    for (int i = 0; i < 400; i++) {
      bodies.add(hostile(random).toByteArray());
    }
    assertThat(bodies).hasSizeGreaterThanOrEqualTo(500);

    MethodDescriptor<byte[], byte[]> raw =
        OnlineServingGrpc.getGetOnlineFeaturesMethod().toBuilder(BYTES, BYTES).build();
    Map<Status.Code, Integer> codes = new EnumMap<>(Status.Code.class);
    long slowest = 0;
    for (byte[] body : bodies) {
      long start = System.nanoTime();
      Status status;
      try {
        ClientCalls.blockingUnaryCall(
            channel, raw, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body);
        status = Status.OK;
      } catch (StatusRuntimeException e) {
        status = e.getStatus();
      }
      long took = System.nanoTime() - start;
      slowest = Math.max(slowest, took);
      codes.merge(status.getCode(), 1, Integer::sum);
      assertThat(status.getCode())
          .as("%s for a request of %d bytes", status, body.length)
          .isIn(
              Status.Code.OK,
              Status.Code.INVALID_ARGUMENT,
              Status.Code.NOT_FOUND,
              Status.Code.RESOURCE_EXHAUSTED);
      if (status.getDescription() != null) {
        assertThat(status.getDescription()).hasSizeLessThan(1_000);
      }
      assertThat(took).as("time of one hostile request").isLessThan(TimeUnit.SECONDS.toNanos(10));
    }
    System.out.printf(
        "fuzz: %d requests, statuses %s, slowest %.1f ms, resident growth %d MB%n",
        bodies.size(), codes, slowest / 1e6, (residentBytes() - residentAtStart) >> 20);
    assertThat(codes.get(Status.Code.INVALID_ARGUMENT)).isGreaterThan(200);
    assertThat(residentBytes() - residentAtStart).isLessThan(2L << 30);
    assertGoodRequestServed();
  }

  /** A request that is well-formed protobuf but wrong or abusive in one or more ways. */
  static GetOnlineFeaturesRequest hostile(Random random) {
    GetOnlineFeaturesRequest.Builder b = GetOnlineFeaturesRequest.newBuilder();
    switch (random.nextInt(6)) {
      case 0 -> b.setFeatureService("scoring");
      case 1 -> b.setFeatureService(pick(random, "", "nope", "x".repeat(1 << 20), "sc\0ring"));
      case 2 -> {
        FeatureList.Builder f = FeatureList.newBuilder();
        int n = random.nextInt(4) == 0 ? 5_000 : 1 + random.nextInt(4);
        if (n > 4 && random.nextBoolean()) {
          f.addFeatures("v".repeat(3_000_000) + ":f");
        }
        for (int i = 0; i < n; i++) {
          f.addFeatures(
              pick(
                  random,
                  "cards:last_amount",
                  "cards:last_note",
                  "cards:txn_count_1h",
                  "shops:last_amount",
                  "cards:nope",
                  "nope:last_amount",
                  "cards",
                  ":",
                  "cards@999:last_amount",
                  "v".repeat(n > 4 ? 10 : 200_000) + ":f",
                  "cards:last_amount\n",
                  "\uD83D\uDE00:x"));
        }
        b.setFeatures(f);
      }
      case 3 -> b.setFeatures(FeatureList.getDefaultInstance());
      case 4 -> b.setFeatures(FeatureList.newBuilder().addFeatures("cards:last_note"));
      default -> {
        // Nothing set: neither a service nor features.
      }
    }
    int rows =
        switch (random.nextInt(5)) {
          case 0 -> 0;
          case 1 -> MAX_ENTITIES;
          case 2 -> MAX_ENTITIES + 1;
          default -> 1 + random.nextInt(20);
        };
    int columns = random.nextInt(4);
    for (int c = 0; c < columns; c++) {
      String name =
          pick(random, "card_id", "shop_id", "card_id", "shop_id", "other", "k".repeat(100_000));
      RepeatedValue.Builder column = RepeatedValue.newBuilder();
      int n = random.nextInt(8) == 0 ? rows + 1 : rows;
      Value repeated = value(random, name);
      boolean same = random.nextBoolean();
      for (int r = 0; r < n; r++) {
        column.addValues(same ? repeated : value(random, name));
      }
      b.putEntities(name, column.build());
    }
    b.setFullFeatureNames(random.nextBoolean());
    return b.build();
  }

  static Value value(Random random, String column) {
    return switch (random.nextInt(12)) {
      case 0 -> Value.newBuilder().setBoolValue(true).build();
      case 1 -> Value.newBuilder().setInt64Value(random.nextLong()).build();
      case 2 -> Value.newBuilder().setInt32Value(random.nextInt()).build();
      case 3 -> Value.newBuilder().setDoubleValue(Double.NaN).build();
      case 4 ->
          Value.newBuilder()
              .setBytesValue(com.google.protobuf.ByteString.copyFromUtf8("b"))
              .build();
      case 5 -> Value.getDefaultInstance();
      case 6 -> Value.newBuilder().setNullValue(com.google.protobuf.NullValue.NULL_VALUE).build();
      case 7 ->
          Value.newBuilder().setStringValue("big_" + (random.nextBoolean() ? "1m" : "5m")).build();
      case 8 -> Value.newBuilder().setStringValue("card_\0\uFFFF" + random.nextInt(3)).build();
      default ->
          column.equals("shop_id")
              ? Value.newBuilder().setInt64Value(random.nextInt(25)).build()
              : Value.newBuilder().setStringValue("card_" + random.nextInt(25)).build();
    };
  }

  @SafeVarargs
  static <T> T pick(Random random, T... choices) {
    return choices[random.nextInt(choices.length)];
  }

  // ------------------------------------------------------------------ amplification

  @Test
  void aThousandCopiesOfAMegabyteKeyAreRefusedBeforeTheMemoryIsSpent() throws Exception {
    StatusRuntimeException e =
        failure(
            () ->
                stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .getOnlineFeatures(
                        request("cards:last_note", Collections.nCopies(1_000, "big_1m"))));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("--max-response-mb");
    assertThat(residentBytes() - residentAtStart).isLessThan(1L << 30);
    assertGoodRequestServed();
  }

  @Test
  void eightConcurrentRequestsOfTenThousandCopiesOfAFiveMegabyteKeyAreRefused() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Status>> results = new ArrayList<>();
      GetOnlineFeaturesRequest amplifying =
          request("cards:last_note", Collections.nCopies(MAX_ENTITIES, "big_5m"));
      for (int i = 0; i < 8; i++) {
        results.add(
            pool.submit(
                () -> {
                  try {
                    stub.withDeadlineAfter(60, TimeUnit.SECONDS).getOnlineFeatures(amplifying);
                    return Status.OK;
                  } catch (StatusRuntimeException e) {
                    return e.getStatus();
                  }
                }));
      }
      for (Future<Status> f : results) {
        Status s = f.get(120, TimeUnit.SECONDS);
        assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      }
    } finally {
      pool.shutdownNow();
    }
    long grown = residentBytes() - residentAtStart;
    System.out.printf(
        "amplification: 8 x 10,000 copies of a 5 MB key refused; resident %d MB at start, grown"
            + " %d MB%n",
        residentAtStart >> 20, grown >> 20);
    assertThat(grown).as("resident memory grown, bytes").isLessThan(1L << 30);
    assertGoodRequestServed();
  }

  // ------------------------------------------------------------------ overload

  @Test
  void underOverloadRefusalsAreFastAdmittedLookupsBoundedAndTheServerRecoversAtOnce()
      throws Exception {
    int clients = 48;
    GetOnlineFeaturesRequest heavy = request("cards:last_amount", distinctCards(MAX_ENTITIES));
    ConcurrentLinkedQueue<Long> admitted = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Long> refused = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Status> other = new ConcurrentLinkedQueue<>();
    List<Long> emptyCalls = new ArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    CountDownLatch done = new CountDownLatch(clients);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long peakResident = 0;
    try {
      for (int c = 0; c < clients; c++) {
        pool.execute(
            () -> {
              try {
                while (running.get()) {
                  long start = System.nanoTime();
                  try {
                    GetOnlineFeaturesResponse r =
                        stub.withDeadlineAfter(30, TimeUnit.SECONDS).getOnlineFeatures(heavy);
                    if (r.getRowCount() == MAX_ENTITIES) {
                      admitted.add(System.nanoTime() - start);
                    }
                  } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                      refused.add(System.nanoTime() - start);
                    } else {
                      other.add(e.getStatus());
                    }
                  }
                }
              } finally {
                done.countDown();
              }
            });
      }
      // The peer: an empty call (a health check) on the same server during the same overload.
      io.grpc.health.v1.HealthGrpc.HealthBlockingStub health =
          io.grpc.health.v1.HealthGrpc.newBlockingStub(channel);
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      long nextResident = 0;
      while (System.nanoTime() < end) {
        long start = System.nanoTime();
        health
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
        emptyCalls.add(System.nanoTime() - start);
        if (System.nanoTime() > nextResident) {
          peakResident = Math.max(peakResident, residentBytes());
          nextResident = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250);
        }
        Thread.sleep(20);
      }
    } finally {
      running.set(false);
      assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
      pool.shutdownNow();
    }
    System.out.printf(
        "overload: %d clients of %d entities; %d admitted (p50 %.1f ms, p99 %.1f ms), %d refused"
            + " (p50 %.2f ms, p99 %.2f ms); an empty call meanwhile p50 %.2f ms, p99 %.2f ms;"
            + " peak resident growth %d MB%n",
        clients,
        MAX_ENTITIES,
        admitted.size(),
        percentile(admitted, 0.5) / 1e6,
        percentile(admitted, 0.99) / 1e6,
        refused.size(),
        refused.isEmpty() ? 0 : percentile(refused, 0.5) / 1e6,
        refused.isEmpty() ? 0 : percentile(refused, 0.99) / 1e6,
        percentile(emptyCalls, 0.5) / 1e6,
        percentile(emptyCalls, 0.99) / 1e6,
        (peakResident - residentAtStart) >> 20);
    assertThat(other).as("statuses other than OK and RESOURCE_EXHAUSTED").isEmpty();
    assertThat(admitted).isNotEmpty();
    assertThat(refused).as("far more work than the limit is refused").isNotEmpty();
    assertThat(percentile(refused, 0.99)).as("p99 of a refusal, ns").isLessThan(secs(2));
    assertThat(percentile(admitted, 0.99)).as("p99 of an admitted lookup, ns").isLessThan(secs(10));
    assertThat(peakResident - residentAtStart).as("resident growth, bytes").isLessThan(2L << 30);
    // Recovers at once: the next heavy request is admitted and answered.
    long start = System.nanoTime();
    assertThat(stub.withDeadlineAfter(30, TimeUnit.SECONDS).getOnlineFeatures(heavy).getRowCount())
        .isEqualTo(MAX_ENTITIES);
    assertThat(System.nanoTime() - start).isLessThan(secs(5));
  }

  // ------------------------------------------------------------------ support

  static long secs(long s) {
    return TimeUnit.SECONDS.toNanos(s);
  }

  static long percentile(java.util.Collection<Long> values, double p) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get((int) Math.min(sorted.size() - 1, Math.floor(p * sorted.size())));
  }

  static List<String> distinctCards(int n) {
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add("card_" + (i % 40));
    }
    return out;
  }

  static GetOnlineFeaturesRequest good() {
    return GetOnlineFeaturesRequest.newBuilder()
        .setFeatureService("scoring")
        .putEntities(
            "card_id",
            RepeatedValue.newBuilder()
                .addValues(Value.newBuilder().setStringValue("card_3"))
                .build())
        .putEntities(
            "shop_id",
            RepeatedValue.newBuilder().addValues(Value.newBuilder().setInt64Value(3)).build())
        .setFullFeatureNames(true)
        .build();
  }

  static void assertGoodRequestServed() {
    GetOnlineFeaturesResponse r =
        stub.withDeadlineAfter(30, TimeUnit.SECONDS).getOnlineFeatures(good());
    assertThat(r.getRowCount()).isEqualTo(1);
    assertThat(r.getFeatures(0).getStatuses(0)).isEqualTo(FeatureStatus.PRESENT);
    assertThat(r.getFeatures(0).getValues(0).getDoubleValue()).isEqualTo(3.5);
    assertThat(r.getFeatures(1).getValues(0).getStringValue()).isEqualTo("n3");
  }

  static GetOnlineFeaturesRequest request(String feature, List<String> cards) {
    RepeatedValue.Builder keys = RepeatedValue.newBuilder();
    for (String c : cards) {
      keys.addValues(Value.newBuilder().setStringValue(c));
    }
    return GetOnlineFeaturesRequest.newBuilder()
        .setFeatures(FeatureList.newBuilder().addFeatures(feature))
        .putEntities("card_id", keys.build())
        .build();
  }

  static StatusRuntimeException failure(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("the call succeeded");
  }

  /** Resident memory of the quiver serve process, from the kernel. */
  static long residentBytes() throws IOException {
    assertThat(serve.isAlive()).as("quiver serve is running").isTrue();
    for (String line :
        Files.readAllLines(Path.of("/proc", String.valueOf(serve.pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
}
