package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.FeatureList;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bounds on one lookup and on lookups in flight, over real gRPC (in-process transport) on a
 * real RocksDB store holding rows with values of a megabyte.
 */
class LookupLimitsTest {
  static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
  static final String MEGABYTE = "x".repeat(1 << 20);

  @TempDir static Path dir;
  static RegistrySnapshot snapshot;
  static OnlineStore store;
  static final AtomicInteger catalogReads = new AtomicInteger();

  final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeAll
  static void fill() throws Exception {
    snapshot = Fixtures.snapshot(dir.resolve("repo"));
    store = RocksOnlineStore.open(dir.resolve("db"));
    ViewShape card = Fixtures.shape(snapshot, "card_stats");
    long now = NOW.toEpochMilli();
    List<ViewRow> rows = new ArrayList<>();
    rows.add(Fixtures.card(card, "big", now - 1_000, 0, 1.5, MEGABYTE));
    rows.add(Fixtures.card(card, "small", now - 1_000, 1, 2.5, "US"));
    for (int i = 0; i < 64; i++) {
      rows.add(Fixtures.card(card, "big_" + i, now - 1_000, 2 + i, 3.5, MEGABYTE));
    }
    store.write(Fixtures.batch(rows));
  }

  @AfterAll
  static void close() {
    store.close();
  }

  @AfterEach
  void closeEach() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  OnlineServingGrpc.OnlineServingBlockingStub serve(
      OnlineServingService.Limits limits, Executor executor) throws IOException {
    OnlineServingService service =
        new OnlineServingService(
            store,
            () -> {
              catalogReads.incrementAndGet();
              return ServingCatalog.of(snapshot);
            },
            Clock.fixed(NOW, ZoneOffset.UTC),
            limits,
            executor);
    this.service = service;
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name).directExecutor().addService(service).build();
    server.start();
    closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    ManagedChannel channel =
        InProcessChannelBuilder.forName(name)
            .directExecutor()
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .build();
    closing.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    this.channel = channel;
    return OnlineServingGrpc.newBlockingStub(channel);
  }

  ManagedChannel channel;
  OnlineServingService service;

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

  @Test
  void repeatedKeysAreReadOnceAndEachRowAnswered() throws Exception {
    // 100 copies of a row of a megabyte: 100 MB if each copy were read, one megabyte if read once.
    var stub =
        serve(OnlineServingService.Limits.defaults().withMaxResponseBytes(4L << 20), Runnable::run);
    List<String> cards = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      cards.add(i % 2 == 0 ? "big" : "small");
    }
    GetOnlineFeaturesResponse r = stub.getOnlineFeatures(request("card_stats:last_amount", cards));
    assertThat(r.getRowCount()).isEqualTo(100);
    for (int i = 0; i < 100; i++) {
      assertThat(r.getFeatures(0).getStatuses(i)).isEqualTo(FeatureStatus.PRESENT);
      assertThat(r.getFeatures(0).getValues(i).getDoubleValue()).isEqualTo(i % 2 == 0 ? 1.5 : 2.5);
    }
  }

  @Test
  void anAnswerOverTheBudgetIsRefusedWithTheLimitAndTheSetting() throws Exception {
    var stub = serve(OnlineServingService.Limits.defaults(), Runnable::run);
    // 1,000 copies of a key whose value is a megabyte: a gigabyte of response.
    List<String> cards = Collections.nCopies(1_000, "big");
    long heapBefore = usedHeap();
    StatusRuntimeException e =
        failure(() -> stub.getOnlineFeatures(request("card_stats:last_country", cards)));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription())
        .contains(String.valueOf(64L << 20))
        .contains("--max-response-mb");
    assertThat(usedHeap() - heapBefore).isLessThan(512L << 20);
    // The same key once is answered.
    GetOnlineFeaturesResponse one =
        stub.getOnlineFeatures(request("card_stats:last_country", List.of("big")));
    assertThat(one.getFeatures(0).getValues(0).getStringValue()).hasSize(1 << 20);
  }

  @Test
  void distinctLargeRowsStopBeingReadOnceTheBudgetIsSpent() throws Exception {
    ViewShape card = Fixtures.shape(snapshot, "card_stats");
    List<byte[]> keys = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      keys.add(EntityKeyCodec.encode(List.of("big_" + i)));
    }
    LookupBudget budget = new LookupBudget(8L << 20, () -> false);
    assertThatThrownBy(() -> store.read(List.of(card.id()), List.of(keys), Long.MAX_VALUE, budget))
        .isInstanceOf(LookupBudget.ExceededException.class);
    // Stopped within one read of the limit, not after reading all 64 MB.
    assertThat(budget.spent()).isLessThan(16L << 20);
  }

  @Test
  void pastTheInflightBoundRequestsAreRefusedAtOnceAndServedAgainAfter() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    closing.add(pool::shutdownNow);
    Executor held =
        task ->
            pool.execute(
                () -> {
                  try {
                    release.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  task.run();
                });
    var stub = serve(new OnlineServingService.Limits(10, 64L << 20, 10, 0), held);
    CompletableFuture<GetOnlineFeaturesResponse> admitted =
        CompletableFuture.supplyAsync(
            () ->
                stub.getOnlineFeatures(
                    request("card_stats:last_amount", Collections.nCopies(10, "small"))));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (service.inflightEntities() < 10 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    long start = System.nanoTime();
    StatusRuntimeException refused =
        failure(
            () ->
                stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .getOnlineFeatures(request("card_stats:last_amount", List.of("small"))));
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(2));
    assertThat(refused).isNotNull();
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getStatus().getDescription()).contains("--max-inflight-entities");
    release.countDown();
    assertThat(admitted.get(10, TimeUnit.SECONDS).getRowCount()).isEqualTo(10);
    // The admitted lookup gives its rows back just after its answer is sent.
    while (service.inflightEntities() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(
            stub.getOnlineFeatures(request("card_stats:last_amount", List.of("small")))
                .getRowCount())
        .isEqualTo(1);
  }

  @Test
  void workWhoseDeadlinePassedIsDropped() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    closing.add(pool::shutdownNow);
    Executor late =
        task ->
            pool.execute(
                () -> {
                  try {
                    Thread.sleep(1_000);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  task.run();
                });
    OnlineServingService.Limits limits =
        OnlineServingService.Limits.defaults().withInlineEntities(0);
    var stub = serve(limits, late);
    int before = catalogReads.get();
    StatusRuntimeException e =
        failure(
            () ->
                stub.withDeadlineAfter(200, TimeUnit.MILLISECONDS)
                    .getOnlineFeatures(request("card_stats:last_amount", List.of("small"))));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    pool.shutdown();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    assertThat(catalogReads.get()).as("the expired lookup never started").isEqualTo(before);
  }

  @Test
  void unparseableRequestsAreInvalidArgument() throws Exception {
    serve(OnlineServingService.Limits.defaults(), Runnable::run);
    MethodDescriptor<byte[], byte[]> raw =
        OnlineServingGrpc.getGetOnlineFeaturesMethod().toBuilder(BYTES, BYTES).build();
    Random random = new Random(7);
    List<byte[]> bodies = new ArrayList<>();
    bodies.add(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
    bodies.add(new byte[] {0x0a, 0x7f}); // a string longer than the message
    bodies.add(new byte[] {0x0a, 0x02, (byte) 0xc3, 0x28}); // feature_service not UTF-8
    bodies.add(new byte[] {0x0f}); // field 1 with the end-group wire type
    for (int i = 0; i < 40; i++) {
      byte[] b = new byte[1 + random.nextInt(200)];
      random.nextBytes(b);
      bodies.add(b);
    }
    int invalid = 0;
    for (byte[] body : bodies) {
      try {
        ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT, body);
      } catch (StatusRuntimeException e) {
        // Random bytes can parse as a request that is merely wrong; none may be UNKNOWN/INTERNAL.
        assertThat(e.getStatus().getCode())
            .as(java.util.HexFormat.of().formatHex(body) + " " + e.getStatus(), e)
            .isIn(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND);
        if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
          invalid++;
        }
        assertThat(e.getStatus().getDescription()).hasSizeLessThan(400);
      }
    }
    assertThat(invalid).isGreaterThan(30);
    for (int i = 0; i < 4; i++) {
      byte[] body = bodies.get(i);
      StatusRuntimeException e =
          failure(() -> ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT, body));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).contains("not a valid message");
    }
  }

  @Test
  void errorsQuoteTheClientsInputOnlyBriefly() throws Exception {
    var stub = serve(OnlineServingService.Limits.defaults(), Runnable::run);
    String huge = "v".repeat(3_000_000);
    StatusRuntimeException e =
        failure(() -> stub.getOnlineFeatures(request(huge + ":f", List.of("small"))));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).hasSizeLessThan(300).contains("3000002 characters");
    StatusRuntimeException column =
        failure(
            () ->
                stub.getOnlineFeatures(
                    request("card_stats:last_amount", List.of("small")).toBuilder()
                        .putEntities(huge, RepeatedValue.getDefaultInstance())
                        .build()));
    assertThat(column.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(column.getStatus().getDescription()).hasSizeLessThan(300);
  }

  static long usedHeap() {
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
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
