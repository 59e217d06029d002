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
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightGrpcUtils;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.grpc.StatusUtils;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;

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
 * <p>Training sets are exported over Arrow Flight on the same connection: {@link
 * #exportTrainingSet(TrainingSetRequest, VectorSchemaRoot)}.
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
  private FlightClient flight;
  private BufferAllocator flightMemory;
  private java.util.concurrent.ExecutorService watchers;

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

  /**
   * Exports a point-in-time-correct training set over Arrow Flight: sends the entity table (one
   * batch) and returns the training set as it streams back. The table needs the join keys of the
   * requested features and the request's timestamp column; other columns (labels) come back
   * unchanged.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND} for an unknown service or feature, {@code
   *     INVALID_ARGUMENT} naming the field or column at fault, {@code RESOURCE_EXHAUSTED} when the
   *     server runs as many exports as it allows
   */
  public TrainingSet exportTrainingSet(TrainingSetRequest request, VectorSchemaRoot entities) {
    Objects.requireNonNull(entities, "entities");
    return exchange(
        request,
        entities,
        new java.util.function.BooleanSupplier() {
          boolean sent;

          @Override
          public boolean getAsBoolean() {
            boolean first = !sent;
            sent = true;
            return first;
          }
        });
  }

  /**
   * Exports a training set for an entity table read batch by batch, for example an {@code
   * ArrowFileReader} over a file too large to hold in memory. See {@link
   * #exportTrainingSet(TrainingSetRequest, VectorSchemaRoot)}.
   */
  public TrainingSet exportTrainingSet(TrainingSetRequest request, ArrowReader entities)
      throws IOException {
    VectorSchemaRoot root = entities.getVectorSchemaRoot();
    return exchange(
        request,
        root,
        () -> {
          try {
            return entities.loadNextBatch();
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }

  private TrainingSet exchange(
      TrainingSetRequest request,
      VectorSchemaRoot root,
      java.util.function.BooleanSupplier nextBatch) {
    Objects.requireNonNull(request, "request");
    FlightClient flight = flight();
    CallOption[] options =
        request.deadline() == null
            ? new CallOption[0]
            : new CallOption[] {
              CallOptions.timeout(request.deadline().toMillis(), TimeUnit.MILLISECONDS)
            };
    FlightClient.ExchangeReaderWriter exchange =
        flight.doExchange(FlightDescriptor.command(request.command()), options);
    // The server may refuse the request before it has read the table: stop sending then.
    CompletableFuture<Void> answered =
        CompletableFuture.runAsync(
            () -> {
              try {
                exchange.getReader().getSchema();
              } catch (RuntimeException e) {
                // reported below, on the caller's thread
              }
            },
            watchers());
    try {
      FlightClient.ClientStreamListener writer = exchange.getWriter();
      writer.start(root);
      sending:
      while (nextBatch.getAsBoolean()) {
        // Flow control: wait while the transport's buffer is full rather than queue the table.
        while (!writer.isReady()) {
          if (answered.isDone()) {
            break sending;
          }
          Thread.sleep(1);
        }
        writer.putNext();
      }
      if (!answered.isDone()) {
        writer.completed();
      }
      TrainingSet set = new TrainingSet(exchange);
      set.schema(); // blocks until the server answers: the training set's schema, or an error
      return set;
    } catch (FlightRuntimeException e) {
      closeQuietly(exchange);
      throw status(e);
    } catch (InterruptedException e) {
      closeQuietly(exchange);
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    } catch (RuntimeException e) {
      closeQuietly(exchange);
      throw e;
    }
  }

  private synchronized java.util.concurrent.Executor watchers() {
    if (watchers == null) {
      watchers =
          java.util.concurrent.Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "quiver-client-export");
                t.setDaemon(true);
                return t;
              });
    }
    return watchers;
  }

  private synchronized FlightClient flight() {
    if (flight == null) {
      flightMemory = new RootAllocator();
      ManagedChannel shared =
          channel instanceof ManagedChannel m ? m : new BorrowedChannel(channel);
      flight = FlightGrpcUtils.createFlightClientWithSharedChannel(flightMemory, shared);
    }
    return flight;
  }

  /** A Flight failure as the gRPC status it carries, like every other failure of this client. */
  static StatusRuntimeException status(FlightRuntimeException e) {
    StatusRuntimeException s =
        StatusUtils.toGrpcStatus(e.status()).withCause(e).asRuntimeException();
    return s;
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // the failure being reported matters more
    }
  }

  public Channel channel() {
    return channel;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (flight != null) {
        closeQuietly(flight);
        flightMemory.close();
        flight = null;
      }
      if (watchers != null) {
        watchers.shutdownNow();
        watchers = null;
      }
    }
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
    private int maxResponseBytes = 64 << 20;

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

    /**
     * The largest response the client accepts, in bytes. Default 64 MiB, the server's default
     * response budget ({@code quiver serve --max-response-mb}); gRPC's own default of 4 MiB is too
     * small for a lookup of thousands of entities.
     */
    public Builder maxResponseBytes(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("maxResponseBytes must be at least 1024: " + bytes);
      }
      this.maxResponseBytes = bytes;
      return this;
    }

    /** Uses TLS instead of plaintext. */
    public Builder useTransportSecurity() {
      this.plaintext = false;
      return this;
    }

    public QuiverClient build() {
      ManagedChannelBuilder<?> b =
          ManagedChannelBuilder.forTarget(target).maxInboundMessageSize(maxResponseBytes);
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
