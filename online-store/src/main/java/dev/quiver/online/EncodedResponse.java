package dev.quiver.online;

import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A {@link GetOnlineFeaturesResponse} already in its wire form, as {@link ResponseEncoder} writes
 * it; the gRPC server sends these bytes as they are.
 */
record EncodedResponse(byte[] bytes) {
  /** Sends the bytes without copying them; parses by reading them whole. */
  static final MethodDescriptor.Marshaller<EncodedResponse> MARSHALLER =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(EncodedResponse value) {
          return new Stream(value.bytes);
        }

        @Override
        public EncodedResponse parse(InputStream stream) {
          try {
            return new EncodedResponse(stream.readAllBytes());
          } catch (IOException e) {
            throw new IllegalStateException("reading a response failed", e);
          }
        }
      };

  private static final class Stream extends ByteArrayInputStream implements KnownLength, Drainable {
    Stream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }
}
