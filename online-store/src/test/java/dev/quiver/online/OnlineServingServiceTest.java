package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureList;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.ViewShape;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** GetOnlineFeatures over real gRPC (in-process transport) on a real RocksDB store. */
class OnlineServingServiceTest {
  static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
  @TempDir static Path dir;
  static OnlineStore store;
  static Server server;
  static ManagedChannel channel;
  static OnlineServingGrpc.OnlineServingBlockingStub stub;

  @BeforeAll
  static void start() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    store = RocksOnlineStore.open(dir.resolve("db"));
    ViewShape card = Fixtures.shape(s, "card_stats");
    ViewShape shop = Fixtures.shape(s, "shop_stats");
    long now = NOW.toEpochMilli();
    store.write(
        Fixtures.batch(
            List.of(
                Fixtures.card(card, "fresh", now - 60_000, 0, 12.5, "US"),
                Fixtures.card(card, "fresh", now - 120_000, 1, 3.0, "US"),
                Fixtures.card(card, "no_country", now - 60_000, 2, 7.0, null),
                Fixtures.card(card, "stale", now - 2 * 3_600_000, 3, 1.0, "FR"),
                Fixtures.shop(shop, 42L, now - 86_400_000L * 400, 4, 99.0))));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new OnlineServingService(
                    store, () -> ServingCatalog.of(s), Clock.fixed(NOW, ZoneOffset.UTC), 5))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = OnlineServingGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    store.close();
  }

  static Value s(String v) {
    return Value.newBuilder().setStringValue(v).build();
  }

  static Value i(long v) {
    return Value.newBuilder().setInt64Value(v).build();
  }

  static RepeatedValue column(Value... values) {
    return RepeatedValue.newBuilder().addAllValues(List.of(values)).build();
  }

  static GetOnlineFeaturesRequest.Builder features(String... refs) {
    return GetOnlineFeaturesRequest.newBuilder()
        .setFeatures(FeatureList.newBuilder().addAllFeatures(List.of(refs)));
  }

  @Test
  void everyStatusIsEmittedWithItsTimestamp() {
    GetOnlineFeaturesResponse r =
        stub.getOnlineFeatures(
            features("card_stats:last_amount", "card_stats:last_country", "card_stats:txn_count_1h")
                .putEntities(
                    "card_id", column(s("fresh"), s("no_country"), s("stale"), s("unknown")))
                .build());
    assertThat(r.getRowCount()).isEqualTo(4);
    assertThat(r.getRegistryVersion()).isEqualTo(1);
    FeatureColumn amount = r.getFeatures(0);
    FeatureColumn country = r.getFeatures(1);
    FeatureColumn count = r.getFeatures(2);
    assertThat(amount.getName()).isEqualTo("last_amount");
    assertThat(amount.getStatusesList())
        .containsExactly(
            FeatureStatus.PRESENT,
            FeatureStatus.PRESENT,
            FeatureStatus.OUTSIDE_MAX_AGE,
            FeatureStatus.NOT_FOUND);
    // The newer of the two rows of "fresh" wins although it was written first.
    assertThat(amount.getValues(0).getDoubleValue()).isEqualTo(12.5);
    assertThat(amount.getEventTimestamps(0).getSeconds()).isEqualTo(NOW.getEpochSecond() - 60);
    assertThat(amount.getValues(2).getKindCase()).isEqualTo(Value.KindCase.KIND_NOT_SET);
    assertThat(amount.getEventTimestamps(2).getSeconds()).isEqualTo(NOW.getEpochSecond() - 7200);
    assertThat(amount.getValues(3).getKindCase()).isEqualTo(Value.KindCase.KIND_NOT_SET);
    assertThat(amount.getEventTimestamps(3).getSeconds()).isZero();
    assertThat(country.getStatuses(1)).isEqualTo(FeatureStatus.NULL_VALUE);
    assertThat(country.getValues(1).getKindCase()).isEqualTo(Value.KindCase.NULL_VALUE);
    // Both rows of "fresh" fall in the 1h window; the stale card's row is outside it.
    assertThat(count.getValues(0).getInt64Value()).isEqualTo(2);
    assertThat(count.getStatuses(2)).isEqualTo(FeatureStatus.PRESENT);
    assertThat(count.getValues(2).getInt64Value()).isZero();
    assertThat(count.getStatuses(3)).isEqualTo(FeatureStatus.NOT_FOUND);
  }

  @Test
  void featureServiceAcrossViewsWithFullNames() {
    GetOnlineFeaturesResponse r =
        stub.getOnlineFeatures(
            GetOnlineFeaturesRequest.newBuilder()
                .setFeatureService("scoring")
                .setFullFeatureNames(true)
                .putEntities("card_id", column(s("fresh")))
                .putEntities("shop_id", column(Value.newBuilder().setInt32Value(42).build()))
                .build());
    assertThat(r.getFeaturesList())
        .extracting(FeatureColumn::getName)
        .containsExactly(
            "card_stats__last_amount",
            "card_stats__last_country",
            "card_stats__txn_count_1h",
            "shop_stats__last_amount");
    // shop_stats has no TTL: a row 400 days old is still served.
    assertThat(r.getFeatures(3).getStatuses(0)).isEqualTo(FeatureStatus.PRESENT);
    assertThat(r.getFeatures(3).getValues(0).getDoubleValue()).isEqualTo(99.0);
  }

  static Stream<Arguments> badRequests() {
    return Stream.of(
        Arguments.of(
            "unknown feature service",
            GetOnlineFeaturesRequest.newBuilder()
                .setFeatureService("nope")
                .putEntities("card_id", column(s("a"))),
            Status.Code.NOT_FOUND,
            "feature_service: 'nope' does not exist"),
        Arguments.of(
            "unknown feature",
            features("card_stats:last_amount", "card_stats:nope")
                .putEntities("card_id", column(s("a"))),
            Status.Code.NOT_FOUND,
            "features[1]: 'card_stats:nope' does not exist"),
        Arguments.of(
            "malformed reference",
            features("card_stats.last_amount").putEntities("card_id", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "features[0]: 'card_stats.last_amount' is not a feature reference"),
        Arguments.of(
            "nothing requested",
            GetOnlineFeaturesRequest.newBuilder().putEntities("card_id", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "set either feature_service or features"),
        Arguments.of(
            "empty feature list",
            features().putEntities("card_id", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "features: no feature references"),
        Arguments.of(
            "missing key column",
            GetOnlineFeaturesRequest.newBuilder()
                .setFeatureService("scoring")
                .putEntities("card_id", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "entities: missing join key column 'shop_id' (needed by feature view shop_stats)"),
        Arguments.of(
            "wrong key type",
            features("card_stats:last_amount").putEntities("card_id", column(s("a"), i(7))),
            Status.Code.INVALID_ARGUMENT,
            "entities['card_id'][1]: expected string, got int64"),
        Arguments.of(
            "null key",
            features("card_stats:last_amount")
                .putEntities("card_id", column(Value.getDefaultInstance())),
            Status.Code.INVALID_ARGUMENT,
            "entities['card_id'][0]: expected string, got no value"),
        Arguments.of(
            "columns of unequal length",
            GetOnlineFeaturesRequest.newBuilder()
                .setFeatureService("scoring")
                .putEntities("card_id", column(s("a"), s("b")))
                .putEntities("shop_id", column(i(1))),
            Status.Code.INVALID_ARGUMENT,
            "entities['shop_id']: has 1 values but entities['card_id'] has 2"),
        Arguments.of(
            "too many entities",
            features("card_stats:last_amount")
                .putEntities("card_id", column(s("1"), s("2"), s("3"), s("4"), s("5"), s("6"))),
            Status.Code.INVALID_ARGUMENT,
            "6 entity rows exceed the limit of 5 per request (quiver serve --max-entities)"),
        Arguments.of(
            "no entities",
            features("card_stats:last_amount"),
            Status.Code.INVALID_ARGUMENT,
            "entities: no entity key columns"),
        Arguments.of(
            "empty key column",
            features("card_stats:last_amount").putEntities("card_id", column()),
            Status.Code.INVALID_ARGUMENT,
            "entities['card_id']: no values"),
        Arguments.of(
            "key column nobody needs",
            features("card_stats:last_amount")
                .putEntities("card_id", column(s("a")))
                .putEntities("cardid", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "entities['cardid']: not a join key of the requested features"),
        Arguments.of(
            "same feature twice",
            features("card_stats:last_amount", "card_stats:last_amount")
                .putEntities("card_id", column(s("a"))),
            Status.Code.INVALID_ARGUMENT,
            "features[1]: 'card_stats:last_amount' is requested twice"),
        Arguments.of(
            "ambiguous short names",
            features("card_stats:last_amount", "shop_stats:last_amount")
                .putEntities("card_id", column(s("a")))
                .putEntities("shop_id", column(i(1))),
            Status.Code.INVALID_ARGUMENT,
            "both named 'last_amount'; set full_feature_names"),
        Arguments.of(
            "large int64 key is valid",
            features("shop_stats:last_amount").putEntities("shop_id", column(i(1L << 40))),
            Status.Code.OK,
            ""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void badRequestsGetTheRightStatusNamingTheField(
      String name, GetOnlineFeaturesRequest.Builder request, Status.Code code, String message) {
    if (code == Status.Code.OK) {
      // shop_id is int64: a large key is valid and simply not found.
      assertThat(stub.getOnlineFeatures(request.build()).getFeatures(0).getStatuses(0))
          .isEqualTo(FeatureStatus.NOT_FOUND);
      return;
    }
    assertThatThrownBy(() -> stub.getOnlineFeatures(request.build()))
        .as(name)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(message);
            });
  }
}
