package dev.quiver.online;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The storage form of an entity key: for each join key value in order, a type tag, then a string's
 * or bytes' length (varint) and content, or an integer's eight big-endian bytes. Integers of both
 * widths encode the same, so an int32 key can be looked up with an int64 value. Thread-safe.
 */
public final class EntityKeyCodec {
  private static final byte STRING = 1;
  private static final byte INTEGER = 2;
  private static final byte BYTES = 3;

  private EntityKeyCodec() {}

  /** Encodes key values: String, Integer or Long, ByteString or byte[]. */
  public static byte[] encode(List<Object> values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(32);
    for (Object v : values) {
      if (v instanceof String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(STRING);
        varint(out, b.length);
        out.writeBytes(b);
      } else if (v instanceof Long || v instanceof Integer) {
        long l = ((Number) v).longValue();
        out.write(INTEGER);
        for (int i = 7; i >= 0; i--) {
          out.write((int) (l >>> (i * 8)));
        }
      } else if (v instanceof ByteString || v instanceof byte[]) {
        byte[] b = v instanceof ByteString bs ? bs.toByteArray() : (byte[]) v;
        out.write(BYTES);
        varint(out, b.length);
        out.writeBytes(b);
      } else {
        throw new IllegalArgumentException("not a join key value: " + v);
      }
    }
    return out.toByteArray();
  }

  private static void varint(ByteArrayOutputStream out, int n) {
    while ((n & ~0x7F) != 0) {
      out.write((n & 0x7F) | 0x80);
      n >>>= 7;
    }
    out.write(n);
  }
}
