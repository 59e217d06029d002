package dev.quiver.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.FloatList;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client against a real gRPC server on loopback whose OnlineServing answers are scripted per
 * call: failures to inject first, then a fixed response.
 */
class QuiverClientTest {
  static final Instant EVENT = Instant.parse("2026-05-01T10:00:00Z");

  final Deque<Status> failures = new ArrayDeque<>();
  final AtomicInteger calls = new AtomicInteger();
  final AtomicReference<GetOnlineFeaturesRequest> last = new AtomicReference<>();
  volatile long delayMillis;
  Server server;

  @BeforeEach
  void start() throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new OnlineServingGrpc.OnlineServingImplBase() {
                  @Override
                  public void getOnlineFeatures(
                      GetOnlineFeaturesRequest request,
                      StreamObserver<GetOnlineFeaturesResponse> response) {
                    calls.incrementAndGet();
                    last.set(request);
                    Status failure;
                    synchronized (failures) {
                      failure = failures.poll();
                    }
                    if (failure != null) {
                      response.onError(failure.asRuntimeException());
                      return;
                    }
                    try {
                      Thread.sleep(delayMillis);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                    response.onNext(answer());
                    response.onCompleted();
                  }
                })
            .build()
            .start();
  }

  @AfterEach
  void stop() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static GetOnlineFeaturesResponse answer() {
    Timestamp t = Timestamp.newBuilder().setSeconds(EVENT.getEpochSecond()).build();
    return GetOnlineFeaturesResponse.newBuilder()
        .setRowCount(2)
        .setRegistryVersion(7)
        .addFeatures(
            FeatureColumn.newBuilder()
                .setName("amount")
                .addValues(Value.newBuilder().setDoubleValue(12.5))
                .addStatuses(FeatureStatus.PRESENT)
                .addEventTimestamps(t)
                .addValues(Value.getDefaultInstance())
                .addStatuses(FeatureStatus.NOT_FOUND)
                .addEventTimestamps(Timestamp.getDefaultInstance()))
        .addFeatures(
            FeatureColumn.newBuilder()
                .setName("embedding")
                .addValues(
                    Value.newBuilder()
                        .setFloatListValue(FloatList.newBuilder().addValues(0.5f).addValues(1f)))
                .addStatuses(FeatureStatus.PRESENT)
                .addEventTimestamps(t)
                .addValues(
                    Value.newBuilder().setNullValue(com.google.protobuf.NullValue.NULL_VALUE))
                .addStatuses(FeatureStatus.NULL_VALUE)
                .addEventTimestamps(t))
        .build();
  }

  QuiverClient client(int attempts) {
    return QuiverClient.builder()
        .target("127.0.0.1:" + server.getPort())
        .defaultDeadline(Duration.ofSeconds(5))
        .maxAttempts(attempts)
        .build();
  }

  @Test
  void buildsTheRequestAndReadsTypedValuesStatusesAndTimes() {
    try (QuiverClient quiver = client(3)) {
      OnlineResult r =
          quiver.getOnlineFeatures(
              OnlineRequest.forService("fraud")
                  .entity("card_id", "c1", "c2")
                  .entity("shop_id", 7L, 8L));
      GetOnlineFeaturesRequest sent = last.get();
      assertThat(sent.getFeatureService()).isEqualTo("fraud");
      assertThat(sent.getEntitiesMap().get("card_id").getValues(1).getStringValue())
          .isEqualTo("c2");
      assertThat(sent.getEntitiesMap().get("shop_id").getValues(0).getInt64Value()).isEqualTo(7L);

      assertThat(r.rowCount()).isEqualTo(2);
      assertThat(r.registryVersion()).isEqualTo(7);
      assertThat(r.featureNames()).containsExactly("amount", "embedding");
      assertThat(r.getDouble("amount", 0)).isEqualTo(12.5);
      assertThat(r.status("amount", 1)).isEqualTo(FeatureStatus.NOT_FOUND);
      assertThat(r.getDouble("amount", 1)).isNull();
      assertThat(r.eventTime("amount", 0)).isEqualTo(EVENT);
      assertThat(r.eventTime("amount", 1)).isNull();
      assertThat(r.getFloatList("embedding", 0)).containsExactly(0.5f, 1f);
      assertThat(r.status("embedding", 1)).isEqualTo(FeatureStatus.NULL_VALUE);
      assertThat(r.get("embedding", 1)).isNull();
      assertThatThrownBy(() -> r.getString("amount", 0)).isInstanceOf(ClassCastException.class);
      assertThatThrownBy(() -> r.get("nope", 0))
          .isInstanceOf(java.util.NoSuchElementException.class)
          .hasMessageContaining("features: amount, embedding");
      assertThatThrownBy(() -> r.get("amount", 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }
  }

  @Test
  void retriesOnlyWhenTheServerIsUnavailable() {
    try (QuiverClient quiver = client(3)) {
      failures.add(Status.UNAVAILABLE);
      failures.add(Status.UNAVAILABLE);
      assertThat(
              quiver.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v")).rowCount())
          .isEqualTo(2);
      assertThat(calls.get()).isEqualTo(3);

      calls.set(0);
      failures.add(Status.INVALID_ARGUMENT.withDescription("entities['k'][0]: expected int64"));
      assertThatThrownBy(
              () -> quiver.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription()).contains("entities['k'][0]");
              });
      assertThat(calls.get()).as("a bad request is not retried").isEqualTo(1);
    }
    try (QuiverClient once = client(1)) {
      calls.set(0);
      failures.add(Status.UNAVAILABLE);
      assertThatThrownBy(
              () -> once.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v")))
          .isInstanceOf(StatusRuntimeException.class);
      assertThat(calls.get()).isEqualTo(1);
    }
  }

  @Test
  void eachCallHasItsOwnDeadline() {
    try (QuiverClient quiver = client(1)) {
      delayMillis = 300;
      assertThatThrownBy(
              () ->
                  quiver.getOnlineFeatures(
                      OnlineRequest.forService("s").entity("k", "v"), Duration.ofMillis(50)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
      // The short deadline did not stick to the client: the next call has the default one.
      assertThat(
              quiver.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v")).rowCount())
          .isEqualTo(2);
    }
  }

  @Test
  void asyncCallsCompleteAndFailThroughTheFuture() throws Exception {
    try (QuiverClient quiver = client(1)) {
      assertThat(
              quiver
                  .getOnlineFeaturesAsync(OnlineRequest.forService("s").entity("k", "v"))
                  .get(5, TimeUnit.SECONDS)
                  .rowCount())
          .isEqualTo(2);
      failures.add(Status.NOT_FOUND.withDescription("feature_service: 'x' does not exist"));
      assertThatThrownBy(
              () ->
                  quiver
                      .getOnlineFeaturesAsync(OnlineRequest.forService("x").entity("k", "v"))
                      .get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(StatusRuntimeException.class);
    }
  }

  @Test
  void closeLeavesAChannelItWasGivenOpen() {
    ManagedChannel channel =
        io.grpc.ManagedChannelBuilder.forAddress("127.0.0.1", server.getPort())
            .usePlaintext()
            .build();
    try {
      QuiverClient borrowed = QuiverClient.forChannel(channel, Duration.ofSeconds(5));
      borrowed.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v"));
      borrowed.close();
      assertThat(channel.isShutdown()).isFalse();
      QuiverClient again = QuiverClient.forChannel(channel, Duration.ofSeconds(5));
      assertThat(again.getOnlineFeatures(OnlineRequest.forService("s").entity("k", "v")).rowCount())
          .isEqualTo(2);
    } finally {
      channel.shutdownNow();
    }
    QuiverClient owning = client(1);
    owning.close();
    assertThat(((ManagedChannel) owning.channel()).isShutdown()).isTrue();
  }

  @Test
  void keysOfUnsupportedTypesAreRejectedBeforeSending() {
    assertThatThrownBy(() -> OnlineRequest.forService("s").entity("k", 1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key 'k': java.lang.Double is not a key value");
    assertThat(
            OnlineRequest.forFeatures("v:a", "v:b")
                .entity("k", 3, new byte[] {1})
                .fullFeatureNames()
                .toProto())
        .satisfies(
            p -> {
              assertThat(p.getFeatures().getFeaturesList()).containsExactly("v:a", "v:b");
              assertThat(p.getFullFeatureNames()).isTrue();
              assertThat(p.getEntitiesMap().get("k").getValues(0).getInt32Value()).isEqualTo(3);
              assertThat(p.getEntitiesMap().get("k").getValues(1).getBytesValue().toByteArray())
                  .containsExactly(1);
            });
  }
}
