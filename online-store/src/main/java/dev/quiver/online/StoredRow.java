package dev.quiver.online;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.OrderKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The stored form of a view row: a format byte, the order key, then (feature id, value) pairs, each
 * value a length-prefixed serialized {@link Value}. Ids are assigned per view version by the store
 * and never reused, so a feature added to a view later is simply absent from older rows.
 *
 * <p>A decoded row keeps the stored bytes and the position of each value in them: serving copies
 * those bytes into its response as they are, and only {@link #value} parses one. Immutable.
 */
public final class StoredRow {
  private static final int FORMAT = 2;

  private final OrderKey order;
  private final byte[] bytes;
  private final int[] ids;
  private final int[] offsets;
  private final int[] lengths;

  private StoredRow(OrderKey order, byte[] bytes, int[] ids, int[] offsets, int[] lengths) {
    this.order = order;
    this.bytes = bytes;
    this.ids = ids;
    this.offsets = offsets;
    this.lengths = lengths;
  }

  public OrderKey order() {
    return order;
  }

  /** The value of feature {@code id}, or null when the row has none (written before it existed). */
  public Value value(int id) {
    int i = indexOf(id);
    if (i < 0) {
      return null;
    }
    try {
      return Value.parseFrom(CodedInputStream.newInstance(bytes, offsets[i], lengths[i]));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Where the serialized {@link Value} of feature {@code id} lies in {@link #bytes()}: the index to
   * pass to {@link #offset} and {@link #length}, or -1 when the row has none.
   */
  int indexOf(int id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }

  /** The stored bytes; not to be modified. */
  byte[] bytes() {
    return bytes;
  }

  int offset(int index) {
    return offsets[index];
  }

  int length(int index) {
    return lengths[index];
  }

  static byte[] encode(OrderKey order, int[] ids, Value[] values) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + values.length * 16);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.writeRawByte(FORMAT);
      out.writeFixed64NoTag(order.eventTimeMicros());
      out.writeFixed64NoTag(order.createdTimeMicros());
      out.writeInt32NoTag(order.partition());
      out.writeInt64NoTag(order.offset());
      out.writeUInt32NoTag(ids.length);
      for (int i = 0; i < ids.length; i++) {
        out.writeUInt32NoTag(ids[i]);
        out.writeMessageNoTag(values[i]);
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static OrderKey decodeOrder(byte[] stored) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored);
      checkFormat(in);
      return new OrderKey(in.readFixed64(), in.readFixed64(), in.readInt32(), in.readInt64());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads the order key and finds the values; the values themselves are not parsed. */
  static StoredRow decode(byte[] stored) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored);
      checkFormat(in);
      OrderKey order =
          new OrderKey(in.readFixed64(), in.readFixed64(), in.readInt32(), in.readInt64());
      int n = in.readUInt32();
      int[] ids = new int[n];
      int[] offsets = new int[n];
      int[] lengths = new int[n];
      for (int i = 0; i < n; i++) {
        ids[i] = in.readUInt32();
        int length = in.readRawVarint32();
        if (length < 0 || length > stored.length - in.getTotalBytesRead()) {
          throw new IOException("stored row value " + i + " overruns the row");
        }
        offsets[i] = in.getTotalBytesRead();
        lengths[i] = length;
        in.skipRawBytes(length);
      }
      return new StoredRow(order, stored, ids, offsets, lengths);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void checkFormat(CodedInputStream in) throws IOException {
    int format = in.readRawByte();
    if (format != FORMAT) {
      throw new IOException("unknown stored row format " + format);
    }
  }
}
