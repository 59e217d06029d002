package dev.quiver.client;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The client serving systems embed to fetch online features from {@code quiver serve}.
 *
 * <pre>{@code
 * try (QuiverClient quiver = QuiverClient.builder().target("localhost:6566").build()) {
 *   OnlineResult r = quiver.getOnlineFeatures(
 *       OnlineRequest.forService("fraud_model_v1").entity("card_id", "c1", "c2"));
 *   Double last = r.getDouble("last_amount", 0);
 * }
 * }</pre>
 *
 * <p>Every call has a deadline: the builder's default, or one given per call. Calls are retried
 * only when gRPC reports {@code UNAVAILABLE} (the request did not reach a server that could answer
 * it), which is safe for these read-only calls; other failures surface as {@link
 * StatusRuntimeException} with the server's status and message.
 *
 * <p>Thread-safe; share one instance. {@link #close()} shuts down the channel only if this client
 * created it.
 */
public final class QuiverClient implements AutoCloseable {
  private final Channel channel;
  private final ManagedChannel owned;
  private final Duration defaultDeadline;
  private final OnlineServingGrpc.OnlineServingBlockingStub blocking;
  private final OnlineServingGrpc.OnlineServingFutureStub future;

  private QuiverClient(Channel channel, ManagedChannel owned, Duration defaultDeadline) {
    this.channel = channel;
    this.owned = owned;
    this.defaultDeadline = defaultDeadline;
    this.blocking = OnlineServingGrpc.newBlockingStub(channel);
    this.future = OnlineServingGrpc.newFutureStub(channel);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A client on a channel the caller owns and closes. */
  public static QuiverClient forChannel(Channel channel, Duration defaultDeadline) {
    return new QuiverClient(Objects.requireNonNull(channel, "channel"), null, defaultDeadline);
  }

  /** Fetches features with the default deadline. */
  public OnlineResult getOnlineFeatures(OnlineRequest request) {
    return getOnlineFeatures(request, defaultDeadline);
  }

  /** Fetches features within {@code deadline}. */
  public OnlineResult getOnlineFeatures(OnlineRequest request, Duration deadline) {
    GetOnlineFeaturesResponse r =
        blocking
            .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
            .getOnlineFeatures(request.toProto());
    return new OnlineResult(r);
  }

  public CompletableFuture<OnlineResult> getOnlineFeaturesAsync(OnlineRequest request) {
    return getOnlineFeaturesAsync(request, defaultDeadline);
  }

  public CompletableFuture<OnlineResult> getOnlineFeaturesAsync(
      OnlineRequest request, Duration deadline) {
    CompletableFuture<OnlineResult> result = new CompletableFuture<>();
    ListenableFuture<GetOnlineFeaturesResponse> call =
        future
            .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
            .getOnlineFeatures(request.toProto());
    Futures.addCallback(
        call,
        new FutureCallback<>() {
          @Override
          public void onSuccess(GetOnlineFeaturesResponse r) {
            result.complete(new OnlineResult(r));
          }

          @Override
          public void onFailure(Throwable t) {
            result.completeExceptionally(t);
          }
        },
        MoreExecutors.directExecutor());
    result.whenComplete(
        (r, t) -> {
          if (result.isCancelled()) {
            call.cancel(true);
          }
        });
    return result;
  }

  public Channel channel() {
    return channel;
  }

  @Override
  public void close() {
    if (owned != null) {
      owned.shutdown();
      try {
        if (!owned.awaitTermination(5, TimeUnit.SECONDS)) {
          owned.shutdownNow();
        }
      } catch (InterruptedException e) {
        owned.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Builds a client that owns its channel. Not thread-safe. */
  public static final class Builder {
    private String target = "localhost:6566";
    private Duration defaultDeadline = Duration.ofSeconds(1);
    private int maxAttempts = 3;
    private boolean plaintext = true;

    /**
     * {@code host:port} of {@code quiver serve}, or any gRPC target string. Default localhost:6566.
     */
    public Builder target(String target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /** Deadline of calls that give none. Default 1 s. */
    public Builder defaultDeadline(Duration deadline) {
      if (deadline.isNegative() || deadline.isZero()) {
        throw new IllegalArgumentException("deadline must be positive: " + deadline);
      }
      this.defaultDeadline = deadline;
      return this;
    }

    /** Attempts per call when the server is UNAVAILABLE, 1 to 5 (1: no retry). Default 3. */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1 || attempts > 5) {
        throw new IllegalArgumentException("maxAttempts must be 1 to 5: " + attempts);
      }
      this.maxAttempts = attempts;
      return this;
    }

    /** Uses TLS instead of plaintext. */
    public Builder useTransportSecurity() {
      this.plaintext = false;
      return this;
    }

    public QuiverClient build() {
      ManagedChannelBuilder<?> b = ManagedChannelBuilder.forTarget(target);
      if (plaintext) {
        b.usePlaintext();
      }
      if (maxAttempts > 1) {
        Map<String, Object> retry =
            Map.of(
                "maxAttempts",
                (double) maxAttempts,
                "initialBackoff",
                "0.01s",
                "maxBackoff",
                "0.2s",
                "backoffMultiplier",
                2.0,
                "retryableStatusCodes",
                List.of("UNAVAILABLE"));
        Map<String, Object> method =
            Map.of(
                "name",
                List.of(Map.of("service", OnlineServingGrpc.SERVICE_NAME)),
                "retryPolicy",
                retry);
        b.defaultServiceConfig(Map.of("methodConfig", List.of(method))).enableRetry();
      } else {
        b.disableRetry();
      }
      ManagedChannel ch = b.build();
      return new QuiverClient(ch, ch, defaultDeadline);
    }
  }
}
