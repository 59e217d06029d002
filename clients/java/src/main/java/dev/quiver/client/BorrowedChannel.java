package dev.quiver.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import java.util.concurrent.TimeUnit;

/**
 * A channel the caller owns, seen as a {@link ManagedChannel} (which Arrow Flight's client wants)
 * whose shutdown is left to its owner.
 */
final class BorrowedChannel extends ManagedChannel {
  private final Channel channel;

  BorrowedChannel(Channel channel) {
    this.channel = channel;
  }

  @Override
  public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
    return channel.newCall(method, options);
  }

  @Override
  public String authority() {
    return channel.authority();
  }

  @Override
  public ManagedChannel shutdown() {
    return this;
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public ManagedChannel shutdownNow() {
    return this;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return false;
  }
}
