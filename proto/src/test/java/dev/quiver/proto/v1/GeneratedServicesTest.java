package dev.quiver.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The generated stubs work with the gRPC runtime the build uses, over a real (in-process) channel.
 */
class GeneratedServicesTest {

  @Test
  void registryServiceRoundTripsASnapshotAndAStatus() throws Exception {
    RegistrySnapshot snapshot =
        RegistrySnapshot.newBuilder()
            .setVersion(3)
            .setProject(Project.newBuilder().setName("payments"))
            .addFeatureViews(
                FeatureView.newBuilder()
                    .setName("card_activity")
                    .setVersion(2)
                    .addFeatures(
                        Feature.newBuilder()
                            .setName("embedding")
                            .setType(
                                ValueType.newBuilder().setListOf(ScalarType.SCALAR_TYPE_FLOAT))))
            .build();
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new RegistryGrpc.RegistryImplBase() {
                  @Override
                  public void getRegistry(
                      GetRegistryRequest request, StreamObserver<RegistrySnapshot> response) {
                    if (request.getVersion() > 3) {
                      response.onError(
                          Status.NOT_FOUND
                              .withDescription("registry version " + request.getVersion())
                              .asRuntimeException());
                      return;
                    }
                    response.onNext(snapshot);
                    response.onCompleted();
                  }
                })
            .build()
            .start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      RegistryGrpc.RegistryBlockingStub stub = RegistryGrpc.newBlockingStub(channel);
      assertThat(stub.getRegistry(GetRegistryRequest.newBuilder().setVersion(3).build()))
          .isEqualTo(snapshot);
      assertThatThrownBy(
              () -> stub.getRegistry(GetRegistryRequest.newBuilder().setVersion(9).build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void explicitNullDiffersFromNoValue() throws Exception {
    Value nothing = Value.getDefaultInstance();
    Value explicitNull =
        Value.newBuilder().setNullValue(com.google.protobuf.NullValue.NULL_VALUE).build();
    assertThat(nothing.getKindCase()).isEqualTo(Value.KindCase.KIND_NOT_SET);
    assertThat(explicitNull.getKindCase()).isEqualTo(Value.KindCase.NULL_VALUE);
    assertThat(Value.parseFrom(explicitNull.toByteArray()).getKindCase())
        .isEqualTo(Value.KindCase.NULL_VALUE);
    assertThat(Value.parseFrom(nothing.toByteArray()).getKindCase())
        .isEqualTo(Value.KindCase.KIND_NOT_SET);
  }
}
