package dev.quiver.online;

import dev.quiver.registry.util.Messages;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a request that cannot be parsed fail with {@code INVALID_ARGUMENT}, as a bad request
 * should, naming the request type and what the parser said (cut short) — rather than with the
 * {@code UNKNOWN} and the logged stack trace gRPC gives when a request marshaller throws.
 *
 * <p>The wrapped marshaller never throws: a parse failure becomes a value that the wrapped handler
 * answers with {@code INVALID_ARGUMENT} without passing it to the service.
 *
 * <p>Stateless and thread-safe.
 */
public final class InvalidRequests {
  private InvalidRequests() {}

  /** A request that could not be parsed, and why. */
  private record Unparseable(String reason) {}

  /** A request answered without being parsed. */
  private record Refused(Status status) {}

  /** The same service, each method answering an unparseable request with INVALID_ARGUMENT. */
  public static ServerServiceDefinition parseFailuresAsInvalidArgument(
      ServerServiceDefinition service) {
    return parseFailuresAsInvalidArgument(service, () -> null);
  }

  /**
   * As {@link #parseFailuresAsInvalidArgument(ServerServiceDefinition)}, and before parsing each
   * request asks {@code refuseUnparsed} for a status to answer it with at once, without spending
   * the work of parsing it (a server shedding load); null to go on.
   */
  public static ServerServiceDefinition parseFailuresAsInvalidArgument(
      ServerServiceDefinition service, java.util.function.Supplier<Status> refuseUnparsed) {
    ServiceDescriptor descriptor = service.getServiceDescriptor();
    ServiceDescriptor.Builder rebuilt =
        ServiceDescriptor.newBuilder(descriptor.getName())
            .setSchemaDescriptor(descriptor.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<?, ?> wrapped = wrap(m, refuseUnparsed);
      methods.add(wrapped);
      rebuilt.addMethod(wrapped.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(rebuilt.build());
    methods.forEach(out::addMethod);
    return out.build();
  }

  private static <Q, R> ServerMethodDefinition<Object, R> wrap(
      ServerMethodDefinition<Q, R> m, java.util.function.Supplier<Status> refuseUnparsed) {
    MethodDescriptor<Q, R> method = m.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> requests = method.getRequestMarshaller();
    MethodDescriptor.Marshaller<Object> lenient =
        new MethodDescriptor.Marshaller<>() {
          @Override
          @SuppressWarnings("unchecked")
          public InputStream stream(Object value) {
            return requests.stream((Q) value);
          }

          @Override
          public Object parse(InputStream stream) {
            Status refused = refuseUnparsed.get();
            if (refused != null) {
              return new Refused(refused);
            }
            try {
              return requests.parse(stream);
            } catch (RuntimeException e) {
              Throwable cause = e.getCause() != null ? e.getCause() : e;
              String why =
                  cause.getMessage() == null
                      ? cause.getClass().getSimpleName()
                      : cause.getMessage();
              return new Unparseable(why);
            }
          }
        };
    MethodDescriptor<Object, R> outer =
        method.toBuilder(lenient, method.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> inner = m.getServerCallHandler();
    ServerCallHandler<Object, R> handler =
        (call, headers) -> {
          ServerCall.Listener<Q> listener = inner.startCall(new Retyped<>(call, method), headers);
          return new Listener<>(listener, call, method.getFullMethodName());
        };
    return ServerMethodDefinition.create(outer, handler);
  }

  /** Passes parsed requests on; answers an unparseable one itself. */
  private static final class Listener<Q, R> extends ServerCall.Listener<Object> {
    private final ServerCall.Listener<Q> delegate;
    private final ServerCall<Object, R> call;
    private final String method;
    private boolean refused;

    Listener(ServerCall.Listener<Q> delegate, ServerCall<Object, R> call, String method) {
      this.delegate = delegate;
      this.call = call;
      this.method = method;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void onMessage(Object message) {
      if (refused) {
        return;
      }
      if (message instanceof Refused r) {
        refused = true;
        call.close(r.status(), new Metadata());
        return;
      }
      if (message instanceof Unparseable u) {
        refused = true;
        call.close(
            Status.INVALID_ARGUMENT.withDescription(
                "the request is not a valid message of "
                    + method
                    + ": "
                    + Messages.clip(u.reason())),
            new Metadata());
        return;
      }
      delegate.onMessage((Q) message);
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        delegate.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      delegate.onCancel();
    }

    @Override
    public void onComplete() {
      delegate.onComplete();
    }

    @Override
    public void onReady() {
      if (!refused) {
        delegate.onReady();
      }
    }
  }

  /** The call as the service's handler expects it typed. */
  private static final class Retyped<Q, R> extends ServerCall<Q, R> {
    private final ServerCall<Object, R> call;
    private final MethodDescriptor<Q, R> method;

    Retyped(ServerCall<Object, R> call, MethodDescriptor<Q, R> method) {
      this.call = call;
      this.method = method;
    }

    @Override
    public void request(int numMessages) {
      call.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      call.sendHeaders(headers);
    }

    @Override
    public void sendMessage(R message) {
      call.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void close(Status status, Metadata trailers) {
      call.close(status, trailers);
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      call.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      call.setCompression(compressor);
    }

    @Override
    public Attributes getAttributes() {
      return call.getAttributes();
    }

    @Override
    public String getAuthority() {
      return call.getAuthority();
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return call.getSecurityLevel();
    }

    @Override
    public MethodDescriptor<Q, R> getMethodDescriptor() {
      return method;
    }
  }
}
