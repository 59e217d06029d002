package dev.quiver.server.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Counts and times every gRPC call by method and status code ({@code quiver.grpc.server.requests},
 * a timer with a latency histogram), measured from the call's start to its close: intercepted
 * around the services, which know nothing of it.
 *
 * <p>Timers are created once per method and code and then looked up without allocating.
 *
 * <p>Threading: thread-safe.
 */
public final class GrpcMetrics implements ServerInterceptor {
  /** The timer's name. */
  public static final String REQUESTS = "quiver.grpc.server.requests";

  private static final Status.Code[] CODES = Status.Code.values();

  private final MeterRegistry meters;
  private final Map<String, AtomicReferenceArray<Timer>> byMethod = new ConcurrentHashMap<>();

  public GrpcMetrics(MeterRegistry meters) {
    this.meters = Objects.requireNonNull(meters, "meters");
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    AtomicReferenceArray<Timer> timers =
        byMethod.computeIfAbsent(method, m -> new AtomicReferenceArray<>(CODES.length));
    long start = System.nanoTime();
    return next.startCall(
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            timer(method, timers, status.getCode())
                .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            super.close(status, trailers);
          }
        },
        headers);
  }

  private Timer timer(String method, AtomicReferenceArray<Timer> timers, Status.Code code) {
    Timer t = timers.get(code.ordinal());
    if (t == null) {
      t =
          Timer.builder(REQUESTS)
              .description("gRPC calls served, by method and status code, and their latency")
              .tag("method", method)
              .tag("code", code.name())
              .publishPercentileHistogram()
              .minimumExpectedValue(Duration.ofNanos(100_000))
              .maximumExpectedValue(Duration.ofSeconds(30))
              .register(meters);
      timers.compareAndSet(code.ordinal(), null, t);
    }
    return t;
  }
}
