package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.proto.v1.FeatureList;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Statuses tell the client what to do next: a store that is shutting down is {@code UNAVAILABLE}
 * (retry elsewhere), a failure of the server's own is {@code INTERNAL} (do not retry), over real
 * gRPC (in-process transport) and a real RocksDB store.
 */
class ServingFailuresTest {
  @TempDir Path dir;

  static final GetOnlineFeaturesRequest REQUEST =
      GetOnlineFeaturesRequest.newBuilder()
          .setFeatures(FeatureList.newBuilder().addFeatures("card_stats:last_amount"))
          .putEntities(
              "card_id",
              RepeatedValue.newBuilder().addValues(Value.newBuilder().setStringValue("c1")).build())
          .build();

  Status call(OnlineStore store, Supplier<ServingCatalog> catalog) throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(new OnlineServingService(store, catalog, Clock.systemUTC(), 10))
            .build()
            .start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      OnlineServingGrpc.newBlockingStub(channel).getOnlineFeatures(REQUEST);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClosedStoreIsUnavailable() throws Exception {
    RegistrySnapshot s = Fixtures.snapshot(dir.resolve("repo"));
    OnlineStore store = RocksOnlineStore.open(dir.resolve("db"));
    store.close();
    Status status = call(store, () -> ServingCatalog.of(s));
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("is closed");
  }

  @Test
  void aFailureOfTheServersOwnIsInternalNotUnavailable() throws Exception {
    try (OnlineStore store = RocksOnlineStore.open(dir.resolve("db"))) {
      Status status =
          call(
              store,
              () -> {
                throw new IllegalStateException("a bug in the catalog");
              });
      assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
      assertThat(status.getDescription()).contains("a bug in the catalog");
    }
  }
}
