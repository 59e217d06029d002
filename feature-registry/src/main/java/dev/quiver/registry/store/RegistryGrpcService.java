package dev.quiver.registry.store;

import dev.quiver.proto.v1.GetRegistryRequest;
import dev.quiver.proto.v1.ListRegistryVersionsRequest;
import dev.quiver.proto.v1.ListRegistryVersionsResponse;
import dev.quiver.proto.v1.RegistryGrpc;
import dev.quiver.proto.v1.RegistrySnapshot;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Objects;

/** The read-only {@code quiver.v1.Registry} gRPC service over a {@link RegistryStore}. */
public final class RegistryGrpcService extends RegistryGrpc.RegistryImplBase {
  private final RegistryStore store;

  public RegistryGrpcService(RegistryStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  @Override
  public void getRegistry(GetRegistryRequest request, StreamObserver<RegistrySnapshot> response) {
    try {
      if (request.getVersion() < 0) {
        response.onError(
            Status.INVALID_ARGUMENT
                .withDescription(
                    "version: " + request.getVersion() + " is negative; 0 means latest")
                .asRuntimeException());
        return;
      }
      long version = request.getVersion() == 0 ? store.latestVersion() : request.getVersion();
      if (version == 0) {
        response.onError(
            Status.NOT_FOUND.withDescription("nothing has been applied yet").asRuntimeException());
        return;
      }
      response.onNext(store.get(version));
      response.onCompleted();
    } catch (VersionNotFoundException e) {
      response.onError(Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException());
    } catch (IOException e) {
      response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
    }
  }

  @Override
  public void listRegistryVersions(
      ListRegistryVersionsRequest request, StreamObserver<ListRegistryVersionsResponse> response) {
    try {
      response.onNext(
          ListRegistryVersionsResponse.newBuilder().addAllVersions(store.list()).build());
      response.onCompleted();
    } catch (IOException e) {
      response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
    }
  }
}
